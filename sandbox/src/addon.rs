//! The `channel_sync` addon as the sandbox knows it: *derived data*, never hand-written.
//!
//! `data/tools/gen_channel_sync.py` reads `odoo_module/channel_sync` with Python's `ast` and
//! writes `data/fields_get/channel_sync/`: one `fields_get` file per model the addon defines
//! (and, for the models it extends, the fields it adds), `_index.json`, and
//! `_behaviour.json` (order, SQL constraints with their messages, defaults, computed and
//! related fields, inverses, the fields the daemon's technical user may write, access rights,
//! groups). `tests/addon.rs` re-runs the generator in `--check` mode and also scans the Python
//! source independently, so the sandbox cannot drift from the addon.
//!
//! With [`crate::SandboxConfig::addon_installed`] the registry gets these models and fields
//! ([`apply_schemas`], [`meta_for`]); the addon's rules and methods live in
//! [`crate::business::channel_sync`]. Without it nothing here is used.

use crate::meta::{Def, ModelMeta, meta};
use crate::schema::ModelSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

pub const MODULE: &str = "channel_sync";
/// The addon's version (`__manifest__.py`), as `ir.module.module` reports it.
pub const VERSION: &str = "19.0.1.0.0";

macro_rules! addon_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../data/fields_get/channel_sync/", $name, ".json")))),*]
    };
}

/// `fields_get` of every model the addon defines or extends.
pub const FILES: &[(&str, &str)] = addon_files!(
    "channel.binding.specific",
    "channel.channel",
    "channel.product.binding",
    "channel.quarantine",
    "channel.sync.run",
    "product.product",
    "product.template",
    "sale.order",
    "stock.picking",
);
const INDEX: &str = include_str!("../data/fields_get/channel_sync/_index.json");
const BEHAVIOUR: &str = include_str!("../data/fields_get/channel_sync/_behaviour.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Behaviour {
    pub module: String,
    pub models: BTreeMap<String, ModelBehaviour>,
    /// ACL lines of the addon on core models (`res.partner`, `ir.logging`).
    pub access_on_core_models: BTreeMap<String, BTreeMap<String, Perms>>,
    /// xml id → group.
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelBehaviour {
    pub extends: bool,
    pub description: Option<String>,
    pub order: Option<String>,
    pub rec_name: Option<String>,
    pub rec_names_search: Option<Vec<String>>,
    pub constraints: Vec<Constraint>,
    pub python_constraints: Vec<PyConstraint>,
    pub defaults: Map<String, Value>,
    pub computed: Vec<String>,
    pub stored_computed: Vec<String>,
    pub related: BTreeMap<String, Related>,
    pub inverses: BTreeMap<String, String>,
    pub cascade: Vec<String>,
    pub ondelete: BTreeMap<String, String>,
    pub monetary: BTreeMap<String, String>,
    pub indexed: Vec<String>,
    pub daemon_fields: Option<Vec<String>>,
    pub access: BTreeMap<String, Perms>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Constraint {
    pub name: String,
    pub kind: String,
    pub definition: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
    /// CHECK: any of (all of `[field, op, number|null]`).
    #[serde(default)]
    pub check: Option<Check>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    pub any: Vec<CheckAll>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckAll {
    pub all: Vec<(String, String, Option<f64>)>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PyConstraint {
    pub method: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Related {
    pub path: String,
    pub store: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub unlink: bool,
}

impl Perms {
    pub fn allows(&self, op: &str) -> bool {
        match op {
            "read" => self.read,
            "write" => self.write,
            "create" => self.create,
            "unlink" => self.unlink,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub full_name: Option<String>,
    pub implied: Vec<String>,
    pub users: Vec<String>,
}

static PARSED: LazyLock<Behaviour> = LazyLock::new(|| {
    serde_json::from_str(BEHAVIOUR)
        .unwrap_or_else(|e| panic!("data/fields_get/channel_sync/_behaviour.json: {e}"))
});

/// The addon's behaviour data (parsed once).
pub fn behaviour() -> &'static Behaviour {
    &PARSED
}

/// What the addon says about `model`, if anything.
pub fn model(name: &str) -> Option<&'static ModelBehaviour> {
    behaviour().models.get(name)
}

/// Whether `name` is one of the models the addon defines (not one it extends).
pub fn defines(name: &str) -> bool {
    model(name).is_some_and(|m| !m.extends)
}

/// Add the addon's models to `schemas` and its fields to the models it extends.
pub fn apply_schemas(schemas: &mut Vec<ModelSchema>) {
    let index: Map<String, Value> = serde_json::from_str(INDEX).unwrap_or_default();
    for (name, json) in FILES {
        let extends = index
            .get(*name)
            .and_then(|m| m.get("extends"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if extends {
            let Some(s) = schemas.iter_mut().find(|s| s.name == *name) else {
                panic!("the addon extends {name}, which the sandbox does not model");
            };
            let fields: Map<String, Value> = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("channel_sync/{name}.json: {e}"));
            for (f, attrs) in fields {
                s.add_field(&f, attrs);
            }
        } else {
            let desc = index
                .get(*name)
                .and_then(|m| m.get("description"))
                .and_then(Value::as_str)
                .unwrap_or(name);
            schemas.push(ModelSchema::from_json(name, false, desc, json));
        }
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn leak_list(v: Vec<&'static str>) -> &'static [&'static str] {
    Box::leak(v.into_boxed_slice())
}

/// Fields the sandbox computes on read: computed fields, and related fields (stored or not:
/// the sandbox follows the path on read rather than keeping a copy in step).
pub fn computed_fields(b: &ModelBehaviour, model: &str) -> Vec<String> {
    let mut out: Vec<String> = b.computed.clone();
    out.extend(b.related.keys().cloned());
    // product.template's bindings go through the binding's related product_tmpl_id, which
    // the sandbox computes: so the one2many is computed too.
    for (o2m, inverse) in &b.inverses {
        if inverse_is_related(model, o2m, inverse) {
            out.push(o2m.clone());
        }
    }
    out
}

fn inverse_is_related(model: &str, o2m: &str, inverse: &str) -> bool {
    let Some(json) = FILES.iter().find(|(n, _)| *n == model).map(|(_, j)| *j) else {
        return false;
    };
    let fields: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
    let Some(comodel) = fields
        .get(o2m)
        .and_then(|f| f.get("relation"))
        .and_then(Value::as_str)
    else {
        return false;
    };
    model_related(comodel, inverse)
}

fn model_related(model: &str, field: &str) -> bool {
    self::model(model).is_some_and(|b| b.related.contains_key(field))
}

fn static_default(v: &Value) -> Option<Def> {
    Some(match v {
        Value::Bool(b) => Def::Bool(*b),
        Value::Number(n) if n.is_i64() => Def::Int(n.as_i64()?),
        Value::Number(n) => Def::Float(n.as_f64()?),
        Value::String(s) => Def::Str(leak(s)),
        _ => return None,
    })
}

static METAS: LazyLock<HashMap<String, ModelMeta>> = LazyLock::new(|| {
    let mut out = HashMap::new();
    for (name, b) in &behaviour().models {
        let base = meta(name);
        let computed: Vec<&'static str> = computed_fields(b, name)
            .iter()
            .map(|s| leak(s))
            .chain(base.computed.iter().copied())
            .collect();
        let defaults: Vec<(&'static str, Def)> = base
            .defaults
            .iter()
            .copied()
            .chain(
                b.defaults
                    .iter()
                    .filter_map(|(k, v)| Some((leak(k), static_default(v)?))),
            )
            .collect();
        let inverses: Vec<(&'static str, &'static str)> = base
            .inverses
            .iter()
            .copied()
            .chain(
                b.inverses
                    .iter()
                    .filter(|(o2m, inv)| !inverse_is_related(name, o2m, inv))
                    .map(|(k, v)| (leak(k), leak(v))),
            )
            .collect();
        let cascade: Vec<&'static str> = base
            .cascade
            .iter()
            .copied()
            .chain(b.cascade.iter().map(|s| leak(s)))
            .collect();
        let indexed: Vec<&'static str> = base
            .indexed
            .iter()
            .copied()
            .chain(
                b.indexed
                    .iter()
                    .filter(|f| !b.related.contains_key(*f))
                    .map(|s| leak(s)),
            )
            .collect();
        let unique: Vec<(&'static [&'static str], &'static str)> = base
            .unique
            .iter()
            .copied()
            .chain(
                b.constraints
                    .iter()
                    .filter(|c| c.kind == "unique")
                    .map(|c| {
                        (
                            leak_list(c.fields.iter().map(|f| leak(f)).collect()),
                            leak(&c.message),
                        )
                    }),
            )
            .collect();
        let m = if b.extends {
            ModelMeta {
                computed: leak_list(computed),
                defaults: Box::leak(defaults.into_boxed_slice()),
                inverses: Box::leak(inverses.into_boxed_slice()),
                cascade: leak_list(cascade),
                indexed: leak_list(indexed),
                unique: Box::leak(unique.into_boxed_slice()),
                ..base
            }
        } else {
            let rec_name = rec_name(name, b);
            ModelMeta {
                order: leak(b.order.as_deref().unwrap_or("id")),
                rec_name,
                computed: leak_list(computed),
                defaults: Box::leak(defaults.into_boxed_slice()),
                inverses: Box::leak(inverses.into_boxed_slice()),
                cascade: leak_list(cascade),
                indexed: leak_list(indexed),
                unique: Box::leak(unique.into_boxed_slice()),
                ..base
            }
        };
        out.insert(name.clone(), m);
    }
    out
});

/// `_rec_name`, else `name` when the model has one, else the first char field of
/// `_rec_names_search`, else the (custom) display name.
fn rec_name(model: &str, b: &ModelBehaviour) -> &'static str {
    if let Some(r) = &b.rec_name {
        return leak(r);
    }
    let fields: Map<String, Value> = FILES
        .iter()
        .find(|(n, _)| *n == model)
        .and_then(|(_, j)| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let is_char = |f: &str| {
        fields
            .get(f)
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            == Some("char")
    };
    if is_char("name") {
        return "name";
    }
    b.rec_names_search
        .iter()
        .flatten()
        .find(|f| is_char(f))
        .map_or("display_name", |f| leak(f))
}

/// The behaviour of `model` with the addon installed: the core's, plus what the addon adds.
pub fn meta_for(model: &str) -> ModelMeta {
    METAS.get(model).copied().unwrap_or_else(|| meta(model))
}

/// The group's label as Odoo 19 shows it in access errors (`Channels / Administrator`).
pub fn group_label(xmlid: &str) -> String {
    behaviour()
        .groups
        .get(xmlid)
        .map(|g| g.full_name.clone().unwrap_or_else(|| g.name.clone()))
        .unwrap_or_else(|| xmlid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_parses_and_names_every_model() {
        let b = behaviour();
        assert_eq!(b.module, MODULE);
        for (name, _) in FILES {
            assert!(b.models.contains_key(*name), "{name} has no behaviour");
        }
        let binding = model("channel.product.binding").unwrap();
        assert!(
            binding
                .constraints
                .iter()
                .any(|c| c.fields == ["channel_id", "external_sku"])
        );
        assert!(
            binding
                .daemon_fields
                .as_ref()
                .unwrap()
                .contains(&"listing_state".into())
        );
    }

    #[test]
    fn metas_merge_the_core_and_the_addon() {
        let so = meta_for("sale.order");
        assert_eq!(so.order, meta("sale.order").order);
        assert!(
            so.unique
                .iter()
                .any(|(cols, _)| *cols == ["channel_id", "channel_order_ref"])
        );
        let binding = meta_for("channel.product.binding");
        assert_eq!(binding.rec_name, "external_sku");
        assert!(binding.computed.contains(&"product_tmpl_id"));
        let tmpl = meta_for("product.template");
        assert!(tmpl.computed.contains(&"channel_binding_ids"));
        let product = meta_for("product.product");
        assert!(
            product
                .inverses
                .contains(&("channel_binding_ids", "product_id"))
        );
    }
}
