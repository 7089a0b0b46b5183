//! Values between the wire (JSON, which is also what XML-RPC decodes to) and storage.

use crate::error::{OResult, OdooError};
use crate::schema::{FieldDef, FieldType};
use crate::store::Val;
use jiff::Timestamp;
use serde_json::{Number, Value};

/// Microseconds → `YYYY-MM-DD HH:MM:SS` (UTC, truncated like Odoo).
pub fn fmt_dt(us: i64) -> String {
    match Timestamp::from_microsecond(us) {
        Ok(ts) => odoo_wire::datetime::format_datetime(ts),
        Err(_) => "1970-01-01 00:00:00".into(),
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` → microseconds (dates are midnight).
pub fn parse_dt(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ts) = odoo_wire::datetime::parse_datetime(s) {
        return Some(ts.as_microsecond());
    }
    // ISO 'T' form, which Odoo also accepts on write.
    if let Some(ts) = odoo_wire::datetime::parse_datetime(&s.replacen('T', " ", 1)) {
        return Some(ts.as_microsecond());
    }
    let d = odoo_wire::datetime::parse_date(s.get(..10)?)?;
    d.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_microsecond())
}

/// Microseconds → `YYYY-MM-DD` (UTC date).
pub fn date_of(us: i64) -> String {
    fmt_dt(us)[..10].to_owned()
}

pub fn float(f: f64) -> Value {
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Bool(false))
}

/// Python's `round(x, n)` on the decimal the float prints as (Odoo's `float_round` is half-up
/// on the shortest repr, so 2.675 → 2.68 where Python's `round` gives 2.67).
pub fn round_to(x: f64, digits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(digits as i32);
    let scaled = x * p;
    // Correct the binary representation error before rounding half away from zero.
    let eps = scaled.abs() * f64::EPSILON * 4.0 + 1e-9;
    let r = if scaled >= 0.0 {
        (scaled + eps).round()
    } else {
        (scaled - eps).round()
    };
    let out = r / p;
    // Normalise -0.0.
    if out == 0.0 { 0.0 } else { out }
}

/// Round to a currency/UoM `rounding` (0.01, 1.0, 0.001…).
pub fn round_precision(x: f64, rounding: f64) -> f64 {
    if rounding <= 0.0 {
        return x;
    }
    let digits = (-rounding.log10()).round().max(0.0) as u32;
    let steps = round_to(x / rounding, 0);
    round_to(steps * rounding, digits)
}

/// Convert a written value for `field` into what is stored (`None` = empty).
pub fn to_val(
    model: &str,
    field: &FieldDef,
    v: &Value,
    digits: Option<u32>,
) -> OResult<Option<Val>> {
    if matches!(v, Value::Null | Value::Bool(false))
        && !matches!(
            field.ftype,
            FieldType::Boolean | FieldType::Integer | FieldType::Float | FieldType::Monetary
        )
    {
        return Ok(None);
    }
    let bad = || {
        OdooError::value(format!(
            "Wrong value for {model}.{}: {}",
            field.name,
            py_repr(v)
        ))
    };
    Ok(Some(match field.ftype {
        FieldType::Boolean => Val::Bool(truthy(v)),
        FieldType::Integer => match v {
            Value::Number(n) => Val::Int(
                n.as_i64()
                    .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
            ),
            Value::Bool(b) => Val::Int(*b as i64),
            Value::Null => Val::Int(0),
            Value::String(s) => Val::Int(s.trim().parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        FieldType::Float | FieldType::Monetary => {
            let f = match v {
                Value::Number(n) => n.as_f64().unwrap_or(0.0),
                Value::Bool(b) => *b as i64 as f64,
                Value::Null => 0.0,
                Value::String(s) => s.trim().parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            Val::Float(match digits {
                Some(d) => round_to(f, d),
                None => f,
            })
        }
        FieldType::Char | FieldType::Text | FieldType::Html => match v {
            Value::String(s) => Val::Str(s.as_str().into()),
            Value::Number(n) => Val::Str(n.to_string().into()),
            Value::Bool(true) => Val::Str("True".into()),
            _ => return Err(bad()),
        },
        FieldType::Selection => {
            let key = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad()),
            };
            if !field.selection_keys.is_empty() && !field.selection_keys.contains(&key) {
                return Err(bad());
            }
            Val::Str(key.into())
        }
        FieldType::Date => match v {
            Value::String(s) => {
                let d = s.get(..10).unwrap_or(s);
                if odoo_wire::datetime::parse_date(d).is_none() {
                    return Err(OdooError::value(format!(
                        "time data {} does not match format '%Y-%m-%d'",
                        py_repr(v)
                    )));
                }
                Val::Str(d.into())
            }
            _ => return Err(bad()),
        },
        FieldType::Datetime => match v {
            Value::String(s) => Val::Dt(parse_dt(s).ok_or_else(|| {
                OdooError::value(format!(
                    "time data {} does not match format '%Y-%m-%d %H:%M:%S'",
                    py_repr(v)
                ))
            })?),
            _ => return Err(bad()),
        },
        FieldType::Many2one | FieldType::Many2oneReference => match v {
            Value::Number(n) => match n.as_i64() {
                Some(0) => return Ok(None),
                Some(i) => Val::Int(i),
                None => return Err(bad()),
            },
            // `[id, name]` as read returns it: Odoo's convert_to_cache takes the id.
            Value::Array(a) if !a.is_empty() => match a[0].as_i64() {
                Some(i) => Val::Int(i),
                None => return Err(bad()),
            },
            _ => return Err(bad()),
        },
        FieldType::Json | FieldType::Properties | FieldType::PropertiesDefinition => {
            Val::Json(Box::new(v.clone()))
        }
        FieldType::Binary | FieldType::Reference => match v {
            Value::String(s) => Val::Str(s.as_str().into()),
            _ => return Err(bad()),
        },
        // x2many values are commands; the ORM handles them separately.
        FieldType::One2many | FieldType::Many2many => return Err(bad()),
    }))
}

pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Bool(true) => true,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `repr()` of a JSON value, as Odoo error messages print it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                odoo_wire::xmlrpc::python_float_repr(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A list of ids from `[1, 2]`, `1`, or `[[6, 0, [..]]]`-free plain forms.
pub fn ids_of(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| vec![i]),
        Value::Array(a) => a.iter().map(Value::as_i64).collect(),
        Value::Null | Value::Bool(false) => Some(vec![]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rounding_is_half_up_on_the_decimal() {
        assert_eq!(round_to(2.675, 2), 2.68);
        assert_eq!(round_to(0.125, 2), 0.13);
        assert_eq!(round_to(3.335, 2), 3.34);
        assert_eq!(round_to(1234.5, 0), 1235.0);
        assert_eq!(round_to(22.4775, 2), 22.48);
        assert_eq!(round_precision(1234.5, 1.0), 1235.0);
        assert_eq!(round_precision(0.0005, 0.001), 0.001);
    }

    #[test]
    fn py_repr_matches_python() {
        assert_eq!(py_repr(&json!("1001")), "'1001'");
        assert_eq!(
            py_repr(&json!(["a", 1, true, null])),
            "['a', 1, True, None]"
        );
        assert_eq!(py_repr(&json!(2.5)), "2.5");
    }

    #[test]
    fn datetimes_parse_and_print() {
        let us = parse_dt("2026-11-22 22:54:40").unwrap();
        assert_eq!(fmt_dt(us + 999_999), "2026-11-22 22:54:40");
        assert_eq!(
            fmt_dt(parse_dt("2026-11-22").unwrap()),
            "2026-11-22 00:00:00"
        );
        assert_eq!(date_of(us), "2026-11-22");
    }
}
