//! Just enough PromQL reading to list what a query needs from `/metrics`: the metric names it
//! selects, their label matchers, and the labels it groups by.
//!
//! Not a parser: a scanner that skips strings, range brackets (`[5m]`, `[$__rate_interval]`),
//! functions, aggregation operators, keywords, numbers and Grafana variables, and reads every
//! other identifier as a metric name. Its own tests below pin down the shapes the dashboard and
//! the alert rules use, so a query it misread would fail here rather than pass unchecked.

/// How a label matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

/// `metric{label="value", ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<LabelMatcher>,
}

/// What one expression reads.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub selectors: Vec<Selector>,
    /// Labels named in `by (...)` clauses.
    pub grouping: Vec<String>,
}

/// Aggregation operators: followed by `by (...)` as often as by `(`.
const AGGREGATIONS: &[&str] =
    &["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"];
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
/// Keywords followed by a parenthesised label list.
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

pub fn parse(expr: &str) -> Query {
    let chars: Vec<char> = expr.chars().collect();
    let mut query = Query::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '[' {
            i = skip_past(&chars, i, ']');
        } else if c == '$' {
            i = skip_variable(&chars, i + 1);
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i = skip_while(&chars, i, |c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        } else if c == '{' {
            // A selector without a metric name (`{__name__="x"}`): only its matchers.
            let (matchers, next) = read_matchers(&chars, i);
            if let Some(name) = matchers.iter().find(|m| m.label == "__name__" && m.op == MatchOp::Equal) {
                query.selectors.push(Selector { metric: name.value.clone(), matchers: matchers.clone() });
            }
            i = next;
        } else if is_identifier_start(c) {
            let end = skip_while(&chars, i, is_identifier_char);
            let word: String = chars[i..end].iter().collect();
            let next = skip_while(&chars, end, char::is_whitespace);
            let lower = word.to_ascii_lowercase();
            if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                let (labels, after) = read_label_list(&chars, next);
                if lower == "by" {
                    query.grouping.extend(labels);
                }
                i = after;
            } else if AGGREGATIONS.contains(&lower.as_str())
                || KEYWORDS.contains(&lower.as_str())
                || chars.get(next) == Some(&'(')
            {
                i = end;
            } else if chars.get(next) == Some(&'{') {
                let (matchers, after) = read_matchers(&chars, next);
                query.selectors.push(Selector { metric: word, matchers });
                i = after;
            } else {
                query.selectors.push(Selector { metric: word, matchers: Vec::new() });
                i = end;
            }
        } else {
            i += 1;
        }
    }
    query
}

fn is_identifier_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn skip_while(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut i = from;
    while i < chars.len() && keep(chars[i]) {
        i += 1;
    }
    i
}

fn skip_past(chars: &[char], from: usize, close: char) -> usize {
    let mut i = from;
    while i < chars.len() && chars[i] != close {
        i += 1;
    }
    i + 1
}

/// `$name`, `$__rate_interval` or `${name}` (Grafana).
fn skip_variable(chars: &[char], from: usize) -> usize {
    if chars.get(from) == Some(&'{') {
        return skip_past(chars, from, '}');
    }
    skip_while(chars, from, is_identifier_char)
}

/// Index after the string literal starting at `from`.
fn skip_string(chars: &[char], from: usize) -> usize {
    read_string(chars, from).1
}

fn read_string(chars: &[char], from: usize) -> (String, usize) {
    let quote = chars[from];
    let mut value = String::new();
    let mut i = from + 1;
    while i < chars.len() && chars[i] != quote {
        if chars[i] == '\\' && quote != '`' && i + 1 < chars.len() {
            i += 1;
        }
        value.push(chars[i]);
        i += 1;
    }
    (value, i + 1)
}

/// `{a="x", b=~"y"}` starting at the `{`; returns the matchers and the index after `}`.
fn read_matchers(chars: &[char], from: usize) -> (Vec<LabelMatcher>, usize) {
    let mut matchers = Vec::new();
    let mut i = from + 1;
    loop {
        i = skip_while(chars, i, |c| c.is_whitespace() || c == ',');
        match chars.get(i) {
            None => return (matchers, i),
            Some('}') => return (matchers, i + 1),
            Some(_) => {}
        }
        let end = skip_while(chars, i, is_identifier_char);
        let label: String = chars[i..end].iter().collect();
        let op_start = skip_while(chars, end, char::is_whitespace);
        let (op, width) = match (chars.get(op_start), chars.get(op_start + 1)) {
            (Some('='), Some('~')) => (MatchOp::Regex, 2),
            (Some('!'), Some('=')) => (MatchOp::NotEqual, 2),
            (Some('!'), Some('~')) => (MatchOp::NotRegex, 2),
            _ => (MatchOp::Equal, 1),
        };
        let value_start = skip_while(chars, op_start + width, char::is_whitespace);
        if label.is_empty() || value_start >= chars.len() {
            return (matchers, skip_past(chars, i, '}'));
        }
        let (value, after) = read_string(chars, value_start);
        matchers.push(LabelMatcher { label, op, value });
        i = after;
    }
}

/// `(a, b)` starting at `from` (the `(`); returns the labels and the index after `)`.
fn read_label_list(chars: &[char], from: usize) -> (Vec<String>, usize) {
    if chars.get(from) != Some(&'(') {
        return (Vec::new(), from);
    }
    let end = skip_past(chars, from, ')');
    let inner: String = chars[from + 1..end - 1].iter().collect();
    let labels = inner.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    (labels, end)
}

/// The `expr:` values of a Prometheus rule file, with the name of the alert each belongs to.
/// Reads plain, quoted and block (`|`, `>`) scalars: all that alert files use in practice.
pub fn rule_expressions(yaml: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut found = Vec::new();
    let mut alert = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert:").or_else(|| trimmed.strip_prefix("alert:")) {
            alert = name.trim().to_owned();
        }
        let Some(value) = trimmed.strip_prefix("expr:") else {
            i += 1;
            continue;
        };
        let value = value.trim();
        if value.starts_with('|') || value.starts_with('>') {
            let indent = line.len() - trimmed.len();
            let mut block = Vec::new();
            i += 1;
            while i < lines.len()
                && (lines[i].trim().is_empty() || lines[i].len() - lines[i].trim_start().len() > indent)
            {
                block.push(lines[i].trim());
                i += 1;
            }
            found.push((alert.clone(), block.join(" ")));
            continue;
        }
        let unquoted = value.trim_matches(|c| c == '"' || c == '\'');
        found.push((alert.clone(), unquoted.to_owned()));
        i += 1;
    }
    found
}

#[test]
fn a_quantile_over_a_filtered_histogram_reads_its_bucket_series_and_grouping() {
    let query = parse(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route="/retell/functions",status!~"5.."}[$__rate_interval]))) > 0.015"#,
    );
    assert_eq!(query.grouping, vec!["le", "route"]);
    assert_eq!(query.selectors.len(), 1, "{query:?}");
    let selector = &query.selectors[0];
    assert_eq!(selector.metric, "http_request_duration_seconds_bucket");
    assert_eq!(
        selector.matchers,
        vec![
            LabelMatcher { label: "route".into(), op: MatchOp::Equal, value: "/retell/functions".into() },
            LabelMatcher { label: "status".into(), op: MatchOp::NotRegex, value: "5..".into() },
        ]
    );
}

#[test]
fn ratios_guards_and_topk_read_every_metric_and_nothing_else() {
    let query = parse(
        "(sum(rate(reservation_expired_total[15m])) / sum(rate(reservation_created_total[15m]))) > 0.2 and \
         sum(increase(reservation_created_total[15m])) >= 10 or topk(10, sum by (service) (increase(x:recorded[$__range]))) offset 1h",
    );
    let names: Vec<&str> = query.selectors.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(
        names,
        vec!["reservation_expired_total", "reservation_created_total", "reservation_created_total", "x:recorded"]
    );
    assert_eq!(query.grouping, vec!["service"]);
}

#[test]
fn bare_gauges_and_comparisons_are_selectors() {
    let query = parse("max by (tenant) (calcom_circuit_state) >= 1");
    assert_eq!(query.selectors, vec![Selector { metric: "calcom_circuit_state".into(), matchers: vec![] }]);
    assert_eq!(parse("up{job='slotkeeper'} == 0").selectors[0].matchers[0].value, "slotkeeper");
    assert_eq!(parse("{__name__=\"calendar_actors\"}").selectors[0].metric, "calendar_actors");
}

#[test]
fn rule_files_yield_plain_quoted_and_block_expressions() {
    let yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n      - alert: B\n        expr: |\n          sum(a_total)\n            /\n          sum(b_total)\n        labels:\n          severity: x\n      - alert: C\n        expr: \"c_total > 1\"\n";
    assert_eq!(
        rule_expressions(yaml),
        vec![
            ("A".to_owned(), "up == 0".to_owned()),
            ("B".to_owned(), "sum(a_total) / sum(b_total)".to_owned()),
            ("C".to_owned(), "c_total > 1".to_owned()),
        ]
    );
}
