//! Chatter (`mail`): `message_post`, notifications and field tracking.

use super::now_str;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use serde_json::{Map, Value, json};

/// Models that inherit `mail.thread` (message_post is public on them).
pub fn is_thread(model: &str) -> bool {
    matches!(
        model,
        "sale.order"
            | "stock.picking"
            | "product.product"
            | "product.template"
            | "res.partner"
            | "purchase.order"
            | "account.move"
            | "account.payment"
            | "stock.warehouse.orderpoint"
            | "crm.team"
            | "account.journal"
            | "res.users"
            | "stock.lot"
            | "delivery.carrier"
            | "product.pricelist"
    )
}

/// The subtype for an xml id; unknown ones fall back to Note, as Odoo 19 does.
fn subtype(env: &Env, xmlid: Option<&str>) -> i64 {
    let (module, name) = xmlid
        .and_then(|x| x.split_once('.'))
        .unwrap_or(("mail", "mt_note"));
    env.find_one(
        "ir.model.data",
        json!([
            ["module", "=", module],
            ["name", "=", name],
            ["model", "=", "mail.message.subtype"]
        ]),
    )
    .map(|d| env.get_f64("ir.model.data", d, "res_id") as i64)
    .filter(|&id| id > 0)
    .unwrap_or(2)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `plaintext2html`: paragraphs, line breaks, escaped.
fn plaintext_to_html(s: &str) -> String {
    let esc = escape_html(s);
    let paras: Vec<String> = esc
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect();
    paras.join("")
}

/// `message_post(body=…, message_type=…, subtype_xmlid=…)`: a list `[id]` on 19, an id before.
pub fn message_post(
    env: &mut Env,
    model: &str,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> OResult<Value> {
    if !is_thread(model) {
        return Err(OdooError::new(
            crate::error::ErrKind::AttributeError,
            format!("The method '{model}.message_post' does not exist"),
        ));
    }
    let mid = env.m(model);
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(mid, i))
        .collect();
    if !missing.is_empty() {
        return Err(OdooError::missing(model, &missing, env.uid));
    }
    if ids.len() > 1 {
        return Err(OdooError::value(format!(
            "Expected singleton: {model}{}",
            crate::error::py_tuple(ids)
        )));
    }
    if kw.contains_key("body_is_html") && !env.pers().map.message_post_body_is_html {
        // 16 has no such parameter: extra keywords become mail.message values.
        return Err(OdooError::value(
            "Invalid field 'body_is_html' on 'mail.message'".to_owned(),
        ));
    }
    let body = kw.get("body").and_then(Value::as_str).unwrap_or("");
    let is_html = kw.get("body_is_html").is_some_and(crate::convert::truthy);
    let html = if body.is_empty() {
        String::new()
    } else if is_html {
        body.to_owned()
    } else {
        plaintext_to_html(body)
    };
    let message_type = kw
        .get("message_type")
        .and_then(Value::as_str)
        .unwrap_or("notification")
        .to_owned();
    let subtype_id = match kw.get("subtype_id").and_then(Value::as_i64) {
        Some(s) => s,
        None => subtype(env, kw.get("subtype_xmlid").and_then(Value::as_str)),
    };
    let res_id = ids.first().copied().unwrap_or(0);
    let author = kw
        .get("author_id")
        .and_then(Value::as_i64)
        .or_else(|| env.get_id("res.users", env.uid, "partner_id"))
        .unwrap_or(3);
    let mut vals = json!({
        "body": html, "message_type": message_type, "subtype_id": subtype_id, "model": model,
        "res_id": res_id, "record_name": env.display_name(model, res_id), "author_id": author,
        "date": now_str(env),
    });
    if let Some(s) = kw.get("subject") {
        vals["subject"] = s.clone();
    }
    if let Some(p) = kw.get("partner_ids") {
        vals["partner_ids"] = json!([[6, 0, crate::convert::ids_of(p).unwrap_or_default()]]);
    }
    if let Some(p) = kw.get("parent_id") {
        vals["parent_id"] = p.clone();
    }
    let id = env.create_rec("mail.message", vals)?;
    Ok(if env.pers().map.message_post_returns_list {
        json!([id])
    } else {
        json!(id)
    })
}

/// A system notification on a record, optionally with one tracked field change.
pub fn notify(
    env: &mut Env,
    model: &str,
    res_id: i64,
    body: &str,
    subtype_xmlid: &str,
    tracking: Option<(&str, &str, &str)>,
) -> OResult<i64> {
    let st = subtype(env, Some(subtype_xmlid));
    let author = env.get_id("res.users", env.uid, "partner_id").unwrap_or(3);
    let msg = env.create_rec(
        "mail.message",
        json!({
            "body": body, "message_type": "notification", "subtype_id": st, "model": model,
            "res_id": res_id, "record_name": env.display_name(model, res_id), "author_id": author,
            "date": now_str(env),
        }),
    )?;
    if let Some((field, old, new)) = tracking {
        let fid = env.find_one(
            "ir.model.fields",
            json!([["model", "=", model], ["name", "=", field]]),
        );
        env.create_rec(
            "mail.tracking.value",
            json!({"field_id": fid.map_or(json!(false), |f| json!(f)), "old_value_char": old,
                   "new_value_char": new, "mail_message_id": msg}),
        )?;
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_becomes_a_paragraph() {
        assert_eq!(
            plaintext_to_html("Shopify order 1001"),
            "<p>Shopify order 1001</p>"
        );
        assert_eq!(plaintext_to_html("a < b\nc"), "<p>a &lt; b<br>c</p>");
    }
}
