//! Turning Odoo's JSON values into Rust types, at the edge, once.
//!
//! Odoo's value model has traps: an empty field of *any* type reads `false` (never `null`),
//! a many2one is `[id, "display name"]` or a bare id with `load=None`, datetimes are naive-UTC
//! strings, and money is a binary float. Everything here is total over hostile input: any
//! JSON gives a value or a [`DecodeError`] naming the model, the record id and the field.
//!
//! Floats become `Decimal` through their shortest round-trip text (`2.675` stays `2.675`),
//! never through their binary expansion (`2.67499999999999982236431605997495353221893310546875`),
//! so that rounding half-up gives what Odoo's `res.currency.round` gives.

use super::error::DecodeError;
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::str::FromStr;

/// A many2one value. `name` is `None` with `load=None` (bare id) or when Odoo could not
/// compute the display name (it then sends `[id, false]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct M2o {
    pub id: i64,
    pub name: Option<String>,
}

/// `f64` → `Decimal` via the shortest text that reads back as the same float.
pub fn decimal_from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    // `Display` for f64 never uses an exponent and prints the shortest round-trip digits.
    let text = format!("{f}");
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_scientific(&format!("{f:e}")).ok())
}

/// Round half-up (away from zero, like Odoo's `float_round(..., rounding_method='HALF-UP')`)
/// to a multiple of `rounding`, then to `decimal_places`.
pub fn round_half_up(value: Decimal, rounding: Decimal, decimal_places: u32) -> Option<Decimal> {
    let dp = decimal_places.min(28);
    if rounding <= Decimal::ZERO {
        return Some(value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero));
    }
    let steps = value
        .checked_div(rounding)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let rounded = steps.checked_mul(rounding)?;
    Some(rounded.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero))
}

/// What rounding money needs: `res.currency` `rounding` and `decimal_places`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    pub id: Option<i64>,
    pub name: String,
    pub rounding: Decimal,
    pub decimal_places: u32,
}

impl Currency {
    pub fn new(name: impl Into<String>, rounding: Decimal, decimal_places: u32) -> Self {
        Currency {
            id: None,
            name: name.into(),
            rounding,
            decimal_places,
        }
    }

    /// From a `res.currency` row read with `name`, `rounding` and (optionally)
    /// `decimal_places`; Odoo derives the latter from the former when it is absent.
    pub fn from_record(rec: &Record<'_>) -> Result<Self, DecodeError> {
        let name = rec.req_string("name")?;
        let rounding = rec
            .decimal("rounding")?
            .filter(|r| *r > Decimal::ZERO)
            .ok_or_else(|| rec.err("rounding", "a currency needs a rounding greater than 0"))?;
        let decimal_places = match rec.map.get("decimal_places") {
            None | Some(Value::Bool(false)) => places_of(rounding),
            Some(_) => {
                let dp = rec.int("decimal_places")?.unwrap_or(0);
                u32::try_from(dp)
                    .ok()
                    .filter(|d| *d <= 28)
                    .ok_or_else(|| rec.err("decimal_places", format!("{dp} is out of range")))?
            }
        };
        Ok(Currency {
            id: rec.id,
            name,
            rounding,
            decimal_places,
        })
    }

    /// Round like `res.currency.round`: EUR 2.675 → 2.68, JPY 1234.5 → 1235.
    pub fn round(&self, value: Decimal) -> Option<Decimal> {
        round_half_up(value, self.rounding, self.decimal_places)
    }

    /// A float amount from Odoo, rounded to this currency.
    pub fn amount(&self, f: f64) -> Option<Decimal> {
        self.round(decimal_from_f64(f)?)
    }
}

fn places_of(rounding: Decimal) -> u32 {
    // ceil(log10(1 / rounding)) for the usual 1, 0.1, 0.01, 0.001, 0.05 …
    let mut places = 0;
    let mut r = rounding;
    while r < Decimal::ONE && places < 28 {
        r *= Decimal::TEN;
        places += 1;
    }
    places
}

// ---------------------------------------------------------------------------------------------
// Plain value conversions: `Err(reason)`; the callers add model, id and field.

fn kind(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        let mut end = 60;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// `false` (Odoo's "empty") → `None`; `null` is accepted too (JSON-2 results, `load=None`).
fn empty(v: &Value) -> bool {
    matches!(v, Value::Bool(false) | Value::Null)
}

fn positive_id(v: &Value) -> Option<i64> {
    v.as_i64().filter(|i| *i > 0)
}

pub fn m2o_from(v: &Value) -> Result<Option<M2o>, String> {
    if empty(v) {
        return Ok(None);
    }
    if let Some(id) = positive_id(v) {
        return Ok(Some(M2o { id, name: None }));
    }
    if let Value::Array(a) = v
        && (a.len() == 2 || a.len() == 1)
        && let Some(id) = positive_id(&a[0])
    {
        let name = match a.get(1) {
            None | Some(Value::Bool(false)) | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    "expected a many2one display name, got {}",
                    kind(other)
                ));
            }
        };
        return Ok(Some(M2o { id, name }));
    }
    Err(format!(
        "expected a many2one ([id, \"name\"], an id or false), got {}",
        kind(v)
    ))
}

pub fn x2many_from(v: &Value) -> Result<Vec<i64>, String> {
    if empty(v) {
        return Ok(Vec::new());
    }
    let Value::Array(a) = v else {
        return Err(format!("expected a list of ids, got {}", kind(v)));
    };
    a.iter()
        .map(|x| positive_id(x).ok_or_else(|| format!("expected a record id, got {}", kind(x))))
        .collect()
}

pub fn string_from(v: &Value) -> Result<Option<String>, String> {
    match v {
        _ if empty(v) => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("expected text or false, got {}", kind(other))),
    }
}

pub fn int_from(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Bool(false) | Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("expected an integer, got {n}")),
        other => Err(format!("expected an integer, got {}", kind(other))),
    }
}

pub fn bool_from(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(format!("expected true or false, got {}", kind(other))),
    }
}

/// A float (or integer) as Decimal; `false` → `None`. No rounding: quantities keep their digits.
pub fn decimal_from(v: &Value) -> Result<Option<Decimal>, String> {
    match v {
        _ if empty(v) => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(Decimal::from(i)));
            }
            if let Some(u) = n.as_u64() {
                return Ok(Some(Decimal::from(u)));
            }
            let f = n.as_f64().ok_or_else(|| format!("unreadable number {n}"))?;
            decimal_from_f64(f)
                .map(|d| Some(d.normalize()))
                .ok_or_else(|| format!("number {n} is out of the decimal range"))
        }
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

pub fn money_from(v: &Value, currency: &Currency) -> Result<Option<Decimal>, String> {
    match decimal_from(v)? {
        None => Ok(None),
        Some(d) => currency
            .round(d)
            .map(Some)
            .ok_or_else(|| format!("amount {d} cannot be rounded to {}", currency.name)),
    }
}

pub fn datetime_from(v: &Value) -> Result<Option<Timestamp>, String> {
    match v {
        _ if empty(v) => Ok(None),
        Value::String(s) => odoo_wire::datetime::parse_datetime(s)
            .map(Some)
            .ok_or_else(|| format!("expected a datetime \"YYYY-MM-DD HH:MM:SS\" (UTC), got {s:?}")),
        other => Err(format!("expected a datetime string, got {}", kind(other))),
    }
}

pub fn date_from(v: &Value) -> Result<Option<Date>, String> {
    match v {
        _ if empty(v) => Ok(None),
        Value::String(s) => odoo_wire::datetime::parse_date(s)
            .map(Some)
            .ok_or_else(|| format!("expected a date \"YYYY-MM-DD\", got {s:?}")),
        other => Err(format!("expected a date string, got {}", kind(other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Records: field access that names the model, the id and the field on failure.

/// One row of a `read`/`search_read` answer.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub model: &'a str,
    pub id: Option<i64>,
    pub map: &'a Map<String, Value>,
}

impl<'a> Record<'a> {
    pub fn new(model: &'a str, row: &'a Value) -> Result<Self, DecodeError> {
        let Value::Object(map) = row else {
            return Err(DecodeError {
                model: model.to_owned(),
                id: None,
                field: "(row)".into(),
                reason: format!("expected a record object, got {}", kind(row)),
            });
        };
        Ok(Record {
            model,
            id: map.get("id").and_then(positive_id),
            map,
        })
    }

    /// Every row of a list answer.
    pub fn all(model: &'a str, rows: &'a Value) -> Result<Vec<Self>, DecodeError> {
        let Value::Array(items) = rows else {
            return Err(DecodeError {
                model: model.to_owned(),
                id: None,
                field: "(result)".into(),
                reason: format!("expected a list of records, got {}", kind(rows)),
            });
        };
        items.iter().map(|r| Record::new(model, r)).collect()
    }

    pub fn err(&self, field: &str, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            model: self.model.to_owned(),
            id: self.id,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The raw value; missing means "not requested or not readable", which is an error.
    pub fn value(&self, field: &str) -> Result<&'a Value, DecodeError> {
        self.map
            .get(field)
            .ok_or_else(|| self.err(field, "missing from Odoo's answer"))
    }

    fn get<T>(
        &self,
        field: &str,
        f: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<T, DecodeError> {
        f(self.value(field)?).map_err(|r| self.err(field, r))
    }

    pub fn id(&self) -> Result<i64, DecodeError> {
        self.id
            .ok_or_else(|| self.err("id", "missing or not a positive integer"))
    }

    pub fn string(&self, field: &str) -> Result<Option<String>, DecodeError> {
        self.get(field, string_from)
    }

    pub fn req_string(&self, field: &str) -> Result<String, DecodeError> {
        self.string(field)?
            .ok_or_else(|| self.err(field, "is empty (false) but required"))
    }

    pub fn int(&self, field: &str) -> Result<Option<i64>, DecodeError> {
        self.get(field, int_from)
    }

    pub fn bool(&self, field: &str) -> Result<bool, DecodeError> {
        self.get(field, bool_from)
    }

    pub fn m2o(&self, field: &str) -> Result<Option<M2o>, DecodeError> {
        self.get(field, m2o_from)
    }

    pub fn req_m2o(&self, field: &str) -> Result<M2o, DecodeError> {
        self.m2o(field)?
            .ok_or_else(|| self.err(field, "is empty (false) but required"))
    }

    pub fn x2many(&self, field: &str) -> Result<Vec<i64>, DecodeError> {
        self.get(field, x2many_from)
    }

    pub fn datetime(&self, field: &str) -> Result<Option<Timestamp>, DecodeError> {
        self.get(field, datetime_from)
    }

    pub fn date(&self, field: &str) -> Result<Option<Date>, DecodeError> {
        self.get(field, date_from)
    }

    /// A float as Decimal (quantities); `false` → `None`.
    pub fn decimal(&self, field: &str) -> Result<Option<Decimal>, DecodeError> {
        self.get(field, decimal_from)
    }

    /// A quantity that Odoo always fills (floats read `0.0`, never `false`).
    pub fn quantity(&self, field: &str) -> Result<Decimal, DecodeError> {
        self.decimal(field)?
            .ok_or_else(|| self.err(field, "expected a quantity, got false"))
    }

    /// A monetary float rounded with the currency's rounding.
    pub fn money(&self, field: &str, currency: &Currency) -> Result<Option<Decimal>, DecodeError> {
        self.get(field, |v| money_from(v, currency))
    }
}

// ---------------------------------------------------------------------------------------------
// serde: derive `Deserialize` on a row type with these adapters, decode with `from_rows`.

/// `#[serde(deserialize_with = "…")]` adapters for Odoo's value model.
pub mod de {
    use super::*;
    use serde::de::{Deserialize, Deserializer, Error};

    fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    /// Any `T`, with Odoo's `false` (and `null`) as `None`.
    pub fn false_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        let v = value(d)?;
        if empty(&v) {
            return Ok(None);
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom)
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        string_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        int_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn opt_m2o<'de, D: Deserializer<'de>>(d: D) -> Result<Option<M2o>, D::Error> {
        m2o_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn m2o<'de, D: Deserializer<'de>>(d: D) -> Result<M2o, D::Error> {
        m2o_from(&value(d)?)
            .map_err(D::Error::custom)?
            .ok_or_else(|| D::Error::custom("is empty (false) but required"))
    }

    pub fn x2many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        x2many_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        datetime_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        date_from(&value(d)?).map_err(D::Error::custom)
    }

    pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        decimal_from(&value(d)?).map_err(D::Error::custom)
    }

    /// A float that Odoo always fills (quantities): `false` is an error.
    pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        decimal_from(&value(d)?)
            .map_err(D::Error::custom)?
            .ok_or_else(|| D::Error::custom("expected a number, got false"))
    }
}

/// Deserialize one row, naming the field that failed.
pub fn from_row<T: DeserializeOwned>(model: &str, row: &Value) -> Result<T, DecodeError> {
    let rec = Record::new(model, row)?;
    let current = RefCell::new(None);
    let result = T::deserialize(tracked::Tracked {
        map: rec.map,
        current: &current,
    });
    result.map_err(|e| {
        let msg = e.to_string();
        // serde reports a missing field after the last key: take its name from the message.
        let field = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_owned)
            .or_else(|| current.borrow().clone())
            .unwrap_or_else(|| "(row)".into());
        rec.err(&field, msg)
    })
}

/// Deserialize every row of a list answer.
pub fn from_rows<T: DeserializeOwned>(model: &str, rows: &Value) -> Result<Vec<T>, DecodeError> {
    let Value::Array(items) = rows else {
        return Err(DecodeError {
            model: model.to_owned(),
            id: None,
            field: "(result)".into(),
            reason: format!("expected a list of records, got {}", kind(rows)),
        });
    };
    items.iter().map(|r| from_row(model, r)).collect()
}

/// A map deserializer that remembers which key it is on, so a failure can name the field
/// (what `serde_path_to_error` does, in 40 lines and without a dependency).
mod tracked {
    use serde::de::value::BorrowedStrDeserializer;
    use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor};
    use serde_json::{Map, Value};
    use std::cell::RefCell;

    pub(super) struct Tracked<'a> {
        pub map: &'a Map<String, Value>,
        pub current: &'a RefCell<Option<String>>,
    }

    impl<'de> Deserializer<'de> for Tracked<'de> {
        type Error = serde_json::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_map(Access {
                iter: self.map.iter(),
                value: None,
                current: self.current,
            })
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
            enum identifier ignored_any
        }
    }

    struct Access<'a> {
        iter: serde_json::map::Iter<'a>,
        value: Option<&'a Value>,
        current: &'a RefCell<Option<String>>,
    }

    impl<'de> MapAccess<'de> for Access<'de> {
        type Error = serde_json::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Self::Error> {
            match self.iter.next() {
                Some((k, v)) => {
                    self.value = Some(v);
                    *self.current.borrow_mut() = Some(k.clone());
                    seed.deserialize(BorrowedStrDeserializer::<serde_json::Error>::new(k))
                        .map(Some)
                }
                None => {
                    *self.current.borrow_mut() = None;
                    Ok(None)
                }
            }
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, Self::Error> {
            let v = self
                .value
                .take()
                .ok_or_else(|| serde_json::Error::custom("value asked before its key"))?;
            seed.deserialize(v)
        }
    }
}

/// The text of simple chatter HTML (`<p>`, `<br/>`, entities), for Odoo versions that take
/// plain text bodies.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        if (tag.starts_with("br") || tag == "p") && !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.trim_end()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {

    #[test]
    fn chatter_html_becomes_text_for_odoo_16() {
        assert_eq!(
            html_to_text("<p>Imported &amp; confirmed<br/>order &lt;1&gt;</p>"),
            "Imported & confirmed\norder <1>"
        );
        assert_eq!(html_to_text("plain"), "plain");
        assert_eq!(html_to_text("<p>a</p><p>b</p>"), "a\nb");
    }
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn false_is_none_for_every_type() {
        let row = json!({"id": 7, "a": false, "b": false, "c": false, "d": false, "e": false, "f": false});
        let r = Record::new("x", &row).unwrap();
        assert_eq!(r.string("a").unwrap(), None);
        assert_eq!(r.m2o("b").unwrap(), None);
        assert_eq!(r.datetime("c").unwrap(), None);
        assert_eq!(r.date("d").unwrap(), None);
        assert_eq!(r.decimal("e").unwrap(), None);
        assert_eq!(r.int("f").unwrap(), None);
    }

    #[test]
    fn many2one_in_both_forms() {
        assert_eq!(
            m2o_from(&json!([15, "Azure Interior"])).unwrap(),
            Some(M2o {
                id: 15,
                name: Some("Azure Interior".into())
            })
        );
        assert_eq!(
            m2o_from(&json!(15)).unwrap(),
            Some(M2o { id: 15, name: None })
        );
        assert_eq!(
            m2o_from(&json!([9, false])).unwrap(),
            Some(M2o { id: 9, name: None })
        );
        for bad in [
            json!("15"),
            json!([0, "x"]),
            json!([-1, "x"]),
            json!([1.5, "x"]),
            json!([1, 2]),
            json!({}),
        ] {
            assert!(m2o_from(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shortest_text_not_binary_expansion() {
        assert_eq!(decimal_from_f64(2.675), Some(dec!(2.675)));
        assert_eq!(decimal_from_f64(0.1 + 0.2), Some(dec!(0.30000000000000004)));
        assert_eq!(decimal_from_f64(1e21), Some(dec!(1000000000000000000000)));
        assert!(decimal_from_f64(1e300).is_none());
        assert!(decimal_from_f64(f64::NAN).is_none());
    }

    #[test]
    fn currency_rounding_is_half_up_like_res_currency_round() {
        let eur = Currency::new("EUR", dec!(0.01), 2);
        let jpy = Currency::new("JPY", dec!(1), 0);
        let kwd = Currency::new("KWD", dec!(0.001), 3);
        assert_eq!(eur.amount(2.675), Some(dec!(2.68)));
        assert_eq!(eur.amount(0.125), Some(dec!(0.13)));
        assert_eq!(eur.amount(-2.675), Some(dec!(-2.68)));
        assert_eq!(jpy.amount(1234.5), Some(dec!(1235)));
        assert_eq!(kwd.amount(1.0005), Some(dec!(1.001)));
        // Float noise from Odoo (`tax_totals`) disappears.
        assert_eq!(eur.amount(194.63000000000002), Some(dec!(194.63)));
        assert_eq!(places_of(dec!(0.01)), 2);
        assert_eq!(places_of(dec!(1)), 0);
    }

    #[test]
    fn errors_name_model_record_and_field() {
        let row = json!({"id": 34, "date_order": "22/11/2026"});
        let e = Record::new("sale.order", &row)
            .unwrap()
            .datetime("date_order")
            .unwrap_err();
        assert_eq!(
            (e.model.as_str(), e.id, e.field.as_str()),
            ("sale.order", Some(34), "date_order")
        );
        assert!(
            e.to_string()
                .starts_with("sale.order #34 field `date_order`"),
            "{e}"
        );
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Line {
        id: i64,
        #[serde(deserialize_with = "de::m2o")]
        product_id: M2o,
        #[serde(deserialize_with = "de::decimal")]
        product_uom_qty: Decimal,
        #[serde(deserialize_with = "de::opt_string")]
        name: Option<String>,
        #[serde(deserialize_with = "de::x2many")]
        tax_ids: Vec<i64>,
    }

    #[test]
    fn serde_rows_name_the_failing_field() {
        let good = json!([{"id": 60, "product_id": [20, "Cabinet"], "product_uom_qty": 2.0, "name": false, "tax_ids": [1]}]);
        let rows: Vec<Line> = from_rows("sale.order.line", &good).unwrap();
        assert_eq!(rows[0].product_uom_qty, dec!(2));
        assert_eq!(rows[0].name, None);
        let bad = json!([{"id": 61, "product_id": "oops", "product_uom_qty": 2.0, "name": "x", "tax_ids": []}]);
        let e = from_rows::<Line>("sale.order.line", &bad).unwrap_err();
        assert_eq!((e.id, e.field.as_str()), (Some(61), "product_id"), "{e}");
        let missing = json!({"id": 62, "product_id": 3, "product_uom_qty": 1, "name": "x"});
        let e = from_row::<Line>("sale.order.line", &missing).unwrap_err();
        assert_eq!(e.field, "tax_ids", "{e}");
    }
}
