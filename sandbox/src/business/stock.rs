//! Inventory (`stock`, `stock_sms`): warehouses, quants, inventory mode, reservation,
//! pickings, validation, returns.
//!
//! Quants exist in every location a move touches, virtual ones included (an inventory
//! adjustment leaves a negative quant in `Inventory adjustment`, a delivery a positive one in
//! `Customers`) — the quant ids in the scenarios only add up that way.

use super::{now_str, today};
use crate::convert::{round_to, truthy};
use crate::env::{Env, Prepared};
use crate::error::{OResult, OdooError};
use crate::store::Val;
use serde_json::{Map, Value, json};

const Q: &str = "stock.quant";
const MOVE: &str = "stock.move";
const PICK: &str = "stock.picking";
const LOC: &str = "stock.location";

fn user_name(env: &Env) -> String {
    let p = env.get_id("res.users", env.uid, "partner_id").unwrap_or(3);
    env.get_str("res.partner", p, "name")
        .unwrap_or_else(|| "Mitchell Admin".into())
}

fn is_internal(env: &Env, loc: i64) -> bool {
    matches!(
        env.get_str(LOC, loc, "usage").as_deref(),
        Some("internal" | "transit")
    )
}

/// Locations under `root` (itself included), internal only.
fn internal_children(env: &Env, root: i64) -> Vec<i64> {
    env.find(
        LOC,
        json!([
            ["id", "child_of", root],
            ["usage", "in", ["internal", "transit"]]
        ]),
    )
}

// ------------------------------------------------------------------ warehouses & locations

pub fn prepare_location(env: &mut Env, vals: &mut Map<String, Value>) {
    let name = vals
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let usage = vals
        .get("usage")
        .and_then(Value::as_str)
        .unwrap_or("internal")
        .to_owned();
    let complete = match vals.get("location_id").and_then(Value::as_i64) {
        Some(p) if usage != "view" => {
            let pc = env.get_str(LOC, p, "complete_name").unwrap_or_default();
            if pc.is_empty() {
                name
            } else {
                format!("{pc}/{name}")
            }
        }
        _ => name,
    };
    vals.insert("complete_name".into(), Value::String(complete));
    if !vals.contains_key("warehouse_id")
        && let Some(p) = vals.get("location_id").and_then(Value::as_i64)
        && let Some(w) = env.get_id(LOC, p, "warehouse_id")
    {
        vals.insert("warehouse_id".into(), json!(w));
    }
    vals.entry("company_id").or_insert(json!(1));
}

pub fn after_create_location(env: &mut Env, id: i64) -> OResult<()> {
    let parent = env.get_id(LOC, id, "location_id");
    let path = match parent.and_then(|p| env.get_str(LOC, p, "parent_path")) {
        Some(pp) => format!("{pp}{id}/"),
        None => format!("{id}/"),
    };
    env.set_fields(LOC, id, &[("parent_path", json!(path))])
}

/// `stock.warehouse.create`: the view and stock locations must exist before the row does
/// (they are required columns), so they are made first; the UNIQUE check then decides.
pub fn prepare_warehouse(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    let code = vals
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("WH")
        .to_owned();
    let company = vals.get("company_id").and_then(Value::as_i64).unwrap_or(1);
    vals.entry("company_id").or_insert(json!(company));
    if !vals.contains_key("view_location_id") {
        let view = env.create_rec(
            LOC,
            json!({"name": code, "usage": "view", "location_id": 1, "company_id": company}),
        )?;
        let stock = env.create_rec(LOC, json!({"name": "Stock", "usage": "internal", "location_id": view, "company_id": company}))?;
        let mut extra = Vec::new();
        for name in ["Input", "Quality Control", "Output", "Packing Zone"] {
            extra.push(env.create_rec(
                LOC,
                json!({"name": name, "usage": "internal", "location_id": view, "company_id": company, "active": false}),
            )?);
        }
        vals.insert("view_location_id".into(), json!(view));
        vals.insert("lot_stock_id".into(), json!(stock));
        vals.insert("wh_input_stock_loc_id".into(), json!(extra[0]));
        vals.insert("wh_qc_stock_loc_id".into(), json!(extra[1]));
        vals.insert("wh_output_stock_loc_id".into(), json!(extra[2]));
        vals.insert("wh_pack_stock_loc_id".into(), json!(extra[3]));
    }
    Ok(())
}

pub fn after_create_warehouse(env: &mut Env, wh: i64) -> OResult<()> {
    let view = env
        .get_id("stock.warehouse", wh, "view_location_id")
        .unwrap_or(0);
    let stock = env
        .get_id("stock.warehouse", wh, "lot_stock_id")
        .unwrap_or(0);
    let company = env.get_id("stock.warehouse", wh, "company_id").unwrap_or(1);
    // Every location under the view belongs to the warehouse.
    let locs = env.with_ctx(&[("active_test", json!(false))], |e| {
        e.find(LOC, json!([["id", "child_of", view]]))
    });
    for l in locs {
        env.set_fields(LOC, l, &[("warehouse_id", json!(wh))])?;
    }
    let customers = 2;
    let vendors = 1.max(
        env.find_one(LOC, json!([["usage", "=", "supplier"]]))
            .unwrap_or(1),
    );
    let types = [
        (
            "in_type_id",
            "Receipts",
            "incoming",
            "IN",
            vendors,
            stock,
            1,
        ),
        (
            "out_type_id",
            "Delivery Orders",
            "outgoing",
            "OUT",
            stock,
            customers,
            2,
        ),
        ("pick_type_id", "Pick", "internal", "PICK", stock, stock, 3),
        ("pack_type_id", "Pack", "internal", "PACK", stock, stock, 4),
        (
            "int_type_id",
            "Internal Transfers",
            "internal",
            "INT",
            stock,
            stock,
            5,
        ),
    ];
    let mut vals = Map::new();
    for (field, name, code, seq, src, dst, sequence) in types {
        let t = env.create_rec(
            "stock.picking.type",
            json!({
                "name": name, "code": code, "sequence_code": seq, "warehouse_id": wh,
                "default_location_src_id": src, "default_location_dest_id": dst,
                "company_id": company, "sequence": sequence,
                "active": !matches!(seq, "PICK" | "PACK"),
            }),
        )?;
        vals.insert(field.into(), json!(t));
    }
    let in_t = vals["in_type_id"].as_i64().unwrap_or(0);
    let out_t = vals["out_type_id"].as_i64().unwrap_or(0);
    env.set_fields(
        "stock.picking.type",
        out_t,
        &[("return_picking_type_id", json!(in_t))],
    )?;
    let pairs: Vec<(&str, Value)> = vals.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    env.set_fields("stock.warehouse", wh, &pairs)?;
    Ok(())
}

/// The next name of a picking of this operation type: `WH/OUT/00057`.
pub fn next_picking_name(env: &mut Env, picking_type: i64) -> String {
    let seq_code = env
        .get_str("stock.picking.type", picking_type, "sequence_code")
        .unwrap_or_else(|| "TR".into());
    let wh = env.get_id("stock.picking.type", picking_type, "warehouse_id");
    let prefix = match wh {
        Some(w) => format!(
            "{}/{}/",
            env.get_str("stock.warehouse", w, "code")
                .unwrap_or_default(),
            seq_code
        ),
        None => format!("{seq_code}/"),
    };
    let n = env
        .db
        .next_seq(&format!("stock.picking.type:{picking_type}"));
    format!("{prefix}{n:05}")
}

pub fn prepare_picking(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    let pt = vals.get("picking_type_id").and_then(Value::as_i64);
    if let Some(pt) = pt {
        if !vals.contains_key("location_id")
            && let Some(l) = env.get_id("stock.picking.type", pt, "default_location_src_id")
        {
            vals.insert("location_id".into(), json!(l));
        }
        if !vals.contains_key("location_dest_id")
            && let Some(l) = env.get_id("stock.picking.type", pt, "default_location_dest_id")
        {
            vals.insert("location_dest_id".into(), json!(l));
        }
        if !vals.get("name").is_some_and(truthy) {
            let name = next_picking_name(env, pt);
            vals.insert("name".into(), json!(name));
        }
    }
    vals.entry("scheduled_date")
        .or_insert_with(|| json!(now_str(env)));
    vals.entry("user_id").or_insert(json!(env.uid));
    Ok(())
}

pub fn prepare_move(env: &mut Env, vals: &mut Map<String, Value>) {
    vals.entry("date").or_insert_with(|| json!(now_str(env)));
    if !vals.contains_key("product_uom")
        && let Some(p) = vals.get("product_id").and_then(Value::as_i64)
    {
        let u = env.get_id("product.product", p, "uom_id").unwrap_or(1);
        vals.insert("product_uom".into(), json!(u));
    }
    if let Some(pk) = vals.get("picking_id").and_then(Value::as_i64) {
        for f in [
            "location_id",
            "location_dest_id",
            "picking_type_id",
            "partner_id",
        ] {
            if !vals.contains_key(f)
                && let Some(v) = env.get_id(PICK, pk, f)
            {
                vals.insert(f.into(), json!(v));
            }
        }
        if !vals.contains_key("reference")
            && let Some(n) = env.get_str(PICK, pk, "name")
        {
            vals.insert("reference".into(), json!(n));
        }
    }
}

// -------------------------------------------------------------------------------- quants

/// Add `qty` (and `reserved`) to the quant of (product, location), creating it if needed.
pub fn update_quant(
    env: &mut Env,
    product: i64,
    location: i64,
    qty: f64,
    reserved: f64,
) -> OResult<i64> {
    let existing = env.find_one(
        Q,
        json!([
            ["product_id", "=", product],
            ["location_id", "=", location],
            ["lot_id", "=", false],
            ["package_id", "=", false],
            ["owner_id", "=", false]
        ]),
    );
    match existing {
        Some(q) => {
            let before = env.get_f64(Q, q, "quantity");
            let nq = round_to(before + qty, 6);
            let nr = round_to(
                (env.get_f64(Q, q, "reserved_quantity") + reserved).max(0.0),
                6,
            );
            let mut vals = vec![("quantity", json!(nq)), ("reserved_quantity", json!(nr))];
            if qty > 0.0 && before <= 0.0 {
                vals.push(("in_date", json!(now_str(env))));
            }
            env.set_fields(Q, q, &vals)?;
            Ok(q)
        }
        None => env.create_rec(
            Q,
            json!({"product_id": product, "location_id": location, "quantity": round_to(qty, 6),
                   "reserved_quantity": reserved.max(0.0), "in_date": now_str(env)}),
        ),
    }
}

/// `stock.quant.create` in inventory mode counts into an existing quant or a new one whose
/// `quantity` stays 0 until applied.
pub fn prepare_quant(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<Prepared> {
    vals.entry("in_date").or_insert_with(|| json!(now_str(env)));
    let inventory_mode = env.ctx_bool("inventory_mode");
    if inventory_mode && vals.contains_key("inventory_quantity") {
        let product = vals.get("product_id").and_then(Value::as_i64).unwrap_or(0);
        let location = vals.get("location_id").and_then(Value::as_i64).unwrap_or(0);
        let counted = vals.get("inventory_quantity").cloned().unwrap_or(json!(0));
        let existing = env.find_one(
            Q,
            json!([
                ["product_id", "=", product],
                ["location_id", "=", location],
                [
                    "lot_id",
                    "=",
                    vals.get("lot_id").cloned().unwrap_or(json!(false))
                ],
                ["package_id", "=", false],
                ["owner_id", "=", false]
            ]),
        );
        let today = today(env);
        if let Some(q) = existing {
            env.set_fields(
                Q,
                q,
                &[
                    ("inventory_quantity", counted),
                    ("inventory_quantity_set", json!(true)),
                    ("user_id", json!(env.uid)),
                    ("inventory_date", json!(today)),
                ],
            )?;
            return Ok(Prepared::Existing(q));
        }
        vals.insert("inventory_quantity_set".into(), json!(true));
        vals.insert("user_id".into(), json!(env.uid));
        vals.insert("inventory_date".into(), json!(today));
        vals.remove("quantity");
    }
    Ok(Prepared::Create)
}

/// The inventory-loss location of the company (`Inventory adjustment`).
fn inventory_location(env: &Env) -> i64 {
    env.find_one(
        LOC,
        json!([
            ["usage", "=", "inventory"],
            ["name", "=", "Inventory adjustment"]
        ]),
    )
    .or_else(|| env.find_one(LOC, json!([["usage", "=", "inventory"]])))
    .unwrap_or(13)
}

/// `action_apply_inventory`: done moves from/to `Inventory adjustment`; returns None.
pub fn action_apply_inventory(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(env.m(Q), i))
        .collect();
    if !missing.is_empty() {
        return Err(OdooError::missing(Q, &missing, env.uid));
    }
    let inv_loc = inventory_location(env);
    let reference = format!("Product Quantity Updated ({})", user_name(env));
    for &q in ids {
        if !env.get_bool(Q, q, "inventory_quantity_set") {
            continue;
        }
        let counted = env.get_f64(Q, q, "inventory_quantity");
        let current = env.get_f64(Q, q, "quantity");
        let diff = round_to(counted - current, 6);
        let product = env.get_id(Q, q, "product_id").unwrap_or(0);
        let location = env.get_id(Q, q, "location_id").unwrap_or(0);
        if diff != 0.0 {
            let (src, dst) = if diff > 0.0 {
                (inv_loc, location)
            } else {
                (location, inv_loc)
            };
            let uom = env
                .get_id("product.product", product, "uom_id")
                .unwrap_or(1);
            let mv = env.create_rec(
                MOVE,
                json!({
                    "product_id": product, "product_uom": uom, "product_uom_qty": diff.abs(),
                    "quantity": diff.abs(), "location_id": src, "location_dest_id": dst,
                    "is_inventory": true, "picked": true, "reference": reference,
                    "inventory_name": reference, "state": "draft", "company_id": 1,
                }),
            )?;
            env.create_rec(
                "stock.move.line",
                json!({"move_id": mv, "product_id": product, "product_uom_id": uom, "quantity": diff.abs(),
                       "location_id": src, "location_dest_id": dst, "picked": true, "reference": reference,
                       "date": now_str(env), "company_id": 1, "is_inventory": true}),
            )?;
            update_quant(env, product, src, -diff.abs(), 0.0)?;
            update_quant(env, product, dst, diff.abs(), 0.0)?;
            env.set_fields(
                MOVE,
                mv,
                &[("state", json!("done")), ("date", json!(now_str(env)))],
            )?;
            let mls = env.get_ids(MOVE, mv, "move_line_ids");
            for ml in mls {
                env.set_fields("stock.move.line", ml, &[("state", json!("done"))])?;
            }
        }
        let today = today(env);
        env.set_fields(
            Q,
            q,
            &[
                ("inventory_quantity", json!(0.0)),
                ("inventory_quantity_set", json!(false)),
                ("last_count_date", json!(today)),
                ("user_id", json!(false)),
            ],
        )?;
    }
    Ok(Value::Null)
}

pub fn set_inventory_to_zero(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &q in ids {
        env.set_fields(
            Q,
            q,
            &[
                ("inventory_quantity", json!(0.0)),
                ("inventory_quantity_set", json!(false)),
            ],
        )?;
    }
    Ok(Value::Null)
}

// ---------------------------------------------------------------------------- reservation

/// Quantity of a move expressed in the product's unit.
fn move_factor(env: &Env, mv: i64) -> f64 {
    let uom = env.get_id(MOVE, mv, "product_uom").unwrap_or(1);
    let p = env.get_id(MOVE, mv, "product_id").unwrap_or(0);
    let puom = env.get_id("product.product", p, "uom_id").unwrap_or(1);
    crate::compute::uom_convert(env, 1.0, uom, puom)
}

fn reserved_of(env: &Env, mv: i64) -> f64 {
    env.get_ids(MOVE, mv, "move_line_ids")
        .iter()
        .filter(|&&ml| env.get_id("stock.move.line", ml, "quant_id").is_some())
        .map(|&ml| env.get_f64("stock.move.line", ml, "quantity"))
        .sum()
}

/// Reserve what the source location has for a move (FIFO by `in_date`, then id).
pub fn reserve_move(env: &mut Env, mv: i64) -> OResult<()> {
    let state = env.get_str(MOVE, mv, "state").unwrap_or_default();
    if matches!(state.as_str(), "done" | "cancel" | "draft") {
        return Ok(());
    }
    let product = env.get_id(MOVE, mv, "product_id").unwrap_or(0);
    let src = env.get_id(MOVE, mv, "location_id").unwrap_or(0);
    let dst = env.get_id(MOVE, mv, "location_dest_id").unwrap_or(0);
    let factor = move_factor(env, mv);
    let demand = round_to(env.get_f64(MOVE, mv, "product_uom_qty") * factor, 6);
    let storable = env.get_bool("product.product", product, "is_storable");
    let picking = env.get_id(MOVE, mv, "picking_id");
    let reference = env.get_str(MOVE, mv, "reference").unwrap_or_default();
    let uom = env
        .get_id("product.product", product, "uom_id")
        .unwrap_or(1);
    // Non-internal sources (receipts, returns) and consumables bypass reservation.
    if !is_internal(env, src) || !storable {
        env.set_fields(
            MOVE,
            mv,
            &[
                ("quantity", json!(env.get_f64(MOVE, mv, "product_uom_qty"))),
                ("state", json!("assigned")),
            ],
        )?;
        if env.get_ids(MOVE, mv, "move_line_ids").is_empty() {
            env.create_rec(
                "stock.move.line",
                json!({"move_id": mv, "picking_id": picking.map_or(json!(false), |p| json!(p)), "product_id": product,
                       "product_uom_id": uom, "quantity": demand, "location_id": src, "location_dest_id": dst,
                       "reference": reference, "date": now_str(env), "company_id": 1, "state": "assigned"}),
            )?;
        }
        return Ok(());
    }
    let already = reserved_of(env, mv);
    let mut need = round_to(demand - already, 6);
    if need > 0.0 {
        let locs = internal_children(env, src);
        let mut quants = env.find(
            Q,
            json!([["product_id", "=", product], ["location_id", "in", locs]]),
        );
        // FIFO: oldest in_date first.
        let qm = env.m(Q);
        crate::order::sort(env, qm, &mut quants, "in_date, id")?;
        for q in quants {
            if need <= 0.0 {
                break;
            }
            let avail = round_to(
                env.get_f64(Q, q, "quantity") - env.get_f64(Q, q, "reserved_quantity"),
                6,
            );
            if avail <= 0.0 {
                continue;
            }
            let take = avail.min(need);
            let reserved = round_to(env.get_f64(Q, q, "reserved_quantity") + take, 6);
            env.set_fields(Q, q, &[("reserved_quantity", json!(reserved))])?;
            let qloc = env.get_id(Q, q, "location_id").unwrap_or(src);
            env.create_rec(
                "stock.move.line",
                json!({"move_id": mv, "picking_id": picking.map_or(json!(false), |p| json!(p)), "product_id": product,
                       "product_uom_id": uom, "quantity": take, "location_id": qloc, "location_dest_id": dst,
                       "quant_id": q, "reference": reference, "date": now_str(env), "company_id": 1,
                       "state": "assigned"}),
            )?;
            need = round_to(need - take, 6);
        }
    }
    let reserved = reserved_of(env, mv);
    let qty_move_uom = round_to(reserved / factor, 6);
    let new_state = if reserved <= 0.0 {
        "confirmed"
    } else if reserved + 1e-9 >= demand {
        "assigned"
    } else {
        "partially_available"
    };
    env.set_fields(
        MOVE,
        mv,
        &[
            ("quantity", json!(qty_move_uom)),
            ("state", json!(new_state)),
        ],
    )?;
    Ok(())
}

/// Release a move's reservation.
pub fn unreserve_move(env: &mut Env, mv: i64) -> OResult<()> {
    let state = env.get_str(MOVE, mv, "state").unwrap_or_default();
    if matches!(state.as_str(), "done" | "cancel") {
        return Ok(());
    }
    let mls = env.get_ids(MOVE, mv, "move_line_ids");
    for ml in mls {
        if let Some(q) = env.get_id("stock.move.line", ml, "quant_id") {
            let qty = env.get_f64("stock.move.line", ml, "quantity");
            let r = round_to((env.get_f64(Q, q, "reserved_quantity") - qty).max(0.0), 6);
            env.set_fields(Q, q, &[("reserved_quantity", json!(r))])?;
        }
        let mlm = env.m("stock.move.line");
        env.unlink(mlm, &[ml])?;
    }
    env.set_fields(
        MOVE,
        mv,
        &[
            ("quantity", json!(0.0)),
            ("state", json!("confirmed")),
            ("picked", json!(false)),
        ],
    )?;
    Ok(())
}

/// A picking's state from its moves (`_compute_state`).
pub fn recompute_picking_state(env: &mut Env, pk: i64) -> OResult<()> {
    let moves = env.with_ctx(&[("active_test", json!(false))], |e| {
        e.get_ids(PICK, pk, "move_ids")
    });
    let states: Vec<String> = moves
        .iter()
        .map(|&m| env.get_str(MOVE, m, "state").unwrap_or_default())
        .collect();
    let move_type = env
        .get_str(PICK, pk, "move_type")
        .unwrap_or_else(|| "direct".into());
    let state = if states.is_empty() {
        "draft"
    } else if states.iter().all(|s| s == "cancel") {
        "cancel"
    } else if states.iter().all(|s| s == "done" || s == "cancel") {
        "done"
    } else if states.iter().any(|s| s == "draft") {
        "draft"
    } else {
        let active: Vec<&String> = states
            .iter()
            .filter(|s| *s != "cancel" && *s != "done")
            .collect();
        let any_avail = active
            .iter()
            .any(|s| *s == "assigned" || *s == "partially_available");
        let all_avail = active.iter().all(|s| *s == "assigned");
        if move_type == "one" {
            if all_avail { "assigned" } else { "confirmed" }
        } else if any_avail {
            "assigned"
        } else if active.iter().all(|s| *s == "waiting") {
            "waiting"
        } else {
            "confirmed"
        }
    };
    env.set_fields(PICK, pk, &[("state", json!(state))])
}

pub fn picking_moves(env: &mut Env, pk: i64) -> Vec<i64> {
    env.with_ctx(&[("active_test", json!(false))], |e| {
        e.get_ids(PICK, pk, "move_ids")
    })
}

fn check_pickings(env: &Env, ids: &[i64]) -> OResult<()> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(env.m(PICK), i))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OdooError::missing(PICK, &missing, env.uid))
    }
}

pub fn picking_action_confirm(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    check_pickings(env, ids)?;
    for &pk in ids {
        for mv in picking_moves(env, pk) {
            if env.get_str(MOVE, mv, "state").as_deref() == Some("draft") {
                env.set_fields(MOVE, mv, &[("state", json!("confirmed"))])?;
            }
        }
        recompute_picking_state(env, pk)?;
    }
    picking_action_assign(env, ids)?;
    Ok(json!(true))
}

pub fn picking_action_assign(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    check_pickings(env, ids)?;
    let mut any_move = false;
    for &pk in ids {
        for mv in picking_moves(env, pk) {
            let st = env.get_str(MOVE, mv, "state").unwrap_or_default();
            if st == "draft" {
                env.set_fields(MOVE, mv, &[("state", json!("confirmed"))])?;
            }
            if !matches!(st.as_str(), "done" | "cancel") {
                any_move = true;
                reserve_move(env, mv)?;
            }
        }
        recompute_picking_state(env, pk)?;
    }
    if !any_move {
        return Err(OdooError::user("Nothing to check the availability for."));
    }
    Ok(json!(true))
}

pub fn picking_do_unreserve(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    check_pickings(env, ids)?;
    for &pk in ids {
        for mv in picking_moves(env, pk) {
            unreserve_move(env, mv)?;
        }
        recompute_picking_state(env, pk)?;
    }
    Ok(Value::Null)
}

pub fn picking_action_cancel(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    check_pickings(env, ids)?;
    for &pk in ids {
        cancel_picking(env, pk)?;
    }
    Ok(json!(true))
}

pub fn cancel_picking(env: &mut Env, pk: i64) -> OResult<()> {
    for mv in picking_moves(env, pk) {
        let st = env.get_str(MOVE, mv, "state").unwrap_or_default();
        if st == "done" {
            continue;
        }
        unreserve_move(env, mv)?;
        env.set_fields(
            MOVE,
            mv,
            &[
                ("state", json!("cancel")),
                ("quantity", json!(0.0)),
                ("picked", json!(false)),
            ],
        )?;
    }
    recompute_picking_state(env, pk)
}

/// Writing `quantity` on a reserved move gives back what is no longer picked, like Odoo's
/// move lines do.
pub fn after_write_move(env: &mut Env, ids: &[i64], vals: &Map<String, Value>) -> OResult<()> {
    if vals.contains_key("quantity") {
        for &mv in ids {
            let st = env.get_str(MOVE, mv, "state").unwrap_or_default();
            if matches!(st.as_str(), "done" | "cancel") {
                continue;
            }
            let qty = env.get_f64(MOVE, mv, "quantity");
            let factor = move_factor(env, mv);
            let reserved = reserved_of(env, mv);
            if qty * factor + 1e-9 < reserved {
                // Give back what is no longer picked.
                let mut excess = round_to(reserved - qty * factor, 6);
                for ml in env.get_ids(MOVE, mv, "move_line_ids").into_iter().rev() {
                    if excess <= 0.0 {
                        break;
                    }
                    let Some(q) = env.get_id("stock.move.line", ml, "quant_id") else {
                        continue;
                    };
                    let lq = env.get_f64("stock.move.line", ml, "quantity");
                    let give = lq.min(excess);
                    let r = round_to((env.get_f64(Q, q, "reserved_quantity") - give).max(0.0), 6);
                    env.set_fields(Q, q, &[("reserved_quantity", json!(r))])?;
                    if give >= lq {
                        let mlm = env.m("stock.move.line");
                        env.unlink(mlm, &[ml])?;
                    } else {
                        env.set_fields(
                            "stock.move.line",
                            ml,
                            &[("quantity", json!(round_to(lq - give, 6)))],
                        )?;
                    }
                    excess = round_to(excess - give, 6);
                }
            }
            let demand = env.get_f64(MOVE, mv, "product_uom_qty");
            if qty > 0.0 && st == "confirmed" {
                let _ = demand;
                env.set_fields(MOVE, mv, &[("state", json!("partially_available"))])?;
            }
            if let Some(pk) = env.get_id(MOVE, mv, "picking_id") {
                recompute_picking_state(env, pk)?;
            }
        }
    }
    Ok(())
}

/// Execute one move: quants leave the source (reserved ones first) and enter the destination.
fn move_done(env: &mut Env, mv: i64) -> OResult<()> {
    let product = env.get_id(MOVE, mv, "product_id").unwrap_or(0);
    let src = env.get_id(MOVE, mv, "location_id").unwrap_or(0);
    let dst = env.get_id(MOVE, mv, "location_dest_id").unwrap_or(0);
    let factor = move_factor(env, mv);
    let qty = round_to(env.get_f64(MOVE, mv, "quantity") * factor, 6);
    let mut left = qty;
    // Reserved quants first.
    for ml in env.get_ids(MOVE, mv, "move_line_ids") {
        let lq = env.get_f64("stock.move.line", ml, "quantity");
        if let Some(q) = env.get_id("stock.move.line", ml, "quant_id") {
            let take = lq.min(left.max(0.0));
            let nq = round_to(env.get_f64(Q, q, "quantity") - take, 6);
            let nr = round_to((env.get_f64(Q, q, "reserved_quantity") - lq).max(0.0), 6);
            env.set_fields(
                Q,
                q,
                &[("quantity", json!(nq)), ("reserved_quantity", json!(nr))],
            )?;
            left = round_to(left - take, 6);
        }
        env.set_fields(
            "stock.move.line",
            ml,
            &[("state", json!("done")), ("picked", json!(true))],
        )?;
    }
    if left > 0.0 {
        if is_internal(env, src) {
            // Unreserved stock: FIFO over the source's internal quants, the rest negative.
            let locs = internal_children(env, src);
            let mut quants = env.find(
                Q,
                json!([["product_id", "=", product], ["location_id", "in", locs]]),
            );
            let qm = env.m(Q);
            crate::order::sort(env, qm, &mut quants, "in_date, id")?;
            for q in quants {
                if left <= 0.0 {
                    break;
                }
                let avail = env.get_f64(Q, q, "quantity") - env.get_f64(Q, q, "reserved_quantity");
                if avail <= 0.0 {
                    continue;
                }
                let take = avail.min(left);
                let nq = round_to(env.get_f64(Q, q, "quantity") - take, 6);
                env.set_fields(Q, q, &[("quantity", json!(nq))])?;
                left = round_to(left - take, 6);
            }
        }
        if left > 0.0 {
            update_quant(env, product, src, -left, 0.0)?;
        }
    }
    if qty > 0.0 {
        update_quant(env, product, dst, qty, 0.0)?;
    }
    env.set_fields(
        MOVE,
        mv,
        &[
            ("state", json!("done")),
            ("picked", json!(true)),
            ("date", json!(now_str(env))),
        ],
    )?;
    Ok(())
}

/// `button_validate`: the SMS wizard unless `skip_sms`, the backorder wizard unless
/// `skip_backorder`, otherwise done. A done picking is a `true` no-op.
pub fn button_validate(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    check_pickings(env, ids)?;
    let todo: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&p| {
            !matches!(
                env.get_str(PICK, p, "state").as_deref(),
                Some("done" | "cancel")
            )
        })
        .collect();
    if todo.is_empty() {
        return Ok(json!(true));
    }
    for &pk in &todo {
        if env.get_str(PICK, pk, "state").as_deref() == Some("draft") {
            picking_action_confirm(env, &[pk])?;
        }
    }
    // Nothing picked: every move with a quantity counts as picked.
    for &pk in &todo {
        let moves = picking_moves(env, pk);
        let active: Vec<i64> = moves
            .into_iter()
            .filter(|&m| {
                !matches!(
                    env.get_str(MOVE, m, "state").as_deref(),
                    Some("done" | "cancel")
                )
            })
            .collect();
        if active.iter().all(|&m| !env.get_bool(MOVE, m, "picked")) {
            for &m in &active {
                if env.get_f64(MOVE, m, "quantity") > 0.0 {
                    env.set_fields(MOVE, m, &[("picked", json!(true))])?;
                }
            }
        }
        let total: f64 = active
            .iter()
            .filter(|&&m| env.get_bool(MOVE, m, "picked"))
            .map(|&m| env.get_f64(MOVE, m, "quantity"))
            .sum();
        if total <= 0.0 {
            return Err(OdooError::user(
                "You cannot validate a transfer if no quantities are reserved nor done. You can use the info button on the top right corner of your screen to learn more about the quantity to do.",
            ));
        }
    }
    if !env.ctx_bool("skip_sms") {
        let sms: Vec<i64> = todo
            .iter()
            .copied()
            .filter(|&pk| sms_confirmation_needed(env, pk))
            .collect();
        if !sms.is_empty() {
            let wiz = env.create_rec(
                "confirm.stock.sms",
                json!({"pick_ids": [[6, 0, sms.clone()]]}),
            )?;
            return Ok(json!({
                "name": "SMS", "type": "ir.actions.act_window", "view_mode": "form",
                "res_model": "confirm.stock.sms", "views": [[1175, "form"]], "view_id": 1175,
                "target": "new", "res_id": wiz, "context": {"button_validate_picking_ids": ids},
            }));
        }
    }
    let no_backorder: Vec<i64> = env
        .ctx
        .get("picking_ids_not_to_backorder")
        .and_then(crate::convert::ids_of)
        .unwrap_or_default();
    let skip_backorder = env.ctx_bool("skip_backorder");
    let mut need_wizard = Vec::new();
    for &pk in &todo {
        let partial = picking_moves(env, pk).into_iter().any(|m| {
            !matches!(
                env.get_str(MOVE, m, "state").as_deref(),
                Some("done" | "cancel")
            ) && env.get_f64(MOVE, m, "quantity") + 1e-9 < env.get_f64(MOVE, m, "product_uom_qty")
        });
        if partial && !skip_backorder && !no_backorder.contains(&pk) {
            need_wizard.push(pk);
        }
    }
    if !need_wizard.is_empty() {
        return Ok(json!({
            "name": "Create Backorder?", "type": "ir.actions.act_window", "view_mode": "form",
            "res_model": "stock.backorder.confirmation", "views": [[1201, "form"]], "view_id": 1201,
            "target": "new",
            "context": {"button_validate_picking_ids": ids, "default_show_transfers": false,
                        "default_pick_ids": need_wizard.iter().map(|p| json!([4, p])).collect::<Vec<_>>()},
        }));
    }
    for &pk in &todo {
        // The remainder of a partly done picking: a backorder, unless told otherwise.
        let backorder = if super::backorder::wants_backorder(env, pk, &no_backorder) {
            super::backorder::create_backorder(env, pk)?
        } else {
            None
        };
        validate_picking(env, pk)?;
        if let Some(bo) = backorder {
            super::backorder::after_validation(env, pk, bo)?;
        }
    }
    Ok(json!(true))
}

fn sms_confirmation_needed(env: &Env, pk: i64) -> bool {
    if env.get_str(PICK, pk, "picking_type_code").as_deref() != Some("outgoing") {
        return false;
    }
    let company = env.get_id(PICK, pk, "company_id").unwrap_or(1);
    if !env.get_bool("res.company", company, "stock_move_sms_validation")
        || env.get_bool("res.company", company, "has_received_warning_stock_sms")
    {
        return false;
    }
    match env.get_id(PICK, pk, "partner_id") {
        Some(p) => env
            .get_str("res.partner", p, "phone")
            .is_some_and(|s| !s.is_empty()),
        None => false,
    }
}

/// Mark a picking done (after the wizards): moves done, remainders cancelled.
pub fn validate_picking(env: &mut Env, pk: i64) -> OResult<()> {
    for mv in picking_moves(env, pk) {
        let st = env.get_str(MOVE, mv, "state").unwrap_or_default();
        if matches!(st.as_str(), "done" | "cancel") {
            continue;
        }
        let picked = env.get_bool(MOVE, mv, "picked");
        let qty = env.get_f64(MOVE, mv, "quantity");
        let demand = env.get_f64(MOVE, mv, "product_uom_qty");
        if !picked || qty <= 0.0 {
            unreserve_move(env, mv)?;
            env.set_fields(MOVE, mv, &[("state", json!("cancel"))])?;
            continue;
        }
        if qty + 1e-9 < demand {
            // The remainder goes to a cancelled split move (no backorder).
            let mut split = Map::new();
            for f in [
                "product_id",
                "product_uom",
                "location_id",
                "location_dest_id",
                "picking_id",
                "sale_line_id",
                "picking_type_id",
                "partner_id",
                "reference",
                "origin",
                "purchase_line_id",
            ] {
                let v = env.get(MOVE, mv, f);
                if let Some(i) = v.as_id() {
                    split.insert(f.into(), json!(i));
                } else if let Val::Str(s) = v {
                    split.insert(f.into(), json!(s.to_string()));
                }
            }
            split.insert("product_uom_qty".into(), json!(round_to(demand - qty, 6)));
            split.insert("state".into(), json!("cancel"));
            let mm = env.m(MOVE);
            env.create(mm, vec![split])?;
            env.set_fields(MOVE, mv, &[("product_uom_qty", json!(qty))])?;
        }
        move_done(env, mv)?;
    }
    env.set_fields(PICK, pk, &[("date_done", json!(now_str(env)))])?;
    recompute_picking_state(env, pk)?;
    if let Some(so) = env.get_id(PICK, pk, "sale_id") {
        crate::business::sale::update_delivery_status(env, so)?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------- returns

pub fn prepare_return_wizard(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    if !vals.contains_key("picking_id")
        && env.ctx.get("active_model").and_then(Value::as_str) == Some(PICK)
        && let Some(pk) = env.ctx_i64("active_id")
    {
        if !env.exists(env.m(PICK), pk) {
            return Err(OdooError::missing(PICK, &[pk], env.uid));
        }
        vals.insert("picking_id".into(), json!(pk));
    }
    if let Some(pk) = vals.get("picking_id").and_then(Value::as_i64) {
        let src = env.get_id(PICK, pk, "location_id");
        if let Some(l) = src {
            vals.entry("location_id").or_insert(json!(l));
        }
    }
    Ok(())
}

pub fn after_create_return_wizard(
    env: &mut Env,
    wiz: i64,
    vals: &Map<String, Value>,
) -> OResult<()> {
    if vals.contains_key("product_return_moves") {
        return Ok(());
    }
    let Some(pk) = env.get_id("stock.return.picking", wiz, "picking_id") else {
        return Ok(());
    };
    for mv in picking_moves(env, pk) {
        if env.get_str(MOVE, mv, "state").as_deref() != Some("done") {
            continue;
        }
        let product = env.get_id(MOVE, mv, "product_id").unwrap_or(0);
        env.create_rec(
            "stock.return.picking.line",
            json!({"wizard_id": wiz, "product_id": product, "move_id": mv, "quantity": 0.0, "to_refund": true}),
        )?;
    }
    Ok(())
}

/// `action_create_returns`: a receipt back from the customer, already reserved.
pub fn action_create_returns(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let Some(&wiz) = ids.first() else {
        return Err(OdooError::new(
            crate::error::ErrKind::ValueError,
            "Expected singleton: stock.return.picking()",
        ));
    };
    if !env.exists(env.m("stock.return.picking"), wiz) {
        return Err(OdooError::missing("stock.return.picking", &[wiz], env.uid));
    }
    let pk = env
        .get_id("stock.return.picking", wiz, "picking_id")
        .unwrap_or(0);
    let lines = env.get_ids("stock.return.picking", wiz, "product_return_moves");
    let todo: Vec<i64> = lines
        .into_iter()
        .filter(|&l| env.get_f64("stock.return.picking.line", l, "quantity") > 0.0)
        .collect();
    if todo.is_empty() {
        return Err(OdooError::user("Nothing to check the availability for."));
    }
    let orig_type = env.get_id(PICK, pk, "picking_type_id").unwrap_or(0);
    let ret_type = env
        .get_id("stock.picking.type", orig_type, "return_picking_type_id")
        .unwrap_or(orig_type);
    let src = env.get_id(PICK, pk, "location_dest_id").unwrap_or(2);
    let dst = env
        .get_id("stock.return.picking", wiz, "location_id")
        .or_else(|| env.get_id(PICK, pk, "location_id"))
        .unwrap_or(5);
    let orig_name = env.get_str(PICK, pk, "name").unwrap_or_default();
    let mut pvals = json!({
        "picking_type_id": ret_type, "location_id": src, "location_dest_id": dst,
        "origin": format!("Return of {orig_name}"), "return_id": pk, "move_type": "direct",
    });
    for f in ["partner_id", "sale_id", "company_id"] {
        if let Some(v) = env.get_id(PICK, pk, f) {
            pvals[f] = json!(v);
        }
    }
    let new_pk = env.create_rec(PICK, pvals)?;
    let new_name = env.get_str(PICK, new_pk, "name").unwrap_or_default();
    for l in todo {
        let mv = env
            .get_id("stock.return.picking.line", l, "move_id")
            .unwrap_or(0);
        let product = env
            .get_id("stock.return.picking.line", l, "product_id")
            .unwrap_or(0);
        let qty = env.get_f64("stock.return.picking.line", l, "quantity");
        let to_refund = env.get_bool("stock.return.picking.line", l, "to_refund");
        let mut mvals = json!({
            "product_id": product, "product_uom_qty": qty, "picking_id": new_pk, "location_id": src,
            "location_dest_id": dst, "origin_returned_move_id": mv, "to_refund": to_refund,
            "state": "draft", "reference": new_name, "picking_type_id": ret_type,
            "origin": format!("Return of {orig_name}"),
        });
        if let Some(u) = env.get_id(MOVE, mv, "product_uom") {
            mvals["product_uom"] = json!(u);
        }
        if let Some(sl) = env.get_id(MOVE, mv, "sale_line_id") {
            mvals["sale_line_id"] = json!(sl);
        }
        if let Some(p) = env.get_id(PICK, pk, "partner_id") {
            mvals["partner_id"] = json!(p);
        }
        env.create_rec(MOVE, mvals)?;
    }
    picking_action_confirm(env, &[new_pk])?;
    Ok(json!({
        "name": "Returned Picking", "view_mode": "form", "res_model": PICK, "res_id": new_pk,
        "type": "ir.actions.act_window", "context": Value::Object(env.ctx.clone()),
    }))
}
