//! Scrap orders (`stock.scrap`): goods that cannot be sold again leave stock for the scrap
//! location, as Odoo 19's Scrap button on a receipt does.
//!
//! `create` fills the defaults (source = the warehouse's stock, destination = the company's
//! scrap location, the product's unit); `action_validate` checks the source holds the quantity
//! (otherwise Odoo answers the `stock.warn.insufficient.qty.scrap` wizard, reproduced as its
//! action) and then makes one done `stock.move` to the scrap location, named `SP/NNNNN`.

use super::now_str;
use crate::convert::round_to;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use serde_json::{Map, Value, json};

const SCRAP: &str = "stock.scrap";
const LOC: &str = "stock.location";

/// The company's scrap location: an inventory-usage location called Scrap.
pub fn scrap_location(env: &Env) -> Option<i64> {
    env.find_one(
        LOC,
        json!([["usage", "=", "inventory"], ["name", "=", "Scrap"]]),
    )
    .or_else(|| env.find_one(LOC, json!([["usage", "=", "inventory"]])))
}

pub fn prepare(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    let Some(product) = vals.get("product_id").and_then(Value::as_i64) else {
        return Ok(());
    };
    if !env.exists(env.m("product.product"), product) {
        return Err(OdooError::missing("product.product", &[product], env.uid));
    }
    if !vals.contains_key("product_uom_id") {
        let u = env
            .get_id("product.product", product, "uom_id")
            .unwrap_or(1);
        vals.insert("product_uom_id".into(), json!(u));
    }
    if !vals.contains_key("location_id") {
        let stock = env
            .find_one("stock.warehouse", json!([["company_id", "=", 1]]))
            .and_then(|w| env.get_id("stock.warehouse", w, "lot_stock_id"))
            .unwrap_or(5);
        vals.insert("location_id".into(), json!(stock));
    }
    if !vals.contains_key("scrap_location_id")
        && let Some(l) = scrap_location(env)
    {
        vals.insert("scrap_location_id".into(), json!(l));
    }
    vals.entry("name").or_insert(json!("New"));
    vals.entry("state").or_insert(json!("draft"));
    vals.entry("company_id").or_insert(json!(1));
    Ok(())
}

/// `action_validate`: `true` once scrapped, or the insufficient-quantity wizard's action.
pub fn action_validate(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &s in ids {
        if !env.exists(env.m(SCRAP), s) {
            return Err(OdooError::missing(SCRAP, &[s], env.uid));
        }
        if env.get_str(SCRAP, s, "state").as_deref() == Some("done") {
            continue;
        }
        let product = env.get_id(SCRAP, s, "product_id").unwrap_or(0);
        let src = env.get_id(SCRAP, s, "location_id").unwrap_or(0);
        let qty = env.get_f64(SCRAP, s, "scrap_qty");
        let Some(dst) = env
            .get_id(SCRAP, s, "scrap_location_id")
            .or_else(|| scrap_location(env))
        else {
            return Err(OdooError::user("There is no scrap location."));
        };
        let quants = env.find(
            "stock.quant",
            json!([
                ["product_id", "=", product],
                ["location_id", "child_of", src]
            ]),
        );
        let free: f64 = quants
            .iter()
            .map(|&q| {
                env.get_f64("stock.quant", q, "quantity")
                    - env.get_f64("stock.quant", q, "reserved_quantity")
            })
            .sum();
        if free + 1e-9 < qty {
            return Ok(json!({
                "name": format!("Insufficient Quantity"),
                "view_mode": "form", "res_model": "stock.warn.insufficient.qty.scrap",
                "type": "ir.actions.act_window", "target": "new",
                "context": {"default_product_id": product, "default_location_id": src,
                            "default_scrap_id": s, "default_quantity": qty},
            }));
        }
        let n = env.db.next_seq(SCRAP);
        let name = format!("SP/{n:05}");
        let uom = env
            .get_id("product.product", product, "uom_id")
            .unwrap_or(1);
        let now = now_str(env);
        let mv = env.create_rec(
            "stock.move",
            json!({
                "product_id": product, "product_uom": uom, "product_uom_qty": qty,
                "quantity": qty, "picked": true, "location_id": src, "location_dest_id": dst,
                "scrap_id": s, "reference": name, "origin": env.get_str(SCRAP, s, "origin"),
                "state": "done", "date": now, "company_id": 1,
            }),
        )?;
        env.create_rec(
            "stock.move.line",
            json!({"move_id": mv, "product_id": product, "product_uom_id": uom, "quantity": qty,
                   "location_id": src, "location_dest_id": dst, "picked": true, "reference": name,
                   "date": now, "company_id": 1, "state": "done"}),
        )?;
        super::stock::update_quant(env, product, src, -round_to(qty, 6), 0.0)?;
        super::stock::update_quant(env, product, dst, round_to(qty, 6), 0.0)?;
        env.set_fields(
            SCRAP,
            s,
            &[
                ("name", json!(name)),
                ("state", json!("done")),
                ("date_done", json!(now)),
            ],
        )?;
    }
    Ok(json!(true))
}
