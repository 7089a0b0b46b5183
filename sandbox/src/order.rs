//! `ORDER BY`, Odoo style: several keys, `asc`/`desc`, `nulls first/last`, and many2one keys
//! sorted by the *comodel's* `_order` (so `order='product_id'` sorts products by
//! `is_favorite desc, default_code, name, id`, not by id — scenario 02 shows it).

use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::schema::FieldType;
use crate::store::Val;
use std::cmp::Ordering;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Spec {
    pub field: String,
    pub desc: bool,
    pub nulls_first: Option<bool>,
}

/// Parse `"write_date asc, id asc"`.
pub fn parse(order: &str) -> OResult<Vec<Spec>> {
    let mut out = Vec::new();
    for part in order.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let field = words[0].trim_matches('"').to_owned();
        if !field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':')
        {
            return Err(OdooError::value(format!(
                "Invalid \"order\" specified ({order}). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)"
            )));
        }
        let mut spec = Spec {
            field,
            desc: false,
            nulls_first: None,
        };
        let mut i = 1;
        while i < words.len() {
            match words[i].to_ascii_lowercase().as_str() {
                "asc" => spec.desc = false,
                "desc" => spec.desc = true,
                "nulls" => {
                    if let Some(w) = words.get(i + 1) {
                        spec.nulls_first = Some(w.eq_ignore_ascii_case("first"));
                        i += 1;
                    }
                }
                _ => {
                    return Err(OdooError::value(format!(
                        "Invalid \"order\" specified ({order}). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)"
                    )));
                }
            }
            i += 1;
        }
        out.push(spec);
    }
    Ok(out)
}

/// A sortable key; `Null` sorts last ascending and first descending (PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Null,
    Num(f64),
    Text(String),
}

impl Key {
    fn cmp_asc(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Null, Key::Null) => Ordering::Equal,
            (Key::Null, _) => Ordering::Greater,
            (_, Key::Null) => Ordering::Less,
            (Key::Num(a), Key::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Num(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Num(_)) => Ordering::Greater,
        }
    }
}

/// Text keys compare byte by byte: Odoo creates its databases with `LC_COLLATE 'C'`
/// (so `DESK0005` sorts before `Delivery_007`, as capture 44 shows).
fn text_key(s: &str) -> Key {
    Key::Text(s.to_owned())
}

/// Sort keys of `ids` for one order spec (many2one → rank of the target in its model's order).
fn keys(env: &Env, model: u16, ids: &[i64], field: &str, depth: u8) -> OResult<Vec<Key>> {
    let reg = env.reg();
    let m = reg.m(model);
    let fname = field.split(':').next().unwrap_or(field);
    let f = m.fid(fname).ok_or_else(|| {
        OdooError::value(format!("Invalid field '{fname}' on model '{}'", m.name))
    })?;
    let def = &m.schema.fields[f as usize];
    let vals = env.vals(model, ids, f)?;
    Ok(match def.ftype {
        FieldType::Many2one => {
            let com = def.relation.as_deref().and_then(|r| reg.id(r));
            match com {
                Some(c) if depth < 3 => {
                    let mut targets: Vec<i64> = vals.iter().filter_map(Val::as_id).collect();
                    targets.sort_unstable();
                    targets.dedup();
                    let corder = reg.m(c).meta.order;
                    sort_depth(env, c, &mut targets, corder, depth + 1)?;
                    let rank: HashMap<i64, usize> =
                        targets.iter().enumerate().map(|(i, t)| (*t, i)).collect();
                    vals.iter()
                        .map(|v| match v.as_id().and_then(|t| rank.get(&t)) {
                            Some(r) => Key::Num(*r as f64),
                            None => Key::Null,
                        })
                        .collect()
                }
                _ => vals
                    .iter()
                    .map(|v| v.as_id().map_or(Key::Null, |i| Key::Num(i as f64)))
                    .collect(),
            }
        }
        FieldType::Integer | FieldType::Float | FieldType::Monetary | FieldType::Boolean => {
            vals.iter().map(|v| Key::Num(v.as_f64())).collect()
        }
        FieldType::Datetime => vals
            .iter()
            .map(|v| match v {
                Val::Dt(us) => Key::Num(*us as f64),
                _ => Key::Null,
            })
            .collect(),
        _ if fname == "id" => ids.iter().map(|&i| Key::Num(i as f64)).collect(),
        _ => vals
            .iter()
            .map(|v| match v {
                Val::Str(s) if !s.is_empty() => text_key(s),
                Val::Int(i) => Key::Num(*i as f64),
                _ => Key::Null,
            })
            .collect(),
    })
}

/// Sort `ids` in place by an order string.
pub fn sort(env: &Env, model: u16, ids: &mut Vec<i64>, order: &str) -> OResult<()> {
    sort_depth(env, model, ids, order, 0)
}

fn sort_depth(env: &Env, model: u16, ids: &mut Vec<i64>, order: &str, depth: u8) -> OResult<()> {
    if ids.len() < 2 {
        return Ok(());
    }
    let specs = parse(order)?;
    if specs.is_empty() {
        return Ok(());
    }
    if specs.len() == 1 && specs[0].field == "id" {
        ids.sort_unstable();
        if specs[0].desc {
            ids.reverse();
        }
        return Ok(());
    }
    let mut cols: Vec<Vec<Key>> = Vec::with_capacity(specs.len() + 1);
    for s in &specs {
        cols.push(keys(env, model, ids, &s.field, depth)?);
    }
    let mut idx: Vec<usize> = (0..ids.len()).collect();
    idx.sort_by(|&a, &b| {
        for (s, col) in specs.iter().zip(&cols) {
            let (ka, kb) = (&col[a], &col[b]);
            let o = match (ka, kb, s.nulls_first) {
                (Key::Null, Key::Null, _) => Ordering::Equal,
                (Key::Null, _, Some(nf)) => {
                    if nf {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (_, Key::Null, Some(nf)) => {
                    if nf {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                _ => {
                    let o = ka.cmp_asc(kb);
                    if s.desc { o.reverse() } else { o }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        ids[a].cmp(&ids[b])
    });
    *ids = idx.into_iter().map(|i| ids[i]).collect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multi_key_orders() {
        let s = parse("write_date asc, id DESC, name nulls first").unwrap();
        assert_eq!(s.len(), 3);
        assert!(!s[0].desc && s[1].desc);
        assert_eq!(s[2].nulls_first, Some(true));
        assert!(parse("name; drop table").is_err());
    }

    #[test]
    fn nulls_sort_last_ascending() {
        assert_eq!(Key::Null.cmp_asc(&Key::Num(1.0)), Ordering::Greater);
        assert_eq!(text_key("b").cmp_asc(&text_key("A")), Ordering::Greater);
        assert_eq!(
            text_key("DESK0005").cmp_asc(&text_key("Delivery_007")),
            Ordering::Less
        );
    }
}
