//! Reading a marketplace's JSON field by field, every failure naming the record and the field.
//!
//! Each connector maps its own payloads, but the way a hostile payload is read is the same for
//! all of them: `null` counts as absent, ids may come as numbers, decimals as strings or
//! numbers (never through `f64`), timestamps as text, and a bad value is a [`MappingError`]
//! with the record and the JSON path, never a panic. A connector wraps [`JsonReader`] (by
//! `Deref`) and adds what is its marketplace's own: money shapes, boolean spellings, lists.

use std::str::FromStr;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::MappingError;

type R<T> = Result<T, MappingError>;

/// A value quoted in an error message, cut so that a huge or secret-bearing field is not
/// copied whole into logs and Odoo.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Reads fields of one record (`record` names it in errors, e.g. `order 123-456`).
#[derive(Debug, Clone, Copy)]
pub struct JsonReader<'a> {
    record: &'a str,
    /// How the marketplace's documentation names its timestamp format, for error messages.
    timestamp_format: &'static str,
}

impl<'a> JsonReader<'a> {
    pub fn new(record: &'a str, timestamp_format: &'static str) -> Self {
        JsonReader {
            record,
            timestamp_format,
        }
    }

    pub fn record(&self) -> &'a str {
        self.record
    }

    pub fn err(&self, field: &str, message: impl Into<String>) -> MappingError {
        MappingError::new(self.record, field, message)
    }

    /// The value at `key`, `null` counting as absent.
    pub fn present<'v>(&self, v: &'v Value, key: &str) -> Option<&'v Value> {
        v.get(key).filter(|x| !x.is_null())
    }

    pub fn req<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v Value> {
        self.present(v, key)
            .ok_or_else(|| self.err(path, "missing"))
    }

    /// Strings; numbers and booleans are accepted as their text (ids are often numbers).
    pub fn as_text(&self, v: &Value, path: &str) -> R<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.err(path, "expected a string")),
        }
    }

    /// Present and not blank.
    pub fn req_str(&self, v: &Value, key: &str, path: &str) -> R<String> {
        let s = self.as_text(self.req(v, key, path)?, path)?;
        if s.trim().is_empty() {
            return Err(self.err(path, "empty"));
        }
        Ok(s)
    }

    /// Absent and blank are both `None`.
    pub fn opt_str(&self, v: &Value, key: &str, path: &str) -> R<Option<String>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(x) => Ok(Some(self.as_text(x, path)?).filter(|s| !s.trim().is_empty())),
        }
    }

    /// A decimal from a string or a JSON number, read from its text (exact, no `f64`).
    pub fn decimal(&self, v: &Value, path: &str) -> R<Decimal> {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(self.err(path, "expected a decimal number")),
        };
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| self.err(path, format!("not a decimal number: {:?}", truncate(&text))))
    }

    pub fn req_decimal(&self, v: &Value, key: &str, path: &str) -> R<Decimal> {
        self.decimal(self.req(v, key, path)?, path)
    }

    pub fn opt_decimal(&self, v: &Value, key: &str, path: &str) -> R<Option<Decimal>> {
        self.present(v, key)
            .map(|x| self.decimal(x, path))
            .transpose()
    }

    pub fn ts(&self, v: &Value, path: &str) -> R<Timestamp> {
        let format = self.timestamp_format;
        let s = v
            .as_str()
            .ok_or_else(|| self.err(path, format!("expected an {format} timestamp")))?;
        Timestamp::from_str(s.trim()).map_err(|_| {
            self.err(
                path,
                format!("not an {format} timestamp: {:?}", truncate(s)),
            )
        })
    }

    pub fn req_ts(&self, v: &Value, key: &str, path: &str) -> R<Timestamp> {
        self.ts(self.req(v, key, path)?, path)
    }

    pub fn opt_ts(&self, v: &Value, key: &str, path: &str) -> R<Option<Timestamp>> {
        self.present(v, key).map(|x| self.ts(x, path)).transpose()
    }

    pub fn opt_object<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<Option<&'v Value>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(o @ Value::Object(_)) => Ok(Some(o)),
            Some(_) => Err(self.err(path, "expected an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_name_the_record_and_the_field() {
        let r = JsonReader::new("order 7", "RFC 3339");
        let v = json!({"a": null, "n": 12, "d": "1e-2", "t": "yesterday", "o": []});
        assert!(r.present(&v, "a").is_none());
        assert_eq!(r.req_str(&v, "n", "$.n").unwrap(), "12");
        assert_eq!(r.req_decimal(&v, "d", "$.d").unwrap(), Decimal::new(1, 2));
        let e = r.req_ts(&v, "t", "$.t").unwrap_err();
        assert_eq!((e.record.as_str(), e.field.as_str()), ("order 7", "$.t"));
        assert!(e.message.contains("not an RFC 3339 timestamp"), "{e:?}");
        assert_eq!(r.req(&v, "a", "$.a").unwrap_err().message, "missing");
        assert!(r.opt_object(&v, "o", "$.o").is_err());
        assert_eq!(r.opt_str(&json!({"s": "  "}), "s", "$.s").unwrap(), None);
    }
}
