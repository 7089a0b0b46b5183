//! Backorders (`stock`): what a partly shipped delivery leaves to ship later.
//!
//! Odoo 19's `button_validate` splits every move whose done quantity is below its demand:
//! the remainder becomes a **backorder** (a new picking with `backorder_id` = the validated
//! one, confirmed and reserved again) unless the picking is listed in the context's
//! `picking_ids_not_to_backorder` (or `cancel_backorder` is set, or the operation type says
//! `create_backorder = 'never'`), in which case the remainder is cancelled. Without
//! `skip_backorder` the caller first gets the `stock.backorder.confirmation` wizard, whose
//! `process` validates with backorders and `process_cancel_backorder` without.
//!
//! The daemon never validates pickings; warehouse people do, and the end-to-end tests play
//! them. This module exists so that a partial shipment followed by its backorder can be
//! replayed against the sandbox exactly as against Odoo.

use super::stock::{picking_action_assign, picking_moves, recompute_picking_state};
use crate::convert::round_to;
use crate::env::Env;
use crate::error::{OResult, OdooError};
use serde_json::{Map, Value, json};

const PICK: &str = "stock.picking";
const MOVE: &str = "stock.move";
const WIZ: &str = "stock.backorder.confirmation";

/// Whether `pk`'s remainder becomes a backorder (true) or is cancelled (false) on validation.
pub fn wants_backorder(env: &Env, pk: i64, not_to_backorder: &[i64]) -> bool {
    let policy = env
        .get_id(PICK, pk, "picking_type_id")
        .and_then(|t| env.get_str("stock.picking.type", t, "create_backorder"))
        .unwrap_or_else(|| "ask".into());
    match policy.as_str() {
        "always" => true,
        "never" => false,
        _ => !env.ctx_bool("cancel_backorder") && !not_to_backorder.contains(&pk),
    }
}

/// Move what `pk` will not ship now into a new backorder picking (before `pk` is validated).
/// Returns the backorder's id, or `None` when nothing is left over.
pub fn create_backorder(env: &mut Env, pk: i64) -> OResult<Option<i64>> {
    let mut leftovers: Vec<(i64, f64, bool)> = Vec::new();
    for mv in picking_moves(env, pk) {
        let st = env.get_str(MOVE, mv, "state").unwrap_or_default();
        if matches!(st.as_str(), "done" | "cancel") {
            continue;
        }
        let picked = env.get_bool(MOVE, mv, "picked");
        let qty = env.get_f64(MOVE, mv, "quantity");
        let demand = env.get_f64(MOVE, mv, "product_uom_qty");
        if !picked || qty <= 0.0 {
            // Nothing of it ships now: the whole move goes to the backorder.
            leftovers.push((mv, demand, true));
        } else if qty + 1e-9 < demand {
            leftovers.push((mv, round_to(demand - qty, 6), false));
        }
    }
    if leftovers.is_empty() {
        return Ok(None);
    }
    let mut vals = Map::new();
    for f in [
        "picking_type_id",
        "location_id",
        "location_dest_id",
        "partner_id",
        "sale_id",
        "company_id",
        "carrier_id",
        "user_id",
    ] {
        if let Some(v) = env.get_id(PICK, pk, f) {
            vals.insert(f.into(), json!(v));
        }
    }
    for f in ["origin", "move_type", "priority"] {
        if let Some(v) = env.get_str(PICK, pk, f) {
            vals.insert(f.into(), json!(v));
        }
    }
    vals.insert("backorder_id".into(), json!(pk));
    vals.insert("state".into(), json!("draft"));
    let bo = env.create_rec(PICK, Value::Object(vals))?;
    let bo_name = env.get_str(PICK, bo, "name").unwrap_or_default();
    for (mv, rest, whole) in leftovers {
        if whole {
            super::stock::unreserve_move(env, mv)?;
            env.set_fields(
                MOVE,
                mv,
                &[
                    ("picking_id", json!(bo)),
                    ("reference", json!(bo_name)),
                    ("state", json!("confirmed")),
                ],
            )?;
            continue;
        }
        let mut split = Map::new();
        for f in [
            "product_id",
            "product_uom",
            "location_id",
            "location_dest_id",
            "sale_line_id",
            "picking_type_id",
            "partner_id",
            "warehouse_id",
            "company_id",
        ] {
            if let Some(v) = env.get_id(MOVE, mv, f) {
                split.insert(f.into(), json!(v));
            }
        }
        if let Some(o) = env.get_str(MOVE, mv, "origin") {
            split.insert("origin".into(), json!(o));
        }
        split.insert("picking_id".into(), json!(bo));
        split.insert("reference".into(), json!(bo_name));
        split.insert("product_uom_qty".into(), json!(rest));
        split.insert("state".into(), json!("confirmed"));
        split.insert("procure_method".into(), json!("make_to_stock"));
        env.create_rec(MOVE, Value::Object(split))?;
        let done = round_to(env.get_f64(MOVE, mv, "product_uom_qty") - rest, 6);
        env.set_fields(MOVE, mv, &[("product_uom_qty", json!(done))])?;
    }
    recompute_picking_state(env, bo)?;
    Ok(Some(bo))
}

/// After the original picking is done: reserve the backorder and say so in the chatter.
pub fn after_validation(env: &mut Env, pk: i64, bo: i64) -> OResult<()> {
    picking_action_assign(env, &[bo])?;
    let name = env.get_str(PICK, bo, "name").unwrap_or_default();
    super::mail::notify(
        env,
        PICK,
        pk,
        &format!("<p>The backorder {name} has been created.</p>"),
        "mail.mt_note",
        None,
    )?;
    Ok(())
}

fn wizard_pickings(env: &Env, wiz: i64) -> Vec<i64> {
    let from_ctx = env
        .ctx
        .get("button_validate_picking_ids")
        .and_then(crate::convert::ids_of)
        .unwrap_or_default();
    if from_ctx.is_empty() {
        env.get_ids(WIZ, wiz, "pick_ids")
    } else {
        from_ctx
    }
}

/// `stock.backorder.confirmation.process` (`cancel = false`) and `process_cancel_backorder`.
pub fn process(env: &mut Env, ids: &[i64], cancel: bool) -> OResult<Value> {
    let Some(&wiz) = ids.first() else {
        return Err(OdooError::value(
            "Expected singleton: stock.backorder.confirmation()",
        ));
    };
    if !env.exists(env.m(WIZ), wiz) {
        return Err(OdooError::missing(WIZ, &[wiz], env.uid));
    }
    let picks = wizard_pickings(env, wiz);
    let not_to_backorder = if cancel { picks.clone() } else { Vec::new() };
    env.with_ctx(
        &[
            ("skip_backorder", json!(true)),
            ("picking_ids_not_to_backorder", json!(not_to_backorder)),
        ],
        |env| super::stock::button_validate(env, &picks),
    )
}
