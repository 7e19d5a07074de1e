//! Judging what a check observed against a monitor's conditions. The first condition that does not hold
//! is named, with what was found instead: `$.status == "ok" but was "degraded"`.

use super::Observed;
use super::outcome::Phases;
use crate::monitor::{
    AnswersValue, Assertions, Condition, Op, Phase, Rule, StatusValue, TextValue,
};
use crate::timestamp::{DAY_MS, Timestamp};
use serde_json::Value;
use std::cmp::Ordering;

/// How long a value may be in a message before it is cut.
const SHOWN_CHARS: usize = 80;

/// What is judged: what the check observed, its timings and the certificate it saw.
pub(super) struct Judged<'a> {
    pub observed: &'a Observed,
    pub latency_ms: u32,
    pub phases: Phases,
    /// When the check started.
    pub at: Timestamp,
    pub cert_expires_at: Option<Timestamp>,
}

/// Why the first condition that does not hold fails; `None` when all hold.
pub(super) fn first_failure(assertions: &Assertions, judged: &Judged<'_>) -> Option<String> {
    let mut json = None;
    for rule in assertions.rules() {
        match rule {
            Rule::One(c) => {
                if let Err(why) = holds(c, judged, &mut json) {
                    return Some(why);
                }
            }
            Rule::Any(conditions) => {
                let mut failures = Vec::new();
                for c in conditions {
                    match holds(c, judged, &mut json) {
                        Ok(()) => break,
                        Err(why) => failures.push(why),
                    }
                }
                if failures.len() == conditions.len() {
                    return Some(format!(
                        "none of {} held: {}",
                        failures.len(),
                        failures.join("; ")
                    ));
                }
            }
        }
    }
    None
}

/// A value as a message shows it, cut when long.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A text as a message shows it: quoted and escaped as in JSON, cut when long.
pub(super) fn text_shown(s: &str) -> String {
    shown(&Value::from(s))
}

/// The body read as JSON, parsed once per check.
fn body_json<'a>(
    judged: &Judged<'_>,
    json: &'a mut Option<Result<Value, String>>,
) -> &'a Result<Value, String> {
    json.get_or_insert_with(|| {
        serde_json::from_slice(&judged.observed.body)
            .map_err(|e| format!("the body is not JSON ({e})"))
    })
}

fn holds(
    c: &Condition,
    judged: &Judged<'_>,
    json: &mut Option<Result<Value, String>>,
) -> Result<(), String> {
    let r = judged.observed;
    match c {
        Condition::Status { op, value } => {
            // Only HTTP monitors have status conditions, and a passing HTTP check has a status.
            let status = r.status.unwrap_or_default();
            let (ok, expected) = match value {
                StatusValue::Code(code) => (op.orders(status.cmp(code)), code.to_string()),
                StatusValue::Ranges(ranges) => (ranges.accepts(status), format!("[{ranges}]")),
            };
            ok.then_some(())
                .ok_or_else(|| format!("status {} {expected} but was {status}", op.as_str()))
        }
        Condition::Latency { phase, op, ms } => {
            let p = judged.phases;
            let (what, actual) = match phase {
                None => ("latency".to_owned(), judged.latency_ms),
                Some(phase) => {
                    let spent = match phase {
                        Phase::Dns => p.dns_ms,
                        Phase::Connect => p.connect_ms,
                        Phase::Tls => p.tls_ms,
                        Phase::Ttfb => p.ttfb_ms,
                        Phase::Transfer => p.transfer_ms,
                    };
                    // A step that did not happen took no time.
                    (format!("{} latency", phase.as_str()), spent.unwrap_or(0))
                }
            };
            op.orders(actual.cmp(ms))
                .then_some(())
                .ok_or_else(|| format!("{what} {} {ms} ms but was {actual} ms", op.as_str()))
        }
        Condition::Body { op, text } => {
            let body = String::from_utf8_lossy(&r.body);
            let (expected, found) = matched(text, &body);
            let wanted = matches!(op, Op::Contains | Op::Matches);
            (found == wanted).then_some(()).ok_or_else(|| {
                format!(
                    "body {} {expected} but it {}",
                    op.as_str(),
                    if found { "does" } else { "does not" }
                )
            })
        }
        Condition::CertDays { op, days } => {
            let Some(expires) = judged.cert_expires_at else {
                return Err(format!(
                    "cert_days {} {days} but no certificate was seen",
                    op.as_str()
                ));
            };
            let left = (expires.as_millis() - judged.at.as_millis()).div_euclid(DAY_MS);
            op.orders(left.cmp(days)).then_some(()).ok_or_else(|| {
                format!(
                    "cert_days {} {days} but the certificate expires in {left} days ({})",
                    op.as_str(),
                    expires.to_readable()
                )
            })
        }
        Condition::Rcode { op, code } => {
            let found = r.rcode.as_deref().unwrap_or_default();
            ((found == code) == (*op == Op::Eq))
                .then_some(())
                .ok_or_else(|| format!("rcode {} {code} but was {found}", op.as_str()))
        }
        Condition::Answers {
            op,
            value,
            of_length,
        } => answers(*op, value, *of_length, &r.answers),
        Condition::Header { name, op, text } => {
            let values: Vec<String> = r
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let actual = (!values.is_empty()).then(|| values.join(", "));
            let expected = text.as_ref().map(|t| matched(t, "").0);
            let fail = |was: String| {
                let expected = expected
                    .clone()
                    .map(|e| format!(" {e}"))
                    .unwrap_or_default();
                Err(format!("header {name} {}{expected} but {was}", op.as_str()))
            };
            let ok = match (op, &actual, text) {
                (Op::Exists, found, _) => found.is_some(),
                (Op::NotExists, found, _) => found.is_none(),
                (_, None, _) => return fail("it is absent".into()),
                (Op::Eq, Some(v), Some(TextValue::Text(t))) => v == t,
                (Op::Ne, Some(v), Some(TextValue::Text(t))) => v != t,
                (Op::Contains | Op::Matches, Some(v), Some(t)) => matched(t, v).1,
                (Op::NotContains | Op::NotMatches, Some(v), Some(t)) => !matched(t, v).1,
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                fail(match actual {
                    Some(v) => format!("was {}", text_shown(&v)),
                    None => "it is absent".into(),
                })
            }
        }
        Condition::Json {
            path,
            source,
            of_length,
            op,
            value,
        } => {
            let doc = body_json(judged, json)
                .as_ref()
                .map_err(|e| format!("{source}: {e}"))?;
            let nodes = path.query(doc);
            let subject = if *of_length {
                format!("length of {source}")
            } else {
                source.clone()
            };
            match op {
                Op::Exists if !of_length => {
                    return (!nodes.is_empty())
                        .then_some(())
                        .ok_or_else(|| format!("{source} exists but nothing was found"));
                }
                Op::NotExists if !of_length => {
                    return match nodes.first() {
                        None => Ok(()),
                        Some(v) => Err(format!("{source} not_exists but was {}", shown(v))),
                    };
                }
                _ => {}
            }
            let expected = format!("{subject} {} {}", op.as_str(), shown(value));
            let actual = match nodes.len() {
                0 => return Err(format!("{expected} but nothing was found")),
                1 => nodes.first().cloned().unwrap_or(Value::Null),
                n => return Err(format!("{expected} but {source} found {n} values")),
            };
            let actual = if *of_length {
                match length(&actual) {
                    Some(n) => Value::from(n),
                    None => return Err(format!("{expected} but {} has no length", shown(&actual))),
                }
            } else {
                actual
            };
            let ok = match op {
                Op::Eq => same(&actual, value),
                Op::Ne => !same(&actual, value),
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    order(&actual, value).is_some_and(|o| op.orders(o))
                }
                Op::Contains | Op::NotContains => {
                    let found = match (&actual, value) {
                        (Value::String(s), Value::String(t)) => s.contains(t.as_str()),
                        (Value::Array(items), v) => items.iter().any(|i| same(i, v)),
                        _ => false,
                    };
                    found == (*op == Op::Contains)
                }
                _ => false,
            };
            ok.then_some(())
                .ok_or_else(|| format!("{expected} but was {}", shown(&actual)))
        }
    }
}

/// How a text condition reads, and whether it finds its text or pattern in `haystack`.
fn matched(t: &TextValue, haystack: &str) -> (String, bool) {
    match t {
        TextValue::Text(s) => (text_shown(s), haystack.contains(s.as_str())),
        TextValue::Pattern(p) => (format!("/{}/", p.source), p.regex.is_match(haystack)),
    }
}

/// A DNS answer's records against a condition on them.
fn answers(
    op: Op,
    value: &AnswersValue,
    of_length: bool,
    records: &[String],
) -> Result<(), String> {
    let shown_records = || {
        let list: Vec<Value> = records.iter().map(|r| Value::from(r.as_str())).collect();
        shown(&Value::from(list))
    };
    let (expected, ok) = match value {
        AnswersValue::Count(n) if of_length => {
            let count = records.len() as u64;
            let ok = op.orders(count.cmp(n));
            return ok
                .then_some(())
                .ok_or_else(|| format!("number of answers {} {n} but was {count}", op.as_str()));
        }
        AnswersValue::Count(_) => return Err("a count needs \"of\": \"length\"".into()),
        AnswersValue::Set(set) => {
            let mut sorted: Vec<String> = records.to_vec();
            sorted.sort();
            let list: Vec<Value> = set.iter().map(|r| Value::from(r.as_str())).collect();
            (
                shown(&Value::from(list)),
                (sorted == *set) == (op == Op::Eq),
            )
        }
        AnswersValue::Text(TextValue::Text(t)) => {
            let found = records.iter().any(|r| r.eq_ignore_ascii_case(t));
            (text_shown(t), found == (op == Op::Contains))
        }
        AnswersValue::Text(TextValue::Pattern(p)) => {
            let found = records.iter().any(|r| p.regex.is_match(r));
            (format!("/{}/", p.source), found == (op == Op::Matches))
        }
    };
    ok.then_some(()).ok_or_else(|| {
        format!(
            "answers {} {expected} but were {}",
            op.as_str(),
            shown_records()
        )
    })
}

/// Equal as JSON values, numbers by their value (1 and 1.0 are the same).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// The order of two numbers; `None` unless both are.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Items of an array, members of an object, characters of a string.
fn length(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderMap, HeaderValue};
    use serde_json::json;

    fn judge(conditions: Value, status: u16, body: &str) -> Option<String> {
        let assertions = Assertions::parse("assertions", conditions.as_array().unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let observed = Observed {
            status: Some(status),
            headers,
            body: bytes::Bytes::from(body.to_owned()),
            ..Observed::default()
        };
        let judged = Judged {
            observed: &observed,
            latency_ms: 120,
            phases: Phases {
                ttfb_ms: Some(100),
                ..Phases::default()
            },
            at: Timestamp::from_millis(0),
            // Ten and a half days after `at`.
            cert_expires_at: Some(Timestamp::from_millis(10 * DAY_MS + DAY_MS / 2)),
        };
        first_failure(&assertions, &judged)
    }

    #[test]
    fn the_first_condition_that_does_not_hold_is_named_with_what_was_found() {
        let body = r#"{"status": "degraded", "items": [1, 2], "load": 0.5}"#;
        for (condition, expected) in [
            (
                json!({"subject": "json", "path": "$.status", "op": "==", "value": "ok"}),
                r#"$.status == "ok" but was "degraded""#,
            ),
            (
                json!({"subject": "json", "path": "$.items", "of": "length", "op": ">=", "value": 3}),
                "length of $.items >= 3 but was 2",
            ),
            (
                json!({"subject": "json", "path": "$.load", "op": "<", "value": 0.25}),
                "$.load < 0.25 but was 0.5",
            ),
            (
                json!({"subject": "json", "path": "$.gone", "op": "exists"}),
                "$.gone exists but nothing was found",
            ),
            (
                json!({"subject": "json", "path": "$.items[*]", "op": "==", "value": 1}),
                "$.items[*] == 1 but $.items[*] found 2 values",
            ),
            (
                json!({"subject": "status", "op": "==", "value": 204}),
                "status == 204 but was 200",
            ),
            (
                json!({"subject": "latency", "op": "<", "value": 100}),
                "latency < 100 ms but was 120 ms",
            ),
            (
                json!({"subject": "cert_days", "op": ">=", "value": 14}),
                "cert_days >= 14 but the certificate expires in 10 days (1970-01-11 12:00:00 UTC)",
            ),
            (
                json!({"subject": "latency", "phase": "ttfb", "op": "<=", "value": 50}),
                "ttfb latency <= 50 ms but was 100 ms",
            ),
            (
                json!({"subject": "body", "op": "contains", "value": "healthy"}),
                r#"body contains "healthy" but it does not"#,
            ),
            (
                json!({"subject": "body", "op": "not_matches", "value": "degr[a-z]+"}),
                "body not_matches /degr[a-z]+/ but it does",
            ),
            (
                json!({"subject": "header", "name": "content-type", "op": "matches", "value": "^text/"}),
                r#"header content-type matches /^text// but was "application/json""#,
            ),
            (
                json!({"subject": "header", "name": "x-version", "op": "==", "value": "2"}),
                r#"header x-version == "2" but it is absent"#,
            ),
        ] {
            assert_eq!(
                judge(json!([condition]), 200, body).as_deref(),
                Some(expected),
                "{condition}"
            );
        }
    }

    #[test]
    fn conditions_that_hold_pass_and_any_groups_need_one() {
        let body = r#"{"status": "ok", "tags": ["a", "b"], "n": 2}"#;
        assert_eq!(
            judge(
                json!([
                    {"subject": "status", "op": "in", "value": ["200-299"]},
                    {"subject": "json", "path": "$.status", "op": "==", "value": "ok"},
                    {"subject": "json", "path": "$.tags", "op": "contains", "value": "b"},
                    {"subject": "json", "path": "$.n", "op": "==", "value": 2.0},
                    {"subject": "json", "path": "$.missing", "op": "not_exists"},
                    {"subject": "header", "name": "content-type", "op": "contains", "value": "json"},
                    {"subject": "latency", "phase": "tls", "op": "<", "value": 1},
                    {"any": [{"subject": "status", "op": "==", "value": 500},
                             {"subject": "body", "op": "contains", "value": "ok"}]}
                ]),
                200,
                body
            ),
            None
        );
        let failed = judge(
            json!([{"any": [{"subject": "status", "op": "==", "value": 500},
                            {"subject": "body", "op": "contains", "value": "nope"}]}]),
            200,
            body,
        )
        .unwrap();
        assert!(
            failed.starts_with("none of 2 held: status == 500 but was 200; body contains"),
            "{failed}"
        );
        let not_json = judge(
            json!([{"subject": "json", "path": "$.a", "op": "exists"}]),
            200,
            "<html>",
        )
        .unwrap();
        assert!(
            not_json.starts_with("$.a: the body is not JSON"),
            "{not_json}"
        );
    }
}
