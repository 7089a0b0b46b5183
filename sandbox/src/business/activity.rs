//! Activities (`mail.activity`) and tags (`crm.tag`): how a held marketplace order reaches a
//! person in Odoo. The daemon tags the draft, posts a note and schedules a To-Do activity
//! assigned to someone; that person confirms the order to release it.
//!
//! Modelled from Odoo 19's `mail` addon as far as the daemon and a person acting in a test
//! use it: `create` fills `res_model` from `res_model_id` (the target record must exist), the
//! assignee (default: the current user), the due date (default: today) and the type (default:
//! To-Do); `state` follows the due date; `action_feedback` / `action_done` mark it done, which
//! archives it (17+) and notes it on the record; a record's `activity_ids`, `activity_user_id`,
//! `activity_summary`, `activity_date_deadline` and `activity_state` are computed from its open
//! activities.

use super::today;
use crate::env::{Env, Prepared};
use crate::error::{OResult, OdooError};
use crate::seed::Seeder;
use crate::store::Val;
use serde_json::{Map, Value, json};

const ACT: &str = "mail.activity";

/// Seed data of the `mail` addon the captures do not show: the standard activity types (To-Do
/// is `mail.mail_activity_data_todo`, id 4 as in a fresh database) and `ir.model` rows of the
/// models activities are scheduled on.
pub fn seed(s: &mut Seeder) {
    for (id, name, icon, category, xml) in [
        (
            1,
            "Email",
            "fa-envelope",
            "default",
            "mail_activity_data_email",
        ),
        (
            2,
            "Call",
            "fa-phone",
            "phonecall",
            "mail_activity_data_call",
        ),
        (
            3,
            "Meeting",
            "fa-users",
            "meeting",
            "mail_activity_data_meeting",
        ),
        (4, "To-Do", "fa-check", "default", "mail_activity_data_todo"),
        (
            5,
            "Document",
            "fa-upload",
            "upload_file",
            "mail_activity_data_upload_document",
        ),
    ] {
        s.put(
            "mail.activity.type",
            id,
            json!({"name": name, "icon": icon, "category": category, "sequence": id * 3, "delay_unit": "days"}),
        );
        s.put(
            "ir.model.data",
            39000 + id,
            json!({"module": "mail", "name": xml, "model": "mail.activity.type", "res_id": id}),
        );
    }
    s.next_id("mail.activity.type", 30);
    for (id, model, name) in [
        (391, "res.partner", "Contact"),
        (516, "product.product", "Product Variant"),
        (517, "product.template", "Product"),
        (569, "stock.picking", "Transfer"),
        (612, "sale.order", "Sales Order"),
        (640, "purchase.order", "Purchase Order"),
    ] {
        s.put("ir.model", id, json!({"model": model, "name": name}));
    }
    s.next_id("ir.model", 2000);
    s.next_id("mail.activity", 1);
    s.next_id("crm.tag", 1);
}

/// `mail.activity.create`: the document must exist; defaults as in Odoo.
pub fn prepare(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<Prepared> {
    let model_id = vals
        .get("res_model_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            OdooError::value("Missing required value for the field 'Document Model' (res_model_id)")
        })?;
    let model = env
        .get_str("ir.model", model_id, "model")
        .ok_or_else(|| OdooError::missing("ir.model", &[model_id], env.uid))?;
    let res_id = vals.get("res_id").and_then(Value::as_i64).unwrap_or(0);
    let m = env
        .db
        .reg
        .id(&model)
        .ok_or_else(|| OdooError::value(format!("Invalid model: {model}")))?;
    if !env.exists(m, res_id) {
        return Err(OdooError::missing(&model, &[res_id], env.uid));
    }
    let name = crate::compute::display_names(env, m, &[res_id])
        .into_iter()
        .next()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    vals.insert("res_model".into(), json!(model));
    vals.insert("res_name".into(), json!(name));
    vals.entry("user_id").or_insert(json!(env.uid));
    vals.entry("date_deadline")
        .or_insert_with(|| json!(today(env)));
    if !vals
        .get("activity_type_id")
        .is_some_and(crate::convert::truthy)
    {
        vals.insert("activity_type_id".into(), json!(4));
    }
    let t = vals
        .get("activity_type_id")
        .and_then(Value::as_i64)
        .unwrap_or(4);
    let (category, icon) = (
        env.get_str("mail.activity.type", t, "category")
            .unwrap_or_else(|| "default".into()),
        env.get_str("mail.activity.type", t, "icon")
            .unwrap_or_else(|| "fa-tasks".into()),
    );
    vals.insert("activity_category".into(), json!(category));
    vals.insert("icon".into(), json!(icon));
    vals.insert("can_write".into(), json!(true));
    let deadline = vals
        .get("date_deadline")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    vals.insert("state".into(), json!(state_of(env, &deadline)));
    Ok(Prepared::Create)
}

fn state_of(env: &Env, deadline: &str) -> &'static str {
    let t = today(env);
    match deadline.cmp(t.as_str()) {
        std::cmp::Ordering::Less => "overdue",
        std::cmp::Ordering::Equal => "today",
        std::cmp::Ordering::Greater => "planned",
    }
}

/// `action_feedback(feedback=…)` / `action_done()`: done, archived, noted on the document.
pub fn action_feedback(env: &mut Env, ids: &[i64], kw: &Map<String, Value>) -> OResult<Value> {
    let feedback = kw
        .get("feedback")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    for &id in ids {
        if !env.exists(env.m(ACT), id) {
            return Err(OdooError::missing(ACT, &[id], env.uid));
        }
        let model = env.get_str(ACT, id, "res_model").unwrap_or_default();
        let res_id = env.get_id(ACT, id, "res_id").unwrap_or(0);
        let summary = env.get_str(ACT, id, "summary").unwrap_or_default();
        let t = today(env);
        env.set_fields(
            ACT,
            id,
            &[
                ("active", json!(false)),
                ("date_done", json!(t)),
                ("state", json!("done")),
            ],
        )?;
        if super::mail::is_thread(&model) && res_id > 0 {
            let mut body = format!("<p>Activity done: {}</p>", escape(&summary));
            if !feedback.is_empty() {
                body.push_str(&format!("<p>{}</p>", escape(&feedback)));
            }
            let mut kwp = Map::new();
            kwp.insert("body".into(), json!(body));
            kwp.insert("body_is_html".into(), json!(true));
            kwp.insert("subtype_xmlid".into(), json!("mail.mt_activities"));
            super::mail::message_post(env, &model, &[res_id], &kwp)?;
        }
    }
    Ok(json!(false))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Open activities of `model` record `id`, by due date.
fn open_activities(env: &Env, model: &str, id: i64) -> Vec<i64> {
    env.find(
        ACT,
        json!([
            ["res_model", "=", model],
            ["res_id", "=", id],
            ["active", "=", true]
        ]),
    )
}

/// A record's `activity_*` fields.
pub fn compute(env: &Env, model: &str, field: &str, ids: &[i64]) -> Vec<Val> {
    ids.iter()
        .map(|&id| {
            let acts = open_activities(env, model, id);
            let first = acts.first().copied();
            match field {
                "activity_ids" => Val::Ids(acts.into()),
                "activity_user_id" => first
                    .and_then(|a| env.get_id(ACT, a, "user_id"))
                    .map_or(Val::False, Val::Int),
                "activity_summary" => first
                    .and_then(|a| env.get_str(ACT, a, "summary"))
                    .map_or(Val::False, |s| Val::Str(s.into())),
                "activity_date_deadline" => {
                    first.map_or(Val::False, |a| env.get(ACT, a, "date_deadline"))
                }
                "activity_state" => {
                    let states: Vec<String> = acts
                        .iter()
                        .filter_map(|&a| env.get_str(ACT, a, "date_deadline"))
                        .map(|d| state_of(env, &d).to_owned())
                        .collect();
                    if states.iter().any(|s| s == "overdue") {
                        Val::Str("overdue".into())
                    } else if states.iter().any(|s| s == "today") {
                        Val::Str("today".into())
                    } else if states.is_empty() {
                        Val::False
                    } else {
                        Val::Str("planned".into())
                    }
                }
                _ => Val::False,
            }
        })
        .collect()
}
