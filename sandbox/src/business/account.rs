//! Invoicing (`account`, `sale`): the invoicing wizard, posting, the payment wizard and
//! bank statement lines — as scenario 03 recorded them.

use super::today;
use crate::convert::round_to;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::store::Val;
use serde_json::{Map, Value, json};

const AM: &str = "account.move";
const AML: &str = "account.move.line";

fn year(env: &Env) -> String {
    today(env)[..4].to_owned()
}

fn account(env: &Env, code: &str) -> i64 {
    env.find_one("account.account", json!([["code", "=", code]]))
        .unwrap_or(0)
}

pub fn prepare(env: &mut Env, model: &str, vals: &mut Map<String, Value>) -> OResult<()> {
    match model {
        "sale.advance.payment.inv" => {
            vals.entry("advance_payment_method")
                .or_insert(json!("delivered"));
            if !vals.contains_key("sale_order_ids")
                && env.ctx.get("active_model").and_then(Value::as_str) == Some("sale.order")
            {
                let ids = env
                    .ctx
                    .get("active_ids")
                    .and_then(crate::convert::ids_of)
                    .unwrap_or_default();
                vals.insert("sale_order_ids".into(), json!([[6, 0, ids]]));
            }
            let orders: Vec<i64> = vals
                .get("sale_order_ids")
                .and_then(|v| v.as_array())
                .and_then(|a| a.first())
                .and_then(|c| c.get(2))
                .and_then(crate::convert::ids_of)
                .unwrap_or_default();
            vals.insert("count".into(), json!(orders.len()));
            vals.entry("consolidated_billing").or_insert(json!(true));
            vals.entry("deduct_down_payments").or_insert(json!(true));
            let cur = orders
                .first()
                .and_then(|&o| env.get_id("sale.order", o, "currency_id"))
                .unwrap_or(1);
            vals.entry("currency_id").or_insert(json!(cur));
            vals.entry("company_id").or_insert(json!(1));
        }
        "account.payment.register" => {
            let invoices = env
                .ctx
                .get("active_ids")
                .and_then(crate::convert::ids_of)
                .unwrap_or_default();
            let mut lines = Vec::new();
            let mut amount = 0.0;
            let mut names = Vec::new();
            let mut partner = None;
            for &inv in &invoices {
                amount += env.get_f64(AM, inv, "amount_residual");
                if let Some(n) = env.get_str(AM, inv, "name") {
                    names.push(n);
                }
                partner = partner.or_else(|| env.get_id(AM, inv, "partner_id"));
                lines.extend(env.find(
                    AML,
                    json!([["move_id", "=", inv], ["display_type", "=", "payment_term"]]),
                ));
            }
            let journal = vals
                .get("journal_id")
                .and_then(Value::as_i64)
                .or_else(|| env.find_one("account.journal", json!([["type", "=", "bank"]])))
                .unwrap_or(0);
            vals.insert("journal_id".into(), json!(journal));
            vals.entry("amount").or_insert(json!(round_to(amount, 2)));
            vals.entry("currency_id").or_insert(json!(1));
            vals.entry("payment_date").or_insert(json!(today(env)));
            vals.entry("communication")
                .or_insert(json!(names.join(" ")));
            if let Some(p) = partner {
                vals.entry("partner_id").or_insert(json!(p));
            }
            vals.entry("payment_type").or_insert(json!("inbound"));
            vals.entry("partner_type").or_insert(json!("customer"));
            vals.entry("group_payment").or_insert(json!(true));
            vals.entry("can_edit_wizard").or_insert(json!(true));
            vals.entry("company_id").or_insert(json!(1));
            vals.insert("line_ids".into(), json!([[6, 0, lines]]));
            if !vals.contains_key("payment_method_line_id")
                && let Some(pml) = env.find_one(
                    "account.payment.method.line",
                    json!([
                        ["journal_id", "=", journal],
                        ["payment_type", "=", "inbound"]
                    ]),
                )
            {
                vals.insert("payment_method_line_id".into(), json!(pml));
            }
        }
        "account.move" => {
            vals.entry("date").or_insert_with(|| json!(today(env)));
            vals.entry("currency_id").or_insert(json!(1));
            vals.entry("auto_post").or_insert(json!("no"));
            if !vals.contains_key("journal_id") {
                let kind = match vals.get("move_type").and_then(Value::as_str) {
                    Some("out_invoice" | "out_refund") => "sale",
                    Some("in_invoice" | "in_refund") => "purchase",
                    _ => "general",
                };
                let j = env
                    .find_one("account.journal", json!([["type", "=", kind]]))
                    .unwrap_or(1);
                vals.insert("journal_id".into(), json!(j));
            }
        }
        "account.bank.statement.line" => {
            let journal = vals.get("journal_id").and_then(Value::as_i64).unwrap_or(0);
            let amount = vals.get("amount").and_then(Value::as_f64).unwrap_or(0.0);
            let date = vals
                .get("date")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| today(env));
            let code = env
                .get_str("account.journal", journal, "code")
                .unwrap_or_else(|| "BNK1".into());
            let n = env
                .db
                .next_seq(&format!("journal:{journal}:{}", &date[..4]));
            let name = format!("{code}/{}/{n:05}", &date[..4]);
            let mv = env.create_rec(
                AM,
                json!({"move_type": "entry", "journal_id": journal, "date": date, "name": name,
                       "state": "posted", "currency_id": 1,
                       "partner_id": vals.get("partner_id").cloned().unwrap_or(json!(false)),
                       "amount_total": amount.abs()}),
            )?;
            let bank_acc = env
                .get_id("account.journal", journal, "default_account_id")
                .unwrap_or(0);
            let suspense = account(env, "101402");
            for (acc, bal) in [(bank_acc, amount), (suspense, -amount)] {
                env.create_rec(
                    AML,
                    json!({"move_id": mv, "account_id": acc, "name": vals.get("payment_ref").cloned().unwrap_or(json!(false)),
                           "balance": bal, "debit": bal.max(0.0), "credit": (-bal).max(0.0), "display_type": "product",
                           "partner_id": vals.get("partner_id").cloned().unwrap_or(json!(false)), "date": date}),
                )?;
            }
            vals.insert("move_id".into(), json!(mv));
            vals.insert("name".into(), json!(name));
            vals.insert("state".into(), json!("posted"));
            vals.insert("currency_id".into(), json!(1));
            vals.insert("amount_residual".into(), json!(-amount));
        }
        _ => {}
    }
    Ok(())
}

pub fn compute(env: &Env, model: &str, field: &str, ids: &[i64]) -> Vec<Val> {
    ids.iter()
        .map(|&id| match (model, field) {
            (AM, "invoice_line_ids") => Val::Ids(
                env.find(
                    AML,
                    json!([["move_id", "=", id], ["display_type", "=", "product"]]),
                )
                .into(),
            ),
            // Odoo 19 reports 0.0 here even once paid (scenario 03).
            (AM, "amount_paid") => Val::Float(0.0),
            (AM, "matched_payment_ids" | "payment_ids") => Val::Ids(
                env.find(
                    "account.payment",
                    json!([["reconciled_invoice_ids", "in", [id]]]),
                )
                .into(),
            ),
            _ => Val::False,
        })
        .collect()
}

fn label(env: &Env, line: i64) -> String {
    let p = env
        .get_id("sale.order.line", line, "product_id")
        .unwrap_or(0);
    let display = crate::compute::product_display_name(env, p);
    let name = env
        .get_str("sale.order.line", line, "name")
        .unwrap_or_default();
    if name.starts_with(&display) {
        name
    } else {
        format!("{display} {name}")
    }
}

/// `sale.advance.payment.inv.create_invoices`: one draft invoice per order.
pub fn create_invoices(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let wiz = *ids
        .first()
        .ok_or_else(|| OdooError::value("Expected singleton: sale.advance.payment.inv()"))?;
    let orders = env.get_ids("sale.advance.payment.inv", wiz, "sale_order_ids");
    let mut last = 0;
    for o in orders {
        let lines: Vec<(i64, f64)> = env
            .get_ids("sale.order", o, "order_line")
            .into_iter()
            .map(|l| (l, env.get_f64("sale.order.line", l, "qty_to_invoice")))
            .filter(|(_, q)| *q > 0.0)
            .collect();
        if lines.is_empty() {
            return Err(OdooError::user(
                "There is no invoiceable line. If a product has a Delivered quantities invoicing policy, please make sure that a quantity has been delivered.",
            ));
        }
        let partner = env
            .get_id("sale.order", o, "partner_invoice_id")
            .unwrap_or(0);
        let t = today(env);
        let inv = env.create_rec(
            AM,
            json!({
                "move_type": "out_invoice", "partner_id": partner,
                "partner_shipping_id": env.get_id("sale.order", o, "partner_shipping_id").unwrap_or(partner),
                "invoice_origin": env.get_str("sale.order", o, "name"),
                "ref": env.get("sale.order", o, "client_order_ref").as_str().map_or(json!(false), |s| json!(s)),
                "journal_id": env.find_one("account.journal", json!([["type", "=", "sale"]])).unwrap_or(1),
                "currency_id": env.get_id("sale.order", o, "currency_id").unwrap_or(1),
                "invoice_user_id": env.get_id("sale.order", o, "user_id").unwrap_or(env.uid),
                "team_id": env.get_id("sale.order", o, "team_id").map_or(json!(false), |x| json!(x)),
                "date": t, "invoice_date_due": t, "state": "draft", "payment_state": "not_paid",
            }),
        )?;
        let (mut untaxed, mut tax) = (0.0, 0.0);
        let income = account(env, "400000");
        for (l, qty) in &lines {
            let price = env.get_f64("sale.order.line", *l, "price_unit");
            let taxes = env.get_ids("sale.order.line", *l, "tax_ids");
            let pct: f64 = taxes
                .iter()
                .map(|&t| env.get_f64("account.tax", t, "amount"))
                .sum();
            let sub = round_to(qty * price, 2);
            let t = round_to(sub * pct / 100.0, 2);
            untaxed += sub;
            tax += t;
            env.create_rec(
                AML,
                json!({"move_id": inv, "display_type": "product", "name": label(env, *l),
                       "product_id": env.get_id("sale.order.line", *l, "product_id"), "quantity": qty,
                       "price_unit": price, "price_subtotal": sub, "price_total": round_to(sub + t, 2),
                       "tax_ids": [[6, 0, taxes]], "account_id": income, "sale_line_ids": [[6, 0, [l]]],
                       "product_uom_id": env.get_id("sale.order.line", *l, "product_uom_id").unwrap_or(1),
                       "balance": -sub, "credit": sub, "partner_id": partner}),
            )?;
        }
        let tax = round_to(tax, 2);
        let total = round_to(untaxed + tax, 2);
        env.create_rec(
            AML,
            json!({"move_id": inv, "display_type": "tax", "name": "15%", "account_id": account(env, "251000"),
                   "balance": -tax, "credit": tax, "partner_id": partner}),
        )?;
        env.create_rec(
            AML,
            json!({"move_id": inv, "display_type": "payment_term", "name": false, "account_id": account(env, "121000"),
                   "balance": total, "debit": total, "amount_residual": total, "partner_id": partner}),
        )?;
        env.set_fields(
            AM,
            inv,
            &[
                ("amount_untaxed", json!(round_to(untaxed, 2))),
                ("amount_tax", json!(tax)),
                ("amount_total", json!(total)),
                ("amount_residual", json!(total)),
            ],
        )?;
        last = inv;
    }
    let partner = env.get_id(AM, last, "partner_id").unwrap_or(0);
    Ok(json!({
        "id": 261, "display_name": "Invoices", "name": "Invoices", "type": "ir.actions.act_window",
        "xml_id": "account.action_move_out_invoice_type", "path": "invoicing",
        "help": "<p class=\"o_view_nocontent_smiling_face\">\n                Create a customer invoice\n              </p><p>\n                Create invoices, register payments and keep track of the discussions with your customers.\n              </p>\n            ",
        "binding_model_id": false, "binding_type": "action", "binding_view_types": "list,form",
        "view_id": [737, "account.out.invoice.list"],
        "domain": "[('move_type', 'in', ['out_invoice', 'out_refund', 'out_receipt'])]",
        "context": {"default_move_type": "out_invoice", "default_partner_id": partner,
                    "default_partner_shipping_id": env.get_id(AM, last, "partner_shipping_id").unwrap_or(partner),
                    "default_invoice_payment_term_id": null,
                    "default_invoice_origin": env.get_str(AM, last, "invoice_origin")},
        "res_id": last, "res_model": AM, "target": "current", "view_mode": "list,kanban,form,activity",
        "mobile_view_mode": "kanban", "views": [[743, "form"], [737, "list"], [false, "kanban"], [false, "activity"]],
        "limit": 80, "group_ids": [], "search_view_id": [746, "account.invoice.select"],
        "embedded_action_ids": [], "filter": false, "cache": true,
    }))
}

/// `action_post`: numbered `INV/2026/000NN`, dated today; returns False.
pub fn action_post(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &m in ids {
        if !env.exists(env.m(AM), m) {
            return Err(OdooError::missing(AM, &[m], env.uid));
        }
        if env.get_str(AM, m, "state").as_deref() == Some("posted") {
            return Err(OdooError::user("The entry is already posted."));
        }
        let journal = env.get_id(AM, m, "journal_id").unwrap_or(1);
        let mut code = env
            .get_str("account.journal", journal, "code")
            .unwrap_or_else(|| "INV".into());
        let y = year(env);
        let mut seq = format!("journal:{journal}:{y}");
        // Credit notes have their own sequence (`refund_sequence`): RINV/2026/00001.
        if env.get_str(AM, m, "move_type").as_deref() == Some("out_refund") {
            code = format!("R{code}");
            seq = format!("journal:{journal}:refund:{y}");
        }
        let name = match env
            .get_str(AM, m, "name")
            .filter(|n| !n.is_empty() && n != "/")
        {
            Some(n) => n,
            None => format!("{code}/{y}/{:05}", env.db.next_seq(&seq)),
        };
        let t = today(env);
        let invoice_date = env.get_str(AM, m, "invoice_date").unwrap_or(t.clone());
        let is_invoice = env
            .get_str(AM, m, "move_type")
            .is_some_and(|t| t != "entry");
        let mut vals = vec![("name", json!(name)), ("state", json!("posted"))];
        if is_invoice {
            vals.push(("invoice_date", json!(invoice_date)));
            vals.push(("payment_reference", json!(name)));
        }
        env.set_fields(AM, m, &vals)?;
    }
    Ok(Value::Bool(false))
}

pub fn button_draft(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &m in ids {
        env.set_fields(AM, m, &[("state", json!("draft"))])?;
    }
    Ok(Value::Bool(false))
}

/// `account.payment.register.action_create_payments`: a paid payment reconciled with the invoices.
pub fn action_create_payments(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let wiz = *ids
        .first()
        .ok_or_else(|| OdooError::value("Expected singleton: account.payment.register()"))?;
    let journal = env
        .get_id("account.payment.register", wiz, "journal_id")
        .unwrap_or(0);
    let code = env
        .get_str("account.journal", journal, "code")
        .unwrap_or_else(|| "BNK1".into());
    let y = year(env);
    let n = env.db.next_seq(&format!("payment:{journal}:{y}"));
    let name = format!("P{code}/{y}/{n:05}");
    let amount = env.get_f64("account.payment.register", wiz, "amount");
    let memo = env
        .get_str("account.payment.register", wiz, "communication")
        .unwrap_or_default();
    let lines = env.get_ids("account.payment.register", wiz, "line_ids");
    let mut invoices: Vec<i64> = lines
        .iter()
        .filter_map(|&l| env.get_id(AML, l, "move_id"))
        .collect();
    invoices.dedup();
    let partner = env
        .get_id("account.payment.register", wiz, "partner_id")
        .unwrap_or(0);
    let date = env
        .get_str("account.payment.register", wiz, "payment_date")
        .unwrap_or_else(|| today(env));
    let mv = env.create_rec(
        AM,
        json!({"move_type": "entry", "journal_id": journal, "name": name, "ref": memo, "state": "posted",
               "date": date, "partner_id": partner, "amount_total": amount}),
    )?;
    let pay = env.create_rec(
        "account.payment",
        json!({"name": name, "state": "paid", "amount": amount, "currency_id": 1,
               "payment_type": env.get_str("account.payment.register", wiz, "payment_type").unwrap_or_else(|| "inbound".into()),
               "partner_type": env.get_str("account.payment.register", wiz, "partner_type").unwrap_or_else(|| "customer".into()),
               "partner_id": partner, "journal_id": journal, "date": date, "memo": memo, "move_id": mv,
               "is_reconciled": true, "is_matched": false, "reconciled_invoice_ids": [[6, 0, invoices.clone()]],
               "payment_method_line_id": env.get_id("account.payment.register", wiz, "payment_method_line_id").map_or(json!(false), |x| json!(x)),
               "outstanding_account_id": account(env, "101403")}),
    )?;
    for inv in invoices {
        env.set_fields(
            AM,
            inv,
            &[
                ("payment_state", json!("paid")),
                ("amount_residual", json!(0.0)),
            ],
        )?;
    }
    Ok(
        json!({"name": "Payments", "type": "ir.actions.act_window", "res_model": "account.payment",
              "context": {"create": false}, "view_mode": "form", "res_id": pay}),
    )
}
