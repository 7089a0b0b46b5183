//! Odoo search domains, built as a tree and printed in Odoo's prefix (Polish) notation.
//!
//! Writing `["|", [...], "&", [...], [...]]` by hand is where cursor bugs hide (see the keyset
//! domain in the scenario notes); a tree makes the operator arity impossible to get wrong.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf(String, String, Value),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A domain: empty matches every record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain(Option<Node>);

/// A value usable on the right of a domain leaf: what Odoo expects on the wire.
pub trait DomainValue {
    fn into_value(self) -> Value;
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl DomainValue for $t {
            fn into_value(self) -> Value { json!(self) }
        }
    )*};
}
plain!(
    i64,
    i32,
    u32,
    u64,
    f64,
    bool,
    String,
    &str,
    Vec<i64>,
    Vec<String>,
    Vec<&str>,
    &[i64]
);

impl DomainValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl DomainValue for Timestamp {
    fn into_value(self) -> Value {
        Value::String(odoo_wire::datetime::format_datetime(self))
    }
}

impl DomainValue for Date {
    fn into_value(self) -> Value {
        Value::String(odoo_wire::datetime::format_date(self))
    }
}

impl DomainValue for Decimal {
    fn into_value(self) -> Value {
        // Odoo compares numeric fields with floats; the decimal text parses to the nearest one.
        self.to_string()
            .parse::<f64>()
            .map(|f| json!(f))
            .unwrap_or(Value::Null)
    }
}

impl<V: DomainValue> DomainValue for Option<V> {
    /// `None` is Odoo's `False` (an empty field).
    fn into_value(self) -> Value {
        self.map(DomainValue::into_value)
            .unwrap_or(Value::Bool(false))
    }
}

impl<F: Into<String>, O: Into<String>, V: DomainValue> From<(F, O, V)> for Domain {
    fn from((f, o, v): (F, O, V)) -> Self {
        Domain::leaf(f, o, v)
    }
}

impl Domain {
    /// Matches everything.
    pub fn new() -> Self {
        Domain(None)
    }

    pub fn leaf(field: impl Into<String>, op: impl Into<String>, value: impl DomainValue) -> Self {
        Domain(Some(Node::Leaf(
            field.into(),
            op.into(),
            value.into_value(),
        )))
    }

    /// `(field, 'in', values)`.
    pub fn is_in<V: DomainValue>(field: impl Into<String>, values: V) -> Self {
        Domain::leaf(field, "in", values)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn and(self, other: impl Into<Domain>) -> Self {
        combine(self, other.into(), true)
    }

    pub fn or(self, other: impl Into<Domain>) -> Self {
        combine(self, other.into(), false)
    }

    /// Add `(field, 'in', values)` with AND.
    pub fn and_in<V: DomainValue>(self, field: impl Into<String>, values: V) -> Self {
        self.and(Domain::is_in(field, values))
    }

    /// Negation (also `!domain`). The negation of "everything" is "nothing": `[('id', '=', 0)]`.
    #[allow(clippy::should_implement_trait)] // it is implemented too; this reads better in chains
    pub fn not(self) -> Self {
        match self.0 {
            None => Domain::leaf("id", "=", 0),
            Some(Node::Not(inner)) => Domain(Some(*inner)),
            Some(n) => Domain(Some(Node::Not(Box::new(n)))),
        }
    }

    /// Parse a domain in Odoo's JSON form (implicit top-level AND allowed), e.g. the storable
    /// domain from the version map.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let Value::Array(items) = v else {
            return Err(format!("a domain is a list, got {v}"));
        };
        let mut pos = 0;
        let mut terms = Vec::new();
        while pos < items.len() {
            terms.push(parse_term(items, &mut pos)?);
        }
        Ok(match terms.len() {
            0 => Domain(None),
            1 => Domain(terms.pop()),
            _ => Domain(Some(Node::And(terms))),
        })
    }

    pub fn to_value(&self) -> Value {
        let mut out = Vec::new();
        if let Some(n) = &self.0 {
            write(n, &mut out);
        }
        Value::Array(out)
    }
}

fn combine(a: Domain, b: Domain, and: bool) -> Domain {
    match (a.0, b.0) {
        (None, x) | (x, None) => Domain(x),
        (Some(x), Some(y)) => {
            let mut items = Vec::new();
            for n in [x, y] {
                match (n, and) {
                    (Node::And(v), true) | (Node::Or(v), false) => items.extend(v),
                    (n, _) => items.push(n),
                }
            }
            Domain(Some(if and {
                Node::And(items)
            } else {
                Node::Or(items)
            }))
        }
    }
}

fn write(n: &Node, out: &mut Vec<Value>) {
    match n {
        Node::Leaf(f, o, v) => out.push(json!([f, o, v])),
        Node::And(items) | Node::Or(items) => {
            let op = if matches!(n, Node::And(_)) { "&" } else { "|" };
            for _ in 1..items.len() {
                out.push(json!(op));
            }
            for i in items {
                write(i, out);
            }
        }
        Node::Not(inner) => {
            out.push(json!("!"));
            write(inner, out);
        }
    }
}

fn parse_term(items: &[Value], pos: &mut usize) -> Result<Node, String> {
    let item = items
        .get(*pos)
        .ok_or_else(|| "domain ends where an operand was expected".to_string())?;
    *pos += 1;
    match item {
        Value::String(op) if op == "&" || op == "|" => {
            let a = parse_term(items, pos)?;
            let b = parse_term(items, pos)?;
            Ok(if op == "&" {
                Node::And(vec![a, b])
            } else {
                Node::Or(vec![a, b])
            })
        }
        Value::String(op) if op == "!" => Ok(Node::Not(Box::new(parse_term(items, pos)?))),
        Value::Array(leaf) if leaf.len() == 3 => match (&leaf[0], &leaf[1]) {
            (Value::String(f), Value::String(o)) => {
                Ok(Node::Leaf(f.clone(), o.clone(), leaf[2].clone()))
            }
            // `(1, '=', 1)` / `(0, '=', 1)`: Odoo's TRUE and FALSE leaves.
            (Value::Number(_), Value::String(o)) => {
                Ok(Node::Leaf(leaf[0].to_string(), o.clone(), leaf[2].clone()))
            }
            _ => Err(format!("bad domain leaf {item}")),
        },
        other => Err(format!("bad domain term {other}")),
    }
}

impl std::ops::Not for Domain {
    type Output = Domain;
    fn not(self) -> Domain {
        Domain::not(self)
    }
}

impl Serialize for Domain {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl From<Domain> for Value {
    fn from(d: Domain) -> Value {
        d.to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_notation_with_explicit_operators() {
        let ts: Timestamp = "2026-11-22T22:54:38Z".parse().unwrap();
        let d = Domain::new()
            .and(("write_date", ">=", ts))
            .and_in("id", vec![1i64, 2]);
        assert_eq!(
            d.to_value(),
            json!([
                "&",
                ["write_date", ">=", "2026-11-22 22:54:38"],
                ["id", "in", [1, 2]]
            ])
        );
        assert_eq!(Domain::new().to_value(), json!([]));
    }

    #[test]
    fn the_safe_keyset_cursor() {
        let w = "2026-11-22 22:54:38";
        let d = Domain::leaf("write_date", ">", w)
            .or(Domain::leaf("write_date", "=", w).and(("id", ">", 41i64)));
        assert_eq!(
            d.to_value(),
            json!([
                "|",
                ["write_date", ">", w],
                "&",
                ["write_date", "=", w],
                ["id", ">", 41]
            ])
        );
    }

    #[test]
    fn not_and_parse_round_trip() {
        let d = Domain::leaf("active", "=", true)
            .not()
            .and(("a", "=", Option::<i64>::None));
        let v = d.to_value();
        assert_eq!(
            v,
            json!(["&", "!", ["active", "=", true], ["a", "=", false]])
        );
        assert_eq!(Domain::from_json(&v).unwrap().to_value(), v);
        let implicit = json!([["is_storable", "=", true], ["x", "=", 1]]);
        assert_eq!(
            Domain::from_json(&implicit).unwrap().to_value(),
            json!(["&", ["is_storable", "=", true], ["x", "=", 1]])
        );
        assert!(Domain::from_json(&json!(["&", ["a", "=", 1]])).is_err());
        assert_eq!(Domain::new().not().to_value(), json!([["id", "=", 0]]));
    }
}
