//! Delivery routes per warehouse, and the deliveries a confirmed order gets (`sale_stock`'s
//! procurement, as far as the daemon relies on it).
//!
//! * Every warehouse has a delivery route ("<warehouse>: Deliver in 1 step (ship)", one pull
//!   rule Stock → Customers with the warehouse's Delivery Orders type), set as its
//!   `delivery_route_id`, as Odoo creates it with the warehouse.
//! * On confirmation, each goods line ships from its route's warehouse (`route_ids` in 19,
//!   `route_id` before) or else from the order's warehouse: **one delivery per warehouse**, each
//!   confirmed and reserved from that warehouse's stock. This is how a split order looks in
//!   Odoo.
//! * The delivery is dated from the order's `commitment_date` (the marketplace's ship-by date,
//!   as the daemon sets it): `scheduled_date` and `date_deadline` (security lead time 0), else
//!   now; it carries the order's `carrier_id`.

use super::now_str;
use crate::compute::uom_convert;
use crate::env::Env;
use crate::error::OResult;
use crate::seed::Seeder;
use crate::store::Val;
use serde_json::json;

const SO: &str = "sale.order";
const SOL: &str = "sale.order.line";
const WH: &str = "stock.warehouse";

/// The demo warehouse WH uses route 2 "YourCompany: Deliver in 1 step (ship)" (seeded with
/// its rule 2, WH: Stock → Customers).
pub fn seed(s: &mut Seeder) {
    s.put_field(WH, 1, "delivery_route_id", json!(2));
    s.put_field("stock.route", 2, "warehouse_ids", json!([1]));
}

/// A new warehouse's delivery route and rule.
pub fn after_create_warehouse(env: &mut Env, wh: i64) -> OResult<()> {
    let name = env.get_str(WH, wh, "name").unwrap_or_default();
    let code = env.get_str(WH, wh, "code").unwrap_or_default();
    let stock = env.get_id(WH, wh, "lot_stock_id").unwrap_or(0);
    let out = env.get_id(WH, wh, "out_type_id").unwrap_or(0);
    let company = env.get_id(WH, wh, "company_id").unwrap_or(1);
    let route = env.create_rec(
        "stock.route",
        json!({"name": format!("{name}: Deliver in 1 step (ship)"), "product_selectable": false,
               "warehouse_selectable": true, "sale_selectable": false, "active": true,
               "sequence": 10, "company_id": company, "warehouse_ids": [[6, 0, [wh]]]}),
    )?;
    env.create_rec(
        "stock.rule",
        json!({"name": format!("{code}: Stock → Customers"), "route_id": route, "action": "pull",
               "location_src_id": stock, "location_dest_id": 2, "picking_type_id": out,
               "procure_method": "make_to_stock", "sequence": 20}),
    )?;
    env.set_fields(WH, wh, &[("delivery_route_id", json!(route))])
}

/// The warehouse a line ships from: its route's (first) warehouse, else the order's.
fn line_warehouse(env: &Env, line: i64, default: i64) -> i64 {
    let routes = match env.get(SOL, line, "route_ids") {
        Val::Ids(ids) => ids.to_vec(),
        Val::Int(i) => vec![i],
        _ => Vec::new(),
    };
    for r in routes {
        if let Some(w) = env.get_ids("stock.route", r, "warehouse_ids").first() {
            return *w;
        }
        for rule in env.find("stock.rule", json!([["route_id", "=", r]])) {
            if let Some(pt) = env.get_id("stock.rule", rule, "picking_type_id")
                && let Some(w) = env.get_id("stock.picking.type", pt, "warehouse_id")
            {
                return w;
            }
        }
    }
    default
}

/// The deliveries of a confirmed order: one per shipping warehouse, confirmed and reserved.
pub fn create_deliveries(env: &mut Env, order: i64) -> OResult<()> {
    let lines = env.get_ids(SO, order, "order_line");
    let goods: Vec<i64> = lines
        .into_iter()
        .filter(|&l| {
            !env.get(SOL, l, "display_type").truthy()
                && env.get_id(SOL, l, "product_id").is_some_and(|p| {
                    env.get_str("product.product", p, "type").as_deref() == Some("consu")
                })
        })
        .collect();
    if goods.is_empty() {
        return Ok(());
    }
    let order_wh = env.get_id(SO, order, "warehouse_id").unwrap_or(1);
    let mut groups: Vec<(i64, Vec<i64>)> = Vec::new();
    for l in goods {
        let w = line_warehouse(env, l, order_wh);
        match groups.iter_mut().find(|(g, _)| *g == w) {
            Some((_, ls)) => ls.push(l),
            None => groups.push((w, vec![l])),
        }
    }
    // The order's own warehouse first, as Odoo names its pickings in procurement order.
    groups.sort_by_key(|(w, _)| *w != order_wh);
    let name = env.get_str(SO, order, "name").unwrap_or_default();
    let partner = env.get_id(SO, order, "partner_shipping_id").unwrap_or(0);
    let now = now_str(env);
    let when = match env.get(SO, order, "commitment_date") {
        Val::Dt(us) => crate::convert::fmt_dt(us),
        _ => now.clone(),
    };
    let carrier = env.get_id(SO, order, "carrier_id");
    let policy = env
        .get_str(SO, order, "picking_policy")
        .unwrap_or_else(|| "direct".into());
    let dst = env
        .find_one("stock.location", json!([["usage", "=", "customer"]]))
        .unwrap_or(2);
    for (wh, lines) in groups {
        let out_type = env.get_id(WH, wh, "out_type_id").unwrap_or(2);
        let src = env.get_id(WH, wh, "lot_stock_id").unwrap_or(5);
        let mut vals = json!({
            "picking_type_id": out_type, "location_id": src, "location_dest_id": dst,
            "partner_id": partner, "origin": name, "sale_id": order, "scheduled_date": when,
            "date_deadline": when, "move_type": if policy == "one" { "one" } else { "direct" },
            "state": "draft", "company_id": 1,
        });
        if let Some(c) = carrier {
            vals["carrier_id"] = json!(c);
        }
        let pk = env.create_rec("stock.picking", vals)?;
        let pname = env.get_str("stock.picking", pk, "name").unwrap_or_default();
        for l in lines {
            let product = env.get_id(SOL, l, "product_id").unwrap_or(0);
            let qty = env.get_f64(SOL, l, "product_uom_qty");
            let uom = env.get_id(SOL, l, "product_uom_id").unwrap_or(1);
            let puom = env
                .get_id("product.product", product, "uom_id")
                .unwrap_or(1);
            // Stock moves are kept in the product's unit (2 × Pack of 6 → 12 Units).
            let pqty = uom_convert(env, qty, uom, puom);
            env.create_rec(
                "stock.move",
                json!({
                    "product_id": product, "product_uom_qty": pqty, "product_uom": puom,
                    "location_id": src, "location_dest_id": dst, "picking_id": pk, "sale_line_id": l,
                    "origin": name, "reference": pname, "date": when, "date_deadline": when,
                    "partner_id": partner, "picking_type_id": out_type, "warehouse_id": wh,
                    "state": "confirmed", "procure_method": "make_to_stock", "company_id": 1,
                }),
            )?;
        }
        super::stock::recompute_picking_state(env, pk)?;
        super::stock::picking_action_assign(env, &[pk])?;
    }
    super::sale::update_delivery_status(env, order)?;
    Ok(())
}
