//! Matching what a caller said ("dauerwelle", "Faerben", "Herrenschnitt") to a catalogue entry.
//!
//! Names are folded (lower case, ä→ae, ö→oe, ü→ue, ß→ss, punctuation dropped), then matched by
//! equality, by containment, and finally by edit distance with a budget that grows with the length
//! of the name. Two equally good candidates are reported as ambiguous, so the agent asks back
//! instead of guessing (the predecessor once booked a men's cut for a perm).

/// Lower case, umlauts spelled out, only letters and digits kept.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' => out.push('e'),
            c if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev_prev = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(current[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(prev_prev[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut prev_prev, &mut prev);
        std::mem::swap(&mut prev, &mut current);
    }
    prev[b.len()]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<T> {
    Found(T),
    /// Several candidates fit equally well; the caller should be asked which one.
    Ambiguous(Vec<T>),
    NotFound,
}

/// Typos allowed for a name of this many characters.
fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        9..=14 => 2,
        _ => 3,
    }
}

/// How well `query` (folded) matches `name` (folded): lower is better, `None` is no match.
fn score(query: &str, name: &str) -> Option<usize> {
    if query == name {
        return Some(0);
    }
    if query.chars().count() >= 4 && name.contains(query) {
        return Some(1);
    }
    if name.chars().count() >= 4 && query.contains(name) {
        return Some(2);
    }
    let distance = edit_distance(query, name);
    (distance <= typo_budget(name.chars().count())).then_some(3 + distance)
}

/// The best candidate for `query`; each candidate has a value and the names it answers to.
pub fn best_match<T: Clone, S: AsRef<str>>(query: &str, candidates: &[(T, Vec<S>)]) -> Match<T> {
    let folded = fold(query);
    if folded.is_empty() {
        return Match::NotFound;
    }
    let mut best: Option<usize> = None;
    let mut winners: Vec<T> = Vec::new();
    for (value, names) in candidates {
        let Some(candidate_score) = names.iter().filter_map(|n| score(&folded, &fold(n.as_ref()))).min() else {
            continue;
        };
        match best {
            Some(b) if candidate_score > b => {}
            Some(b) if candidate_score == b => winners.push(value.clone()),
            _ => {
                best = Some(candidate_score);
                winners = vec![value.clone()];
            }
        }
    }
    match winners.len() {
        0 => Match::NotFound,
        1 => Match::Found(winners.remove(0)),
        _ => Match::Ambiguous(winners),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salon() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("herrenhaarschnitt", vec!["Herrenhaarschnitt", "Herrenschnitt", "Männerhaarschnitt"]),
            ("damenhaarschnitt", vec!["Damenhaarschnitt", "Damenschnitt"]),
            ("faerben", vec!["Färben", "Haare färben", "Coloration"]),
            ("dauerwelle", vec!["Dauerwelle", "Dauerwellen"]),
        ]
    }

    #[test]
    fn callers_spellings_find_the_service() {
        let cases = [
            ("dauerwelle", "dauerwelle"),
            ("Dauerwelle bitte", "dauerwelle"),
            ("DAUERWELLE", "dauerwelle"),
            ("dauerwele", "dauerwelle"),
            ("Herrenschnitt", "herrenhaarschnitt"),
            ("Faerben", "faerben"),
            ("farben", "faerben"),
            ("färben", "faerben"),
            ("Damen Haarschnitt", "damenhaarschnitt"),
        ];
        for (said, expected) in cases {
            assert_eq!(best_match(said, &salon()), Match::Found(expected), "{said}");
        }
    }

    #[test]
    fn an_unclear_request_is_ambiguous_not_guessed() {
        assert_eq!(
            best_match("haarschnitt", &salon()),
            Match::Ambiguous(vec!["herrenhaarschnitt", "damenhaarschnitt"])
        );
    }

    #[test]
    fn unknown_services_are_not_found() {
        assert_eq!(best_match("Maniküre", &salon()), Match::NotFound);
        assert_eq!(best_match("", &salon()), Match::NotFound);
        assert_eq!(best_match("!!!", &salon()), Match::NotFound);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("dauerwelle", "daeurwelle"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
