//! The model registry: schema (from `fields_get` data) joined with behaviour (from
//! [`crate::meta`]), resolved once into indexes the ORM can use without string lookups.

use crate::meta::{Def, ModelMeta, meta};
use crate::schema::{FieldType, ModelSchema, load_all};

use crate::store::Val;
use std::collections::HashMap;

/// How the ORM obtains a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    CreateDate,
    WriteDate,
    CreateUid,
    WriteUid,
    /// A column of this model's row.
    Stored,
    /// Computed on read by `compute.rs` (never stored).
    Computed,
    /// Lives on the `_inherits` parent, reached through `link` (a field of this model).
    Delegated {
        link: u16,
        parent_field: u16,
    },
    /// one2many: the comodel rows whose `field` points here.
    Inverse {
        comodel: u16,
        field: u16,
    },
}

#[derive(Debug)]
pub struct Model {
    pub id: u16,
    pub name: String,
    pub schema: ModelSchema,
    pub meta: ModelMeta,
    pub kinds: Vec<Kind>,
    /// Static defaults as stored values, per field index.
    pub defaults: Vec<Option<Val>>,
    /// `_inherits` parent model id and link field.
    pub parent: Option<(u16, u16)>,
    pub active_field: Option<u16>,
    /// Field indexes of the many2one columns to index.
    pub indexed: Vec<u16>,
}

impl Model {
    pub fn fid(&self, name: &str) -> Option<u16> {
        self.schema.field_id(name)
    }
    pub fn ftype(&self, f: u16) -> FieldType {
        self.schema.fields[f as usize].ftype
    }
    pub fn fname(&self, f: u16) -> &str {
        &self.schema.fields[f as usize].name
    }
    pub fn has(&self, name: &str) -> bool {
        self.schema.by_name.contains_key(name)
    }
}

#[derive(Debug)]
pub struct Registry {
    pub models: Vec<Model>,
    by_name: HashMap<String, u16>,
    /// The `channel_sync` addon is installed (its models and fields are in the registry).
    pub addon: bool,
}

impl Registry {
    /// The 19.0-shaped registry. Version personalities translate names at the protocol edge.
    pub fn build() -> Registry {
        Registry::build_for(&crate::personality::Personality::new(
            odoo_wire::OdooVersion::V19,
        ))
    }

    /// The registry of a personality: the 19.0 schema plus the sandbox's internal fields and
    /// the fields older versions still have.
    pub fn build_for(pers: &crate::personality::Personality) -> Registry {
        Registry::build_with(pers, false)
    }

    /// The registry of a personality, with the `channel_sync` addon's models when `addon`.
    pub fn build_with(pers: &crate::personality::Personality, addon: bool) -> Registry {
        let mut schemas = load_all();
        if addon {
            crate::addon::apply_schemas(&mut schemas);
        }
        for s in &mut schemas {
            match s.name.as_str() {
                // Variant attribute values shown in the display name ("White, Custom").
                "product.product" => s.add_field(
                    "__variant_label",
                    serde_json::json!({"type": "char", "string": "Variant values", "readonly": true, "required": false}),
                ),
                "stock.warehouse.orderpoint" if pers.map.orderpoint_has_qty_multiple => s.add_field(
                    "qty_multiple",
                    serde_json::json!({"type": "float", "string": "Multiple Quantity", "readonly": false, "required": true}),
                ),
                _ => {}
            }
        }
        let meta_of: fn(&str) -> ModelMeta = if addon { crate::addon::meta_for } else { meta };
        let mut reg = Registry::from_schemas_with(schemas, meta_of);
        reg.addon = addon;
        reg
    }

    pub fn from_schemas(schemas: Vec<ModelSchema>) -> Registry {
        Registry::from_schemas_with(schemas, meta)
    }

    fn from_schemas_with(schemas: Vec<ModelSchema>, meta: fn(&str) -> ModelMeta) -> Registry {
        let by_name: HashMap<String, u16> = schemas
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i as u16))
            .collect();
        let mut models: Vec<Model> = schemas
            .into_iter()
            .enumerate()
            .map(|(i, schema)| {
                let m = meta(&schema.name);
                let n = schema.fields.len();
                Model {
                    id: i as u16,
                    name: schema.name.clone(),
                    meta: m,
                    kinds: vec![Kind::Stored; n],
                    defaults: vec![None; n],
                    parent: None,
                    active_field: schema.field_id("active"),
                    indexed: Vec::new(),
                    schema,
                }
            })
            .collect();
        // Resolve kinds now that every model is known.
        for mi in 0..models.len() {
            let (parent, kinds, defaults, indexed) = {
                let m = &models[mi];
                let parent = m
                    .meta
                    .inherits
                    .and_then(|(pm, link)| Some((*by_name.get(pm)?, m.schema.field_id(link)?)));
                let mut kinds = Vec::with_capacity(m.schema.fields.len());
                let mut defaults = vec![None; m.schema.fields.len()];
                for (fi, f) in m.schema.fields.iter().enumerate() {
                    let k = match f.name.as_str() {
                        "id" => Kind::Id,
                        "create_date" => Kind::CreateDate,
                        "write_date" => Kind::WriteDate,
                        "create_uid" => Kind::CreateUid,
                        "write_uid" => Kind::WriteUid,
                        "display_name" => Kind::Computed,
                        name => {
                            let delegated = parent.and_then(|(pmi, link)| {
                                if m.meta.own_fields.contains(&name) || link as usize == fi {
                                    return None;
                                }
                                let pf = models[pmi as usize].schema.field_id(name)?;
                                Some(Kind::Delegated {
                                    link,
                                    parent_field: pf,
                                })
                            });
                            if let Some(d) = delegated {
                                d
                            } else if m.meta.computed.contains(&name) {
                                Kind::Computed
                            } else if let Some((_, inv)) =
                                m.meta.inverses.iter().find(|(o2m, _)| *o2m == name)
                            {
                                let com = f.relation.as_deref().and_then(|r| by_name.get(r));
                                match com.and_then(|&c| {
                                    Some((c, models[c as usize].schema.field_id(inv)?))
                                }) {
                                    Some((comodel, field)) => Kind::Inverse { comodel, field },
                                    None => Kind::Stored,
                                }
                            } else {
                                Kind::Stored
                            }
                        }
                    };
                    kinds.push(k);
                    if let Some((_, d)) = m.meta.defaults.iter().find(|(n, _)| *n == f.name) {
                        defaults[fi] = Some(match (*d, f.ftype) {
                            (Def::Bool(b), _) => Val::Bool(b),
                            (Def::Int(i), FieldType::Float | FieldType::Monetary) => {
                                Val::Float(i as f64)
                            }
                            (Def::Int(i), _) => Val::Int(i),
                            (Def::Float(x), _) => Val::Float(x),
                            (Def::Str(s), _) => Val::Str(s.into()),
                        });
                    }
                }
                let indexed: Vec<u16> = m
                    .meta
                    .indexed
                    .iter()
                    .filter_map(|n| m.schema.field_id(n))
                    .collect();
                (parent, kinds, defaults, indexed)
            };
            let m = &mut models[mi];
            m.parent = parent;
            m.kinds = kinds;
            m.defaults = defaults;
            m.indexed = indexed;
        }
        // Every inverse many2one gets an index on its comodel, so one2many reads are lookups.
        let mut extra: Vec<(u16, u16)> = Vec::new();
        for m in &models {
            for k in &m.kinds {
                if let Kind::Inverse { comodel, field } = k {
                    extra.push((*comodel, *field));
                }
            }
            if let Some((_, link)) = m.parent {
                // The parent finds its children (product.template → product.product).
                extra.push((m.id, link));
            }
        }
        for (c, f) in extra {
            let ix = &mut models[c as usize].indexed;
            if !ix.contains(&f) {
                ix.push(f);
            }
        }
        Registry {
            models,
            by_name,
            addon: false,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Model> {
        self.by_name.get(name).map(|&i| &self.models[i as usize])
    }

    pub fn id(&self, name: &str) -> Option<u16> {
        self.by_name.get(name).copied()
    }

    pub fn m(&self, id: u16) -> &Model {
        &self.models[id as usize]
    }

    /// Add a model at runtime (the addon's models, tests).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| m.name.as_str())
    }
}

/// The value an unset field reads as.
pub fn empty_val(t: FieldType) -> Val {
    match t {
        FieldType::Boolean => Val::Bool(false),
        FieldType::Integer => Val::Int(0),
        FieldType::Float | FieldType::Monetary => Val::Float(0.0),
        FieldType::One2many | FieldType::Many2many => Val::Ids(Box::new([])),
        _ => Val::False,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_delegates_template_fields_and_keeps_its_own() {
        let r = Registry::build();
        let p = r.get("product.product").unwrap();
        let name = p.fid("name").unwrap();
        assert!(matches!(p.kinds[name as usize], Kind::Delegated { .. }));
        let code = p.fid("default_code").unwrap();
        assert_eq!(p.kinds[code as usize], Kind::Stored);
        let qa = p.fid("qty_available").unwrap();
        assert_eq!(p.kinds[qa as usize], Kind::Computed);
        let so = r.get("sale.order").unwrap();
        let ol = so.fid("order_line").unwrap();
        assert!(matches!(so.kinds[ol as usize], Kind::Inverse { .. }));
        let sol = r.get("sale.order.line").unwrap();
        assert!(sol.indexed.contains(&sol.fid("order_id").unwrap()));
    }
}
