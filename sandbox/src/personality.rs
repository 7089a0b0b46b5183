//! Version personalities (16, 17, 18, 19), driven by `odoo_wire::VersionMap`.
//!
//! The registry is 19.0-shaped. An older personality is a translation at the protocol edge:
//! field names in (values, field lists, domains, orders, groupbys) are mapped to their 19.0
//! names and back out; fields a version does not have are hidden; the storable marker is
//! rewritten (`type='product'` ⇔ `type='consu', is_storable=True`). Every difference comes from
//! the version map, including which stock context key a version honours and whole-second
//! datetime comparison in domains (19).

use odoo_wire::versions::{GroupMethod, StorableMarker};
use odoo_wire::{OdooVersion, VersionMap};
use serde_json::{Map, Value, json};

/// Fields whose name changed; the 19.0 name is what the registry knows.
const RENAMABLE: &[(&str, &str)] = &[
    ("sale.order.line", "product_uom_id"),
    ("sale.order.line", "tax_ids"),
    ("purchase.order.line", "product_uom_id"),
    ("purchase.order.line", "tax_ids"),
    ("res.users", "group_ids"),
    ("stock.move", "quantity"),
    ("stock.move.line", "quantity"),
];

#[derive(Debug, Clone)]
pub struct Personality {
    pub version: OdooVersion,
    pub map: VersionMap,
    /// From [`VersionMap::datetime_domains_by_whole_second`].
    pub whole_second_datetimes: bool,
    /// From [`VersionMap::stock_warehouse_context_key`].
    pub warehouse_context_key: &'static str,
}

impl Personality {
    pub fn new(version: OdooVersion) -> Personality {
        let map = VersionMap::for_version(version);
        Personality {
            version,
            whole_second_datetimes: map.datetime_domains_by_whole_second,
            warehouse_context_key: map.stock_warehouse_context_key,
            map,
        }
    }

    pub fn is19(&self) -> bool {
        self.version.major >= 19
    }

    pub fn has_formatted_read_group(&self) -> bool {
        self.map.group_method == GroupMethod::FormattedReadGroup
    }

    /// `read_group` still answers on 19.0 (deprecated, removed in saas-19.x).
    pub fn has_read_group(&self) -> bool {
        true
    }

    /// The name a client of this version uses for a 19.0 field.
    pub fn field_out<'a>(&self, model: &str, name19: &'a str) -> &'a str {
        self.map.field_name(model, name19)
    }

    /// The 19.0 name of a field as a client of this version wrote it.
    pub fn field_in(&self, model: &str, name: &str) -> String {
        for (m, n19) in RENAMABLE {
            if *m == model && self.map.field_name(m, n19) == name {
                return (*n19).to_owned();
            }
        }
        name.to_owned()
    }

    /// Whether a 19.0 field does not exist at all in this version (hidden from
    /// `fields_get` and rejected as an invalid field).
    pub fn hidden(&self, model: &str, name19: &str) -> bool {
        match (model, name19) {
            ("product.template" | "product.product", "is_storable") => {
                self.map.storable != StorableMarker::IsStorableFlag
            }
            ("stock.move" | "stock.move.line", "picked") => !self.map.move_has_picked,
            _ => false,
        }
    }

    /// Whether a 19.0 field is visible in this version under some name.
    pub fn field_exists(&self, model: &str, name19: &str) -> bool {
        !self.hidden(model, name19)
    }

    /// The 19.0 name of a field as a client of this version wrote it (`None`: the version has
    /// no such field — including a 19.0 name that this version still calls differently).
    pub fn translate_field(&self, model: &str, name: &str) -> Option<String> {
        let n19 = self.field_in(model, name);
        if n19 != name {
            return Some(n19);
        }
        if self.field_out(model, name) != name || self.hidden(model, name) {
            return None;
        }
        Some(n19)
    }

    // ---------------------------------------------------------------- values

    /// Translate written values (`create`/`write`) into 19.0 terms.
    pub fn vals_in(&self, model: &str, vals: &Map<String, Value>) -> Map<String, Value> {
        if self.is19() {
            return vals.clone();
        }
        let mut out = Map::new();
        for (k, v) in vals {
            let k19 = self.field_in(model, k);
            if matches!(model, "product.template" | "product.product")
                && k19 == "type"
                && self.map.storable == StorableMarker::TypeProduct
            {
                if v == "product" {
                    out.insert("type".into(), json!("consu"));
                    out.insert("is_storable".into(), json!(true));
                    continue;
                } else if v == "consu" {
                    out.insert("is_storable".into(), json!(false));
                }
            }
            if matches!(model, "product.template" | "product.product") && k19 == "detailed_type" {
                out.insert(
                    "type".into(),
                    if v == "product" {
                        json!("consu")
                    } else {
                        v.clone()
                    },
                );
                if v == "product" {
                    out.insert("is_storable".into(), json!(true));
                }
                continue;
            }
            out.insert(k19, v.clone());
        }
        out
    }

    /// Translate a read row to this version's names.
    pub fn row_out(&self, model: &str, row: &mut Map<String, Value>) {
        if self.is19() {
            return;
        }
        let keys: Vec<String> = row.keys().cloned().collect();
        for k in keys {
            let out = self.field_out(model, &k);
            if out != k
                && let Some(v) = row.remove(&k)
            {
                row.insert(out.to_owned(), v);
            }
        }
        if matches!(model, "product.template" | "product.product")
            && self.map.storable == StorableMarker::TypeProduct
        {
            let storable = row.remove("is_storable");
            if let Some(t) = row.get_mut("type")
                && t == "consu"
                && storable.as_ref().is_some_and(|s| s == &json!(true))
            {
                *t = json!("product");
            }
        }
    }

    /// Translate a domain's field names (and the storable marker) into 19.0 terms.
    pub fn domain_in(&self, model: &str, dom: &Value) -> Value {
        if self.is19() {
            return dom.clone();
        }
        match dom {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|it| match it {
                        Value::Array(t) if t.len() == 3 && t[0].is_string() => {
                            let path = t[0].as_str().unwrap_or_default();
                            let first = path.split('.').next().unwrap_or(path);
                            let rest = &path[first.len()..];
                            let f19 = self.field_in(model, first);
                            if matches!(model, "product.template" | "product.product")
                                && f19 == "type"
                                && t[2] == "product"
                                && self.map.storable == StorableMarker::TypeProduct
                            {
                                return json!(["is_storable", t[1], true]);
                            }
                            json!([format!("{f19}{rest}"), t[1], t[2]])
                        }
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v18_renames_line_fields_and_hides_nothing_storable() {
        let p = Personality::new(OdooVersion::V18);
        assert_eq!(p.field_out("sale.order.line", "tax_ids"), "tax_id");
        assert_eq!(p.field_in("sale.order.line", "tax_id"), "tax_ids");
        assert!(p.translate_field("sale.order.line", "tax_ids").is_none());
        assert_eq!(
            p.translate_field("sale.order.line", "tax_id").as_deref(),
            Some("tax_ids")
        );
        assert!(p.field_exists("product.product", "is_storable"));
        assert!(
            p.field_exists("sale.order.line", "tax_ids"),
            "visible, as tax_id"
        );
        assert_eq!(p.warehouse_context_key, "warehouse_id");
        assert!(!p.whole_second_datetimes);
    }

    #[test]
    fn v17_storable_marker_round_trips() {
        let p = Personality::new(OdooVersion::V17);
        let mut vals = Map::new();
        vals.insert("type".into(), json!("product"));
        let v = p.vals_in("product.product", &vals);
        assert_eq!(v["type"], "consu");
        assert_eq!(v["is_storable"], true);
        let mut row = Map::new();
        row.insert("type".into(), json!("consu"));
        row.insert("is_storable".into(), json!(true));
        p.row_out("product.product", &mut row);
        assert_eq!(row["type"], "product");
        assert!(!row.contains_key("is_storable"));
        assert_eq!(p.warehouse_context_key, "warehouse");
        let d = p.domain_in("product.product", &json!([["type", "=", "product"]]));
        assert_eq!(d, json!([["is_storable", "=", true]]));
    }
}
