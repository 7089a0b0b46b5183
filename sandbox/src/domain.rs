//! Odoo domains: parsing the prefix notation and evaluating it over records.
//!
//! Semantics follow the 19.0 ORM where it matters to integrations: negative operators match
//! empty values (`!=`, `not in`, `not like` include NULL), dotted paths and `any` mean "some
//! related record matches", `child_of`/`parent_of` follow the model's hierarchy field, a
//! many2one compared with a string matches by name, and datetimes compare by whole second on
//! 19 (`>` W means `>=` W+1s) while older personalities compare the stored microseconds.

use crate::convert::{parse_dt, py_repr, truthy};
use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::registry::{Kind, Model};
use crate::schema::FieldType;
use crate::store::Val;
use serde_json::{Value, json};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    EqOpt,
    In,
    NotIn,
    Like,
    ILike,
    NotLike,
    NotILike,
    EqLike,
    EqILike,
    ChildOf,
    ParentOf,
    Any,
    NotAny,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "=" | "==" => Op::Eq,
            "!=" | "<>" => Op::Ne,
            "<" => Op::Lt,
            ">" => Op::Gt,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "=?" => Op::EqOpt,
            "in" => Op::In,
            "not in" => Op::NotIn,
            "like" => Op::Like,
            "ilike" => Op::ILike,
            "not like" => Op::NotLike,
            "not ilike" => Op::NotILike,
            "=like" => Op::EqLike,
            "=ilike" => Op::EqILike,
            "child_of" => Op::ChildOf,
            "parent_of" => Op::ParentOf,
            "any" | "any!" => Op::Any,
            "not any" | "not any!" => Op::NotAny,
            _ => return None,
        })
    }
    fn negative(self) -> bool {
        matches!(
            self,
            Op::Ne | Op::NotIn | Op::NotLike | Op::NotILike | Op::NotAny
        )
    }
}

#[derive(Debug, Clone)]
pub struct Leaf {
    pub path: Vec<String>,
    pub op: Op,
    pub value: Value,
    /// The condition as given, for error messages.
    pub raw: Value,
}

#[derive(Debug, Clone)]
pub enum Dom {
    True,
    False,
    And(Vec<Dom>),
    Or(Vec<Dom>),
    Not(Box<Dom>),
    Leaf(Leaf),
}

fn cond_repr(raw: &Value) -> String {
    match raw {
        Value::Array(a) => format!("({})", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        other => py_repr(other),
    }
}

/// Parse a domain (list in prefix notation; consecutive terms are AND-ed).
pub fn parse(v: &Value) -> OResult<Dom> {
    let items: &[Value] = match v {
        Value::Array(a) => a,
        Value::Null | Value::Bool(false) => &[],
        other => {
            return Err(OdooError::value(format!(
                "Invalid domain: {}",
                py_repr(other)
            )));
        }
    };
    let mut stack: Vec<Dom> = Vec::new();
    for item in items.iter().rev() {
        match item {
            Value::String(s) if s == "&" || s == "|" => {
                let a = stack.pop();
                let b = stack.pop();
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(OdooError::value(format!("Invalid domain: {}", py_repr(v))));
                };
                stack.push(if s == "&" {
                    Dom::And(vec![a, b])
                } else {
                    Dom::Or(vec![a, b])
                });
            }
            Value::String(s) if s == "!" => {
                let a = stack
                    .pop()
                    .ok_or_else(|| OdooError::value(format!("Invalid domain: {}", py_repr(v))))?;
                stack.push(Dom::Not(Box::new(a)));
            }
            Value::Array(t) if t.len() == 3 => {
                // TRUE_LEAF (1, '=', 1) / FALSE_LEAF (0, '=', 1)
                if let (Some(l), Some("="), Some(1)) = (t[0].as_i64(), t[1].as_str(), t[2].as_i64())
                {
                    stack.push(if l == 1 { Dom::True } else { Dom::False });
                    continue;
                }
                let path = t[0]
                    .as_str()
                    .ok_or_else(|| OdooError::value(format!("Invalid leaf {}", cond_repr(item))))?;
                let op_s = t[1].as_str().unwrap_or("");
                let op = Op::parse(op_s).ok_or_else(|| {
                    OdooError::value(format!(
                        "Invalid operator {} in condition {}",
                        py_repr(&t[1]),
                        cond_repr(item)
                    ))
                })?;
                stack.push(Dom::Leaf(Leaf {
                    path: path.split('.').map(str::to_owned).collect(),
                    op,
                    value: t[2].clone(),
                    raw: item.clone(),
                }));
            }
            Value::Bool(true) => stack.push(Dom::True),
            Value::Bool(false) => stack.push(Dom::False),
            other => {
                return Err(OdooError::value(format!(
                    "Invalid leaf {}",
                    cond_repr(other)
                )));
            }
        }
    }
    stack.reverse();
    Ok(match stack.len() {
        0 => Dom::True,
        1 => stack.pop().expect("one"),
        _ => Dom::And(stack),
    })
}

/// Check every field path exists, with Odoo's message for the first that does not.
pub fn validate(env: &Env, model: u16, d: &Dom) -> OResult<()> {
    match d {
        Dom::True | Dom::False => Ok(()),
        Dom::And(v) | Dom::Or(v) => v.iter().try_for_each(|x| validate(env, model, x)),
        Dom::Not(x) => validate(env, model, x),
        Dom::Leaf(l) => {
            let reg = env.reg();
            let mut m = reg.m(model);
            for (i, seg) in l.path.iter().enumerate() {
                let Some(f) = m.fid(seg) else {
                    return Err(OdooError::value(format!(
                        "Invalid field {}.{} in condition {}",
                        m.name,
                        seg,
                        cond_repr(&l.raw)
                    )));
                };
                let def = &m.schema.fields[f as usize];
                let last = i + 1 == l.path.len();
                if !last || matches!(l.op, Op::Any | Op::NotAny) {
                    let Some(rel) = def.relation.as_deref().and_then(|r| reg.get(r)) else {
                        if last {
                            break;
                        }
                        return Err(OdooError::value(format!(
                            "Invalid field {}.{} in condition {}",
                            m.name,
                            l.path[i + 1],
                            cond_repr(&l.raw)
                        )));
                    };
                    if last {
                        let sub = parse(&l.value)?;
                        return validate(env, rel.id, &sub);
                    }
                    m = rel;
                }
            }
            Ok(())
        }
    }
}

fn mentions_active(d: &Dom) -> bool {
    match d {
        Dom::True | Dom::False => false,
        Dom::And(v) | Dom::Or(v) => v.iter().any(mentions_active),
        Dom::Not(x) => mentions_active(x),
        Dom::Leaf(l) => l.path.len() == 1 && l.path[0] == "active",
    }
}

/// Add `('active', '=', True)` unless the domain mentions `active` or the context says
/// `active_test: False`.
pub fn with_active_test(env: &Env, m: &Model, d: Dom) -> Dom {
    if m.active_field.is_none() || !env.active_test() || mentions_active(&d) {
        return d;
    }
    let leaf = Dom::Leaf(Leaf {
        path: vec!["active".into()],
        op: Op::Eq,
        value: json!(true),
        raw: json!(["active", "=", true]),
    });
    match d {
        Dom::True => leaf,
        Dom::And(mut v) => {
            v.push(leaf);
            Dom::And(v)
        }
        other => Dom::And(vec![other, leaf]),
    }
}

/// All ids of `model` matching `d` (ascending).
pub fn search_ids(env: &Env, model: u16, d: &Dom) -> OResult<Vec<i64>> {
    let cands = candidates(env, model, d);
    eval(env, model, d, cands)
}

/// Narrow the starting set with an index when the domain's top level pins an indexed
/// many2one (`product_id in [...]`), or `id`.
fn candidates(env: &Env, model: u16, d: &Dom) -> Vec<i64> {
    let reg = env.reg();
    let m = reg.m(model);
    let table = env.db.table(model);
    let leaves: Vec<&Leaf> = match d {
        Dom::Leaf(l) => vec![l],
        Dom::And(v) => v
            .iter()
            .filter_map(|x| match x {
                Dom::Leaf(l) => Some(l),
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    for l in leaves {
        if l.path.len() != 1 || !matches!(l.op, Op::Eq | Op::In) {
            continue;
        }
        let targets: Option<Vec<i64>> = match &l.value {
            Value::Number(n) => n.as_i64().map(|i| vec![i]),
            Value::Array(a) => a.iter().map(Value::as_i64).collect(),
            _ => None,
        };
        let Some(targets) = targets else { continue };
        if l.path[0] == "id" {
            let mut ids: Vec<i64> = targets.into_iter().filter(|&i| table.exists(i)).collect();
            ids.sort_unstable();
            ids.dedup();
            return ids;
        }
        let Some(f) = m.fid(&l.path[0]) else { continue };
        if m.kinds[f as usize] != Kind::Stored {
            continue;
        }
        if let Some(ix) = table.index_for(f) {
            let mut ids: Vec<i64> = targets
                .iter()
                .filter_map(|t| ix.map.get(t))
                .flatten()
                .copied()
                .collect();
            ids.sort_unstable();
            ids.dedup();
            return ids;
        }
    }
    table.ids()
}

/// Filter `cands` (ascending) by `d`.
pub fn eval(env: &Env, model: u16, d: &Dom, cands: Vec<i64>) -> OResult<Vec<i64>> {
    if cands.is_empty() {
        return Ok(cands);
    }
    match d {
        Dom::True => Ok(cands),
        Dom::False => Ok(vec![]),
        Dom::And(v) => {
            let mut c = cands;
            for x in v {
                c = eval(env, model, x, c)?;
                if c.is_empty() {
                    break;
                }
            }
            Ok(c)
        }
        Dom::Or(v) => {
            let mut keep: HashSet<i64> = HashSet::new();
            for x in v {
                let rest: Vec<i64> = cands
                    .iter()
                    .copied()
                    .filter(|i| !keep.contains(i))
                    .collect();
                keep.extend(eval(env, model, x, rest)?);
            }
            Ok(cands.into_iter().filter(|i| keep.contains(i)).collect())
        }
        Dom::Not(x) => {
            let hit: HashSet<i64> = eval(env, model, x, cands.clone())?.into_iter().collect();
            Ok(cands.into_iter().filter(|i| !hit.contains(i)).collect())
        }
        Dom::Leaf(l) => eval_leaf(env, model, l, cands),
    }
}

/// Ids of `model` whose record name matches `value` with `op` (many2one compared to text).
fn name_match(env: &Env, model: u16, op: Op, value: &Value) -> OResult<HashSet<i64>> {
    let reg = env.reg();
    let m = reg.m(model);
    let rec_field = if m.has(m.meta.rec_name) {
        m.meta.rec_name
    } else {
        "display_name"
    };
    let positive = match op {
        Op::Ne => Op::Eq,
        Op::NotIn => Op::In,
        Op::NotLike => Op::Like,
        Op::NotILike => Op::ILike,
        o => o,
    };
    let dom = if rec_field == "display_name" {
        Dom::True
    } else {
        Dom::Leaf(Leaf {
            path: vec![rec_field.to_owned()],
            op: positive,
            value: value.clone(),
            raw: json!([rec_field, "=", value]),
        })
    };
    let all = env.db.table(model).ids();
    let mut hits: HashSet<i64> = eval(env, model, &dom, all.clone())?.into_iter().collect();
    if rec_field == "display_name" || m.name == "product.product" {
        // Match the display name too (products: "[code] name").
        let names = env.display_names(model, &all);
        let t = Textual::new(positive, value);
        for (id, n) in all.iter().zip(names) {
            if let Value::String(s) = n
                && t.test(Some(&s))
            {
                hits.insert(*id);
            }
        }
    }
    Ok(hits)
}

fn descendants(env: &Env, model: u16, roots: &[i64], up: bool) -> OResult<HashSet<i64>> {
    let reg = env.reg();
    let m = reg.m(model);
    let Some(pf) = m.meta.parent_field.and_then(|p| m.fid(p)) else {
        return Ok(roots.iter().copied().collect());
    };
    let mut out: HashSet<i64> = roots.iter().copied().collect();
    let mut frontier: Vec<i64> = roots.to_vec();
    let table = env.db.table(model);
    while !frontier.is_empty() {
        let mut next = Vec::new();
        if up {
            for id in &frontier {
                if let Some(p) = env.vals(model, &[*id], pf)?.pop().and_then(|v| v.as_id())
                    && out.insert(p)
                {
                    next.push(p);
                }
            }
        } else {
            let children: Vec<i64> = match table.index_for(pf) {
                Some(ix) => frontier
                    .iter()
                    .filter_map(|f| ix.map.get(f))
                    .flatten()
                    .copied()
                    .collect(),
                None => {
                    let fs: HashSet<i64> = frontier.iter().copied().collect();
                    let all = table.ids();
                    let parents = env.vals(model, &all, pf)?;
                    all.into_iter()
                        .zip(parents)
                        .filter(|(_, p)| p.as_id().is_some_and(|p| fs.contains(&p)))
                        .map(|(i, _)| i)
                        .collect()
                }
            };
            for c in children {
                if out.insert(c) {
                    next.push(c);
                }
            }
        }
        frontier = next;
    }
    Ok(out)
}

fn eval_leaf(env: &Env, model: u16, l: &Leaf, cands: Vec<i64>) -> OResult<Vec<i64>> {
    let reg = env.reg();
    let m = reg.m(model);
    if l.op == Op::EqOpt {
        if !truthy(&l.value) {
            return Ok(cands);
        }
        let mut l2 = l.clone();
        l2.op = Op::Eq;
        return eval_leaf(env, model, &l2, cands);
    }
    let fname = &l.path[0];
    let f = m.fid(fname).ok_or_else(|| {
        OdooError::value(format!(
            "Invalid field {}.{} in condition {}",
            m.name,
            fname,
            cond_repr(&l.raw)
        ))
    })?;
    let def = &m.schema.fields[f as usize];
    let ftype = def.ftype;
    let comodel = def.relation.as_deref().and_then(|r| reg.id(r));

    // Relational traversal: a dotted path, or `any`.
    if l.path.len() > 1 || matches!(l.op, Op::Any | Op::NotAny) {
        let Some(com) = comodel else {
            return Err(OdooError::value(format!(
                "Invalid field {}.{} in condition {}",
                m.name,
                l.path.get(1).cloned().unwrap_or_default(),
                cond_repr(&l.raw)
            )));
        };
        let sub = if l.path.len() > 1 {
            Dom::Leaf(Leaf {
                path: l.path[1..].to_vec(),
                op: l.op,
                value: l.value.clone(),
                raw: l.raw.clone(),
            })
        } else {
            parse(&l.value)?
        };
        let cm = reg.m(com);
        let sub = if ftype == FieldType::Many2one {
            sub
        } else {
            with_active_test(env, cm, sub)
        };
        let matching: HashSet<i64> = search_ids(env, com, &sub)?.into_iter().collect();
        let vals = env.vals(model, &cands, f)?;
        let negate = l.op == Op::NotAny;
        return Ok(cands
            .into_iter()
            .zip(vals)
            .filter(|(_, v)| {
                let hit = match v {
                    Val::Int(t) => matching.contains(t),
                    Val::Ids(ts) => ts.iter().any(|t| matching.contains(t)),
                    _ => false,
                };
                hit != negate
            })
            .map(|(i, _)| i)
            .collect());
    }

    // Hierarchies.
    if matches!(l.op, Op::ChildOf | Op::ParentOf) {
        let target_model = if fname == "id" { Some(model) } else { comodel };
        let Some(tm) = target_model else {
            return Ok(vec![]);
        };
        let roots: Vec<i64> = match &l.value {
            Value::String(_) => name_match(env, tm, Op::ILike, &l.value)?
                .into_iter()
                .collect(),
            v => crate::convert::ids_of(v).unwrap_or_default(),
        };
        let set = descendants(env, tm, &roots, l.op == Op::ParentOf)?;
        let vals = env.vals(model, &cands, f)?;
        return Ok(cands
            .into_iter()
            .zip(vals)
            .filter(|(_, v)| match v {
                Val::Int(t) => set.contains(t),
                Val::Ids(ts) => ts.iter().any(|t| set.contains(t)),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect());
    }

    let vals = env.vals(model, &cands, f)?;
    let keep: Vec<bool> = match ftype {
        FieldType::Many2one
        | FieldType::One2many
        | FieldType::Many2many
        | FieldType::Many2oneReference => {
            let rel_test = RelTest::new(env, comodel, l)?;
            vals.iter().map(|v| rel_test.test(v)).collect()
        }
        _ if fname == "id" => {
            let rel_test = RelTest::new(env, Some(model), l)?;
            vals.iter().map(|v| rel_test.test(v)).collect()
        }
        FieldType::Integer | FieldType::Float | FieldType::Monetary => {
            let t = Numeric::new(l);
            vals.iter().map(|v| t.test(v)).collect()
        }
        FieldType::Boolean => {
            let want: Vec<bool> = match &l.value {
                Value::Array(a) => a.iter().map(truthy).collect(),
                v => vec![truthy(v)],
            };
            vals.iter()
                .map(|v| {
                    let b = v.truthy();
                    match l.op {
                        Op::Eq | Op::In => want.contains(&b),
                        Op::Ne | Op::NotIn => !want.contains(&b),
                        _ => false,
                    }
                })
                .collect()
        }
        FieldType::Datetime => {
            let t = DtTest::new(l, env.db.pers.whole_second_datetimes)?;
            vals.iter().map(|v| t.test(v)).collect()
        }
        FieldType::Json | FieldType::Properties | FieldType::PropertiesDefinition => vals
            .iter()
            .map(|v| match l.op {
                Op::Eq if !truthy(&l.value) => !v.truthy(),
                Op::Ne if !truthy(&l.value) => v.truthy(),
                _ => false,
            })
            .collect(),
        _ => {
            let t = Textual::new(l.op, &l.value);
            vals.iter().map(|v| t.test(v.as_str())).collect()
        }
    };
    Ok(cands
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(i, _)| i)
        .collect())
}

/// Text comparisons (char, text, html, selection, date).
struct Textual {
    op: Op,
    one: Option<String>,
    set: HashSet<String>,
    set_has_false: bool,
    pattern: Option<Like>,
}

struct Like {
    /// Pieces between `%`; `_` matches one char.
    ci: bool,
    anchored: bool,
    pat: String,
}

impl Like {
    fn matches(&self, s: &str) -> bool {
        let (s, p) = if self.ci {
            (s.to_lowercase(), self.pat.to_lowercase())
        } else {
            (s.to_owned(), self.pat.clone())
        };
        if self.anchored {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &s.chars().collect::<Vec<_>>(),
            )
        } else {
            // like/ilike: the value is wrapped in % … %; its own wildcards still apply.
            let wrapped = format!("%{p}%");
            glob(
                &wrapped.chars().collect::<Vec<_>>(),
                &s.chars().collect::<Vec<_>>(),
            )
        }
    }
}

/// SQL LIKE matching with `%` and `_` (backslash escapes).
fn glob(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while si < s.len() {
        if pi < p.len() && p[pi] == '\\' && pi + 1 < p.len() && p[pi + 1] == s[si] {
            pi += 2;
            si += 1;
        } else if pi < p.len() && (p[pi] == '_' || (p[pi] == s[si] && p[pi] != '%')) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("True".into()),
        _ => None,
    }
}

impl Textual {
    fn new(op: Op, value: &Value) -> Textual {
        let mut t = Textual {
            op,
            one: text_of(value),
            set: HashSet::new(),
            set_has_false: false,
            pattern: None,
        };
        if let Value::Array(a) = value {
            for x in a {
                match text_of(x) {
                    Some(s) => {
                        t.set.insert(s);
                    }
                    None => t.set_has_false = true,
                }
            }
        }
        if matches!(
            op,
            Op::Like | Op::ILike | Op::NotLike | Op::NotILike | Op::EqLike | Op::EqILike
        ) {
            t.pattern = Some(Like {
                ci: matches!(op, Op::ILike | Op::NotILike | Op::EqILike),
                anchored: matches!(op, Op::EqLike | Op::EqILike),
                pat: t.one.clone().unwrap_or_default(),
            });
        }
        t
    }

    fn test(&self, v: Option<&str>) -> bool {
        // An empty string is as empty as NULL for matching purposes.
        let v = v.filter(|s| !s.is_empty());
        match self.op {
            Op::Eq => match (&self.one, v) {
                (None, None) => true,
                (Some(a), Some(b)) => a == b,
                (Some(a), None) => a.is_empty(),
                (None, Some(_)) => false,
            },
            Op::Ne => match (&self.one, v) {
                (None, None) => false,
                (None, Some(_)) => true,
                (Some(a), Some(b)) => a != b,
                (Some(a), None) => !a.is_empty(),
            },
            Op::In => match v {
                Some(b) => self.set.contains(b),
                None => self.set_has_false,
            },
            Op::NotIn => match v {
                Some(b) => !self.set.contains(b),
                None => !self.set_has_false,
            },
            Op::Lt | Op::Gt | Op::Le | Op::Ge => match (&self.one, v) {
                (Some(a), Some(b)) => {
                    let o = b.cmp(a.as_str());
                    match self.op {
                        Op::Lt => o.is_lt(),
                        Op::Gt => o.is_gt(),
                        Op::Le => o.is_le(),
                        _ => o.is_ge(),
                    }
                }
                _ => false,
            },
            Op::Like | Op::ILike | Op::EqLike | Op::EqILike => match (v, &self.pattern) {
                (Some(s), Some(p)) => p.matches(s),
                // ilike False / '' matches everything set.
                (Some(_), None) => true,
                _ => false,
            },
            Op::NotLike | Op::NotILike => match (v, &self.pattern) {
                (Some(s), Some(p)) => !p.matches(s),
                (None, _) => true,
                _ => false,
            },
            _ => false,
        }
    }
}

struct Numeric {
    op: Op,
    one: Option<f64>,
    set: Vec<f64>,
}

impl Numeric {
    fn new(l: &Leaf) -> Numeric {
        let num = |v: &Value| match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(false) | Value::Null => Some(0.0),
            Value::Bool(true) => Some(1.0),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        Numeric {
            op: l.op,
            one: num(&l.value),
            set: match &l.value {
                Value::Array(a) => a.iter().filter_map(num).collect(),
                _ => vec![],
            },
        }
    }
    fn test(&self, v: &Val) -> bool {
        let x = v.as_f64();
        match (self.op, self.one) {
            (Op::Eq, Some(a)) => x == a,
            (Op::Ne, Some(a)) => x != a,
            (Op::Lt, Some(a)) => x < a,
            (Op::Gt, Some(a)) => x > a,
            (Op::Le, Some(a)) => x <= a,
            (Op::Ge, Some(a)) => x >= a,
            (Op::In, _) => self.set.contains(&x),
            (Op::NotIn, _) => !self.set.contains(&x),
            _ => false,
        }
    }
}

/// Datetime comparisons; on 19 a value without microseconds covers its whole second.
struct DtTest {
    op: Op,
    lo: Option<i64>,
    /// Exclusive upper bound of the value's granule (W + 1 s, or + 1 day for a date).
    hi: Option<i64>,
    set: Vec<(i64, i64)>,
    set_has_false: bool,
    whole: bool,
}

impl DtTest {
    fn new(l: &Leaf, whole: bool) -> OResult<DtTest> {
        let bounds = |v: &Value| -> OResult<Option<(i64, i64)>> {
            match v {
                Value::String(s) => {
                    let lo = parse_dt(s).ok_or_else(|| {
                        OdooError::value(format!(
                            "time data {} does not match format '%Y-%m-%d %H:%M:%S'",
                            py_repr(v)
                        ))
                    })?;
                    let step = if s.trim().len() <= 10 {
                        86_400_000_000
                    } else if s.contains('.') {
                        1
                    } else {
                        1_000_000
                    };
                    Ok(Some((lo, lo + step)))
                }
                _ => Ok(None),
            }
        };
        let one = bounds(&l.value)?;
        let mut set = Vec::new();
        let mut set_has_false = false;
        if let Value::Array(a) = &l.value {
            for x in a {
                match bounds(x)? {
                    Some(b) => set.push(b),
                    None => set_has_false = true,
                }
            }
        }
        Ok(DtTest {
            op: l.op,
            lo: one.map(|b| b.0),
            hi: one.map(|b| b.1),
            set,
            set_has_false,
            whole,
        })
    }

    fn test(&self, v: &Val) -> bool {
        let x = match v {
            Val::Dt(us) => Some(*us),
            _ => None,
        };
        let in_granule = |x: i64, (lo, hi): (i64, i64)| {
            if self.whole {
                x >= lo && x < hi
            } else {
                x == lo
            }
        };
        match (self.op, x, self.lo, self.hi) {
            (Op::Eq, None, None, _) => true,
            (Op::Ne, None, None, _) => false,
            (Op::Ne, Some(_), None, _) => true,
            (Op::Eq, Some(x), Some(lo), Some(hi)) => in_granule(x, (lo, hi)),
            (Op::Ne, Some(x), Some(lo), Some(hi)) => !in_granule(x, (lo, hi)),
            (Op::Ne, None, Some(_), _) => true,
            (Op::Lt, Some(x), Some(lo), _) => x < lo,
            (Op::Ge, Some(x), Some(lo), _) => x >= lo,
            (Op::Gt, Some(x), Some(lo), Some(hi)) => {
                if self.whole {
                    x >= hi
                } else {
                    x > lo
                }
            }
            (Op::Le, Some(x), Some(lo), Some(hi)) => {
                if self.whole {
                    x < hi
                } else {
                    x <= lo
                }
            }
            (Op::In, x, _, _) => match x {
                Some(x) => self.set.iter().any(|b| in_granule(x, *b)),
                None => self.set_has_false,
            },
            (Op::NotIn, x, _, _) => match x {
                Some(x) => !self.set.iter().any(|b| in_granule(x, *b)),
                None => !self.set_has_false,
            },
            _ => false,
        }
    }
}

/// many2one / x2many / id comparisons.
struct RelTest {
    op: Op,
    ids: HashSet<i64>,
    /// The value was `False` / contained `False`.
    has_false: bool,
    /// `=` / `in` semantics (false: negative operator).
    positive: bool,
    /// For `<`, `>`… on ids.
    one: Option<i64>,
}

impl RelTest {
    fn new(env: &Env, comodel: Option<u16>, l: &Leaf) -> OResult<RelTest> {
        let mut t = RelTest {
            op: l.op,
            ids: HashSet::new(),
            has_false: false,
            positive: !l.op.negative(),
            one: l.value.as_i64(),
        };
        let texty = match &l.value {
            Value::String(_) => true,
            Value::Array(a) => a.iter().any(Value::is_string),
            _ => false,
        } || matches!(
            l.op,
            Op::Like | Op::ILike | Op::NotLike | Op::NotILike | Op::EqLike | Op::EqILike
        );
        if texty {
            if let Some(c) = comodel {
                if matches!(&l.value, Value::Bool(false) | Value::Null) {
                    t.has_false = true;
                } else {
                    t.ids = name_match(env, c, l.op, &l.value)?;
                }
            }
            return Ok(t);
        }
        match &l.value {
            Value::Bool(false) | Value::Null => t.has_false = true,
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    t.ids.insert(i);
                }
            }
            Value::Array(a) => {
                for x in a {
                    match x {
                        Value::Number(n) => {
                            if let Some(i) = n.as_i64() {
                                t.ids.insert(i);
                            }
                        }
                        Value::Bool(false) | Value::Null => t.has_false = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(t)
    }

    fn test(&self, v: &Val) -> bool {
        if matches!(self.op, Op::Lt | Op::Gt | Op::Le | Op::Ge) {
            let (Some(x), Some(a)) = (v.as_id(), self.one) else {
                return false;
            };
            return match self.op {
                Op::Lt => x < a,
                Op::Gt => x > a,
                Op::Le => x <= a,
                _ => x >= a,
            };
        }
        let (hit, empty) = match v {
            Val::Int(i) if *i != 0 => (self.ids.contains(i), false),
            Val::Ids(ts) => (ts.iter().any(|t| self.ids.contains(t)), ts.is_empty()),
            _ => (false, true),
        };
        let matched = hit || (empty && self.has_false);
        if self.positive { matched } else { !matched }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_notation_nests_like_odoo() {
        let d = parse(&json!([
            "|",
            ["a", "=", 1],
            "&",
            ["b", "=", 2],
            ["c", "=", 3]
        ]))
        .unwrap();
        match d {
            Dom::Or(v) => {
                assert!(matches!(v[0], Dom::Leaf(_)));
                assert!(matches!(v[1], Dom::And(_)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&json!([["a", "=", 1], ["b", "=", 2]])).unwrap(),
            Dom::And(_)
        ));
        assert!(parse(&json!(["&", ["a", "=", 1]])).is_err());
        assert!(parse(&json!([["a", "~~", 1]])).is_err());
    }

    #[test]
    fn like_patterns() {
        assert!(glob(
            &"%ab%".chars().collect::<Vec<_>>(),
            &"xxabyy".chars().collect::<Vec<_>>()
        ));
        assert!(glob(
            &"a_c".chars().collect::<Vec<_>>(),
            &"abc".chars().collect::<Vec<_>>()
        ));
        assert!(!glob(
            &"a_c".chars().collect::<Vec<_>>(),
            &"abbc".chars().collect::<Vec<_>>()
        ));
        let t = Textual::new(Op::ILike, &json!("DESK"));
        assert!(t.test(Some("Customizable desk")));
        assert!(!t.test(None));
        let n = Textual::new(Op::NotILike, &json!("DESK"));
        assert!(n.test(None));
        let ne = Textual::new(Op::Ne, &json!("x"));
        assert!(ne.test(None));
    }

    #[test]
    fn whole_second_datetime_semantics() {
        let w = "2026-11-22 22:54:40";
        let base = parse_dt(w).unwrap();
        let leaf = |op: &str| Leaf {
            path: vec!["write_date".into()],
            op: Op::parse(op).unwrap(),
            value: json!(w),
            raw: json!(["write_date", op, w]),
        };
        let at = |us: i64| Val::Dt(base + us);
        let gt = DtTest::new(&leaf(">"), true).unwrap();
        assert!(!gt.test(&at(500_000)));
        assert!(gt.test(&at(1_000_000)));
        let eq = DtTest::new(&leaf("="), true).unwrap();
        assert!(eq.test(&at(999_999)));
        let le = DtTest::new(&leaf("<="), true).unwrap();
        assert!(le.test(&at(999_999)));
        // Older personalities compare microseconds: '>' W re-returns the same second.
        let gt_old = DtTest::new(&leaf(">"), false).unwrap();
        assert!(gt_old.test(&at(500_000)));
        let eq_old = DtTest::new(&leaf("="), false).unwrap();
        assert!(!eq_old.test(&at(500_000)));
    }
}
