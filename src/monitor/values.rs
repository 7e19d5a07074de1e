//! The values a monitor's settings may hold, each a type that can only be built valid.

use crate::fields::FieldError;
use http::{HeaderName, HeaderValue};
use serde_json::Value;
use std::fmt;
use url::Url;

/// A monitor's display name: 1 to 100 characters, no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(field, "must be at most 100 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Name(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute http or https URL with a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl(Url);

impl HttpUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.len() > Self::MAX_LEN {
            return Err(FieldError::new(field, "must be at most 2048 characters"));
        }
        let url = Url::parse(s)
            .map_err(|e| FieldError::new(field, format!("is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FieldError::new(field, "must be an http:// or https:// URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FieldError::new(field, "must name a host"));
        }
        Ok(HttpUrl(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host, for a name when none is given.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

/// The request methods a check may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Method {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    pub fn to_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
            Method::Options => http::Method::OPTIONS,
        }
    }
}

/// Extra request headers, in the order given. Framing headers are the probe's to set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(HeaderName, HeaderValue)>);

impl Headers {
    pub const MAX_COUNT: usize = 64;
    const RESERVED: [&'static str; 5] = [
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
    ];

    pub fn parse<'a>(
        field: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        let mut out = Vec::new();
        for (name, value) in pairs {
            let at = format!("{field}.{name}");
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| FieldError::new(&at, "is not a valid header name"))?;
            if Self::RESERVED.contains(&name.as_str()) {
                return Err(FieldError::new(
                    &at,
                    "is set by upbeat and cannot be overridden",
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| FieldError::new(&at, "is not a valid header value"))?;
            out.push((name, value));
        }
        if out.len() > Self::MAX_COUNT {
            return Err(FieldError::new(field, "must have at most 64 headers"));
        }
        Ok(Headers(out))
    }

    pub fn iter(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> {
        self.0.iter()
    }
}

/// The status codes that count as success, as inclusive ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRanges(Vec<(u16, u16)>);

impl Default for StatusRanges {
    fn default() -> Self {
        StatusRanges(vec![(200, 299)])
    }
}

impl StatusRanges {
    /// Items are `200`, `"200"`, `"200-299"` or `"2xx"`.
    pub fn parse(field: &str, items: &[Value]) -> Result<Self, FieldError> {
        if items.is_empty() {
            return Err(FieldError::new(field, "must list at least one status code"));
        }
        if items.len() > 100 {
            return Err(FieldError::new(field, "must have at most 100 entries"));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                Self::parse_one(item)
                    .ok_or_else(|| FieldError::new(format!("{field}[{i}]"), Self::HINT))
            })
            .collect::<Result<_, _>>()
            .map(StatusRanges)
    }

    const HINT: &'static str = "must be a status code (200), a range (\"200-299\") or a class (\"2xx\") between 100 and 599";

    fn parse_one(item: &Value) -> Option<(u16, u16)> {
        let code = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
        };
        let (lo, hi) = match item {
            Value::Number(n) => {
                let c = code(&n.as_u64()?.to_string())?;
                (c, c)
            }
            Value::String(s) => {
                let s = s.trim();
                if let Some((a, b)) = s.split_once('-') {
                    (code(a)?, code(b)?)
                } else if let Some(digit) = s
                    .get(1..)
                    .filter(|class| s.len() == 3 && class.eq_ignore_ascii_case("xx"))
                    .and_then(|_| s.get(..1))
                {
                    let class = code(&format!("{digit}00"))?;
                    (class, class + 99)
                } else {
                    let c = code(s)?;
                    (c, c)
                }
            }
            _ => return None,
        };
        (lo <= hi).then_some((lo, hi))
    }

    pub fn accepts(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    /// The canonical form: `"200-299"`, `"301"`.
    pub fn to_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect()
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_strings().join(", "))
    }
}

/// A count of consecutive results, 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold(u32);

impl Threshold {
    pub const MAX: u32 = 100;

    pub fn parse(field: &str, n: u64) -> Result<Self, FieldError> {
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Threshold)
            .ok_or_else(|| FieldError::new(field, "must be between 1 and 100"))
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Interval, Timeout};
    use serde_json::json;

    #[test]
    fn only_http_and_https_urls_with_a_host() {
        assert!(HttpUrl::parse("url", "https://example.com/health?x=1").is_ok());
        assert!(HttpUrl::parse("url", "  http://127.0.0.1:8080 ").is_ok());
        for bad in [
            "ftp://example.com",
            "example.com",
            "http://",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(
                HttpUrl::parse("url", bad).unwrap_err().field,
                "url",
                "{bad}"
            );
        }
    }

    #[test]
    fn status_ranges_parse_codes_ranges_and_classes() {
        let r = StatusRanges::parse(
            "accepted_status",
            &[json!(200), json!("301-302"), json!("4xx")],
        )
        .unwrap();
        assert!(r.accepts(200) && r.accepts(302) && r.accepts(404));
        assert!(!r.accepts(201) && !r.accepts(500));
        assert_eq!(r.to_strings(), ["200", "301-302", "400-499"]);
        let err =
            StatusRanges::parse("accepted_status", &[json!(200), json!("299-200")]).unwrap_err();
        assert_eq!(err.field, "accepted_status[1]");
        assert!(StatusRanges::parse("accepted_status", &[json!(600)]).is_err());
        assert!(StatusRanges::parse("accepted_status", &[]).is_err());
    }

    #[test]
    fn odd_text_is_refused_without_panicking() {
        let odd = [
            "é1",
            "éxx",
            "1é",
            "2é",
            "xx",
            "-",
            "1-",
            "-1",
            "٣xx",
            "2xx-3xx",
            "\u{0}",
            "💥💥💥",
            "20\u{301}0",
        ];
        for s in odd {
            assert!(StatusRanges::parse("s", &[Value::from(s)]).is_err(), "{s}");
            assert!(Interval::parse("i", &Value::from(s)).is_err(), "{s}");
            assert!(Timeout::parse("t", &Value::from(s)).is_err(), "{s}");
            assert!(Method::parse("m", s).is_err(), "{s}");
            let _ = Name::parse("n", s);
            let _ = HttpUrl::parse("u", s);
            let _ = Headers::parse("h", [(s, s)]);
        }
        for class in ["5XX", "5xX"] {
            assert!(
                StatusRanges::parse("s", &[Value::from(class)])
                    .unwrap()
                    .accepts(503),
                "{class}"
            );
        }
    }

    #[test]
    fn headers_reject_invalid_and_framing_names() {
        assert!(Headers::parse("headers", [("Authorization", "Bearer x")]).is_ok());
        let e = Headers::parse("headers", [("Content-Length", "3")]).unwrap_err();
        assert_eq!(e.field, "headers.Content-Length");
        assert!(Headers::parse("headers", [("bad name", "x")]).is_err());
        assert!(Headers::parse("headers", [("x", "line\nbreak")]).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  API ").unwrap().as_str(), "API");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(101)).is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
    }
}
