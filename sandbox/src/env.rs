//! One database and the generic ORM over it: read, create, write, unlink, search.
//!
//! [`Db`] owns the tables; an [`Env`] is one transaction on it (user, context, start time),
//! the equivalent of Odoo's `env` inside one RPC call. Everything model-specific is delegated:
//! computed values to [`crate::compute`], business effects to the hooks in
//! [`crate::business`]. What is here holds for every model: the x2many command protocol,
//! `_inherits` delegation, defaults, required fields, selection checks, SQL UNIQUE
//! constraints, `write_date` stamping, `active` filtering and the undo log.

use crate::convert::{self, py_repr};
use crate::error::{OResult, OdooError};
use crate::personality::Personality;
use crate::registry::{Kind, Model, Registry, empty_val};
use crate::schema::FieldType;
use crate::store::{Record, Table, Undo, Val};
use crate::{business, compute, domain, order};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// An API key of a user.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub key: String,
    /// Expiry (microseconds); keys can expire from 18.
    pub expires_us: Option<i64>,
    pub revoked: bool,
}

/// Credentials of one user (passwords are not records: Odoo never returns them either).
#[derive(Debug, Clone)]
pub struct Credential {
    pub uid: i64,
    pub login: String,
    pub password: String,
    pub api_keys: Vec<ApiKey>,
}

/// One database: the tables, sequences and credentials.
#[derive(Debug)]
pub struct Db {
    pub name: String,
    pub reg: Arc<Registry>,
    pub pers: Arc<Personality>,
    pub tables: Vec<Table>,
    pub undo: Vec<Undo>,
    /// Off while seeding big catalogs: no rollback possible, no memory spent on it.
    pub undo_enabled: bool,
    /// `ir.sequence` counters by code (not rolled back, like PostgreSQL sequences).
    pub sequences: HashMap<String, i64>,
    pub credentials: Vec<Credential>,
    /// Groups (xml ids) of each user, for access rules.
    pub groups: HashMap<i64, HashSet<String>>,
}

impl Db {
    pub fn new(name: &str, reg: Arc<Registry>, pers: Arc<Personality>) -> Db {
        let tables = reg.models.iter().map(|m| Table::new(&m.indexed)).collect();
        Db {
            name: name.to_owned(),
            reg,
            pers,
            tables,
            undo: Vec::new(),
            undo_enabled: true,
            sequences: HashMap::new(),
            credentials: Vec::new(),
            groups: HashMap::new(),
        }
    }

    pub fn table(&self, model: u16) -> &Table {
        &self.tables[model as usize]
    }

    pub fn table_mut(&mut self, model: u16) -> &mut Table {
        &mut self.tables[model as usize]
    }

    /// Put a row, remembering the previous one for rollback.
    pub fn put(&mut self, model: u16, id: i64, rec: Record) {
        let old = self.tables[model as usize].put(id, rec);
        if self.undo_enabled {
            self.undo.push(match old {
                Some(old) => Undo::Update { model, id, old },
                None => Undo::Insert { model, id },
            });
        }
    }

    pub fn delete(&mut self, model: u16, id: i64) {
        if let Some(old) = self.tables[model as usize].remove(id)
            && self.undo_enabled
        {
            self.undo.push(Undo::Update { model, id, old });
        }
    }

    pub fn commit(&mut self) {
        self.undo.clear();
    }

    /// Undo every change since the last commit.
    pub fn rollback(&mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Insert { model, id } => {
                    self.tables[model as usize].remove(id);
                }
                Undo::Update { model, id, old } => {
                    self.tables[model as usize].put(id, *old);
                }
            }
        }
    }

    /// The next number of an `ir.sequence` (consumed even if the transaction fails).
    pub fn next_seq(&mut self, code: &str) -> i64 {
        let n = self.sequences.entry(code.to_owned()).or_insert(1);
        let v = *n;
        *n += 1;
        v
    }

    pub fn user_has_group(&self, uid: i64, group: &str) -> bool {
        uid == 1 || self.groups.get(&uid).is_some_and(|g| g.contains(group))
    }
}

/// One transaction: who calls, with which context, at which time.
pub struct Env<'a> {
    pub db: &'a mut Db,
    pub uid: i64,
    pub ctx: Map<String, Value>,
    /// Transaction start (µs): every `write_date` of this call.
    pub now: i64,
    /// Superuser mode (business code acting as Odoo does with `sudo()`).
    pub su: bool,
}

/// What a create hook decided.
pub enum Prepared {
    /// Go on creating with the (possibly amended) values.
    Create,
    /// The hook answered with an existing record (e.g. a quant updated in inventory mode).
    Existing(i64),
}

impl<'a> Env<'a> {
    pub fn new(db: &'a mut Db, uid: i64, ctx: Map<String, Value>, now: i64) -> Env<'a> {
        Env {
            db,
            uid,
            ctx,
            now,
            su: false,
        }
    }

    pub fn reg(&self) -> Arc<Registry> {
        self.db.reg.clone()
    }

    pub fn pers(&self) -> Arc<Personality> {
        self.db.pers.clone()
    }

    /// The model id, or Odoo's "Object x doesn't exist".
    pub fn model_id(&self, name: &str) -> OResult<u16> {
        self.db
            .reg
            .id(name)
            .ok_or_else(|| OdooError::user(format!("Object {name} doesn't exist")))
    }

    pub fn m(&self, name: &str) -> u16 {
        self.db
            .reg
            .id(name)
            .unwrap_or_else(|| panic!("model {name} is not in the registry"))
    }

    pub fn ctx_bool(&self, key: &str) -> bool {
        self.ctx.get(key).is_some_and(convert::truthy)
    }

    pub fn ctx_i64(&self, key: &str) -> Option<i64> {
        match self.ctx.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::Array(a) if a.len() == 1 => a[0].as_i64(),
            _ => None,
        }
    }

    pub fn active_test(&self) -> bool {
        !matches!(self.ctx.get("active_test"), Some(Value::Bool(false)))
    }

    /// Run `f` with a modified context, restoring it afterwards.
    pub fn with_ctx<T>(&mut self, patch: &[(&str, Value)], f: impl FnOnce(&mut Env) -> T) -> T {
        let saved = self.ctx.clone();
        for (k, v) in patch {
            self.ctx.insert((*k).to_owned(), v.clone());
        }
        let out = f(self);
        self.ctx = saved;
        out
    }

    // ------------------------------------------------------------------ values

    pub fn exists(&self, model: u16, id: i64) -> bool {
        self.db.table(model).exists(id)
    }

    /// The stored value of one field (default when unset); `None` for missing records.
    fn stored(&self, model: &Model, id: i64, f: u16) -> Option<Val> {
        let rec = self.db.table(model.id).get(id)?;
        Some(match rec.get(f) {
            Some(v) => v.clone(),
            None => model.defaults[f as usize]
                .clone()
                .unwrap_or_else(|| empty_val(model.ftype(f))),
        })
    }

    /// Values of field `f` for `ids` (missing records give the empty value).
    pub fn vals(&self, model: u16, ids: &[i64], f: u16) -> OResult<Vec<Val>> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        let empty = || empty_val(m.ftype(f));
        Ok(match m.kinds[f as usize] {
            Kind::Id => ids.iter().map(|&i| Val::Int(i)).collect(),
            Kind::CreateDate | Kind::WriteDate | Kind::CreateUid | Kind::WriteUid => {
                let t = self.db.table(model);
                ids.iter()
                    .map(|&i| match t.get(i) {
                        None => Val::False,
                        Some(r) => match m.kinds[f as usize] {
                            Kind::CreateDate => Val::Dt(r.create_date),
                            Kind::WriteDate => Val::Dt(r.write_date),
                            Kind::CreateUid if r.create_uid > 0 => Val::Int(r.create_uid),
                            Kind::WriteUid if r.write_uid > 0 => Val::Int(r.write_uid),
                            _ => Val::False,
                        },
                    })
                    .collect()
            }
            Kind::Stored => {
                let mut out: Vec<Val> = ids
                    .iter()
                    .map(|&i| self.stored(m, i, f).unwrap_or_else(empty))
                    .collect();
                if let Some((_, flag)) = m.meta.read_filters.iter().find(|(n, _)| *n == m.fname(f))
                    && let Some(rel) = m.schema.fields[f as usize].relation.as_deref()
                {
                    for v in &mut out {
                        if let Val::Ids(list) = v {
                            let kept: Vec<i64> = list
                                .iter()
                                .copied()
                                .filter(|&t| self.get(rel, t, flag).truthy())
                                .collect();
                            *v = Val::Ids(kept.into());
                        }
                    }
                }
                out
            }
            Kind::Delegated { link, parent_field } => {
                let (pm, _) = m.parent.expect("delegated field without parent");
                let links: Vec<i64> = ids
                    .iter()
                    .map(|&i| self.stored(m, i, link).and_then(|v| v.as_id()).unwrap_or(0))
                    .collect();
                let mut uniq: Vec<i64> = links.iter().copied().filter(|&i| i > 0).collect();
                uniq.sort_unstable();
                uniq.dedup();
                let pv = self.vals(pm, &uniq, parent_field)?;
                let map: HashMap<i64, Val> = uniq.into_iter().zip(pv).collect();
                links
                    .iter()
                    .map(|l| map.get(l).cloned().unwrap_or_else(empty))
                    .collect()
            }
            Kind::Inverse { comodel, field } => {
                let table = self.db.table(comodel);
                let cm = reg.m(comodel);
                let index = table.index_for(field);
                let mut out = Vec::with_capacity(ids.len());
                for &i in ids {
                    let mut children: Vec<i64> = match index {
                        Some(ix) => ix.map.get(&i).cloned().unwrap_or_default(),
                        None => table
                            .iter()
                            .filter(|(_, r)| r.get(field).and_then(Val::as_id) == Some(i))
                            .map(|(cid, _)| cid)
                            .collect(),
                    };
                    if let Some(af) = cm.active_field
                        && self.active_test()
                    {
                        let act = self.vals(comodel, &children, af)?;
                        children = children
                            .into_iter()
                            .zip(act)
                            .filter(|(_, a)| a.truthy())
                            .map(|(c, _)| c)
                            .collect();
                    }
                    if children.len() > 1 && cm.meta.order != "id" {
                        order::sort(self, comodel, &mut children, cm.meta.order)?;
                    }
                    out.push(Val::Ids(children.into()));
                }
                out
            }
            Kind::Computed => compute::compute(self, model, f, ids)?,
        })
    }

    /// One value by names (business code convenience).
    pub fn get(&self, model: &str, id: i64, field: &str) -> Val {
        let Some(mid) = self.db.reg.id(model) else {
            return Val::False;
        };
        let m = self.db.reg.m(mid);
        let Some(f) = m.fid(field) else {
            return Val::False;
        };
        self.vals(mid, &[id], f)
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or(Val::False)
    }

    pub fn get_id(&self, model: &str, id: i64, field: &str) -> Option<i64> {
        self.get(model, id, field).as_id()
    }
    pub fn get_f64(&self, model: &str, id: i64, field: &str) -> f64 {
        self.get(model, id, field).as_f64()
    }
    pub fn get_str(&self, model: &str, id: i64, field: &str) -> Option<String> {
        self.get(model, id, field).as_str().map(str::to_owned)
    }
    pub fn get_ids(&self, model: &str, id: i64, field: &str) -> Vec<i64> {
        self.get(model, id, field).ids().to_vec()
    }
    pub fn get_bool(&self, model: &str, id: i64, field: &str) -> bool {
        self.get(model, id, field).truthy()
    }

    /// Display names (`false` where there is none).
    pub fn display_names(&self, model: u16, ids: &[i64]) -> Vec<Value> {
        compute::display_names(self, model, ids)
    }

    pub fn display_name(&self, model: &str, id: i64) -> String {
        match self.db.reg.id(model) {
            Some(m) => match self.display_names(m, &[id]).pop() {
                Some(Value::String(s)) => s,
                _ => String::new(),
            },
            None => String::new(),
        }
    }

    /// A stored value as the wire shows it.
    pub fn to_json(&self, m: &Model, f: u16, v: &Val) -> Value {
        let t = m.ftype(f);
        match (t, v) {
            (_, Val::False) => empty_json(t),
            (FieldType::Boolean, v) => Value::Bool(v.truthy()),
            (FieldType::Integer, v) => match v {
                Val::Int(i) => json!(i),
                other => json!(other.as_f64() as i64),
            },
            (FieldType::Float | FieldType::Monetary, v) => convert::float(v.as_f64()),
            (FieldType::Datetime, Val::Dt(us)) => Value::String(convert::fmt_dt(*us)),
            (FieldType::One2many | FieldType::Many2many, v) => json!(v.ids()),
            (_, Val::Int(i)) => json!(i),
            (_, Val::Float(x)) => convert::float(*x),
            (_, Val::Bool(b)) => Value::Bool(*b),
            (_, Val::Str(s)) => Value::String(s.to_string()),
            (_, Val::Dt(us)) => Value::String(convert::fmt_dt(*us)),
            (_, Val::Ids(v)) => json!(v),
            (_, Val::Json(j)) => (**j).clone(),
        }
    }

    // -------------------------------------------------------------------- read

    /// `read(fields, load)`: unknown ids are skipped, many2one as `[id, name]` unless
    /// `load` is not `_classic_read`.
    pub fn read(
        &self,
        model: u16,
        ids: &[i64],
        fields: Option<&[String]>,
        classic: bool,
    ) -> OResult<Vec<Map<String, Value>>> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        let fids: Vec<u16> = match fields {
            Some(list) if !list.is_empty() => {
                let mut out = Vec::with_capacity(list.len() + 1);
                for name in list {
                    let f = m.fid(name).ok_or_else(|| {
                        OdooError::value(format!("Invalid field '{name}' on '{}'", m.name))
                    })?;
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
                out
            }
            _ => (0..m.schema.fields.len() as u16)
                .filter(|&f| !m.fname(f).starts_with("__"))
                .collect(),
        };
        let mut seen = HashSet::new();
        let live: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&i| self.exists(model, i) && seen.insert(i))
            .collect();
        let mut rows: Vec<Map<String, Value>> = live
            .iter()
            .map(|&i| {
                let mut r = Map::new();
                r.insert("id".into(), json!(i));
                r
            })
            .collect();
        for f in fids {
            let name = m.fname(f).to_owned();
            if name == "id" {
                continue;
            }
            if name == "display_name" {
                for (row, dn) in rows.iter_mut().zip(self.display_names(model, &live)) {
                    row.insert(name.clone(), dn);
                }
                continue;
            }
            let vals = self.vals(model, &live, f)?;
            if m.ftype(f) == FieldType::Many2one {
                let rel = m.schema.fields[f as usize]
                    .relation
                    .clone()
                    .unwrap_or_default();
                let targets: Vec<i64> = vals.iter().filter_map(Val::as_id).collect();
                let com = reg.id(&rel);
                let names: HashMap<i64, Value> = match (classic, com) {
                    (true, Some(c)) => {
                        let mut uniq = targets.clone();
                        uniq.sort_unstable();
                        uniq.dedup();
                        let dn = self.display_names(c, &uniq);
                        uniq.into_iter().zip(dn).collect()
                    }
                    _ => HashMap::new(),
                };
                for (row, v) in rows.iter_mut().zip(vals) {
                    let out = match v.as_id() {
                        Some(t) if com.is_none_or(|c| self.exists(c, t)) => {
                            if classic {
                                json!([t, names.get(&t).cloned().unwrap_or(Value::Bool(false))])
                            } else {
                                json!(t)
                            }
                        }
                        _ => Value::Bool(false),
                    };
                    row.insert(name.clone(), out);
                }
            } else {
                for (row, v) in rows.iter_mut().zip(vals) {
                    row.insert(name.clone(), self.to_json(m, f, &v));
                }
            }
        }
        Ok(rows)
    }

    // ------------------------------------------------------------------ search

    /// `_search`: ids matching `domain`, ordered, paged.
    pub fn search(
        &self,
        model: u16,
        dom: &Value,
        offset: usize,
        limit: Option<usize>,
        order_by: Option<&str>,
    ) -> OResult<Vec<i64>> {
        let parsed = domain::parse(dom)?;
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        domain::validate(self, model, &parsed)?;
        let parsed = domain::with_active_test(self, m, parsed);
        let mut ids = domain::search_ids(self, model, &parsed)?;
        let ord = order_by
            .filter(|o| !o.trim().is_empty())
            .unwrap_or(m.meta.order);
        order::sort(self, model, &mut ids, ord)?;
        let start = offset.min(ids.len());
        let end = match limit {
            Some(l) => (start + l).min(ids.len()),
            None => ids.len(),
        };
        Ok(ids[start..end].to_vec())
    }

    pub fn search_count(&self, model: u16, dom: &Value) -> OResult<usize> {
        let parsed = domain::parse(dom)?;
        let m = self.db.reg.m(model);
        domain::validate(self, model, &parsed)?;
        let parsed = domain::with_active_test(self, m, parsed);
        Ok(domain::search_ids(self, model, &parsed)?.len())
    }

    /// Search by model name with a JSON domain (business code).
    pub fn find(&self, model: &str, dom: Value) -> Vec<i64> {
        let m = self.m(model);
        self.search(m, &dom, 0, None, None).unwrap_or_default()
    }

    pub fn find_one(&self, model: &str, dom: Value) -> Option<i64> {
        let m = self.m(model);
        self.search(m, &dom, 0, Some(1), None)
            .ok()
            .and_then(|v| v.first().copied())
    }

    // ------------------------------------------------------------------ create

    /// Create records; returns the new ids in order.
    pub fn create(&mut self, model: u16, vals_list: Vec<Map<String, Value>>) -> OResult<Vec<i64>> {
        let mut out = Vec::with_capacity(vals_list.len());
        for vals in vals_list {
            out.push(self.create_one(model, vals)?);
        }
        Ok(out)
    }

    /// Create one record by model name (business code).
    pub fn create_rec(&mut self, model: &str, vals: Value) -> OResult<i64> {
        let mid = self.model_id(model)?;
        let map = match vals {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.create_one(mid, map)
    }

    pub fn create_one(&mut self, model: u16, mut vals: Map<String, Value>) -> OResult<i64> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        for k in vals.keys() {
            if !m.has(k) {
                return Err(OdooError::value(format!(
                    "Invalid field '{k}' in '{}'",
                    m.name
                )));
            }
        }
        // Context defaults, then the model's dynamic defaults and business preparation.
        let ctx_defaults: Vec<(String, Value)> = self
            .ctx
            .iter()
            .filter_map(|(k, v)| {
                let f = k.strip_prefix("default_")?;
                (m.has(f) && !vals.contains_key(f)).then(|| (f.to_owned(), v.clone()))
            })
            .collect();
        for (k, v) in ctx_defaults {
            vals.insert(k, v);
        }
        if let Prepared::Existing(id) = business::prepare_create(self, &m.name, &mut vals)? {
            return Ok(id);
        }
        let original = vals.clone();
        // `_inherits`: values of parent fields create (or go to) the parent record.
        if let Some((pm, link)) = m.parent {
            let link_name = m.fname(link).to_owned();
            let mut pvals = Map::new();
            let keys: Vec<String> = vals.keys().cloned().collect();
            for k in keys {
                let f = m.fid(&k).unwrap_or(0);
                if matches!(m.kinds[f as usize], Kind::Delegated { .. })
                    && let Some(v) = vals.remove(&k)
                {
                    pvals.insert(k, v);
                }
            }
            let has_link = vals.get(&link_name).is_some_and(convert::truthy);
            if !has_link {
                let pid = self.create_one(pm, pvals)?;
                vals.insert(link_name, json!(pid));
            } else if !pvals.is_empty() {
                let pid = vals[&link_name].as_i64().unwrap_or(0);
                self.write(pm, &[pid], pvals)?;
            }
        }
        let mut rec = Record {
            create_date: self.now,
            write_date: self.now,
            create_uid: self.uid,
            write_uid: self.uid,
            vals: Vec::new(),
        };
        let mut commands: Vec<(u16, Value)> = Vec::new();
        let mut computed_writes: Map<String, Value> = Map::new();
        for (k, v) in &vals {
            let f = m.fid(k).expect("checked above");
            let def = &m.schema.fields[f as usize];
            match m.kinds[f as usize] {
                Kind::Stored => {
                    if def.ftype.is_x2many() {
                        commands.push((f, v.clone()));
                        continue;
                    }
                    let sv = self.convert_value(m, f, v)?;
                    rec.set(f, self.normalize(m, f, sv));
                }
                Kind::Inverse { .. } => commands.push((f, v.clone())),
                Kind::Computed => {
                    computed_writes.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        // The INSERT: the id is consumed from here on, even if a constraint then fails.
        let id = self.db.table_mut(model).alloc_id();
        self.check_required(m, &rec)?;
        self.db.put(model, id, rec);
        self.check_unique(m, &[id])?;
        for (f, cmds) in commands {
            self.apply_x2many(model, id, f, &cmds)?;
        }
        business::after_create(self, &m.name, id, &original, &computed_writes)?;
        Ok(id)
    }

    /// Convert a written value, validating selections and many2one targets.
    fn convert_value(&self, m: &Model, f: u16, v: &Value) -> OResult<Option<Val>> {
        let def = &m.schema.fields[f as usize];
        let digits = m
            .meta
            .digits
            .iter()
            .find(|(n, _)| *n == def.name)
            .map(|(_, d)| *d);
        let sv = convert::to_val(&m.name, def, v, digits)?;
        if def.ftype == FieldType::Many2one
            && let Some(Val::Int(target)) = &sv
            && let Some(rel) = def.relation.as_deref()
            && let Some(c) = self.db.reg.id(rel)
            && !self.exists(c, *target)
        {
            return Err(OdooError::missing(rel, &[*target], self.uid));
        }
        Ok(sv)
    }

    /// Drop values equal to the implicit default (sparse storage).
    fn normalize(&self, m: &Model, f: u16, v: Option<Val>) -> Option<Val> {
        let default = m.defaults[f as usize].clone();
        match (v, default) {
            (None, None) => None,
            (None, Some(_)) => Some(Val::False),
            (Some(v), Some(d)) if v == d => None,
            (Some(v), None) if v == empty_val(m.ftype(f)) => None,
            (Some(v), _) => Some(v),
        }
    }

    fn check_required(&self, m: &Model, rec: &Record) -> OResult<()> {
        for (fi, def) in m.schema.fields.iter().enumerate() {
            if !def.required || m.kinds[fi] != Kind::Stored || def.ftype.is_x2many() {
                continue;
            }
            if matches!(
                def.ftype,
                FieldType::Boolean | FieldType::Integer | FieldType::Float | FieldType::Monetary
            ) {
                continue;
            }
            let present = match rec.get(fi as u16) {
                Some(Val::False) => false,
                Some(v) => v.truthy() || matches!(v, Val::Str(_)),
                None => m.defaults[fi].is_some(),
            };
            if !present {
                return Err(OdooError::constraint(&format!(
                    "Missing required value for the field '{}' ({}).\nModel: '{}' ({})\n- create/update: a mandatory field is not set\n- delete: another model requires the record being deleted, you can archive it instead\n",
                    def.string, def.name, m.schema.description, m.name
                )));
            }
        }
        Ok(())
    }

    /// SQL UNIQUE constraints (NULLs never collide, as in PostgreSQL).
    fn check_unique(&self, m: &Model, ids: &[i64]) -> OResult<()> {
        for (cols, message) in m.meta.unique {
            let fids: Vec<u16> = cols.iter().filter_map(|c| m.fid(c)).collect();
            if fids.len() != cols.len() {
                continue;
            }
            for &id in ids {
                let key: Vec<Val> = fids
                    .iter()
                    .map(|&f| self.stored(m, id, f).unwrap_or(Val::False))
                    .collect();
                if key.iter().any(|v| !v.truthy()) {
                    continue;
                }
                let clash = self.db.table(m.id).iter().any(|(other, _)| {
                    other != id
                        && fids
                            .iter()
                            .zip(&key)
                            .all(|(&f, k)| self.stored(m, other, f).as_ref() == Some(k))
                });
                if clash {
                    return Err(OdooError::constraint(message));
                }
            }
        }
        Ok(())
    }

    /// The x2many command protocol: 0 create, 1 update, 2 delete, 3 unlink, 4 link, 5 clear,
    /// 6 set. A bare list of ids is treated as 6.
    pub fn apply_x2many(&mut self, model: u16, id: i64, f: u16, cmds: &Value) -> OResult<()> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        let def = &m.schema.fields[f as usize];
        let rel = def.relation.clone().unwrap_or_default();
        let com = self.model_id(&rel)?;
        let inverse = match m.kinds[f as usize] {
            Kind::Inverse { field, .. } => Some(field),
            _ => None,
        };
        let list = match cmds {
            Value::Array(a) => a.clone(),
            Value::Bool(false) | Value::Null => vec![],
            _ => {
                return Err(OdooError::value(format!(
                    "Wrong value for {}.{}: {}",
                    m.name,
                    def.name,
                    py_repr(cmds)
                )));
            }
        };
        // A plain list of ids means "set".
        let list = if !list.is_empty() && list.iter().all(Value::is_number) {
            vec![json!([6, 0, list])]
        } else {
            list
        };
        let mut current: Vec<i64> = self
            .vals(model, &[id], f)?
            .pop()
            .unwrap_or(Val::False)
            .ids()
            .to_vec();
        for cmd in &list {
            let arr = cmd.as_array().cloned().unwrap_or_default();
            let code = arr.first().and_then(Value::as_i64).unwrap_or(-1);
            let target = arr.get(1).and_then(Value::as_i64).unwrap_or(0);
            let payload = arr.get(2).cloned().unwrap_or(Value::Null);
            match code {
                0 => {
                    let mut v = payload.as_object().cloned().unwrap_or_default();
                    if let Some(inv) = inverse {
                        v.insert(reg.m(com).fname(inv).to_owned(), json!(id));
                    }
                    let cid = self.create_one(com, v)?;
                    current.push(cid);
                }
                1 => {
                    let v = payload.as_object().cloned().unwrap_or_default();
                    self.write(com, &[target], v)?;
                }
                2 => {
                    self.unlink(com, &[target])?;
                    current.retain(|&c| c != target);
                }
                3 => {
                    if let Some(inv) = inverse {
                        let mut v = Map::new();
                        v.insert(reg.m(com).fname(inv).to_owned(), Value::Bool(false));
                        self.write(com, &[target], v)?;
                    }
                    current.retain(|&c| c != target);
                }
                4 => {
                    if !self.exists(com, target) {
                        return Err(OdooError::missing(&rel, &[target], self.uid));
                    }
                    if let Some(inv) = inverse {
                        let mut v = Map::new();
                        v.insert(reg.m(com).fname(inv).to_owned(), json!(id));
                        self.write(com, &[target], v)?;
                    }
                    if !current.contains(&target) {
                        current.push(target);
                    }
                }
                5 => {
                    if let Some(inv) = inverse {
                        for c in current.clone() {
                            let mut v = Map::new();
                            v.insert(reg.m(com).fname(inv).to_owned(), Value::Bool(false));
                            self.write(com, &[c], v)?;
                        }
                    }
                    current.clear();
                }
                6 => {
                    let ids = convert::ids_of(&payload).unwrap_or_default();
                    for &t in &ids {
                        if !self.exists(com, t) {
                            return Err(OdooError::missing(&rel, &[t], self.uid));
                        }
                    }
                    if let Some(inv) = inverse {
                        for c in current.clone() {
                            if !ids.contains(&c) {
                                let mut v = Map::new();
                                v.insert(reg.m(com).fname(inv).to_owned(), Value::Bool(false));
                                self.write(com, &[c], v)?;
                            }
                        }
                        for &t in &ids {
                            let mut v = Map::new();
                            v.insert(reg.m(com).fname(inv).to_owned(), json!(id));
                            self.write(com, &[t], v)?;
                        }
                    }
                    current = ids;
                }
                _ => {
                    return Err(OdooError::value(format!(
                        "Wrong value for {}.{}: {}",
                        m.name,
                        def.name,
                        py_repr(cmd)
                    )));
                }
            }
        }
        if inverse.is_none() {
            let mut seen = HashSet::new();
            current.retain(|c| seen.insert(*c));
            self.set_raw(model, id, f, Some(Val::Ids(current.into())));
        }
        Ok(())
    }

    // ------------------------------------------------------------------- write

    /// `write(vals)` on existing records.
    pub fn write(&mut self, model: u16, ids: &[i64], mut vals: Map<String, Value>) -> OResult<()> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&i| !self.exists(model, i))
            .collect();
        if !missing.is_empty() {
            return Err(OdooError::missing(&m.name, &missing, self.uid));
        }
        for k in vals.keys() {
            if !m.has(k) {
                return Err(OdooError::value(format!(
                    "Invalid field '{k}' in '{}'",
                    m.name
                )));
            }
        }
        business::before_write(self, &m.name, ids, &mut vals)?;
        let mut parent_vals = Map::new();
        let mut stored: Vec<(u16, Option<Val>)> = Vec::new();
        let mut commands: Vec<(u16, Value)> = Vec::new();
        for (k, v) in &vals {
            let f = m.fid(k).expect("checked");
            let def = &m.schema.fields[f as usize];
            match m.kinds[f as usize] {
                Kind::Stored if def.ftype.is_x2many() => commands.push((f, v.clone())),
                Kind::Stored => {
                    let sv = self.convert_value(m, f, v)?;
                    stored.push((f, self.normalize(m, f, sv)));
                }
                Kind::Inverse { .. } => commands.push((f, v.clone())),
                Kind::Delegated { .. } => {
                    parent_vals.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        for &id in ids {
            let Some(mut rec) = self.db.table(model).get(id).cloned() else {
                continue;
            };
            for (f, v) in &stored {
                rec.set(*f, v.clone());
            }
            rec.write_date = self.now;
            rec.write_uid = self.uid;
            self.db.put(model, id, rec);
        }
        if !stored.is_empty() {
            for &(f, _) in &stored {
                if m.schema.fields[f as usize].required
                    && let Some(rec) = self.db.table(model).get(ids[0])
                    && matches!(rec.get(f), Some(Val::False))
                {
                    self.check_required(m, rec)?;
                }
            }
            self.check_unique(m, ids)?;
        }
        if !parent_vals.is_empty()
            && let Some((pm, link)) = m.parent
        {
            let mut pids: Vec<i64> = self
                .vals(model, ids, link)?
                .iter()
                .filter_map(Val::as_id)
                .collect();
            pids.dedup();
            self.write(pm, &pids, parent_vals)?;
        }
        for &id in ids {
            for (f, cmds) in &commands {
                self.apply_x2many(model, id, *f, cmds)?;
            }
        }
        business::after_write(self, &m.name, ids, &vals)?;
        Ok(())
    }

    /// Write by model name (business code).
    pub fn write_rec(&mut self, model: &str, ids: &[i64], vals: Value) -> OResult<()> {
        let mid = self.model_id(model)?;
        let map = match vals {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.write(mid, ids, map)
    }

    /// Set a stored value without hooks or `write_date` (computed-stored fields, internals).
    pub fn set_raw(&mut self, model: u16, id: i64, f: u16, v: Option<Val>) {
        if let Some(mut rec) = self.db.table(model).get(id).cloned() {
            let m = self.db.reg.m(model);
            let v = self.normalize(m, f, v);
            if rec.get(f) != v.as_ref() {
                rec.set(f, v);
                self.db.put(model, id, rec);
            }
        }
    }

    /// Set stored values by name and bump `write_date` (what a stored compute does in Odoo).
    pub fn set_fields(&mut self, model: &str, id: i64, vals: &[(&str, Value)]) -> OResult<()> {
        let mid = self.model_id(model)?;
        let reg = self.db.reg.clone();
        let m = reg.m(mid);
        let Some(mut rec) = self.db.table(mid).get(id).cloned() else {
            return Err(OdooError::missing(model, &[id], self.uid));
        };
        let mut changed = false;
        for (name, v) in vals {
            let Some(f) = m.fid(name) else { continue };
            let sv = if m.ftype(f).is_x2many() {
                Some(Val::Ids(convert::ids_of(v).unwrap_or_default().into()))
            } else {
                convert::to_val(&m.name, &m.schema.fields[f as usize], v, None)?
            };
            let sv = self.normalize(m, f, sv);
            if rec.get(f) != sv.as_ref() {
                rec.set(f, sv);
                changed = true;
            }
        }
        if changed {
            rec.write_date = self.now;
            rec.write_uid = self.uid;
            self.db.put(mid, id, rec);
        }
        Ok(())
    }

    /// Bump `write_date` (a stored compute that changed).
    pub fn touch(&mut self, model: &str, id: i64) {
        let mid = self.m(model);
        if let Some(mut rec) = self.db.table(mid).get(id).cloned() {
            rec.write_date = self.now;
            rec.write_uid = self.uid;
            self.db.put(mid, id, rec);
        }
    }

    // ------------------------------------------------------------------ unlink

    pub fn unlink(&mut self, model: u16, ids: &[i64]) -> OResult<()> {
        let reg = self.db.reg.clone();
        let m = reg.m(model);
        let live: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&i| self.exists(model, i))
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        business::before_unlink(self, &m.name, &live)?;
        for cascade in m.meta.cascade {
            let Some(f) = m.fid(cascade) else { continue };
            if let Kind::Inverse { comodel, .. } = m.kinds[f as usize] {
                let children: Vec<i64> = self
                    .with_ctx(&[("active_test", json!(false))], |env| {
                        env.vals(model, &live, f)
                    })?
                    .iter()
                    .flat_map(|v| v.ids().to_vec())
                    .collect();
                self.unlink(comodel, &children)?;
            }
        }
        for id in live {
            self.db.delete(model, id);
        }
        Ok(())
    }
}

fn empty_json(t: FieldType) -> Value {
    match t {
        FieldType::Integer => json!(0),
        FieldType::Float | FieldType::Monetary => json!(0.0),
        FieldType::One2many | FieldType::Many2many => json!([]),
        _ => Value::Bool(false),
    }
}
