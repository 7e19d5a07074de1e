//! Reading a JSON object field by field: typed access where `null` means absent, and errors
//! that name the field, for every place that parses a client's JSON.

use serde_json::{Map, Value};

/// A value that was rejected, and the field that held it (`interval`, `headers.X-Key`,
/// `accepted_status[1]`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Typed access to the fields of a JSON object, where `null` means absent.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// Refuses a field that is in none of the `allowed` lists, with `message`.
    pub fn reject_unknown(&self, allowed: &[&[&str]], message: &str) -> Result<(), FieldError> {
        match self
            .0
            .keys()
            .find(|k| !allowed.iter().any(|list| list.contains(&k.as_str())))
        {
            Some(k) => Err(FieldError::new(k.as_str(), message)),
            None => Ok(()),
        }
    }

    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn typed<T>(
        &self,
        field: &str,
        what: &str,
        pick: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => pick(v)
                .map(Some)
                .ok_or_else(|| FieldError::new(field, format!("must be {what}"))),
        }
    }

    pub fn str(&self, field: &str) -> Result<Option<&'a str>, FieldError> {
        self.typed(field, "a string", Value::as_str)
    }

    pub fn u64(&self, field: &str) -> Result<Option<u64>, FieldError> {
        self.typed(field, "a whole number", Value::as_u64)
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, FieldError> {
        self.typed(field, "true or false", Value::as_bool)
    }

    pub fn array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, FieldError> {
        self.typed(field, "an array", Value::as_array)
    }

    pub fn object(&self, field: &str) -> Result<Option<&'a Map<String, Value>>, FieldError> {
        self.typed(field, "an object", Value::as_object)
    }
}
