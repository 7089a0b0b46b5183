//! Seeding a database: the reference `demo` data the captures rely on, and generated catalogs.
//!
//! Seed rows are written straight into the tables with the ids the captures show (no hooks,
//! no undo log); what Odoo would have computed at install time is written as stored values.

pub mod catalog;
pub mod channel_sync;
pub mod demo;

use crate::convert;
use crate::env::Db;
use crate::registry::Kind;
use crate::schema::FieldType;
use crate::store::{Record, Val};
use serde_json::Value;

/// Direct row writer for seeding.
pub struct Seeder<'a> {
    pub db: &'a mut Db,
    /// create/write date of seeded rows (µs).
    pub stamp: i64,
}

impl<'a> Seeder<'a> {
    pub fn new(db: &'a mut Db, stamp: i64) -> Seeder<'a> {
        db.undo_enabled = false;
        Seeder { db, stamp }
    }

    /// Insert (or replace) `model` row `id` with the given values (19.0 names).
    pub fn put(&mut self, model: &str, id: i64, vals: Value) -> i64 {
        let reg = self.db.reg.clone();
        let m = reg
            .get(model)
            .unwrap_or_else(|| panic!("seed: unknown model {model}"));
        let mut rec = Record {
            create_date: self.stamp,
            write_date: self.stamp,
            create_uid: 1,
            write_uid: 1,
            vals: Vec::new(),
        };
        if let Value::Object(map) = vals {
            for (k, v) in map {
                let f = m
                    .fid(&k)
                    .unwrap_or_else(|| panic!("seed: {model} has no field {k}"));
                let def = &m.schema.fields[f as usize];
                let val = match def.ftype {
                    FieldType::One2many | FieldType::Many2many => {
                        if matches!(m.kinds[f as usize], Kind::Inverse { .. }) {
                            continue;
                        }
                        Some(Val::Ids(convert::ids_of(&v).unwrap_or_default().into()))
                    }
                    _ => convert::to_val(model, def, &v, None)
                        .unwrap_or_else(|e| panic!("seed: {model}.{k}: {e}")),
                };
                let default = m.defaults[f as usize].clone();
                let val = match (val, default) {
                    (None, Some(_)) => Some(Val::False),
                    (Some(v), Some(d)) if v == d => None,
                    (v, _) => v,
                };
                rec.set(f, val);
            }
        }
        self.db.table_mut(m.id).put(id, rec);
        id
    }

    /// Change one field of a seeded row.
    pub fn put_field(&mut self, model: &str, id: i64, field: &str, v: Value) {
        let reg = self.db.reg.clone();
        let m = reg
            .get(model)
            .unwrap_or_else(|| panic!("seed: unknown model {model}"));
        let f = m
            .fid(field)
            .unwrap_or_else(|| panic!("seed: {model} has no field {field}"));
        let def = &m.schema.fields[f as usize];
        let val = match def.ftype {
            FieldType::One2many | FieldType::Many2many => {
                Some(Val::Ids(convert::ids_of(&v).unwrap_or_default().into()))
            }
            _ => convert::to_val(model, def, &v, None).unwrap_or_else(|e| panic!("seed: {e}")),
        };
        if let Some(mut rec) = self.db.table(m.id).get(id).cloned() {
            let val = match (val, m.defaults[f as usize].clone()) {
                (None, Some(_)) => Some(Val::False),
                (Some(v), Some(d)) if v == d => None,
                (v, _) => v,
            };
            rec.set(f, val);
            self.db.table_mut(m.id).put(id, rec);
        }
    }

    /// Set the next id a model's `create` will use.
    pub fn next_id(&mut self, model: &str, next: i64) {
        let m = self
            .db
            .reg
            .id(model)
            .unwrap_or_else(|| panic!("seed: unknown model {model}"));
        let t = self.db.table_mut(m);
        if t.next_id < next {
            t.next_id = next;
        }
    }

    pub fn seq(&mut self, code: &str, next: i64) {
        self.db.sequences.insert(code.to_owned(), next);
    }
}

impl Drop for Seeder<'_> {
    fn drop(&mut self) {
        self.db.undo_enabled = true;
        self.db.undo.clear();
    }
}
