//! One model call, whatever the transport: `execute_kw` positional arguments or JSON-2 named
//! arguments are bound to the method's signature (Python's rules and messages), access is
//! checked, the version personality translates names, and the ORM or business code runs.

use crate::business;
use crate::convert::{ids_of, truthy};
use crate::env::Env;
use crate::error::{ErrKind, OResult, OdooError};
use crate::group;
use serde_json::{Map, Value, json};

/// How arguments arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// XML-RPC / JSON-RPC `execute_kw(model, method, args, kwargs)`: for record methods the
    /// first positional argument is the ids.
    ExecuteKw,
    /// JSON-2: `ids` and named arguments only.
    Json2,
}

/// A method signature: `@api.model`, parameters `(name, required)`, `**kwargs` accepted.
#[derive(Debug, Clone, Copy)]
pub struct Sig {
    pub api_model: bool,
    pub params: &'static [(&'static str, bool)],
    pub var_kw: bool,
}

pub fn generic_sig(method: &str) -> Option<Sig> {
    let s = |api_model, params, var_kw| Sig {
        api_model,
        params,
        var_kw,
    };
    Some(match method {
        "create" => s(true, &[("vals_list", true)], false),
        "read" => s(false, &[("fields", false), ("load", false)], false),
        "write" => s(false, &[("vals", true)], false),
        "unlink" => s(false, &[], false),
        "search" => s(
            true,
            &[
                ("domain", true),
                ("offset", false),
                ("limit", false),
                ("order", false),
            ],
            false,
        ),
        "search_read" => s(
            true,
            &[
                ("domain", false),
                ("fields", false),
                ("offset", false),
                ("limit", false),
                ("order", false),
            ],
            true,
        ),
        "search_count" => s(true, &[("domain", true), ("limit", false)], false),
        "fields_get" => s(true, &[("allfields", false), ("attributes", false)], false),
        "name_search" => s(
            true,
            &[
                ("name", false),
                ("domain", false),
                ("operator", false),
                ("limit", false),
            ],
            false,
        ),
        "read_group" => s(
            true,
            &[
                ("domain", true),
                ("fields", true),
                ("groupby", true),
                ("offset", false),
                ("limit", false),
                ("orderby", false),
                ("lazy", false),
            ],
            false,
        ),
        "formatted_read_group" => s(
            true,
            &[
                ("domain", true),
                ("groupby", false),
                ("aggregates", false),
                ("having", false),
                ("offset", false),
                ("limit", false),
                ("order", false),
            ],
            false,
        ),
        "exists" => s(false, &[], false),
        "name_create" => s(true, &[("name", true)], false),
        "default_get" => s(true, &[("fields", true)], false),
        "copy" => s(false, &[("default", false)], false),
        "has_access" => s(false, &[("operation", true)], false),
        "check_access_rights" => s(
            true,
            &[("operation", true), ("raise_exception", false)],
            false,
        ),
        "action_archive" | "action_unarchive" => s(false, &[], false),
        _ => return None,
    })
}

fn signature(env: &Env, model: &str, method: &str) -> Option<Sig> {
    if method == "formatted_read_group" && !env.pers().has_formatted_read_group() {
        return None;
    }
    generic_sig(method).or_else(|| {
        business::signature(model, method).map(|(api_model, params, var_kw)| Sig {
            api_model,
            params,
            var_kw,
        })
    })
}

/// Bind `execute_kw` positional args + kwargs to named parameters.
fn bind_positional(
    model: &str,
    method: &str,
    sig: Sig,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> OResult<(Vec<i64>, Map<String, Value>)> {
    let mut args = args.to_vec();
    let mut ids = Vec::new();
    if !sig.api_model {
        if args.is_empty() {
            return Err(OdooError::new(
                ErrKind::IndexError,
                "list index out of range".to_owned(),
            ));
        }
        let first = args.remove(0);
        ids = ids_of(&first).ok_or_else(|| {
            OdooError::type_error(format!(
                "unhashable type: '{}'",
                match first {
                    Value::Object(_) => "dict",
                    _ => "list",
                }
            ))
        })?;
    }
    if args.len() > sig.params.len() && !sig.var_kw {
        return Err(OdooError::type_error(format!(
            "{}.{method}() takes from 1 to {} positional arguments but {} were given",
            class_name(model),
            sig.params.len() + 1,
            args.len() + 1
        )));
    }
    let mut named = Map::new();
    for (i, a) in args.into_iter().enumerate() {
        if let Some((p, _)) = sig.params.get(i) {
            named.insert((*p).to_owned(), a);
        }
    }
    for (k, v) in kwargs {
        if named.contains_key(k) {
            return Err(OdooError::type_error(format!(
                "{}.{method}() got multiple values for argument '{k}'",
                class_name(model)
            )));
        }
        if !sig.var_kw && !sig.params.iter().any(|(p, _)| p == k) {
            return Err(OdooError::type_error(format!(
                "{}.{method}() got an unexpected keyword argument '{k}'",
                class_name(model)
            )));
        }
        named.insert(k.clone(), v.clone());
    }
    for (p, required) in sig.params {
        if *required && !named.contains_key(*p) {
            return Err(OdooError::type_error(format!(
                "{}.{method}() missing 1 required positional argument: '{p}'",
                class_name(model)
            )));
        }
    }
    Ok((ids, named))
}

/// Bind JSON-2 named arguments (Python's `inspect.Signature.bind` messages).
fn bind_named(
    model: &str,
    method: &str,
    sig: Sig,
    ids: &[i64],
    kwargs: &Map<String, Value>,
) -> OResult<Map<String, Value>> {
    if sig.api_model && !ids.is_empty() {
        return Err(OdooError::new(
            ErrKind::Unprocessable,
            format!("cannot call {model}.{method} with ids"),
        ));
    }
    for (p, required) in sig.params {
        if *required && !kwargs.contains_key(*p) {
            return Err(OdooError::new(
                ErrKind::Unprocessable,
                format!("missing a required argument: '{p}'"),
            ));
        }
    }
    if !sig.var_kw {
        for k in kwargs.keys() {
            if !sig.params.iter().any(|(p, _)| p == k) {
                return Err(OdooError::new(
                    ErrKind::Unprocessable,
                    format!("got an unexpected keyword argument '{k}'"),
                ));
            }
        }
    }
    Ok(kwargs.clone())
}

/// `sale.order` → `SaleOrder` (how Python names the class in TypeErrors).
fn class_name(model: &str) -> String {
    model
        .split(['.', '_'])
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Models and operations that need a group, with the group's xml id and label.
fn required_group(model: &str, op: &str) -> Option<(&'static str, &'static str)> {
    match (model, op) {
        ("ir.config_parameter", _) => Some(("base.group_system", "Role / Administrator")),
        ("account.bank.statement.line", "create" | "write" | "unlink") => {
            Some(("account.group_account_basic", "Basic"))
        }
        (
            "res.users" | "res.groups" | "ir.model.fields" | "ir.module.module",
            "create" | "write" | "unlink",
        ) => Some(("base.group_erp_manager", "Role / Administrator")),
        _ => None,
    }
}

pub fn check_access(env: &Env, model: &str, op: &str) -> OResult<()> {
    if let Some(r) = crate::business::channel_sync::check_access(env, model, op) {
        return r;
    }
    let Some((group, label)) = required_group(model, op) else {
        return Ok(());
    };
    if env.su || crate::access::user_in_group(env, env.uid, group) {
        return Ok(());
    }
    let desc = env
        .reg()
        .get(model)
        .map(|m| m.schema.description.clone())
        .unwrap_or_else(|| model.to_owned());
    let verb = match op {
        "read" => "access",
        "write" => "modify",
        "unlink" => "delete",
        other => other,
    };
    Err(OdooError::access(format!(
        "You are not allowed to {verb} '{desc}' ({model}) records.\n\nThis operation is allowed for the following groups:\n\t- {label}\n\nContact your administrator to request access if necessary."
    )))
}

fn op_of(method: &str) -> &'static str {
    match method {
        "create" | "name_create" | "copy" => "create",
        "write" | "action_archive" | "action_unarchive" => "write",
        "unlink" => "unlink",
        _ => "read",
    }
}

fn usize_arg(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).map(|x| x as usize)
}

fn str_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// Run `model.method` for the user of `env`. `Value::Null` = the method returned None.
pub fn call(
    env: &mut Env,
    style: Style,
    model: &str,
    method: &str,
    ids_in: Option<Vec<i64>>,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> OResult<Value> {
    let Some(mid) = env.reg().id(model) else {
        return Err(match style {
            Style::ExecuteKw => OdooError::user(format!("Object {model} doesn't exist")),
            Style::Json2 => OdooError::new(
                ErrKind::NotFound,
                format!("the model '{model}' does not exist"),
            ),
        });
    };
    if method.starts_with('_') {
        return Err(OdooError::access(format!(
            "Private methods (such as '{model}.{method}') cannot be called remotely."
        )));
    }
    let missing_method = || {
        let msg = format!("The method '{model}.{method}' does not exist");
        match style {
            Style::ExecuteKw => OdooError::new(ErrKind::AttributeError, msg),
            Style::Json2 => OdooError::new(ErrKind::NotFound, msg),
        }
    };
    let sig = signature(env, model, method).ok_or_else(missing_method)?;
    if method == "message_post" && !business::mail::is_thread(model) {
        return Err(missing_method());
    }
    let (ids, mut kw) = match style {
        Style::ExecuteKw => bind_positional(model, method, sig, args, kwargs)?,
        Style::Json2 => {
            let ids = ids_in.unwrap_or_default();
            let kw = bind_named(model, method, sig, &ids, kwargs)?;
            (ids, kw)
        }
    };
    check_access(env, model, op_of(method))?;
    let pers = env.pers();
    let reg = env.reg();
    let m = reg.m(mid);
    // ---- generic ORM
    let result = match method {
        "create" => {
            let raw = kw.remove("vals_list").unwrap_or(Value::Null);
            let (list, single) = match raw {
                Value::Object(o) => (vec![o], style == Style::ExecuteKw),
                Value::Array(a) => (
                    a.into_iter()
                        .map(|v| match v {
                            Value::Object(o) => Ok(o),
                            other => Err(OdooError::value(format!(
                                "dictionary update sequence element #0 has length {}; 2 is required",
                                other.as_array().map_or(1, Vec::len)
                            ))),
                        })
                        .collect::<OResult<Vec<_>>>()?,
                    false,
                ),
                _ => return Err(OdooError::type_error("create() argument must be a dict or a list of dicts")),
            };
            let list = list
                .into_iter()
                .map(|v| translate_vals(env, model, v))
                .collect::<OResult<Vec<_>>>()?;
            let new_ids = env.create(mid, list)?;
            if single {
                json!(new_ids[0])
            } else {
                json!(new_ids)
            }
        }
        "read" => {
            let fields = read_fields(env, model, str_list(kw.get("fields")))?;
            let classic = kw
                .get("load")
                .is_none_or(|l| l.as_str() == Some("_classic_read"));
            let rows = env.read(mid, &ids, fields.as_deref(), classic)?;
            rows_out(env, model, rows)
        }
        "write" => {
            let vals = match kw.remove("vals") {
                Some(Value::Object(o)) => o,
                _ => return Err(OdooError::value("write() expects a dictionary of values")),
            };
            let vals = translate_vals(env, model, vals)?;
            env.write(mid, &ids, vals)?;
            json!(true)
        }
        "unlink" => {
            env.unlink(mid, &ids)?;
            json!(true)
        }
        "search" | "search_read" | "search_count" => {
            let dom = pers.domain_in(model, kw.get("domain").unwrap_or(&json!([])));
            let order = kw
                .get("order")
                .and_then(Value::as_str)
                .map(|o| translate_order(env, model, o));
            let offset = usize_arg(kw.get("offset")).unwrap_or(0);
            let limit = usize_arg(kw.get("limit"));
            match method {
                "search_count" => {
                    let n = env.search_count(mid, &dom)?;
                    json!(limit.map_or(n, |l| n.min(l)))
                }
                "search" => json!(env.search(mid, &dom, offset, limit, order.as_deref())?),
                _ => {
                    let found = env.search(mid, &dom, offset, limit, order.as_deref())?;
                    let fields = read_fields(env, model, str_list(kw.get("fields")))?;
                    let classic = kw
                        .get("load")
                        .is_none_or(|l| l.as_str() == Some("_classic_read"));
                    let rows = env.read(mid, &found, fields.as_deref(), classic)?;
                    rows_out(env, model, rows)
                }
            }
        }
        "fields_get" => fields_get(env, model, kw.get("allfields"), kw.get("attributes")),
        "name_search" => {
            let name = kw
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let op = kw
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or("ilike")
                .to_owned();
            let limit = usize_arg(kw.get("limit")).unwrap_or(100);
            let extra = kw.get("domain").cloned().unwrap_or(json!([]));
            let rec = if m.has(m.meta.rec_name) {
                m.meta.rec_name
            } else {
                "display_name"
            };
            let mut dom = extra.as_array().cloned().unwrap_or_default();
            if !name.is_empty() {
                if model == "product.product" {
                    dom.insert(0, json!("|"));
                    dom.push(json!(["default_code", op, name]));
                    dom.push(json!(["name", op, name]));
                } else if rec != "display_name" {
                    dom.push(json!([rec, op, name]));
                }
            }
            let found = env.search(mid, &Value::Array(dom), 0, Some(limit), None)?;
            let names = env.display_names(mid, &found);
            Value::Array(
                found
                    .into_iter()
                    .zip(names)
                    .map(|(i, n)| json!([i, n]))
                    .collect(),
            )
        }
        "read_group" => {
            let dom = pers.domain_in(model, kw.get("domain").unwrap_or(&json!([])));
            let fields =
                translate_fields(env, model, str_list(kw.get("fields")))?.unwrap_or_default();
            let groupby =
                translate_fields_spec(env, model, str_list(kw.get("groupby")).unwrap_or_default());
            let rows = group::read_group(
                env,
                mid,
                &dom,
                &fields,
                &groupby,
                usize_arg(kw.get("offset")).unwrap_or(0),
                usize_arg(kw.get("limit")),
                kw.get("orderby").and_then(Value::as_str),
                kw.get("lazy").is_none_or(truthy),
            )?;
            json!(rows)
        }
        "formatted_read_group" => {
            let dom = pers.domain_in(model, kw.get("domain").unwrap_or(&json!([])));
            let groupby =
                translate_fields_spec(env, model, str_list(kw.get("groupby")).unwrap_or_default());
            let aggs = str_list(kw.get("aggregates")).unwrap_or_default();
            let rows = group::formatted_read_group(
                env,
                mid,
                &dom,
                &groupby,
                &aggs,
                usize_arg(kw.get("offset")).unwrap_or(0),
                usize_arg(kw.get("limit")),
                kw.get("order").and_then(Value::as_str),
            )?;
            json!(rows)
        }
        "exists" => {
            let live: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|&i| env.exists(mid, i))
                .collect();
            json!(live)
        }
        "name_create" => {
            let name = kw.get("name").cloned().unwrap_or(json!(""));
            let mut v = Map::new();
            v.insert(m.meta.rec_name.to_owned(), name);
            let id = env.create_one(mid, v)?;
            json!([
                id,
                env.display_names(mid, &[id])
                    .pop()
                    .unwrap_or(Value::Bool(false))
            ])
        }
        "default_get" => {
            let mut out = Map::new();
            for f in str_list(kw.get("fields")).unwrap_or_default() {
                if let Some(v) = env.ctx.get(&format!("default_{f}")) {
                    out.insert(f, v.clone());
                } else if let Some(fid) = m.fid(&f)
                    && let Some(d) = &m.defaults[fid as usize]
                {
                    out.insert(f.clone(), env.to_json(m, fid, d));
                }
            }
            Value::Object(out)
        }
        "copy" => {
            let mut new_ids = Vec::new();
            for &id in &ids {
                let row = env
                    .read(mid, &[id], None, false)?
                    .pop()
                    .ok_or_else(|| OdooError::missing(model, &[id], env.uid))?;
                let mut vals = Map::new();
                for (k, v) in row {
                    let Some(f) = m.fid(&k) else { continue };
                    if matches!(m.kinds[f as usize], crate::registry::Kind::Stored)
                        && !m.ftype(f).is_x2many()
                        && !matches!(k.as_str(), "name" | "state")
                    {
                        vals.insert(k, v);
                    }
                }
                if let Some(Value::Object(d)) = kw.get("default") {
                    for (k, v) in d {
                        vals.insert(k.clone(), v.clone());
                    }
                }
                new_ids.push(env.create_one(mid, vals)?);
            }
            json!(new_ids)
        }
        "has_access" | "check_access_rights" => {
            let op = kw
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("read");
            json!(check_access(env, model, op).is_ok())
        }
        "action_archive" | "action_unarchive" => {
            let mut v = Map::new();
            v.insert("active".into(), json!(method == "action_unarchive"));
            env.write(mid, &ids, v)?;
            json!(true)
        }
        _ => match business::call(env, model, method, &ids, &kw) {
            Some(r) => r?,
            None => return Err(missing_method()),
        },
    };
    Ok(result)
}

fn translate_vals(env: &Env, model: &str, vals: Map<String, Value>) -> OResult<Map<String, Value>> {
    let pers = env.pers();
    if pers.is19() {
        return Ok(vals);
    }
    for k in vals.keys() {
        if pers.translate_field(model, k).is_none() && k != "detailed_type" {
            return Err(OdooError::value(format!(
                "Invalid field '{k}' in '{model}'"
            )));
        }
    }
    let mut out = pers.vals_in(model, &vals);
    // x2many commands carry the comodel's values: translate those too.
    let reg = env.reg();
    if let Some(m) = reg.get(model) {
        for (k, v) in out.iter_mut() {
            let Some(def) = m.schema.field(k) else {
                continue;
            };
            if !def.ftype.is_x2many() {
                continue;
            }
            let Some(rel) = def.relation.clone() else {
                continue;
            };
            if let Value::Array(cmds) = v {
                for cmd in cmds.iter_mut() {
                    if let Value::Array(c) = cmd
                        && c.len() == 3
                        && matches!(c[0].as_i64(), Some(0 | 1))
                        && let Value::Object(inner) = &c[2]
                    {
                        c[2] = Value::Object(translate_vals(env, &rel, inner.clone())?);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn translate_fields(
    env: &Env,
    model: &str,
    fields: Option<Vec<String>>,
) -> OResult<Option<Vec<String>>> {
    let pers = env.pers();
    let Some(fields) = fields else {
        return Ok(None);
    };
    if pers.is19() {
        return Ok(Some(fields));
    }
    let mut out = Vec::new();
    for f in fields {
        let base = f.split(':').next().unwrap_or(&f).to_owned();
        let suffix = &f[base.len()..];
        match pers.translate_field(model, &base) {
            Some(n) => out.push(format!("{n}{suffix}")),
            None if base == "detailed_type" => out.push("type".into()),
            None => {
                return Err(OdooError::value(format!(
                    "Invalid field '{base}' on '{model}'"
                )));
            }
        }
    }
    Ok(Some(out))
}

/// Field list of a read: translated, plus what an older personality needs to answer it
/// (≤17 shows storable products as `type='product'`, which needs the storable flag).
fn read_fields(
    env: &Env,
    model: &str,
    fields: Option<Vec<String>>,
) -> OResult<Option<Vec<String>>> {
    let pers = env.pers();
    let mut out = translate_fields(env, model, fields)?;
    if let Some(list) = out.as_mut()
        && matches!(model, "product.template" | "product.product")
        && pers.map.storable == odoo_wire::versions::StorableMarker::TypeProduct
        && list.iter().any(|f| f == "type")
        && !list.iter().any(|f| f == "is_storable")
    {
        list.push("is_storable".into());
    }
    Ok(out)
}

fn translate_fields_spec(env: &Env, model: &str, fields: Vec<String>) -> Vec<String> {
    translate_fields(env, model, Some(fields.clone()))
        .ok()
        .flatten()
        .unwrap_or(fields)
}

fn translate_order(env: &Env, model: &str, order: &str) -> String {
    let pers = env.pers();
    if pers.is19() {
        return order.to_owned();
    }
    order
        .split(',')
        .map(|part| {
            let t = part.trim();
            let (f, rest) = t.split_once(' ').unwrap_or((t, ""));
            let n = pers.field_in(model, f);
            if rest.is_empty() {
                n
            } else {
                format!("{n} {rest}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn rows_out(env: &Env, model: &str, rows: Vec<Map<String, Value>>) -> Value {
    let pers = env.pers();
    Value::Array(
        rows.into_iter()
            .map(|mut r| {
                pers.row_out(model, &mut r);
                Value::Object(r)
            })
            .collect(),
    )
}

/// `fields_get(allfields, attributes)` as the personality shows it.
pub fn fields_get(
    env: &Env,
    model: &str,
    allfields: Option<&Value>,
    attributes: Option<&Value>,
) -> Value {
    let pers = env.pers();
    let reg = env.reg();
    let Some(m) = reg.get(model) else {
        return json!({});
    };
    let wanted: Option<Vec<String>> = allfields
        .and_then(|v| str_list(Some(v)))
        .filter(|v| !v.is_empty());
    let attrs: Option<Vec<String>> = attributes
        .and_then(|v| str_list(Some(v)))
        .filter(|v| !v.is_empty());
    let mut out = Map::new();
    for f in &m.schema.fields {
        if f.name.starts_with("__") || !pers.field_exists(model, &f.name) {
            continue;
        }
        let name = pers.field_out(model, &f.name).to_owned();
        if let Some(w) = &wanted
            && !w.contains(&name)
        {
            continue;
        }
        let mut a = Map::new();
        for (k, v) in &f.attrs {
            if attrs
                .as_ref()
                .is_none_or(|list| list.iter().any(|x| x == k))
            {
                a.insert(k.clone(), v.clone());
            }
        }
        if !pers.is19()
            && matches!(model, "product.template" | "product.product")
            && f.name == "type"
            && pers.map.storable == odoo_wire::versions::StorableMarker::TypeProduct
            && a.contains_key("selection")
        {
            a.insert(
                "selection".into(),
                json!([
                    ["consu", "Consumable"],
                    ["service", "Service"],
                    ["product", "Storable Product"]
                ]),
            );
        }
        out.insert(name, Value::Object(a));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_like_python() {
        assert_eq!(class_name("sale.order"), "SaleOrder");
        assert_eq!(
            class_name("stock.warehouse.orderpoint"),
            "StockWarehouseOrderpoint"
        );
    }

    #[test]
    fn positional_binding_follows_the_signature() {
        let sig = generic_sig("search_read").unwrap();
        let (ids, kw) = bind_positional(
            "product.product",
            "search_read",
            sig,
            &[json!([["a", "=", 1]]), json!(["name"]), json!(0), json!(5)],
            &Map::new(),
        )
        .unwrap();
        assert!(ids.is_empty());
        assert_eq!(kw["fields"], json!(["name"]));
        assert_eq!(kw["limit"], json!(5));
        let sig = generic_sig("read").unwrap();
        let (ids, kw) = bind_positional(
            "sale.order",
            "read",
            sig,
            &[json!([34]), json!(["name"])],
            &Map::new(),
        )
        .unwrap();
        assert_eq!(ids, vec![34]);
        assert_eq!(kw["fields"], json!(["name"]));
    }

    #[test]
    fn json2_binding_errors_match_odoo() {
        let sig = generic_sig("search").unwrap();
        let mut kw = Map::new();
        kw.insert("domian".into(), json!([]));
        let e = bind_named("product.product", "search", sig, &[], &kw).unwrap_err();
        assert_eq!(e.message, "missing a required argument: 'domain'");
        let e = bind_named("product.product", "search", sig, &[1], &Map::new()).unwrap_err();
        assert_eq!(e.message, "cannot call product.product.search with ids");
    }
}
