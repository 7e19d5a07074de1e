//! Conditions a response must meet beyond its status code ("assertions"), parsed once at the
//! edge into values that can only hold valid conditions. Each is written
//! `{"subject", "op", "value"}` plus what its subject needs (`path`, `name`, `phase`, `of`);
//! `{"any": [...]}` holds when one of its conditions does. The probe judges them.

use crate::fields::{FieldError, Fields};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;
use std::sync::Arc;

use super::values::StatusRanges;

/// Conditions per monitor, at most.
const MAX_CONDITIONS: usize = 20;
/// A regular expression compiles to at most this much memory, so no pattern can stall a check.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// How a value is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    Matches,
    NotMatches,
    Exists,
    NotExists,
    In,
}

impl Op {
    const ALL: [(Op, &'static str); 13] = [
        (Op::Eq, "=="),
        (Op::Ne, "!="),
        (Op::Lt, "<"),
        (Op::Le, "<="),
        (Op::Gt, ">"),
        (Op::Ge, ">="),
        (Op::Contains, "contains"),
        (Op::NotContains, "not_contains"),
        (Op::Matches, "matches"),
        (Op::NotMatches, "not_matches"),
        (Op::Exists, "exists"),
        (Op::NotExists, "not_exists"),
        (Op::In, "in"),
    ];

    pub fn as_str(self) -> &'static str {
        name_in(&Op::ALL, self)
    }

    /// Whether `ordering` (actual against expected) satisfies an order comparison.
    pub fn orders(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        matches!(
            (self, ordering),
            (Op::Eq, Equal)
                | (Op::Ne, Less | Greater)
                | (Op::Lt, Less)
                | (Op::Le, Less | Equal)
                | (Op::Gt, Greater)
                | (Op::Ge, Greater | Equal)
        )
    }
}

/// The name of `value` in a table of values and their names.
fn name_in<T: Copy + PartialEq>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("?", |(_, name)| name)
}

/// The value `name` stands for in a table of values and their names.
fn named<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

/// A step of a check whose time a latency condition can limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Dns,
    Connect,
    Tls,
    Ttfb,
    Transfer,
}

impl Phase {
    const ALL: [(Phase, &'static str); 5] = [
        (Phase::Dns, "dns"),
        (Phase::Connect, "connect"),
        (Phase::Tls, "tls"),
        (Phase::Ttfb, "ttfb"),
        (Phase::Transfer, "transfer"),
    ];

    pub fn as_str(self) -> &'static str {
        name_in(&Phase::ALL, self)
    }
}

/// A regular expression with the text it was written as.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: String,
    pub regex: Regex,
}

/// One condition on a response.
#[derive(Clone, Debug)]
pub enum Condition {
    /// The final status code against a number, or `in` codes and ranges.
    Status { op: Op, value: StatusValue },
    /// The whole check's time, or one step's, in milliseconds.
    Latency {
        phase: Option<Phase>,
        op: Op,
        ms: u32,
    },
    /// The body as text: contains, does not contain, matches.
    Body { op: Op, text: TextValue },
    /// A value in the body read as JSON, found by a JSONPath query: compared, checked for, or
    /// (with `of_length`) its length compared.
    Json {
        path: JsonPath,
        source: String,
        of_length: bool,
        op: Op,
        value: Value,
    },
    /// A response header: present, absent, equal to, containing or matching a value.
    Header {
        name: String,
        op: Op,
        text: Option<TextValue>,
    },
    /// Whole days until the earliest expiry in the server's certificate chain.
    CertDays { op: Op, days: i64 },
    /// A DNS answer's response code, such as NOERROR or NXDOMAIN.
    Rcode { op: Op, code: String },
    /// A DNS answer's records: one of them is (`contains`) or matches a value, they are
    /// exactly a set (`==`), or (with `of_length`) how many there are.
    Answers {
        op: Op,
        value: AnswersValue,
        of_length: bool,
    },
}

#[derive(Clone, Debug)]
pub enum AnswersValue {
    Text(TextValue),
    /// Records as a set, in any order.
    Set(Vec<String>),
    Count(u64),
}

impl Condition {
    /// The subject as written, which says what a check must observe for it.
    pub fn subject(&self) -> &'static str {
        match self {
            Condition::Status { .. } => "status",
            Condition::Latency { .. } => "latency",
            Condition::Body { .. } => "body",
            Condition::Json { .. } => "json",
            Condition::Header { .. } => "header",
            Condition::CertDays { .. } => "cert_days",
            Condition::Rcode { .. } => "rcode",
            Condition::Answers { .. } => "answers",
        }
    }
}

#[derive(Clone, Debug)]
pub enum StatusValue {
    Code(u16),
    Ranges(StatusRanges),
}

#[derive(Clone, Debug)]
pub enum TextValue {
    Text(String),
    Pattern(Pattern),
}

/// A condition, or a group of which one must hold.
#[derive(Clone, Debug)]
pub enum Rule {
    One(Condition),
    Any(Vec<Condition>),
}

/// A monitor's conditions, all of which must hold, with the JSON they were written as: that is
/// what is stored, shown and compared.
#[derive(Clone, Debug, Default)]
pub struct Assertions {
    source: Vec<Value>,
    rules: Arc<[Rule]>,
}

impl PartialEq for Assertions {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Assertions {}

impl Assertions {
    pub fn parse(field: &str, items: &[Value]) -> Result<Self, FieldError> {
        if items.len() > MAX_CONDITIONS {
            return Err(FieldError::new(
                field,
                format!("must hold at most {MAX_CONDITIONS} conditions"),
            ));
        }
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, item)| rule(&format!("{field}[{i}]"), item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Assertions {
            source: items.to_vec(),
            rules: rules.into(),
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The conditions as written, for the API.
    pub fn to_json(&self) -> Value {
        Value::Array(self.source.clone())
    }

    /// Every condition, those in any-groups included.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.rules.iter().flat_map(|r| match r {
            Rule::One(c) => std::slice::from_ref(c),
            Rule::Any(cs) => cs.as_slice(),
        })
    }

    /// Where the `nth` of [`Assertions::conditions`] was written, and its field `name` in it:
    /// `assertions[2].subject`, `assertions[1].any[0].subject`.
    pub fn field_of(&self, nth: usize, name: &str) -> String {
        let mut seen = 0;
        for (i, rule) in self.rules.iter().enumerate() {
            match rule {
                Rule::One(_) if seen == nth => return format!("assertions[{i}].{name}"),
                Rule::One(_) => seen += 1,
                Rule::Any(cs) if nth < seen + cs.len() => {
                    return format!("assertions[{i}].any[{}].{name}", nth - seen);
                }
                Rule::Any(cs) => seen += cs.len(),
            }
        }
        format!("assertions.{name}")
    }

    /// Whether judging needs the response's body.
    pub fn need_body(&self) -> bool {
        self.conditions()
            .any(|c| matches!(c, Condition::Body { .. } | Condition::Json { .. }))
    }
}

fn rule(field: &str, item: &Value) -> Result<Rule, FieldError> {
    let obj = item
        .as_object()
        .ok_or_else(|| FieldError::new(field, "must be an object"))?;
    if let Some(any) = obj.get("any") {
        if obj.len() > 1 {
            return Err(FieldError::new(
                field,
                "an \"any\" group holds nothing else",
            ));
        }
        let list = any.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
            FieldError::new(format!("{field}.any"), "must be a list of conditions")
        })?;
        let conditions = list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let at = format!("{field}.any[{i}]");
                let c = c
                    .as_object()
                    .ok_or_else(|| FieldError::new(&at, "must be an object"))?;
                condition(&at, c)
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Rule::Any(conditions));
    }
    Ok(Rule::One(condition(field, obj)?))
}

fn condition(field: &str, obj: &Map<String, Value>) -> Result<Condition, FieldError> {
    let at = |name: &str| format!("{field}.{name}");
    let f = Fields(obj);
    f.reject_unknown(
        &[&["subject", "op", "value", "path", "name", "phase", "of"]],
        "is not part of a condition",
    )
    .map_err(|e| FieldError::new(format!("{field}.{}", e.field), e.message))?;
    let get_str = |name: &str| match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(FieldError::new(at(name), "must be a string")),
    };
    let subject = get_str("subject")?.ok_or_else(|| {
        FieldError::new(
            at("subject"),
            "is required: status, latency, body, json, header, cert_days, rcode or answers",
        )
    })?;
    let op_text = get_str("op")?.ok_or_else(|| FieldError::new(at("op"), "is required"))?;
    let op = named(&Op::ALL, op_text)
        .ok_or_else(|| FieldError::new(at("op"), format!("{op_text:?} is not an operator")))?;
    let value = obj.get("value");
    let allowed = |ops: &[Op], what: &str| {
        if ops.contains(&op) {
            Ok(())
        } else {
            let names: Vec<_> = ops.iter().map(|o| o.as_str()).collect();
            Err(FieldError::new(
                at("op"),
                format!("must be one of {} for {what}", names.join(", ")),
            ))
        }
    };
    let no_extra = |names: &[&str]| {
        for name in ["path", "name", "phase", "of"] {
            if !names.contains(&name) && obj.contains_key(name) {
                return Err(FieldError::new(
                    at(name),
                    format!("does not apply to {subject}"),
                ));
            }
        }
        Ok(())
    };
    const ORDER: [Op; 6] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
    let number = |what: &str| {
        value
            .and_then(Value::as_u64)
            .ok_or_else(|| FieldError::new(at("value"), format!("must be {what}")))
    };
    match subject {
        "status" => {
            no_extra(&[])?;
            if op == Op::In {
                let items = value.and_then(Value::as_array).ok_or_else(|| {
                    FieldError::new(at("value"), "must be a list of codes and ranges")
                })?;
                let ranges = StatusRanges::parse(&at("value"), items)?;
                return Ok(Condition::Status {
                    op,
                    value: StatusValue::Ranges(ranges),
                });
            }
            allowed(&[ORDER.as_slice(), &[Op::In]].concat(), "a status")?;
            let code = number("a status code from 100 to 599")?;
            let code = u16::try_from(code)
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| FieldError::new(at("value"), "must be from 100 to 599"))?;
            Ok(Condition::Status {
                op,
                value: StatusValue::Code(code),
            })
        }
        "latency" => {
            no_extra(&["phase"])?;
            allowed(&[Op::Lt, Op::Le, Op::Gt, Op::Ge], "a latency")?;
            let phase = get_str("phase")?
                .map(|p| {
                    named(&Phase::ALL, p).ok_or_else(|| {
                        FieldError::new(
                            at("phase"),
                            "must be one of dns, connect, tls, ttfb, transfer",
                        )
                    })
                })
                .transpose()?;
            let ms = u32::try_from(number("a number of milliseconds")?)
                .map_err(|_| FieldError::new(at("value"), "is too large"))?;
            Ok(Condition::Latency { phase, op, ms })
        }
        "body" => {
            no_extra(&[])?;
            allowed(
                &[Op::Contains, Op::NotContains, Op::Matches, Op::NotMatches],
                "the body",
            )?;
            Ok(Condition::Body {
                op,
                text: text(&at("value"), op, value)?,
            })
        }
        "json" => {
            no_extra(&["path", "of"])?;
            let source = get_str("path")?
                .ok_or_else(|| FieldError::new(at("path"), "is required, e.g. $.status"))?;
            let path = JsonPath::parse(source).map_err(|e| {
                FieldError::new(at("path"), format!("is not a JSONPath query: {e}"))
            })?;
            let of_length = match get_str("of")? {
                None => false,
                Some("length") => true,
                Some(_) => return Err(FieldError::new(at("of"), "must be \"length\"")),
            };
            let value = match op {
                Op::Exists | Op::NotExists if !of_length => {
                    if value.is_some() {
                        return Err(FieldError::new(
                            at("value"),
                            "is not used with this operator",
                        ));
                    }
                    Value::Null
                }
                Op::Lt | Op::Le | Op::Gt | Op::Ge => match value {
                    Some(v @ Value::Number(_)) => v.clone(),
                    _ => return Err(FieldError::new(at("value"), "must be a number")),
                },
                Op::Eq | Op::Ne if of_length => Value::from(number("a length")?),
                Op::Eq | Op::Ne | Op::Contains | Op::NotContains if !of_length => value
                    .cloned()
                    .ok_or_else(|| FieldError::new(at("value"), "is required"))?,
                _ => {
                    let ops = if of_length {
                        "==, !=, <, <=, >, >="
                    } else {
                        "==, !=, <, <=, >, >=, contains, not_contains, exists, not_exists"
                    };
                    return Err(FieldError::new(
                        at("op"),
                        format!("must be one of {ops} for a JSON value"),
                    ));
                }
            };
            if of_length && !matches!(value, Value::Number(_)) {
                return Err(FieldError::new(at("value"), "must be a number"));
            }
            Ok(Condition::Json {
                path,
                source: source.to_owned(),
                of_length,
                op,
                value,
            })
        }
        "header" => {
            no_extra(&["name"])?;
            let name = get_str("name")?
                .filter(|n| http::HeaderName::from_bytes(n.as_bytes()).is_ok())
                .ok_or_else(|| FieldError::new(at("name"), "must be a header name"))?
                .to_ascii_lowercase();
            allowed(
                &[
                    Op::Exists,
                    Op::NotExists,
                    Op::Eq,
                    Op::Ne,
                    Op::Contains,
                    Op::NotContains,
                    Op::Matches,
                    Op::NotMatches,
                ],
                "a header",
            )?;
            let text = match op {
                Op::Exists | Op::NotExists => {
                    if value.is_some() {
                        return Err(FieldError::new(
                            at("value"),
                            "is not used with this operator",
                        ));
                    }
                    None
                }
                _ => Some(text(&at("value"), op, value)?),
            };
            Ok(Condition::Header { name, op, text })
        }
        "cert_days" => {
            no_extra(&[])?;
            allowed(&ORDER, "days until a certificate expires")?;
            let days = value
                .and_then(Value::as_i64)
                .filter(|d| d.abs() <= 100_000)
                .ok_or_else(|| FieldError::new(at("value"), "must be a number of days"))?;
            Ok(Condition::CertDays { op, days })
        }
        "rcode" => {
            no_extra(&[])?;
            allowed(&[Op::Eq, Op::Ne], "a response code")?;
            let code = value
                .and_then(Value::as_str)
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
                .ok_or_else(|| {
                    FieldError::new(at("value"), "must be a response code such as NXDOMAIN")
                })?;
            Ok(Condition::Rcode { op, code })
        }
        "answers" => {
            no_extra(&["of"])?;
            let of_length = match get_str("of")? {
                None => false,
                Some("length") => true,
                Some(_) => return Err(FieldError::new(at("of"), "must be \"length\"")),
            };
            let value = if of_length {
                allowed(&ORDER, "the number of answers")?;
                AnswersValue::Count(number("a number of answers")?)
            } else if matches!(op, Op::Eq | Op::Ne) {
                let items = value.and_then(Value::as_array).ok_or_else(|| {
                    FieldError::new(at("value"), "must be a list of records, in any order")
                })?;
                let mut set = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| FieldError::new(at("value"), "must be a list of texts"))?;
                set.sort();
                AnswersValue::Set(set)
            } else {
                allowed(
                    &[
                        Op::Eq,
                        Op::Ne,
                        Op::Contains,
                        Op::NotContains,
                        Op::Matches,
                        Op::NotMatches,
                    ],
                    "answers",
                )?;
                AnswersValue::Text(text(&at("value"), op, value)?)
            };
            Ok(Condition::Answers {
                op,
                value,
                of_length,
            })
        }
        other => Err(FieldError::new(
            at("subject"),
            format!(
                "{other:?} is not one of status, latency, body, json, header, cert_days, rcode, \
                 answers"
            ),
        )),
    }
}

/// The text or pattern an operator compares with.
fn text(field: &str, op: Op, value: Option<&Value>) -> Result<TextValue, FieldError> {
    let s = value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FieldError::new(field, "must be a text"))?;
    if matches!(op, Op::Matches | Op::NotMatches) {
        let regex = RegexBuilder::new(s)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let why = e.to_string();
                let why = why.lines().last().unwrap_or("invalid").trim().to_owned();
                FieldError::new(field, format!("is not a regular expression: {why}"))
            })?;
        return Ok(TextValue::Pattern(Pattern {
            source: s.to_owned(),
            regex,
        }));
    }
    Ok(TextValue::Text(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Assertions, FieldError> {
        Assertions::parse("assertions", v.as_array().unwrap())
    }

    #[test]
    fn every_subject_parses() {
        let a = parse(json!([
            {"subject": "status", "op": "in", "value": ["200-299", 304]},
            {"subject": "latency", "op": "<", "value": 500},
            {"subject": "latency", "phase": "ttfb", "op": "<=", "value": 300},
            {"subject": "body", "op": "contains", "value": "OK"},
            {"subject": "body", "op": "matches", "value": "^\\{"},
            {"subject": "json", "path": "$.status", "op": "==", "value": "ok"},
            {"subject": "json", "path": "$.items", "of": "length", "op": ">=", "value": 1},
            {"subject": "json", "path": "$.a", "op": "exists"},
            {"subject": "header", "name": "Content-Type", "op": "matches", "value": "json"},
            {"any": [{"subject": "status", "op": "==", "value": 200},
                     {"subject": "status", "op": "==", "value": 204}]},
            {"subject": "cert_days", "op": ">=", "value": 14}
        ]))
        .unwrap();
        assert_eq!(a.rules().len(), 11);
        assert_eq!(a.conditions().count(), 12);
        assert!(a.need_body());
    }

    #[test]
    fn a_bad_condition_is_refused_naming_its_field() {
        for (v, field, says) in [
            (json!([{"op": "=="}]), "assertions[0].subject", "required"),
            (
                json!([{"subject": "smell", "op": "=="}]),
                "assertions[0].subject",
                "smell",
            ),
            (
                json!([{"subject": "status", "op": "~"}]),
                "assertions[0].op",
                "operator",
            ),
            (
                json!([{"subject": "status", "op": "==", "value": 999}]),
                "assertions[0].value",
                "599",
            ),
            (
                json!([{"subject": "latency", "op": "==", "value": 5}]),
                "assertions[0].op",
                "<",
            ),
            (
                json!([{"subject": "latency", "phase": "dig", "op": "<", "value": 5}]),
                "assertions[0].phase",
                "ttfb",
            ),
            (
                json!([{"subject": "body", "op": "matches", "value": "("}]),
                "assertions[0].value",
                "regular expression",
            ),
            (
                json!([{"subject": "json", "op": "==", "value": 1}]),
                "assertions[0].path",
                "required",
            ),
            (
                json!([{"subject": "json", "path": "status", "op": "==", "value": 1}]),
                "assertions[0].path",
                "JSONPath",
            ),
            (
                json!([{"subject": "json", "path": "$.a", "op": "<", "value": "x"}]),
                "assertions[0].value",
                "number",
            ),
            (
                json!([{"subject": "header", "op": "exists"}]),
                "assertions[0].name",
                "header name",
            ),
            (
                json!([{"subject": "status", "path": "$", "op": "==", "value": 200}]),
                "assertions[0].path",
                "does not apply",
            ),
            (json!([{"any": []}]), "assertions[0].any", "list"),
            (
                json!([{"any": [{"subject": "body", "op": "<", "value": 1}]}]),
                "assertions[0].any[0].op",
                "contains",
            ),
            (
                json!([{"subject": "status", "op": "==", "value": 200, "extra": 1}]),
                "assertions[0].extra",
                "not part",
            ),
        ] {
            let e = parse(v.clone()).unwrap_err();
            assert_eq!(e.field, field, "{v}: {e:?}");
            assert!(e.message.contains(says), "{v}: {e:?}");
        }
    }
}
