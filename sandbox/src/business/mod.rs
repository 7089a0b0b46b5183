//! Business behaviour: what Odoo's models do beyond generic CRUD, only where the daemon (or a
//! recorded scenario) calls it. Each submodule mirrors one Odoo addon's part of the story.
//!
//! The generic ORM calls the hooks below around create/write/unlink; public business methods
//! (`action_confirm`, `button_validate`, …) are routed by [`call`].

pub mod account;
pub mod activity;
pub mod backorder;
pub mod channel_sync;
pub mod mail;
pub mod purchase;
pub mod reversal;
pub mod routes;
pub mod sale;
pub mod sale_qty;
pub mod scrap;
pub mod stock;

use crate::env::{Env, Prepared};
use crate::error::{OResult, OdooError};
use serde_json::{Map, Value};

/// Today in the user's time zone (Odoo's `context_today`; admin's tz is Europe/Brussels).
pub fn today(env: &Env) -> String {
    let tzname = env
        .ctx
        .get("tz")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| "Europe/Brussels".to_owned());
    let ts = jiff::Timestamp::from_microsecond(env.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    match jiff::tz::TimeZone::get(&tzname) {
        Ok(tz) => ts.to_zoned(tz).date().to_string(),
        Err(_) => {
            // No tz database: Brussels is UTC+1 (+2 in summer); +1 is right for the captures.
            let shifted = jiff::Timestamp::from_microsecond(env.now + 3_600_000_000)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            crate::convert::date_of(shifted.as_microsecond())
        }
    }
}

/// `YYYY-MM-DD` plus `days`.
pub fn add_days(date: &str, days: i64) -> String {
    match odoo_wire::datetime::parse_date(date) {
        Some(d) => d
            .checked_add(jiff::Span::new().days(days))
            .map(|d| d.to_string())
            .unwrap_or_else(|_| date.to_owned()),
        None => date.to_owned(),
    }
}

pub fn now_str(env: &Env) -> String {
    crate::convert::fmt_dt(env.now)
}

/// Before a record is created: dynamic defaults and model rules.
pub fn prepare_create(
    env: &mut Env,
    model: &str,
    vals: &mut Map<String, Value>,
) -> OResult<Prepared> {
    channel_sync::prepare_create(env, model, vals)?;
    match model {
        "stock.quant" => return stock::prepare_quant(env, vals),
        "stock.warehouse" => stock::prepare_warehouse(env, vals)?,
        "stock.location" => stock::prepare_location(env, vals),
        "stock.picking" => stock::prepare_picking(env, vals)?,
        "stock.move" => stock::prepare_move(env, vals),
        "stock.return.picking" => stock::prepare_return_wizard(env, vals)?,
        "stock.scrap" => scrap::prepare(env, vals)?,
        "account.move.reversal" => reversal::prepare_wizard(env, vals)?,
        "stock.warehouse.orderpoint" => purchase::prepare_orderpoint(env, vals),
        "sale.order" => sale::prepare_order(env, vals)?,
        "sale.order.line" => sale::prepare_line(env, vals)?,
        "res.partner" => prepare_partner(env, vals),
        "res.partner.bank" => {
            if let Some(Value::String(acc)) = vals.get("acc_number") {
                let sanitized: String = acc
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_uppercase();
                vals.insert("sanitized_acc_number".into(), Value::String(sanitized));
            }
        }
        "mail.message" => {
            vals.entry("date")
                .or_insert_with(|| Value::String(now_str(env)));
            vals.entry("author_id").or_insert(Value::from(3));
        }
        "product.template" | "product.product" => {
            // Odoo rounds list_price to the 'Product Price' precision on write.
            if let Some(v) = vals.get("list_price").and_then(Value::as_f64) {
                vals.insert(
                    "list_price".into(),
                    crate::convert::float(crate::convert::round_to(v, 2)),
                );
            }
            // Default taxes: the company's default sale and purchase taxes.
            let creates_template = model == "product.template"
                || !vals
                    .get("product_tmpl_id")
                    .is_some_and(crate::convert::truthy);
            if creates_template {
                let sale = env.get_id("res.company", 1, "account_sale_tax_id");
                let purchase = env.get_id("res.company", 1, "account_purchase_tax_id");
                if let Some(t) = sale {
                    vals.entry("taxes_id")
                        .or_insert(serde_json::json!([[6, 0, [t]]]));
                }
                if let Some(t) = purchase {
                    vals.entry("supplier_taxes_id")
                        .or_insert(serde_json::json!([[6, 0, [t]]]));
                }
            }
        }
        "product.supplierinfo" => purchase::prepare_supplierinfo(env, vals),
        "mail.activity" => return activity::prepare(env, vals),
        "purchase.order" => purchase::prepare_order(env, vals),
        "purchase.order.line" => purchase::prepare_line(env, vals),
        "product.pricelist" => sale::prepare_pricelist(env, vals),
        "sale.advance.payment.inv"
        | "account.payment.register"
        | "account.move"
        | "account.payment"
        | "account.bank.statement.line" => account::prepare(env, model, vals)?,
        _ => {}
    }
    Ok(Prepared::Create)
}

fn prepare_partner(env: &mut Env, vals: &mut Map<String, Value>) {
    let name = vals
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let is_company = vals.get("is_company").is_some_and(crate::convert::truthy);
    let complete = match vals.get("parent_id").and_then(Value::as_i64) {
        Some(p) if !is_company => {
            let pname = env.get_str("res.partner", p, "name").unwrap_or_default();
            if name.is_empty() {
                pname
            } else {
                format!("{pname}, {name}")
            }
        }
        _ => name,
    };
    vals.insert("complete_name".into(), Value::String(complete));
}

/// After a record was created.
pub fn after_create(
    env: &mut Env,
    model: &str,
    id: i64,
    vals: &Map<String, Value>,
    computed: &Map<String, Value>,
) -> OResult<()> {
    match model {
        "stock.warehouse" => {
            stock::after_create_warehouse(env, id)?;
            routes::after_create_warehouse(env, id)?;
        }
        "stock.location" => stock::after_create_location(env, id)?,
        "stock.return.picking" => stock::after_create_return_wizard(env, id, vals)?,
        "sale.order" => sale::after_create_order(env, id)?,
        "sale.order.line" => sale::after_create_line(env, id)?,
        "product.product" => {
            if let Some(v) = computed.get("lst_price").and_then(Value::as_f64) {
                let t = env
                    .get_id("product.product", id, "product_tmpl_id")
                    .unwrap_or(0);
                env.write_rec(
                    "product.template",
                    &[t],
                    serde_json::json!({"list_price": v}),
                )?;
            }
            purchase::link_sellers_to_variant(env, id)?;
        }
        "purchase.order.line" => purchase::recompute_line(env, id)?,
        _ => {}
    }
    channel_sync::after_create(env, model, id)
}

/// Before `write`: checks and value rewrites.
pub fn before_write(
    env: &mut Env,
    model: &str,
    ids: &[i64],
    vals: &mut Map<String, Value>,
) -> OResult<()> {
    channel_sync::before_write(env, model, ids, vals)?;
    match model {
        "res.partner.bank" => {
            if let Some(Value::String(acc)) = vals.get("acc_number") {
                let s: String = acc
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_uppercase();
                vals.insert("sanitized_acc_number".into(), Value::String(s));
            }
        }
        "product.template" | "product.product" => {
            if let Some(v) = vals.get("list_price").and_then(Value::as_f64) {
                vals.insert(
                    "list_price".into(),
                    crate::convert::float(crate::convert::round_to(v, 2)),
                );
            }
        }
        "sale.order" => sale::before_write_order(env, ids, vals)?,
        "account.move" => reversal::before_write_move(env, ids, vals)?,
        _ => {}
    }
    Ok(())
}

/// After `write`: stored computes that depend on what changed.
pub fn after_write(
    env: &mut Env,
    model: &str,
    ids: &[i64],
    vals: &Map<String, Value>,
) -> OResult<()> {
    match model {
        "sale.order.line" => {
            for &id in ids {
                sale::recompute_line(env, id)?;
                if let Some(o) = env.get_id("sale.order.line", id, "order_id") {
                    sale::recompute_order(env, o)?;
                }
            }
            if vals.contains_key("product_uom_qty") {
                sale_qty::after_quantity_write(env, ids)?;
            }
        }
        "sale.order" if vals.contains_key("order_line") || vals.contains_key("pricelist_id") => {
            for &id in ids {
                sale::recompute_order(env, id)?;
            }
        }
        "res.partner"
            if vals.contains_key("name")
                || vals.contains_key("parent_id")
                || vals.contains_key("is_company") =>
        {
            for &id in ids {
                let mut v = Map::new();
                for k in ["name", "parent_id", "is_company"] {
                    let f = env.get("res.partner", id, k);
                    let m = env.m("res.partner");
                    let fid = env.db.reg.m(m).fid(k).unwrap_or(0);
                    v.insert(k.to_owned(), env.to_json(env.db.reg.m(m), fid, &f));
                }
                if let Some(Value::Array(a)) = v.get("parent_id").cloned() {
                    v.insert(
                        "parent_id".into(),
                        a.first().cloned().unwrap_or(Value::Bool(false)),
                    );
                }
                prepare_partner(env, &mut v);
                if let Some(c) = v.get("complete_name").cloned() {
                    env.set_fields("res.partner", id, &[("complete_name", c)])?;
                }
            }
        }
        "stock.move" => stock::after_write_move(env, ids, vals)?,
        "product.product" if vals.contains_key("seller_ids") => {
            for &id in ids {
                purchase::link_sellers_to_variant(env, id)?;
            }
        }
        _ => {}
    }
    channel_sync::after_write(env, model, ids, vals)
}

/// Before `unlink`: Odoo's `@api.ondelete` rules.
pub fn before_unlink(env: &mut Env, model: &str, ids: &[i64]) -> OResult<()> {
    channel_sync::before_unlink(env, model, ids)?;
    if model == "sale.order" {
        for &id in ids {
            let state = env.get_str("sale.order", id, "state").unwrap_or_default();
            if !matches!(state.as_str(), "draft" | "cancel") {
                return Err(OdooError::user(
                    "You can not delete a sent quotation or a confirmed sales order. You must first cancel it.",
                ));
            }
        }
    }
    if model == "stock.picking" {
        for &id in ids {
            if env.get_str("stock.picking", id, "state").as_deref() == Some("done") {
                return Err(OdooError::user("You cannot delete a done transfer."));
            }
        }
    }
    Ok(())
}

/// Public business methods: `Some(result)` when `model.method` is one of them.
/// `Value::Null` means the method returned None.
pub fn call(
    env: &mut Env,
    model: &str,
    method: &str,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> Option<OResult<Value>> {
    if let Some(r) = channel_sync::call(env, model, method, ids, kw) {
        return Some(r);
    }
    let r = match (model, method) {
        (_, "message_post") => mail::message_post(env, model, ids, kw),
        ("stock.quant", "action_apply_inventory") => stock::action_apply_inventory(env, ids),
        ("stock.quant", "action_set_inventory_quantity_to_zero") => {
            stock::set_inventory_to_zero(env, ids)
        }
        ("stock.picking", "action_confirm") => stock::picking_action_confirm(env, ids),
        ("stock.picking", "action_assign") => stock::picking_action_assign(env, ids),
        ("stock.picking", "do_unreserve") => stock::picking_do_unreserve(env, ids),
        ("stock.picking", "button_validate") => stock::button_validate(env, ids),
        ("stock.picking", "action_cancel") => stock::picking_action_cancel(env, ids),
        ("stock.return.picking", "action_create_returns" | "create_returns") => {
            stock::action_create_returns(env, ids)
        }
        ("stock.backorder.confirmation", "process") => backorder::process(env, ids, false),
        ("stock.backorder.confirmation", "process_cancel_backorder") => {
            backorder::process(env, ids, true)
        }
        ("stock.scrap", "action_validate") => scrap::action_validate(env, ids),
        ("account.move.reversal", "reverse_moves" | "refund_moves") => {
            reversal::reverse_moves(env, ids)
        }
        ("sale.order", "action_confirm") => sale::action_confirm(env, ids),
        ("sale.order", "action_cancel") => sale::action_cancel(env, ids),
        ("sale.order", "action_draft") => sale::action_draft(env, ids),
        ("sale.order", "action_lock") => sale::set_locked(env, ids, true),
        ("sale.order", "action_unlock") => sale::set_locked(env, ids, false),
        ("stock.warehouse.orderpoint", "action_replenish") => purchase::action_replenish(env, ids),
        ("purchase.order", "button_confirm") => purchase::button_confirm(env, ids),
        ("res.currency", "round") => sale::currency_round(env, ids, kw),
        ("mail.activity", "action_feedback" | "action_done") => {
            activity::action_feedback(env, ids, kw)
        }
        ("res.currency", "compute") => sale::currency_compute(env, ids, kw),
        ("sale.advance.payment.inv", "create_invoices") => account::create_invoices(env, ids),
        ("account.move", "action_post") => account::action_post(env, ids),
        ("account.move", "button_draft") => account::button_draft(env, ids),
        ("account.payment.register", "action_create_payments") => {
            account::action_create_payments(env, ids)
        }
        _ => return None,
    };
    Some(r)
}

/// `(api_model, [(param, required)], accepts **kwargs)`.
pub type Signature = (bool, &'static [(&'static str, bool)], bool);

/// Public business methods and their parameters (for signature binding).
pub fn signature(model: &str, method: &str) -> Option<Signature> {
    if let Some(s) = channel_sync::signature(model, method) {
        return Some(s);
    }
    // (api_model, params, var_kwargs)
    Some(match (model, method) {
        (_, "message_post") => (false, &[], true),
        ("stock.quant", "action_apply_inventory" | "action_set_inventory_quantity_to_zero") => {
            (false, &[], false)
        }
        (
            "stock.picking",
            "action_confirm" | "action_assign" | "do_unreserve" | "button_validate"
            | "action_cancel",
        ) => (false, &[], false),
        ("stock.return.picking", "action_create_returns" | "create_returns") => (false, &[], false),
        ("stock.backorder.confirmation", "process" | "process_cancel_backorder")
        | ("stock.scrap", "action_validate")
        | ("account.move.reversal", "reverse_moves" | "refund_moves") => (false, &[], false),
        (
            "sale.order",
            "action_confirm" | "action_cancel" | "action_draft" | "action_lock" | "action_unlock",
        ) => (false, &[], false),
        ("stock.warehouse.orderpoint", "action_replenish") => {
            (false, &[("force_to_max", false)], false)
        }
        ("purchase.order", "button_confirm") => (false, &[], false),
        ("res.currency", "round") => (false, &[("amount", true)], false),
        ("mail.activity", "action_feedback") => (false, &[("feedback", false)], true),
        ("mail.activity", "action_done") => (false, &[], false),
        ("res.currency", "compute") => (
            false,
            &[
                ("from_amount", true),
                ("to_currency", true),
                ("round", false),
            ],
            false,
        ),
        ("sale.advance.payment.inv", "create_invoices") => (false, &[], false),
        ("account.move", "action_post" | "button_draft") => (false, &[], false),
        ("account.payment.register", "action_create_payments") => (false, &[], false),
        _ => return None,
    })
}
