//! Changing the quantity of a confirmed sale line (`sale_stock`): the delivery follows.
//!
//! Odoo 19 (`sale_order_line._action_launch_stock_rule`) compares the new quantity with what
//! is already procured — outgoing moves not cancelled, less returns that are `to_refund` — and
//! launches a procurement for the difference. A positive difference adds demand to the open
//! delivery; a negative one becomes a negative move merged into the open delivery's move, which
//! lowers its demand (and the reservation with it); a line brought down to nothing left to ship
//! has its open move cancelled. This is what a marketplace's partial cancellation relies on.
//!
//! Not modelled: a decrease below what was already shipped (Odoo turns the remainder of the
//! negative procurement into a return receipt; the daemon never asks for that).

use super::stock::{recompute_picking_state, reserve_move, unreserve_move};
use crate::compute::uom_convert;
use crate::convert::round_to;
use crate::env::Env;
use crate::error::OResult;
use serde_json::json;

const SOL: &str = "sale.order.line";
const MOVE: &str = "stock.move";

/// Procured quantity of a line, in the product's unit.
fn procured(env: &Env, line: i64) -> f64 {
    let mut q = 0.0;
    for mv in env.find(
        MOVE,
        json!([["sale_line_id", "=", line], ["state", "!=", "cancel"]]),
    ) {
        let qty = env.get_f64(MOVE, mv, "product_uom_qty");
        let src = env.get_id(MOVE, mv, "location_id").unwrap_or(0);
        let dst = env.get_id(MOVE, mv, "location_dest_id").unwrap_or(0);
        let usage = |l: i64| {
            env.get_str("stock.location", l, "usage")
                .unwrap_or_default()
        };
        if usage(dst) == "customer" && usage(src) != "customer" {
            q += qty;
        } else if usage(src) == "customer" && env.get_bool(MOVE, mv, "to_refund") {
            q -= qty;
        }
    }
    q
}

/// After `product_uom_qty` was written on confirmed lines.
pub fn after_quantity_write(env: &mut Env, ids: &[i64]) -> OResult<()> {
    for &line in ids {
        let order = env.get_id(SOL, line, "order_id").unwrap_or(0);
        if env.get_str("sale.order", order, "state").as_deref() != Some("sale") {
            continue;
        }
        let Some(product) = env.get_id(SOL, line, "product_id") else {
            continue;
        };
        if !env.get_bool("product.product", product, "is_storable") {
            continue;
        }
        let uom = env.get_id(SOL, line, "product_uom_id").unwrap_or(1);
        let puom = env
            .get_id("product.product", product, "uom_id")
            .unwrap_or(1);
        let wanted = uom_convert(env, env.get_f64(SOL, line, "product_uom_qty"), uom, puom);
        let delta = round_to(wanted - procured(env, line), 6);
        if delta.abs() < 1e-9 {
            continue;
        }
        // The open outgoing moves of the line, newest first.
        let mut open: Vec<i64> = env
            .find(
                MOVE,
                json!([
                    ["sale_line_id", "=", line],
                    ["state", "not in", ["done", "cancel"]],
                    ["location_dest_id.usage", "=", "customer"]
                ]),
            )
            .into_iter()
            .collect();
        open.sort_unstable_by(|a, b| b.cmp(a));
        if delta > 0.0 {
            if let Some(&mv) = open.first() {
                let d = round_to(env.get_f64(MOVE, mv, "product_uom_qty") + delta, 6);
                env.set_fields(MOVE, mv, &[("product_uom_qty", json!(d))])?;
                reserve_move(env, mv)?;
                if let Some(pk) = env.get_id(MOVE, mv, "picking_id") {
                    recompute_picking_state(env, pk)?;
                }
            }
            continue;
        }
        let mut left = -delta;
        for mv in open {
            if left <= 0.0 {
                break;
            }
            let demand = env.get_f64(MOVE, mv, "product_uom_qty");
            let take = demand.min(left);
            left = round_to(left - take, 6);
            unreserve_move(env, mv)?;
            let rest = round_to(demand - take, 6);
            if rest <= 0.0 {
                env.set_fields(
                    MOVE,
                    mv,
                    &[("product_uom_qty", json!(0.0)), ("state", json!("cancel"))],
                )?;
            } else {
                env.set_fields(MOVE, mv, &[("product_uom_qty", json!(rest))])?;
                reserve_move(env, mv)?;
            }
            if let Some(pk) = env.get_id(MOVE, mv, "picking_id") {
                recompute_picking_state(env, pk)?;
            }
        }
        super::sale::update_delivery_status(env, order)?;
    }
    Ok(())
}
