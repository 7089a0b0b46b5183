//! The `channel_sync` addon's rules, as `odoo_module/channel_sync/models/*.py` writes them.
//!
//! Only active when the addon is installed ([`crate::registry::Registry::addon`]). What is
//! declarative (fields, SQL constraints, defaults, related paths, access rights, the fields the
//! daemon may write) comes from the generated `_behaviour.json` ([`crate::addon`]); what is
//! Python code (`@api.constrains`, the quarantine's decision methods, the channel's health) is
//! ported here method by method, with the addon's messages. [`PORTED_CONSTRAINTS`] lists the
//! `@api.constrains` methods ported: a test fails when the addon gains one that is not.

use super::now_str;
use crate::access::user_in_group;
use crate::addon::{self, ModelBehaviour};
use crate::convert::{fmt_dt, py_repr};
use crate::env::Env;
use crate::error::{ErrKind, OResult, OdooError};
use crate::store::Val;
use serde_json::{Map, Value, json};

pub const GROUP_USER: &str = "channel_sync.group_channel_user";
pub const GROUP_MANAGER: &str = "channel_sync.group_channel_manager";
pub const GROUP_DAEMON: &str = "channel_sync.group_channel_daemon";
/// `DECISION_CONTEXT_KEY` of `channel_quarantine.py`.
pub const DECISION_CONTEXT_KEY: &str = "channel_sync_quarantine_decision";
const QUARANTINE: &str = "channel.quarantine";
const STALE_PARAM: &str = "channel_sync.stale_after_minutes";
const STALE_DEFAULT: i64 = 60;

/// The addon's `@api.constrains` methods this module ports, by (model, method).
pub const PORTED_CONSTRAINTS: &[(&str, &str)] = &[
    ("channel.binding.specific", "_check_not_blank"),
    ("channel.channel", "_check_code"),
    ("channel.product.binding", "_check_external_sku"),
    ("channel.product.binding", "_check_amazon_asin"),
    ("channel.product.binding", "_check_tiktok_video_url"),
    ("channel.product.binding", "_check_shopify_metafields_json"),
    ("channel.product.binding", "_check_walmart_attributes_json"),
    ("channel.quarantine", "_check_res_model"),
    ("sale.order", "_check_channel_order_ref"),
];

fn active(env: &Env) -> bool {
    env.db.reg.addon
}

fn behaviour(model: &str) -> Option<&'static ModelBehaviour> {
    addon::model(model)
}

/// `user.has_group(xmlid)`, implied groups included (Odoo 19's `all_group_ids`).
pub fn has_group(env: &Env, uid: i64, xmlid: &str) -> bool {
    if user_in_group(env, uid, xmlid) {
        return true;
    }
    addon::behaviour()
        .groups
        .iter()
        .any(|(g, _)| g != xmlid && implies(g, xmlid) && user_in_group(env, uid, g))
}

fn implies(group: &str, target: &str) -> bool {
    let groups = &addon::behaviour().groups;
    let mut todo = vec![group.to_owned()];
    let mut seen = std::collections::HashSet::new();
    while let Some(g) = todo.pop() {
        if g == target {
            return true;
        }
        if seen.insert(g.clone())
            && let Some(info) = groups.get(&g)
        {
            todo.extend(info.implied.iter().cloned());
        }
    }
    false
}

/// `common.is_daemon_only`: the technical user, and not a channel administrator.
fn is_daemon_only(env: &Env) -> bool {
    !env.su && has_group(env, env.uid, GROUP_DAEMON) && !has_group(env, env.uid, GROUP_MANAGER)
}

// ------------------------------------------------------------------------------- access

/// The addon's access rights (`ir.model.access.csv`) on its own models. `None` when the model
/// is not the addon's (the core's rules apply).
pub fn check_access(env: &Env, model: &str, op: &str) -> Option<OResult<()>> {
    if !active(env) || !addon::defines(model) {
        return None;
    }
    let rules = &behaviour(model)?.access;
    if env.su || env.uid == 1 {
        return Some(Ok(()));
    }
    if rules
        .iter()
        .any(|(g, p)| p.allows(op) && has_group(env, env.uid, g))
    {
        return Some(Ok(()));
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
    let labels: Vec<String> = rules
        .iter()
        .filter(|(_, p)| p.allows(op))
        .map(|(g, _)| match g.as_str() {
            "base.group_user" => "Role / User".to_owned(),
            other => addon::group_label(other),
        })
        .map(|l| format!("\t- {l}"))
        .collect();
    Some(Err(OdooError::access(if labels.is_empty() {
        format!(
            "You are not allowed to {verb} '{desc}' ({model}) records.\n\nNo group currently allows this operation.\n\nContact your administrator to request access if necessary."
        )
    } else {
        format!(
            "You are not allowed to {verb} '{desc}' ({model}) records.\n\nThis operation is allowed for the following groups:\n{}\n\nContact your administrator to request access if necessary.",
            labels.join("\n")
        )
    })))
}

// ------------------------------------------------------------------------- create / write

/// Dynamic defaults (`lambda self: self.env.company`, `fields.Datetime.now`) and the binding's
/// precomputed currency.
pub fn prepare_create(env: &mut Env, model: &str, vals: &mut Map<String, Value>) -> OResult<()> {
    if !active(env) {
        return Ok(());
    }
    let Some(b) = behaviour(model) else {
        return Ok(());
    };
    for (field, default) in &b.defaults {
        let Some(src) = default.get("dynamic").and_then(Value::as_str) else {
            continue;
        };
        if vals.contains_key(field) {
            continue;
        }
        let company = env.get_id("res.users", env.uid, "company_id").unwrap_or(1);
        let v = match src {
            "lambda self: self.env.company" => json!(company),
            "lambda self: self.env.company.currency_id" => {
                json!(
                    env.get_id("res.company", company, "currency_id")
                        .unwrap_or(1)
                )
            }
            "fields.Datetime.now" => json!(now_str(env)),
            other => {
                return Err(OdooError::new(
                    ErrKind::KeyError,
                    format!("the sandbox does not know the default {other:?} of {model}.{field}"),
                ));
            }
        };
        vals.insert(field.clone(), v);
    }
    if model == "channel.product.binding" && !vals.get("currency_id").is_some_and(truthy) {
        let channel = vals.get("channel_id").and_then(Value::as_i64);
        vals.insert("currency_id".into(), json!(binding_currency(env, channel)));
    }
    Ok(())
}

fn truthy(v: &Value) -> bool {
    crate::convert::truthy(v)
}

/// `_compute_currency_id`: the channel's currency, else the company's.
fn binding_currency(env: &Env, channel: Option<i64>) -> i64 {
    channel
        .and_then(|c| env.get_id("channel.channel", c, "currency_id"))
        .or_else(|| {
            let company = env.get_id("res.users", env.uid, "company_id").unwrap_or(1);
            env.get_id("res.company", company, "currency_id")
        })
        .unwrap_or(1)
}

pub fn after_create(env: &mut Env, model: &str, id: i64) -> OResult<()> {
    if !active(env) {
        return Ok(());
    }
    check_constraints(env, model, &[id], None)
}

/// `write()` overrides: the daemon's field restriction (`common.check_daemon_write`) and the
/// quarantine's state guard.
pub fn before_write(
    env: &mut Env,
    model: &str,
    ids: &[i64],
    vals: &mut Map<String, Value>,
) -> OResult<()> {
    if !active(env) {
        return Ok(());
    }
    let Some(b) = behaviour(model) else {
        return Ok(());
    };
    if let Some(allowed) = &b.daemon_fields
        && is_daemon_only(env)
    {
        let mut forbidden: Vec<&str> = vals
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.iter().any(|a| a == k) && !["write_date", "write_uid"].contains(k))
            .collect();
        forbidden.sort_unstable();
        if !forbidden.is_empty() {
            let desc = b.description.clone().unwrap_or_else(|| model.to_owned());
            return Err(OdooError::access(format!(
                "The channel daemon may not change {} on {desc}: these fields are set by a channel manager.",
                forbidden.join(", ")
            )));
        }
    }
    if model == QUARANTINE
        && let Some(new) = vals.get("state").and_then(Value::as_str)
        && !env.su
        && !env.ctx_bool(DECISION_CONTEXT_KEY)
        && ids
            .iter()
            .any(|&q| env.get_str(QUARANTINE, q, "state").as_deref() != Some(new))
    {
        return Err(OdooError::user(
            "The status of a quarantined record changes only through Release, Discard or Hold again (action_release, action_discard, action_hold), which record who decided.",
        ));
    }
    if model == "channel.product.binding"
        && vals.contains_key("channel_id")
        && !vals.contains_key("currency_id")
    {
        let channel = vals.get("channel_id").and_then(Value::as_i64);
        vals.insert("currency_id".into(), json!(binding_currency(env, channel)));
    }
    Ok(())
}

pub fn after_write(
    env: &mut Env,
    model: &str,
    ids: &[i64],
    vals: &Map<String, Value>,
) -> OResult<()> {
    if !active(env) {
        return Ok(());
    }
    check_constraints(env, model, ids, Some(vals))
}

/// `ondelete='restrict'` of the addon's many2one fields, as PostgreSQL's foreign keys enforce
/// it (Odoo words the IntegrityError as below).
pub fn before_unlink(env: &mut Env, model: &str, ids: &[i64]) -> OResult<()> {
    if !active(env) {
        return Ok(());
    }
    for (referrer, b) in &addon::behaviour().models {
        for (field, policy) in &b.ondelete {
            if policy != "restrict" {
                continue;
            }
            let Some(reg_model) = env.reg().get(referrer).map(|m| m.id) else {
                continue;
            };
            let target = env
                .reg()
                .m(reg_model)
                .schema
                .field(field)
                .and_then(|f| f.relation.clone());
            if target.as_deref() != Some(model) {
                continue;
            }
            let used = env.with_ctx(&[("active_test", json!(false))], |e| {
                e.find(referrer, json!([[field, "in", ids]]))
            });
            if !used.is_empty() {
                let desc = env.reg().m(reg_model).schema.description.clone();
                return Err(OdooError::validation(format!(
                    "The operation cannot be completed: another model requires the record being deleted. If possible, archive it instead.\n\nModel: {desc} ({referrer}), Field: {field}"
                )));
            }
        }
    }
    Ok(())
}

/// SQL CHECK constraints and the `@api.constrains` methods touched by `vals` (all on create).
fn check_constraints(
    env: &Env,
    model: &str,
    ids: &[i64],
    vals: Option<&Map<String, Value>>,
) -> OResult<()> {
    let Some(b) = behaviour(model) else {
        return Ok(());
    };
    let touched = |fields: &[String]| vals.is_none_or(|v| fields.iter().any(|f| v.contains_key(f)));
    for c in &b.constraints {
        let Some(check) = &c.check else { continue };
        for &id in ids {
            let holds = check.any.iter().any(|all| {
                all.all.iter().all(|(field, op, n)| {
                    let v = env.get(model, id, field);
                    // Numbers read 0 when NULL: only an explicit IS NULL test sees NULL.
                    let is_null = !stored(env, model, id, field);
                    match (op.as_str(), n) {
                        ("is null", _) => is_null,
                        ("is not null", _) => !is_null,
                        (_, Some(n)) if is_null => {
                            // NULL compared to a number is NULL: the CHECK passes.
                            let _ = n;
                            true
                        }
                        (">=", Some(n)) => v.as_f64() >= *n,
                        ("<=", Some(n)) => v.as_f64() <= *n,
                        (">", Some(n)) => v.as_f64() > *n,
                        ("<", Some(n)) => v.as_f64() < *n,
                        ("=", Some(n)) => v.as_f64() == *n,
                        ("!=", Some(n)) => v.as_f64() != *n,
                        _ => true,
                    }
                })
            });
            if !holds {
                return Err(OdooError::constraint(&c.message));
            }
        }
    }
    for pc in &b.python_constraints {
        if !touched(&pc.fields) {
            continue;
        }
        for &id in ids {
            python_constraint(env, model, &pc.method, id)?;
        }
    }
    Ok(())
}

/// Whether the column holds a value (numbers: written, even 0; the sandbox stores sparsely,
/// so 0 written explicitly on a field without default reads as "not stored": treated as a
/// value only when a default exists).
fn stored(env: &Env, model: &str, id: i64, field: &str) -> bool {
    let Some(mid) = env.reg().id(model) else {
        return false;
    };
    let reg = env.reg();
    let m = reg.m(mid);
    let Some(f) = m.fid(field) else { return false };
    env.db
        .table(mid)
        .get(id)
        .and_then(|r| r.get(f))
        .is_some_and(|v| !matches!(v, Val::False))
}

fn vstr(s: &str) -> String {
    py_repr(&Value::String(s.to_owned()))
}

fn python_constraint(env: &Env, model: &str, method: &str, id: i64) -> OResult<()> {
    let s = |f: &str| env.get_str(model, id, f).unwrap_or_default();
    let err = |m: String| Err(OdooError::validation(m));
    match (model, method) {
        ("channel.binding.specific", "_check_not_blank") => {
            if s("name").trim().is_empty() || s("value").trim().is_empty() {
                let binding = env
                    .get_id(model, id, "binding_id")
                    .map(|b| env.display_name("channel.product.binding", b))
                    .unwrap_or_default();
                return err(format!(
                    "Item specific {} on binding {binding} needs a name and a value.",
                    vstr(&s("name"))
                ));
            }
        }
        ("channel.channel", "_check_code") => {
            let code = s("code");
            let ok = !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                return err(format!(
                    "Invalid channel code {} on channel {}: use lowercase letters, digits, '_' and '-' only (e.g. 'amazon-us').",
                    vstr(&code),
                    s("name")
                ));
            }
        }
        ("channel.product.binding", "_check_external_sku") => {
            let sku = s("external_sku");
            if sku.trim().is_empty() || sku != sku.trim() {
                let product = env
                    .get_id(model, id, "product_id")
                    .map(|p| env.display_name("product.product", p))
                    .unwrap_or_default();
                return err(format!(
                    "External SKU {} of product {product}: a SKU cannot be blank nor start or end with spaces.",
                    vstr(&sku)
                ));
            }
        }
        ("channel.product.binding", "_check_amazon_asin") => {
            let asin = s("amazon_asin");
            let well_formed = asin.len() == 10
                && asin
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !asin.is_empty() && !well_formed {
                return err(format!(
                    "ASIN {} on binding {}: an ASIN is 10 uppercase letters or digits (e.g. B07XJ8C8F5).",
                    vstr(&asin),
                    env.display_name(model, id)
                ));
            }
        }
        ("channel.product.binding", "_check_tiktok_video_url") => {
            let url = s("tiktok_video_url");
            let lower = url.to_lowercase();
            if !url.is_empty() && !lower.starts_with("https://") && !lower.starts_with("http://") {
                return err(format!(
                    "TikTok video URL {} on binding {} must start with https://.",
                    vstr(&url),
                    env.display_name(model, id)
                ));
            }
        }
        ("channel.product.binding", "_check_shopify_metafields_json") => {
            let raw = s("shopify_metafields_json");
            if raw.trim().is_empty() {
                return Ok(());
            }
            let label = field_label(env, model, "shopify_metafields_json");
            let binding = env.display_name(model, id);
            let data: Value = match serde_json::from_str(&raw) {
                Ok(d) => d,
                Err(e) => {
                    return err(format!("{label} on binding {binding}: invalid JSON ({e})."));
                }
            };
            let Some(items) = data.as_array() else {
                return err(format!(
                    "{label} on binding {binding}: expected a JSON array of metafields."
                ));
            };
            for (i, item) in items.iter().enumerate() {
                let missing: Vec<&str> = ["namespace", "key", "value"]
                    .into_iter()
                    .filter(|k| item.as_object().is_none_or(|o| !o.contains_key(*k)))
                    .collect();
                if !missing.is_empty() {
                    return err(format!(
                        "{label} on binding {binding}: metafield #{} must be an object with {}.",
                        i + 1,
                        missing.join(", ")
                    ));
                }
            }
        }
        ("channel.product.binding", "_check_walmart_attributes_json") => {
            let raw = s("walmart_attributes_json");
            if raw.trim().is_empty() {
                return Ok(());
            }
            let label = field_label(env, model, "walmart_attributes_json");
            let binding = env.display_name(model, id);
            match serde_json::from_str::<Value>(&raw) {
                Err(e) => {
                    return err(format!("{label} on binding {binding}: invalid JSON ({e})."));
                }
                Ok(Value::Object(_)) => {}
                Ok(_) => {
                    return err(format!(
                        "{label} on binding {binding}: expected a JSON object of attributes."
                    ));
                }
            }
        }
        ("channel.quarantine", "_check_res_model") => {
            let m = s("res_model");
            if !m.is_empty() && env.reg().get(&m).is_none() {
                return err(format!(
                    "Quarantine {} refers to the unknown model {}.",
                    env.display_name(model, id),
                    vstr(&m)
                ));
            }
        }
        ("sale.order", "_check_channel_order_ref") => {
            if let Some(channel) = env.get_id(model, id, "channel_id")
                && s("channel_order_ref").trim().is_empty()
            {
                return err(format!(
                    "Order {} comes from channel {} but has no channel order reference.",
                    s("name"),
                    env.display_name("channel.channel", channel)
                ));
            }
        }
        _ => {
            return Err(OdooError::new(
                ErrKind::KeyError,
                format!("the sandbox does not port {model}.{method} (see PORTED_CONSTRAINTS)"),
            ));
        }
    }
    Ok(())
}

fn field_label(env: &Env, model: &str, field: &str) -> String {
    env.reg()
        .get(model)
        .and_then(|m| m.schema.field(field).map(|f| f.string.clone()))
        .unwrap_or_else(|| field.to_owned())
}

// ---------------------------------------------------------------------------- computes

fn selection_label(env: &Env, model: &str, field: &str, key: &str) -> String {
    env.reg()
        .get(model)
        .and_then(|m| {
            m.schema
                .field(field)?
                .selection_label(key)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| key.to_owned())
}

/// Display names of the addon's models with a custom `_compute_display_name`.
pub fn display_name(env: &Env, model: &str, id: i64) -> Option<String> {
    if !active(env) {
        return None;
    }
    let code = |m: &str| {
        env.get_id(m, id, "channel_id")
            .and_then(|c| env.get_str("channel.channel", c, "code"))
            .unwrap_or_default()
    };
    Some(match model {
        "channel.product.binding" => {
            let sku = env.get_str(model, id, "external_sku").unwrap_or_default();
            let c = code(model);
            if !c.is_empty() && !sku.is_empty() {
                format!("[{c}] {sku}")
            } else {
                sku
            }
        }
        "channel.quarantine" => {
            let kind = env.get_str(model, id, "kind").unwrap_or_default();
            let ext = env
                .get_str(model, id, "external_ref")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("#{id}"));
            [code(model), selection_label(env, model, "kind", &kind), ext]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" / ")
        }
        "channel.sync.run" => {
            let job = env.get_str(model, id, "job").unwrap_or_default();
            let started = match env.get(model, id, "started_at") {
                Val::Dt(us) => fmt_dt(us),
                _ => String::new(),
            };
            [
                code(model),
                selection_label(env, model, "job", &job),
                started,
            ]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
        }
        _ => return None,
    })
}

/// Computed and related fields of the addon (`None`: not the addon's).
pub fn compute(env: &Env, model: &str, field: &str, ids: &[i64]) -> Option<Vec<Val>> {
    if !active(env) {
        return None;
    }
    let b = behaviour(model)?;
    if let Some(rel) = b.related.get(field) {
        return Some(
            ids.iter()
                .map(|&i| follow(env, model, i, &rel.path))
                .collect(),
        );
    }
    let each = |g: &dyn Fn(i64) -> Val| -> Vec<Val> { ids.iter().map(|&i| g(i)).collect() };
    let count = |m: &str, dom: Value| Val::Int(env.find(m, dom).len() as i64);
    Some(match (model, field) {
        ("channel.channel", "binding_count") => {
            each(&|c| count("channel.product.binding", json!([["channel_id", "=", c]])))
        }
        ("channel.channel", "quarantine_open_count") => each(&|c| {
            count(
                QUARANTINE,
                json!([["channel_id", "=", c], ["state", "=", "held"]]),
            )
        }),
        ("channel.channel", "order_count") => {
            each(&|c| count("sale.order", json!([["channel_id", "=", c]])))
        }
        ("channel.channel", "run_count") => {
            each(&|c| count("channel.sync.run", json!([["channel_id", "=", c]])))
        }
        ("channel.channel", "last_sync_at" | "health" | "color") => each(&|c| {
            let (last, health) = channel_health(env, c);
            match field {
                "last_sync_at" => last.map_or(Val::False, Val::Dt),
                "health" => Val::Str(health.into()),
                _ => Val::Int(match health {
                    "never" => 0,
                    "ok" => 10,
                    "warning" => 2,
                    _ => 1,
                }),
            }
        }),
        ("channel.sync.run", "duration") => each(&|r| match (
            env.get("channel.sync.run", r, "started_at"),
            env.get("channel.sync.run", r, "finished_at"),
        ) {
            (Val::Dt(a), Val::Dt(b)) => Val::Float(((b - a) as f64 / 1e6).max(0.0)),
            _ => Val::Float(0.0),
        }),
        (QUARANTINE, "record_ref") => each(&|q| {
            let m = env.get_str(QUARANTINE, q, "res_model").unwrap_or_default();
            let rid = env.get(QUARANTINE, q, "res_id").as_f64() as i64;
            match env.reg().id(&m) {
                Some(mid) if rid > 0 && env.exists(mid, rid) => {
                    Val::Str(format!("{m},{rid}").into())
                }
                _ => Val::False,
            }
        }),
        ("product.product", "channel_binding_count") => {
            each(&|p| count("channel.product.binding", json!([["product_id", "=", p]])))
        }
        ("product.template", "channel_binding_ids") => each(&|t| {
            Val::Ids(
                env.find(
                    "channel.product.binding",
                    json!([["product_tmpl_id", "=", t]]),
                )
                .into(),
            )
        }),
        ("product.template", "channel_binding_count") => each(&|t| {
            count(
                "channel.product.binding",
                json!([["product_tmpl_id", "=", t]]),
            )
        }),
        _ => return None,
    })
}

/// Follow a related path (`channel_id.company_id`).
fn follow(env: &Env, model: &str, id: i64, path: &str) -> Val {
    let steps: Vec<&str> = path.split('.').collect();
    let mut current_model = model.to_owned();
    let mut current = id;
    for (i, step) in steps.iter().enumerate() {
        let v = env.get(&current_model, current, step);
        if i == steps.len() - 1 {
            return v;
        }
        let Some(next) = v.as_id() else {
            return Val::False;
        };
        let Some(rel) = env
            .reg()
            .get(&current_model)
            .and_then(|m| m.schema.field(step)?.relation.clone())
        else {
            return Val::False;
        };
        current_model = rel;
        current = next;
    }
    Val::False
}

/// `_compute_health`: (most recent sync, health).
fn channel_health(env: &Env, channel: i64) -> (Option<i64>, &'static str) {
    let m = "channel.channel";
    let last = ["last_stock_sync", "last_order_sync", "last_price_sync"]
        .iter()
        .filter_map(|f| match env.get(m, channel, f) {
            Val::Dt(us) => Some(us),
            _ => None,
        })
        .max();
    let state = env.get_str(m, channel, "last_sync_state");
    let held = !env
        .find(
            QUARANTINE,
            json!([["channel_id", "=", channel], ["state", "=", "held"]]),
        )
        .is_empty();
    let stale_minutes = env
        .find_one("ir.config_parameter", json!([["key", "=", STALE_PARAM]]))
        .and_then(|p| env.get_str("ir.config_parameter", p, "value"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(STALE_DEFAULT, |v| v.max(0));
    let health = if state.as_deref() == Some("error") {
        "error"
    } else if last.is_none() && state.is_none() {
        "never"
    } else if state.as_deref() == Some("warning")
        || held
        || last.is_none()
        || (stale_minutes > 0 && last.is_some_and(|l| l < env.now - stale_minutes * 60_000_000))
    {
        "warning"
    } else {
        "ok"
    };
    (last, health)
}

// ----------------------------------------------------------------------------- methods

/// The addon's public methods the daemon calls.
pub fn call(
    env: &mut Env,
    model: &str,
    method: &str,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> Option<OResult<Value>> {
    if !active(env) || model != QUARANTINE {
        return None;
    }
    Some(match method {
        "action_release" => set_decision(env, ids, "released"),
        "action_discard" => set_decision(env, ids, "discarded"),
        "action_hold" => set_decision(env, ids, "held"),
        "mark_resolved" => mark_resolved(env, ids, kw.get("note")),
        _ => return None,
    })
}

/// `(api_model, params, **kwargs)` of those methods.
pub fn signature(model: &str, method: &str) -> Option<super::Signature> {
    match (model, method) {
        (QUARANTINE, "action_release" | "action_discard" | "action_hold") => {
            Some((false, &[], false))
        }
        (QUARANTINE, "mark_resolved") => Some((false, &[("note", false)], false)),
        _ => None,
    }
}

/// `_check_decision_rights`: channel administrators and the daemon decide; then the ACL's
/// write right.
fn check_decision_rights(env: &Env) -> OResult<()> {
    if !(env.su || has_group(env, env.uid, GROUP_MANAGER) || has_group(env, env.uid, GROUP_DAEMON))
    {
        return Err(OdooError::access(
            "Only channel managers and the channel daemon can release, discard or hold quarantined records.",
        ));
    }
    match check_access(env, QUARANTINE, "write") {
        Some(r) => r,
        None => Ok(()),
    }
}

fn existing(env: &Env, ids: &[i64]) -> OResult<()> {
    let mid = env.m(QUARANTINE);
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(mid, i))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OdooError::missing(QUARANTINE, &missing, env.uid))
    }
}

/// `_set_decision`: idempotent; refused once resolved unless put on hold first; tracked.
fn set_decision(env: &mut Env, ids: &[i64], new_state: &str) -> OResult<Value> {
    existing(env, ids)?;
    check_decision_rights(env)?;
    let now = now_str(env);
    let uid = env.uid;
    for &q in ids {
        let state = env.get_str(QUARANTINE, q, "state").unwrap_or_default();
        if state == new_state {
            continue; // asking twice changes nothing
        }
        if env.get_bool(QUARANTINE, q, "resolved") && new_state != "held" {
            return Err(OdooError::user(format!(
                "Quarantine {} was already {} and handled by the daemon; put it on hold again before taking another decision.",
                env.display_name(QUARANTINE, q),
                selection_label(env, QUARANTINE, "state", &state).to_lowercase()
            )));
        }
        let mut vals = json!({"state": new_state});
        match new_state {
            "released" => {
                vals["released_by"] = json!(uid);
                vals["released_at"] = json!(now);
            }
            "discarded" => {
                vals["discarded_by"] = json!(uid);
                vals["discarded_at"] = json!(now);
            }
            _ => {
                vals["resolved"] = json!(false);
                vals["resolved_at"] = json!(false);
            }
        }
        env.with_ctx(&[(DECISION_CONTEXT_KEY, json!(true))], |e| {
            e.write_rec(QUARANTINE, &[q], vals)
        })?;
        let old_label = selection_label(env, QUARANTINE, "state", &state);
        let new_label = selection_label(env, QUARANTINE, "state", new_state);
        super::mail::notify(
            env,
            QUARANTINE,
            q,
            "",
            "mail.mt_note",
            Some(("state", &old_label, &new_label)),
        )?;
    }
    Ok(json!(true))
}

/// `mark_resolved(note)`: after the daemon acted; refused while held; idempotent.
fn mark_resolved(env: &mut Env, ids: &[i64], note: Option<&Value>) -> OResult<Value> {
    existing(env, ids)?;
    check_decision_rights(env)?;
    let held: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&q| env.get_str(QUARANTINE, q, "state").as_deref() == Some("held"))
        .collect();
    if !held.is_empty() {
        let names: Vec<String> = held
            .iter()
            .map(|&q| env.display_name(QUARANTINE, q))
            .collect();
        return Err(OdooError::user(format!(
            "Quarantine {} is still held: there is no decision to resolve.",
            names.join(", ")
        )));
    }
    let todo: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&q| !env.get_bool(QUARANTINE, q, "resolved"))
        .collect();
    if !todo.is_empty() {
        let note = match note {
            Some(Value::String(s)) if !s.is_empty() => json!(s),
            _ => json!(false),
        };
        let now = now_str(env);
        env.write_rec(
            QUARANTINE,
            &todo,
            json!({"resolved": true, "resolved_at": now, "resolution_note": note}),
        )?;
    }
    Ok(json!(true))
}
