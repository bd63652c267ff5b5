//! The conversation itself: German salon talk with word timings, tool calls and latencies.
//!
//! Deterministic: a splitmix64 generator seeded by the caller, no clock, no global state.
//! Timings follow a phone call: about [`WORDS_PER_MINUTE`](crate::WORDS_PER_MINUTE) words a
//! minute over both speakers, 0.15–0.5 s a word, pauses between turns.

use serde_json::{Value, json};

const AGENT: &[&str] = &[
    "Guten Tag, hier ist der Telefonassistent vom Salon Beispiel. Wie kann ich Ihnen helfen?",
    "Sehr gerne. Für welche Behandlung möchten Sie einen Termin?",
    "Einen Moment bitte, ich schaue kurz im Kalender nach.",
    "Eine Dauerwelle dauert bei uns etwa zwei Stunden und fünfzehn Minuten, mit Einwirkzeit.",
    "Der Preis hängt von der Haarlänge ab und liegt zwischen neunzig und hundertzwanzig Euro.",
    "Am Donnerstag um zehn Uhr ist bei Anna noch frei. Soll ich Ihnen den Termin reservieren?",
    "Perfekt, der Termin ist für Sie reserviert. Darf ich noch Ihren Namen haben?",
    "Vielen Dank. Und unter welcher Nummer erreichen wir Sie, falls sich etwas ändert?",
    "Möchten Sie lieber bei einer bestimmten Stylistin gebucht werden, oder ist Ihnen das egal?",
    "Um elf Uhr wäre leider schon belegt, aber um halb zwölf oder um vierzehn Uhr hätte ich etwas.",
    "Ihr Termin ist gebucht. Sie bekommen gleich noch eine Bestätigung per SMS.",
    "Gibt es sonst noch etwas, das ich für Sie tun kann?",
    "Bitte kommen Sie mit ungewaschenen Haaren, das ist für die Dauerwelle besser.",
    "Wir haben montags geschlossen, von Dienstag bis Freitag sind wir von neun bis achtzehn Uhr da.",
    "Samstags haben wir von neun bis vierzehn Uhr geöffnet.",
    "Ich habe Sie leider nicht ganz verstanden. Meinen Sie diesen oder nächsten Donnerstag?",
];

const USER: &[&str] = &[
    "Hallo, ich hätte gerne einen Termin für eine Dauerwelle.",
    "Ja, am liebsten morgen um zehn, oder geht auch Donnerstag?",
    "Wie lange dauert das denn ungefähr?",
    "Und was kostet das bei schulterlangen Haaren?",
    "Ähm, ja, Donnerstag um zehn passt mir gut.",
    "Mein Name ist Erika Mustermann, mit M wie Martha.",
    "Ist das bei Anna? Bei der war ich letztes Mal auch.",
    "Nein, das ist mir eigentlich egal.",
    "Ach so, und kann ich dann gleich noch die Spitzen schneiden lassen?",
    "Moment, ich schaue kurz in meinen Kalender, ja, das geht.",
    "Die Nummer ist null eins fünf eins, eins zwei drei, vier fünf sechs sieben acht.",
    "Nein danke, das war alles. Vielen Dank, auf Wiederhören.",
    "Haben Sie auch am Samstag etwas frei, so gegen halb elf?",
    "Okay, dann nehme ich den Termin um halb zwölf.",
];

const TOOLS: &[(&str, &str, &str)] = &[
    (
        "check_availability",
        r#"{"service":"Dauerwelle","date":"Donnerstag","time":"10 Uhr"}"#,
        r#"{"success":true,"available":true,"message":"Perfekt! Der Termin ist für Sie reserviert. Sie haben 180 Sekunden Zeit zur Bestätigung. Dauerwelle am Donnerstag, 10. Dezember um 10:00 Uhr bei Anna.","reservation_token":"rsv_5f0c2a9e8b7d4c1a","time_remaining":180,"start":"2026-12-10T10:00:00+01:00","end":"2026-12-10T12:15:00+01:00","staff":"Anna"}"#,
    ),
    (
        "find_alternatives",
        r#"{"service":"Dauerwelle","date":"Samstag"}"#,
        r#"{"success":true,"available":false,"message":"Am Samstag ist um 10:30 Uhr leider nichts frei. Ich hätte Samstag um 9:00 Uhr, um 11:30 Uhr oder Dienstag um 10:00 Uhr.","alternatives":[{"start":"2026-12-12T09:00:00+01:00","label":"Samstag, 12. Dezember um 9:00 Uhr","staff":"Ben"},{"start":"2026-12-12T11:30:00+01:00","label":"Samstag, 12. Dezember um 11:30 Uhr","staff":"Anna"}]}"#,
    ),
    (
        "start_booking",
        r#"{"reservation_token":"rsv_5f0c2a9e8b7d4c1a","customer_name":"Erika Mustermann"}"#,
        r#"{"success":true,"booking_status":"confirmed","message":"Ihr Termin ist gebucht: Dauerwelle am Donnerstag, 10. Dezember um 10:00 Uhr bei Anna. Bis dann!","booking_id":"apt_8c1d2e3f4a5b6c7d"}"#,
    ),
];

const NODES: &[(&str, &str)] = &[
    ("begruessung", "Begrüßung"),
    ("wunsch", "Terminwunsch"),
    ("verfuegbarkeit", "Verfügbarkeit"),
    ("buchung", "Buchung"),
    ("abschied", "Abschied"),
];

/// Seconds of audio between two tool calls.
const TOOL_EVERY_SECS: f64 = 75.0;
/// Seconds of audio between two node transitions (conversation-flow agents).
const NODE_EVERY_SECS: f64 = 110.0;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Seconds, rounded to milliseconds as Retell writes them.
fn secs(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub struct Word {
    text: &'static str,
    start: f64,
    end: f64,
}

pub struct Utterance {
    agent: bool,
    words: Vec<Word>,
}

impl Utterance {
    pub fn speaker(&self) -> &'static str {
        if self.agent { "Agent" } else { "User" }
    }

    pub fn text(&self) -> String {
        self.words.iter().map(|w| w.text).collect::<Vec<_>>().join(" ")
    }

    /// `{role, content, words: [{word, start, end}]}` (`PhoneCallResponse.Utterance`).
    pub fn to_json(&self) -> Value {
        let words: Vec<Value> =
            self.words.iter().map(|w| json!({"word": w.text, "start": secs(w.start), "end": secs(w.end)})).collect();
        json!({"role": if self.agent { "agent" } else { "user" }, "content": self.text(), "words": words})
    }
}

/// An entry woven into `transcript_with_tool_calls` after utterance `after`.
enum Extra {
    Tool { id: String, tool: usize },
    Node { from: usize, to: usize },
}

pub struct Talk {
    pub utterances: Vec<Utterance>,
    extras: Vec<(usize, Extra)>,
    pub words: usize,
    pub tool_calls: usize,
    pub audio_secs: f64,
    /// End-to-end latency of each agent turn, ms.
    e2e_ms: Vec<f64>,
}

pub fn generate(minutes: f64, seed: u64) -> Talk {
    let mut rng = Rng(seed ^ minutes.to_bits());
    let budget_words = (minutes * crate::WORDS_PER_MINUTE).round() as usize;
    let mut talk = Talk {
        utterances: Vec::new(),
        extras: Vec::new(),
        words: 0,
        tool_calls: 0,
        audio_secs: 0.0,
        e2e_ms: Vec::new(),
    };
    let mut clock = 0.4;
    let (mut next_tool, mut next_node, mut node) = (TOOL_EVERY_SECS, NODE_EVERY_SECS, 0usize);
    let mut agent = true;
    while talk.words < budget_words {
        let line = if agent { *rng.pick(AGENT) } else { *rng.pick(USER) };
        let mut words = Vec::new();
        for text in line.split_whitespace() {
            if talk.words + words.len() >= budget_words {
                break;
            }
            let length = rng.between(0.15, 0.5);
            words.push(Word { text, start: clock, end: clock + length });
            clock += length + rng.between(0.02, 0.12);
        }
        talk.words += words.len();
        talk.utterances.push(Utterance { agent, words });
        let after = talk.utterances.len() - 1;
        if agent {
            talk.e2e_ms.push(rng.between(650.0, 1900.0).round());
            if clock >= next_tool {
                let id = format!("{:016x}", rng.next());
                talk.extras.push((after, Extra::Tool { id, tool: (rng.next() % TOOLS.len() as u64) as usize }));
                talk.tool_calls += 1;
                next_tool += TOOL_EVERY_SECS;
            }
            if clock >= next_node {
                let to = (node + 1) % NODES.len();
                talk.extras.push((after, Extra::Node { from: node, to }));
                node = to;
                next_node += NODE_EVERY_SECS;
            }
        }
        clock += rng.between(0.5, 1.3);
        agent = !agent;
    }
    talk.audio_secs = if talk.words == 0 { 0.0 } else { clock };
    talk
}

impl Talk {
    /// `transcript_with_tool_calls`: the utterances with tool calls and node transitions.
    pub fn woven(&self) -> impl Iterator<Item = Value> + '_ {
        let mut extras = self.extras.iter().peekable();
        self.utterances.iter().enumerate().flat_map(move |(i, utterance)| {
            let mut out = vec![utterance.to_json()];
            while let Some((_, extra)) = extras.next_if(|(after, _)| *after == i) {
                match extra {
                    Extra::Tool { id, tool } => {
                        let (name, arguments, result) = TOOLS[*tool];
                        out.push(json!({"role": "tool_call_invocation", "tool_call_id": id, "name": name, "arguments": arguments}));
                        out.push(json!({"role": "tool_call_result", "tool_call_id": id, "content": result, "successful": true}));
                    }
                    Extra::Node { from, to } => out.push(json!({
                        "role": "node_transition",
                        "former_node_id": NODES[*from].0, "former_node_name": NODES[*from].1,
                        "new_node_id": NODES[*to].0, "new_node_name": NODES[*to].1,
                        "transition_type": "normal",
                    })),
                }
            }
            out
        })
    }

    /// `latency`: `{e2e, llm, tts, asr}` each `{p50, p90, p95, p99, max, min, num, values}` in ms
    /// (`PhoneCallResponse.Latency`).
    pub fn latency_json(&self) -> Value {
        let block = |scale: f64| {
            let mut values: Vec<f64> = self.e2e_ms.iter().map(|v| (v * scale).round()).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let pct = |p: f64| sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
            let block = json!({
                "p50": pct(0.5), "p90": pct(0.9), "p95": pct(0.95), "p99": pct(0.99),
                "max": pct(1.0), "min": pct(0.0), "num": values.len(), "values": values,
            });
            values.clear();
            block
        };
        json!({"e2e": block(1.0), "llm": block(0.45), "tts": block(0.2), "asr": block(0.08)})
    }

    /// `llm_token_usage`: `{values, average, num_requests}`.
    pub fn token_usage_json(&self) -> Value {
        let values: Vec<u64> = (0..self.e2e_ms.len()).map(|i| 1800 + 35 * i as u64).collect();
        let average = if values.is_empty() { 0.0 } else { values.iter().sum::<u64>() as f64 / values.len() as f64 };
        json!({"values": values, "average": average.round(), "num_requests": self.e2e_ms.len()})
    }
}
