//! Grouped reads: `read_group` (16–19, deprecated in 19) and `formatted_read_group` (19),
//! with Odoo's exact row shapes (captures 06/07 and scenario 01).

use crate::convert::float;
use crate::domain;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::order;
use crate::schema::FieldType;
use crate::store::Val;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A group key value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum GKey {
    False,
    Id(i64),
    Text(String),
    Bool(bool),
    Int(i64),
}

struct GroupBy {
    spec: String,
    field: String,
    f: u16,
    ftype: FieldType,
    granularity: Option<String>,
}

struct Agg {
    /// Output key (`quantity:sum` or `quantity`).
    key: String,
    field: Option<u16>,
    func: String,
}

fn parse_groupby(env: &Env, model: u16, specs: &[String]) -> OResult<Vec<GroupBy>> {
    let reg = env.reg();
    let m = reg.m(model);
    specs
        .iter()
        .map(|s| {
            let (field, gran) = match s.split_once(':') {
                Some((f, g)) => (f.to_owned(), Some(g.to_owned())),
                None => (s.clone(), None),
            };
            let f = m.fid(&field).ok_or_else(|| {
                OdooError::value(format!("Invalid field '{field}' on model '{}'", m.name))
            })?;
            Ok(GroupBy {
                spec: s.clone(),
                ftype: m.ftype(f),
                field,
                f,
                granularity: gran,
            })
        })
        .collect()
}

fn parse_agg(env: &Env, model: u16, spec: &str, formatted: bool) -> OResult<Agg> {
    let reg = env.reg();
    let m = reg.m(model);
    if spec == "__count" {
        return Ok(Agg {
            key: "__count".into(),
            field: None,
            func: "count".into(),
        });
    }
    // `alias:agg(field)` / `field:agg` / `field`
    let (name, func) = match spec.split_once(':') {
        Some((n, f)) => (n.to_owned(), f.to_owned()),
        None => (spec.to_owned(), String::new()),
    };
    let (field, func) = match func.split_once('(') {
        Some((fun, rest)) => (rest.trim_end_matches(')').to_owned(), fun.to_owned()),
        None => (name.clone(), func),
    };
    let f = m.fid(&field).ok_or_else(|| {
        OdooError::value(format!("Invalid field '{field}' on model '{}'", m.name))
    })?;
    let func = if func.is_empty() {
        match m.ftype(f) {
            FieldType::Integer | FieldType::Float | FieldType::Monetary
                if field != "id" && field != "sequence" =>
            {
                "sum".to_owned()
            }
            _ => String::new(),
        }
    } else {
        func
    };
    Ok(Agg {
        key: if formatted { spec.to_owned() } else { name },
        field: Some(f),
        func,
    })
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(m.clamp(1, 12) - 1) as usize]
}

fn key_of(g: &GroupBy, v: &Val) -> GKey {
    match (g.ftype, v) {
        (_, Val::False) => GKey::False,
        (FieldType::Many2one, Val::Int(i)) => GKey::Id(*i),
        (FieldType::Boolean, v) => GKey::Bool(v.truthy()),
        (FieldType::Integer, Val::Int(i)) => GKey::Int(*i),
        (FieldType::Date | FieldType::Datetime, v) => {
            let s = match v {
                Val::Dt(us) => crate::convert::fmt_dt(*us),
                Val::Str(s) => s.to_string(),
                _ => return GKey::False,
            };
            let date = &s[..10.min(s.len())];
            let (y, mo, d) = (&date[..4], &date[5..7], &date[8..10]);
            GKey::Text(match g.granularity.as_deref().unwrap_or("month") {
                "day" => date.to_owned(),
                "year" => format!("{y}-01-01"),
                "quarter" => {
                    let q = (mo.parse::<u32>().unwrap_or(1) - 1) / 3;
                    format!("{y}-{:02}-01", q * 3 + 1)
                }
                "week" => date.to_owned(),
                _ => {
                    let _ = d;
                    format!("{y}-{mo}-01")
                }
            })
        }
        (_, Val::Str(s)) => GKey::Text(s.to_string()),
        (_, Val::Int(i)) => GKey::Int(*i),
        (_, other) => GKey::Text(format!("{other:?}")),
    }
}

fn label_of(g: &GroupBy, k: &GKey) -> String {
    match (g.ftype, k) {
        (FieldType::Date | FieldType::Datetime, GKey::Text(s)) => {
            let y = &s[..4];
            let mo: u32 = s[5..7].parse().unwrap_or(1);
            match g.granularity.as_deref().unwrap_or("month") {
                "year" => y.to_owned(),
                "quarter" => format!("Q{} {y}", (mo - 1) / 3 + 1),
                "day" | "week" => s.clone(),
                _ => format!("{} {y}", month_name(mo)),
            }
        }
        (_, GKey::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

fn value_json(env: &Env, model: u16, g: &GroupBy, k: &GKey, names: &HashMap<i64, Value>) -> Value {
    let _ = model;
    match k {
        GKey::False => Value::Bool(false),
        GKey::Id(i) => json!([i, names.get(i).cloned().unwrap_or(Value::Bool(false))]),
        GKey::Bool(b) => json!(b),
        GKey::Int(i) => json!(i),
        GKey::Text(s) => match g.ftype {
            FieldType::Date | FieldType::Datetime => {
                if env.pers().is19() {
                    json!([s, label_of(g, k)])
                } else {
                    json!(label_of(g, k))
                }
            }
            _ => json!(s),
        },
    }
}

fn leaf_value(k: &GKey) -> Value {
    match k {
        GKey::False => Value::Bool(false),
        GKey::Id(i) | GKey::Int(i) => json!(i),
        GKey::Bool(b) => json!(b),
        GKey::Text(s) => json!(s),
    }
}

/// `["&", a..., b...]` in prefix notation.
pub fn and_domains(a: &Value, b: &Value) -> Value {
    let norm = |d: &Value| -> Vec<Value> {
        let items = d.as_array().cloned().unwrap_or_default();
        // An implicit conjunction of n terms needs n-1 explicit '&'.
        let terms = count_terms(&items);
        let mut out: Vec<Value> =
            std::iter::repeat_n(json!("&"), terms.saturating_sub(1)).collect();
        out.extend(items);
        out
    };
    let (na, nb) = (norm(a), norm(b));
    match (na.is_empty(), nb.is_empty()) {
        (true, _) => Value::Array(nb),
        (_, true) => Value::Array(na),
        _ => {
            let mut out = vec![json!("&")];
            out.extend(na);
            out.extend(nb);
            Value::Array(out)
        }
    }
}

/// How many top-level terms an implicitly AND-ed prefix list holds.
fn count_terms(items: &[Value]) -> usize {
    let mut need = 0i64;
    let mut terms = 0usize;
    for it in items {
        if need == 0 {
            terms += 1;
            need = 1;
        }
        match it {
            Value::String(s) if s == "&" || s == "|" => need += 1,
            Value::String(s) if s == "!" => {}
            _ => need -= 1,
        }
    }
    terms
}

struct Groups {
    keys: Vec<Vec<GKey>>,
    /// Row positions (into the searched ids) of each group's members.
    members: Vec<Vec<usize>>,
}

fn group(env: &Env, model: u16, ids: &[i64], gbs: &[GroupBy]) -> OResult<Groups> {
    let mut cols = Vec::with_capacity(gbs.len());
    for g in gbs {
        let vals = env.vals(model, ids, g.f)?;
        cols.push(vals.iter().map(|v| key_of(g, v)).collect::<Vec<_>>());
    }
    let mut index: HashMap<Vec<GKey>, usize> = HashMap::new();
    let mut out = Groups {
        keys: vec![],
        members: vec![],
    };
    for row in 0..ids.len() {
        let key: Vec<GKey> = cols.iter().map(|c| c[row].clone()).collect();
        let n = out.keys.len();
        let slot = *index.entry(key.clone()).or_insert(n);
        if slot == n {
            out.keys.push(key);
            out.members.push(vec![]);
        }
        out.members[slot].push(row);
    }
    Ok(out)
}

/// The values an aggregate reads, fetched once for all rows.
fn agg_column(env: &Env, model: u16, a: &Agg, ids: &[i64]) -> OResult<Vec<Val>> {
    match a.field {
        Some(f) => env.vals(model, ids, f),
        None => Ok(Vec::new()),
    }
}

fn aggregate(env: &Env, model: u16, a: &Agg, col: &[Val], rows: &[usize]) -> Value {
    let Some(f) = a.field else {
        return json!(rows.len());
    };
    let reg = env.reg();
    let m = reg.m(model);
    let vals: Vec<&Val> = rows.iter().map(|&r| &col[r]).collect();
    let ftype = m.ftype(f);
    let nums = || vals.iter().map(|v| v.as_f64());
    let num = |x: f64| {
        if ftype == FieldType::Integer {
            json!(x as i64)
        } else {
            float(crate::convert::round_to(x, 10))
        }
    };
    match a.func.as_str() {
        "sum" => num(nums().sum()),
        "avg" => {
            if vals.is_empty() {
                Value::Bool(false)
            } else {
                float(nums().sum::<f64>() / vals.len() as f64)
            }
        }
        "min" => nums().reduce(f64::min).map_or(Value::Bool(false), num),
        "max" => nums().reduce(f64::max).map_or(Value::Bool(false), num),
        "count" => json!(
            vals.iter()
                .filter(|v| v.truthy() || ftype.is_numeric())
                .count()
        ),
        "count_distinct" => {
            let mut s: Vec<String> = vals.iter().map(|v| format!("{v:?}")).collect();
            s.sort();
            s.dedup();
            json!(s.len())
        }
        "bool_and" => json!(vals.iter().all(|v| v.truthy())),
        "bool_or" => json!(vals.iter().any(|v| v.truthy())),
        "array_agg" => Value::Array(vals.iter().map(|v| env.to_json(m, f, v)).collect()),
        _ => Value::Bool(false),
    }
}

/// Sort group indexes by the group-by values (many2one: the comodel's order).
fn sort_groups(
    env: &Env,
    gbs: &[GroupBy],
    g: &Groups,
    model: u16,
    order: Option<&str>,
    rows_aggs: &[Map<String, Value>],
) -> OResult<Vec<usize>> {
    let reg = env.reg();
    let m = reg.m(model);
    let mut idx: Vec<usize> = (0..g.keys.len()).collect();
    let specs = match order.filter(|o| !o.trim().is_empty()) {
        Some(o) => order::parse(o)?,
        None => gbs
            .iter()
            .map(|gb| order::Spec {
                field: gb.spec.clone(),
                desc: false,
                nulls_first: None,
            })
            .collect(),
    };
    // Rank of each key per group-by column.
    let mut ranks: Vec<HashMap<GKey, usize>> = Vec::new();
    for (col, gb) in gbs.iter().enumerate() {
        let mut distinct: Vec<GKey> = g.keys.iter().map(|k| k[col].clone()).collect();
        distinct.sort();
        distinct.dedup();
        if gb.ftype == FieldType::Many2one {
            let rel = m.schema.fields[gb.f as usize]
                .relation
                .clone()
                .unwrap_or_default();
            let mut ids: Vec<i64> = distinct
                .iter()
                .filter_map(|k| if let GKey::Id(i) = k { Some(*i) } else { None })
                .collect();
            if let Some(c) = reg.id(&rel) {
                order::sort(env, c, &mut ids, reg.m(c).meta.order)?;
            }
            let mut r: HashMap<GKey, usize> = ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (GKey::Id(id), i))
                .collect();
            r.insert(GKey::False, usize::MAX);
            ranks.push(r);
        } else {
            distinct.sort_by(|a, b| match (a, b) {
                (GKey::False, GKey::False) => std::cmp::Ordering::Equal,
                (GKey::False, _) => std::cmp::Ordering::Greater,
                (_, GKey::False) => std::cmp::Ordering::Less,
                (GKey::Int(x), GKey::Int(y)) => x.cmp(y),
                (GKey::Text(x), GKey::Text(y)) => x.cmp(y),
                (GKey::Bool(x), GKey::Bool(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            });
            ranks.push(
                distinct
                    .into_iter()
                    .enumerate()
                    .map(|(i, k)| (k, i))
                    .collect(),
            );
        }
    }
    // Rank of every group in every column, computed once.
    let grank: Vec<Vec<usize>> = g
        .keys
        .iter()
        .map(|k| {
            (0..gbs.len())
                .map(|col| ranks[col].get(&k[col]).copied().unwrap_or(usize::MAX))
                .collect()
        })
        .collect();
    idx.sort_by(|&a, &b| {
        for s in &specs {
            let field = s.field.split(':').next().unwrap_or(&s.field);
            let o = if let Some(col) = gbs
                .iter()
                .position(|gb| gb.spec == s.field || gb.field == field)
            {
                grank[a][col].cmp(&grank[b][col])
            } else {
                // Ordering by an aggregate (`quantity:sum desc`, `__count`).
                let va = rows_aggs[a]
                    .get(&s.field)
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                let vb = rows_aggs[b]
                    .get(&s.field)
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                va.partial_cmp(&vb).unwrap_or(std::cmp::Ordering::Equal)
            };
            let o = if s.desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.cmp(&b)
    });
    Ok(idx)
}

fn display_map(env: &Env, model: u16, gbs: &[GroupBy], g: &Groups) -> Vec<HashMap<i64, Value>> {
    let reg = env.reg();
    let m = reg.m(model);
    gbs.iter()
        .enumerate()
        .map(|(col, gb)| {
            if gb.ftype != FieldType::Many2one {
                return HashMap::new();
            }
            let rel = m.schema.fields[gb.f as usize]
                .relation
                .clone()
                .unwrap_or_default();
            let Some(c) = reg.id(&rel) else {
                return HashMap::new();
            };
            let mut ids: Vec<i64> = g
                .keys
                .iter()
                .filter_map(|k| {
                    if let GKey::Id(i) = k[col] {
                        Some(i)
                    } else {
                        None
                    }
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let names = env.display_names(c, &ids);
            ids.into_iter().zip(names).collect()
        })
        .collect()
}

fn search_all(env: &Env, model: u16, dom: &Value) -> OResult<Vec<i64>> {
    env.search(model, dom, 0, None, Some("id"))
}

/// `read_group(domain, fields, groupby, offset, limit, orderby, lazy)`.
#[allow(clippy::too_many_arguments)]
pub fn read_group(
    env: &Env,
    model: u16,
    dom: &Value,
    fields: &[String],
    groupby: &[String],
    offset: usize,
    limit: Option<usize>,
    orderby: Option<&str>,
    lazy: bool,
) -> OResult<Vec<Value>> {
    let _ = domain::parse(dom)?;
    let ids = search_all(env, model, dom)?;
    let used: Vec<String> = if lazy && !groupby.is_empty() {
        groupby[..1].to_vec()
    } else {
        groupby.to_vec()
    };
    let gbs = parse_groupby(env, model, &used)?;
    let aggs: Vec<Agg> = fields
        .iter()
        .filter(|f| {
            let name = f.split(':').next().unwrap_or(f);
            !used.iter().any(|g| g.split(':').next() == Some(name)) && *f != "__count"
        })
        .map(|f| parse_agg(env, model, f, false))
        .collect::<OResult<Vec<_>>>()?
        .into_iter()
        .filter(|a| !a.func.is_empty())
        .collect();
    let g = group(env, model, &ids, &gbs)?;
    let count_key = if lazy && !used.is_empty() {
        format!("{}_count", used[0].split(':').next().unwrap_or(&used[0]))
    } else {
        "__count".to_owned()
    };
    let cols: Vec<Vec<Val>> = aggs
        .iter()
        .map(|a| agg_column(env, model, a, &ids))
        .collect::<OResult<_>>()?;
    let mut agg_rows = Vec::with_capacity(g.keys.len());
    for members in &g.members {
        let mut r = Map::new();
        r.insert("__count".into(), json!(members.len()));
        r.insert(count_key.clone(), json!(members.len()));
        for (a, col) in aggs.iter().zip(&cols) {
            r.insert(a.key.clone(), aggregate(env, model, a, col, members));
        }
        agg_rows.push(r);
    }
    let order = sort_groups(env, &gbs, &g, model, orderby, &agg_rows)?;
    let names = display_map(env, model, &gbs, &g);
    let rest: Vec<String> = if lazy && groupby.len() > 1 {
        groupby[1..].to_vec()
    } else {
        vec![]
    };
    let mut out = Vec::new();
    for &i in order.iter().skip(offset).take(limit.unwrap_or(usize::MAX)) {
        let mut row = Map::new();
        let mut leaves = Vec::new();
        for (col, gb) in gbs.iter().enumerate() {
            let k = &g.keys[i][col];
            row.insert(gb.spec.clone(), value_json(env, model, gb, k, &names[col]));
            leaves.push(json!([gb.field, "=", leaf_value(k)]));
        }
        row.insert(count_key.clone(), json!(g.members[i].len()));
        for a in &aggs {
            row.insert(a.key.clone(), agg_rows[i][&a.key].clone());
        }
        let group_dom = if leaves.len() > 1 {
            let mut d: Vec<Value> = std::iter::repeat_n(json!("&"), leaves.len() - 1).collect();
            d.extend(leaves);
            Value::Array(d)
        } else {
            Value::Array(leaves)
        };
        row.insert("__domain".into(), and_domains(dom, &group_dom));
        if !rest.is_empty() {
            row.insert("__context".into(), json!({"group_by": rest}));
        }
        out.push(Value::Object(row));
    }
    Ok(out)
}

/// `formatted_read_group(domain, groupby, aggregates, having, offset, limit, order)` (19).
#[allow(clippy::too_many_arguments)]
pub fn formatted_read_group(
    env: &Env,
    model: u16,
    dom: &Value,
    groupby: &[String],
    aggregates: &[String],
    offset: usize,
    limit: Option<usize>,
    order_by: Option<&str>,
) -> OResult<Vec<Value>> {
    let ids = search_all(env, model, dom)?;
    let gbs = parse_groupby(env, model, groupby)?;
    let aggs: Vec<Agg> = aggregates
        .iter()
        .map(|a| parse_agg(env, model, a, true))
        .collect::<OResult<_>>()?;
    for a in &aggs {
        if a.func.is_empty() {
            return Err(OdooError::value(format!(
                "Invalid aggregate specification {:?}",
                a.key
            )));
        }
    }
    let g = group(env, model, &ids, &gbs)?;
    let cols: Vec<Vec<Val>> = aggs
        .iter()
        .map(|a| agg_column(env, model, a, &ids))
        .collect::<OResult<_>>()?;
    let mut agg_rows = Vec::with_capacity(g.keys.len());
    for members in &g.members {
        let mut r = Map::new();
        for (a, col) in aggs.iter().zip(&cols) {
            r.insert(a.key.clone(), aggregate(env, model, a, col, members));
        }
        agg_rows.push(r);
    }
    let order = sort_groups(env, &gbs, &g, model, order_by, &agg_rows)?;
    let names = display_map(env, model, &gbs, &g);
    let mut out = Vec::new();
    for &i in order.iter().skip(offset).take(limit.unwrap_or(usize::MAX)) {
        let mut row = Map::new();
        let mut leaves = Vec::new();
        for (col, gb) in gbs.iter().enumerate() {
            let k = &g.keys[i][col];
            row.insert(gb.spec.clone(), value_json(env, model, gb, k, &names[col]));
            leaves.push(json!([gb.field, "=", leaf_value(k)]));
        }
        let extra = if leaves.len() > 1 {
            let mut d: Vec<Value> = std::iter::repeat_n(json!("&"), leaves.len() - 1).collect();
            d.extend(leaves);
            Value::Array(d)
        } else {
            Value::Array(leaves)
        };
        row.insert("__extra_domain".into(), extra);
        for a in &aggs {
            row.insert(a.key.clone(), agg_rows[i][&a.key].clone());
        }
        out.push(Value::Object(row));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_domains_builds_prefix_notation() {
        let d = and_domains(
            &json!([["location_id.usage", "=", "internal"]]),
            &json!([["product_id", "=", 15]]),
        );
        assert_eq!(
            d,
            json!([
                "&",
                ["location_id.usage", "=", "internal"],
                ["product_id", "=", 15]
            ])
        );
        let d = and_domains(
            &json!([["a", "=", 1], ["b", "=", 2]]),
            &json!([["c", "=", 3]]),
        );
        assert_eq!(
            d,
            json!(["&", "&", ["a", "=", 1], ["b", "=", 2], ["c", "=", 3]])
        );
        assert_eq!(
            and_domains(&json!([]), &json!([["c", "=", 3]])),
            json!([["c", "=", 3]])
        );
        assert_eq!(
            count_terms(&[json!("|"), json!(["a", "=", 1]), json!(["b", "=", 1])]),
            1
        );
    }
}
