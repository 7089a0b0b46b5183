//! Credit notes (`account`, `sale`): the `account.move.reversal` wizard and editing a draft
//! credit note's lines before posting it.
//!
//! As in Odoo 19 (`addons/account/wizard/account_move_reversal.py`): the wizard is created
//! with the context `active_model = 'account.move'`, `active_ids = [invoice]` (posted moves
//! only: "You can only reverse posted moves."), optionally a `reason`; `reverse_moves`
//! (`refund_moves` in 17+) makes a **draft** `out_refund` per invoice with `ref = "Reversal
//! of: <name>, <reason>"`, `reversed_entry_id` = the invoice, and the invoice's lines copied
//! with their `sale_line_ids` (sale's `_copy_data_extend_business_fields`), so the sale
//! order's invoiced quantities count the credit note. A person (or the daemon) then adjusts
//! the lines through `invoice_line_ids` commands — (1, id, {quantity}) and (2, id) — and
//! posts it. Totals, the tax line and the receivable line follow every edit.

use super::today;
use crate::convert::round_to;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use serde_json::{Map, Value, json};

const AM: &str = "account.move";
const AML: &str = "account.move.line";
const WIZ: &str = "account.move.reversal";

fn account(env: &Env, code: &str) -> i64 {
    env.find_one("account.account", json!([["code", "=", code]]))
        .unwrap_or(0)
}

/// `account.move.reversal.create`: the moves come from the context, which must be posted.
pub fn prepare_wizard(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    if !vals.contains_key("move_ids")
        && env.ctx.get("active_model").and_then(Value::as_str) == Some(AM)
    {
        let ids = env
            .ctx
            .get("active_ids")
            .and_then(crate::convert::ids_of)
            .unwrap_or_default();
        vals.insert("move_ids".into(), json!([[6, 0, ids]]));
    }
    let moves: Vec<i64> = vals
        .get("move_ids")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|c| c.get(2))
        .and_then(crate::convert::ids_of)
        .unwrap_or_default();
    for &m in &moves {
        if !env.exists(env.m(AM), m) {
            return Err(OdooError::missing(AM, &[m], env.uid));
        }
        if env.get_str(AM, m, "state").as_deref() != Some("posted") {
            return Err(OdooError::user("You can only reverse posted moves."));
        }
    }
    vals.entry("date_mode").or_insert(json!("custom"));
    vals.entry("date").or_insert_with(|| json!(today(env)));
    vals.entry("company_id").or_insert(json!(1));
    if let Some(&m) = moves.first() {
        let cur = env.get_id(AM, m, "currency_id").unwrap_or(1);
        vals.entry("currency_id").or_insert(json!(cur));
        let mt = env.get_str(AM, m, "move_type").unwrap_or_default();
        vals.entry("move_type").or_insert(json!(mt));
        vals.entry("residual")
            .or_insert(json!(env.get_f64(AM, m, "amount_residual")));
    }
    Ok(())
}

/// `reverse_moves` / `refund_moves`: one draft credit note per move; the act_window of Odoo.
pub fn reverse_moves(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let Some(&wiz) = ids.first() else {
        return Err(OdooError::value(
            "Expected singleton: account.move.reversal()",
        ));
    };
    if !env.exists(env.m(WIZ), wiz) {
        return Err(OdooError::missing(WIZ, &[wiz], env.uid));
    }
    let reason = env.get_str(WIZ, wiz, "reason").filter(|r| !r.is_empty());
    let date = env.get_str(WIZ, wiz, "date").unwrap_or_else(|| today(env));
    let mut created = Vec::new();
    for inv in env.get_ids(WIZ, wiz, "move_ids") {
        let name = env.get_str(AM, inv, "name").unwrap_or_default();
        let rtype = match env.get_str(AM, inv, "move_type").as_deref() {
            Some("out_invoice") => "out_refund",
            Some("in_invoice") => "in_refund",
            Some("out_refund") => "out_invoice",
            Some("in_refund") => "in_invoice",
            _ => "entry",
        };
        let reference = match &reason {
            Some(r) => format!("Reversal of: {name}, {r}"),
            None => format!("Reversal of: {name}"),
        };
        let mut vals = json!({
            "move_type": rtype, "ref": reference, "reversed_entry_id": inv, "date": date,
            "invoice_date": date, "state": "draft", "payment_state": "not_paid",
        });
        for f in [
            "partner_id",
            "partner_shipping_id",
            "journal_id",
            "currency_id",
            "invoice_user_id",
            "team_id",
            "fiscal_position_id",
        ] {
            if let Some(v) = env.get_id(AM, inv, f) {
                vals[f] = json!(v);
            }
        }
        if let Some(o) = env.get_str(AM, inv, "invoice_origin") {
            vals["invoice_origin"] = json!(o);
        }
        let refund = env.create_rec(AM, vals)?;
        let partner = env.get_id(AM, inv, "partner_id");
        for l in env.find(
            AML,
            json!([["move_id", "=", inv], ["display_type", "=", "product"]]),
        ) {
            let mut lv = json!({"move_id": refund, "display_type": "product"});
            for f in ["product_id", "account_id", "product_uom_id"] {
                if let Some(v) = env.get_id(AML, l, f) {
                    lv[f] = json!(v);
                }
            }
            for f in ["quantity", "price_unit"] {
                lv[f] = json!(env.get_f64(AML, l, f));
            }
            if let Some(n) = env.get_str(AML, l, "name") {
                lv["name"] = json!(n);
            }
            lv["tax_ids"] = json!([[6, 0, env.get_ids(AML, l, "tax_ids")]]);
            lv["sale_line_ids"] = json!([[6, 0, env.get_ids(AML, l, "sale_line_ids")]]);
            if let Some(p) = partner {
                lv["partner_id"] = json!(p);
            }
            env.create_rec(AML, lv)?;
        }
        recompute(env, refund)?;
        created.push(refund);
    }
    env.set_fields(WIZ, wiz, &[("new_move_ids", json!(created.clone()))])?;
    let mut action =
        json!({"name": "Reverse Moves", "type": "ir.actions.act_window", "res_model": AM});
    if let [one] = created[..] {
        action["view_mode"] = json!("form");
        action["res_id"] = json!(one);
        action["context"] = json!({"default_move_type": env.get_str(AM, one, "move_type")});
    } else {
        action["view_mode"] = json!("list,form");
        action["domain"] = json!([["id", "in", created]]);
    }
    Ok(action)
}

/// Lines of a draft invoice or credit note edited through `invoice_line_ids` (a computed
/// field for the generic ORM): apply the commands here, then recompute the totals.
pub fn before_write_move(env: &mut Env, ids: &[i64], vals: &mut Map<String, Value>) -> OResult<()> {
    let Some(cmds) = vals.remove("invoice_line_ids") else {
        return Ok(());
    };
    let Some(cmds) = cmds.as_array().cloned() else {
        return Err(OdooError::value(
            "invoice_line_ids expects a list of commands",
        ));
    };
    for &m in ids {
        if env.get_str(AM, m, "state").as_deref() == Some("posted") {
            return Err(OdooError::user(
                "You cannot modify a posted entry of this journal.",
            ));
        }
        for c in &cmds {
            let op = c.get(0).and_then(Value::as_i64).unwrap_or(-1);
            let line = c.get(1).and_then(Value::as_i64).unwrap_or(0);
            match op {
                0 => {
                    let mut lv = c.get(2).cloned().unwrap_or(json!({}));
                    lv["move_id"] = json!(m);
                    lv["display_type"] = json!("product");
                    env.create_rec(AML, lv)?;
                }
                1 => {
                    check_line(env, m, line)?;
                    env.write_rec(AML, &[line], c.get(2).cloned().unwrap_or(json!({})))?;
                }
                2 | 3 => {
                    check_line(env, m, line)?;
                    let mm = env.m(AML);
                    env.unlink(mm, &[line])?;
                }
                _ => {
                    return Err(OdooError::value(format!(
                        "unsupported invoice_line_ids command {c}"
                    )));
                }
            }
        }
        recompute(env, m)?;
    }
    Ok(())
}

fn check_line(env: &Env, m: i64, line: i64) -> OResult<()> {
    if env.get_id(AML, line, "move_id") == Some(m) {
        Ok(())
    } else {
        Err(OdooError::missing(AML, &[line], env.uid))
    }
}

/// Product lines → subtotal, one tax line, one receivable line, and the move's amounts.
/// Signs follow the move type: an invoice credits income, a credit note debits it.
pub fn recompute(env: &mut Env, m: i64) -> OResult<()> {
    let refund = matches!(
        env.get_str(AM, m, "move_type").as_deref(),
        Some("out_refund" | "in_invoice")
    );
    let sign = if refund { 1.0 } else { -1.0 };
    let partner = env.get_id(AM, m, "partner_id");
    let (mut untaxed, mut tax) = (0.0, 0.0);
    for l in env.find(
        AML,
        json!([["move_id", "=", m], ["display_type", "=", "product"]]),
    ) {
        let qty = env.get_f64(AML, l, "quantity");
        let price = env.get_f64(AML, l, "price_unit");
        let pct: f64 = env
            .get_ids(AML, l, "tax_ids")
            .iter()
            .map(|&t| env.get_f64("account.tax", t, "amount"))
            .sum();
        let sub = round_to(qty * price, 2);
        let t = round_to(sub * pct / 100.0, 2);
        untaxed += sub;
        tax += t;
        let bal = sign * sub;
        env.set_fields(
            AML,
            l,
            &[
                ("price_subtotal", json!(sub)),
                ("price_total", json!(round_to(sub + t, 2))),
                ("balance", json!(bal)),
                ("debit", json!(bal.max(0.0))),
                ("credit", json!((-bal).max(0.0))),
            ],
        )?;
    }
    let untaxed = round_to(untaxed, 2);
    let tax = round_to(tax, 2);
    let total = round_to(untaxed + tax, 2);
    for (kind, code, bal) in [
        ("tax", "251000", sign * tax),
        ("payment_term", "121000", -sign * total),
    ] {
        let existing = env.find_one(
            AML,
            json!([["move_id", "=", m], ["display_type", "=", kind]]),
        );
        let mut v = json!({"balance": bal, "debit": bal.max(0.0), "credit": (-bal).max(0.0)});
        if kind == "payment_term" {
            v["amount_residual"] = json!(bal);
        }
        match existing {
            Some(l) => env.write_rec(AML, &[l], v)?,
            None => {
                v["move_id"] = json!(m);
                v["display_type"] = json!(kind);
                v["account_id"] = json!(account(env, code));
                v["name"] = if kind == "tax" {
                    json!("15%")
                } else {
                    json!(false)
                };
                if let Some(p) = partner {
                    v["partner_id"] = json!(p);
                }
                env.create_rec(AML, v)?;
            }
        }
    }
    env.set_fields(
        AM,
        m,
        &[
            ("amount_untaxed", json!(untaxed)),
            ("amount_tax", json!(tax)),
            ("amount_total", json!(total)),
            ("amount_residual", json!(total)),
        ],
    )
}
