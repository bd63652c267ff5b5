//! Normalisation and tokenisation of German date/time phrases.
//!
//! Guarantees:
//! - Linear in the input length; never panics, whatever the input (any Unicode, any length).
//! - Output is lower case with umlauts folded to their two-letter spellings
//!   (`ä`→`ae`, `ö`→`oe`, `ü`→`ue`, `ß`→`ss`, also for a combining diaeresis), so every
//!   keyword is matched once, in its umlaut-free form.
//! - Every character that is neither alphanumeric nor one of `. : / - +` separates tokens
//!   (commas, quotes, brackets, emoji, …).
//! - Runs of letters and runs of digits/separators are separate tokens even when written
//!   together: `14h` → `14` `h`, `2026-11-26T10:00` → `2026-11-26` `t` `10:00`,
//!   `10uhr` → `10` `uhr`. A German ordinal suffix glued to a number (`26ten`, `1ster`)
//!   turns into the ordinal dot (`26.`).
//! - Trailing dots are removed from a token and remembered in [`Tok::dot`]
//!   (`26.` → `26` + dot, `Fr.` → `fr` + dot, `26.11.` → `26.11` + dot).
//! - Typographic dashes (`–`, `—`, `−`) become `-`; a free-standing dash is kept as the
//!   word `-` so the scanner can see ranges ("10 - 12 Uhr").
//! - Characters that join the letters of one word are dropped, so the word stays whole:
//!   apostrophes (`'`, `’`, `ʼ`, `` ` ``, `´`), the soft hyphen, zero-width characters and
//!   combining accents ("Mi’chelle" is one word, never "Mi" = Mittwoch).
//! - [`Tok::glued`] marks a token written against the previous one ("14h", "Mi-Ra",
//!   "2026-11-26T10:00"), so the scanner can tell a fragment of a longer word from a word.

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// ASCII digits only.
    Num,
    /// Letters only.
    Word,
    /// Digits mixed with `. : / - +` (dates like `26.11`, times like `10:30`).
    Mixed,
}

/// One token, borrowing from the normalised string.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tok<'a> {
    pub text: &'a str,
    pub kind: Kind,
    /// The token was followed by a dot (`26.`, `Fr.`, `26.11.`).
    pub dot: bool,
    /// The token was written against the previous token, without a space ("h" in "14h",
    /// "ra" in "Mi-Ra", "t" in "2026-11-26T10:00").
    pub glued: bool,
}

impl Tok<'_> {
    /// True when this is the word `w` (already normalised).
    pub fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text == w
    }

    /// True when this is one of the words in `ws`.
    pub fn is_any(&self, ws: &[&str]) -> bool {
        self.kind == Kind::Word && ws.contains(&self.text)
    }

    /// The value of a digit token, saturating at `u32::MAX` for absurdly long numbers so
    /// range checks fail cleanly instead of overflowing.
    pub fn digits_value(&self) -> Option<u32> {
        if self.kind != Kind::Num {
            return None;
        }
        if self.text.len() > 9 {
            return Some(u32::MAX);
        }
        self.text.parse().ok()
    }
}

const PUNCT: [char; 5] = ['.', ':', '/', '-', '+'];

/// Ordinal endings that may be glued to a number: `26ten`, `3ter`, `1sten`.
const ORDINAL_SUFFIXES: [&str; 11] = ["te", "ten", "ter", "tes", "tem", "ste", "sten", "ster", "stes", "stem", "st"];

/// Lower-cases, folds umlauts and replaces separators by spaces.
pub(super) fn normalise(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    for ch in input.chars() {
        match ch {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' | 'ẞ' => out.push_str("ss"),
            // combining diaeresis (decomposed umlaut): "u\u{308}" → "ue"
            '\u{308}' => out.push('e'),
            // joiners inside a word: apostrophes, soft hyphen, zero-width characters, accents
            '\''
            | '\u{2019}'
            | '\u{2bc}'
            | '`'
            | '\u{b4}'
            | '\u{ad}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'
            | '\u{feff}'
            | '\u{300}'..='\u{36f}' => {}
            // dashes: "10–12 Uhr" is a range like "10-12 Uhr"
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            c if PUNCT.contains(&c) => out.push(c),
            c if c.is_alphabetic() => out.extend(c.to_lowercase()),
            _ => out.push(' '),
        }
    }
    out
}

fn is_digitish(c: char) -> bool {
    c.is_ascii_digit() || PUNCT.contains(&c)
}

/// Splits a normalised string into tokens.
pub(super) fn tokenise(norm: &str) -> Vec<Tok<'_>> {
    let mut toks: Vec<Tok<'_>> = Vec::with_capacity(8);
    for chunk in norm.split(' ').filter(|c| !c.is_empty()) {
        let mut start = 0;
        let mut glued = false;
        let mut prev_digitish: Option<bool> = None;
        for (pos, c) in chunk.char_indices() {
            let d = is_digitish(c);
            if let Some(p) = prev_digitish
                && p != d
            {
                push_run(&mut toks, &chunk[start..pos], p, glued);
                start = pos;
                glued = true;
            }
            prev_digitish = Some(d);
        }
        if let Some(p) = prev_digitish {
            push_run(&mut toks, &chunk[start..], p, glued);
        }
    }
    toks
}

fn push_run<'a>(toks: &mut Vec<Tok<'a>>, run: &'a str, digitish: bool, glued: bool) {
    if digitish {
        let t = run.trim_start_matches(PUNCT);
        let body = t.trim_end_matches(PUNCT);
        let dot = t[body.len()..].contains('.');
        if body.is_empty() {
            // a free-standing dash ("10 - 12 Uhr") is kept: it may mark a range
            if !glued && run.starts_with('-') {
                toks.push(Tok { text: "-", kind: Kind::Word, dot: false, glued: false });
                return;
            }
            // a lone dot right after a word: "Fr." / "Nov."
            if dot
                && glued
                && let Some(last) = toks.last_mut()
                && last.kind == Kind::Word
            {
                last.dot = true;
            }
            return;
        }
        let kind = if body.bytes().all(|b| b.is_ascii_digit()) { Kind::Num } else { Kind::Mixed };
        toks.push(Tok { text: body, kind, dot, glued });
    } else {
        if glued
            && ORDINAL_SUFFIXES.contains(&run)
            && let Some(last) = toks.last_mut()
            && last.kind == Kind::Num
            && !last.dot
        {
            last.dot = true;
            return;
        }
        toks.push(Tok { text: run, kind: Kind::Word, dot: false, glued });
    }
}
