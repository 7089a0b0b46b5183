//! Purchase and replenishment (`purchase`, `purchase_stock`): vendors' price lists,
//! reordering rules and the RFQ that `action_replenish` creates.

use super::{add_days, now_str, today};
use crate::convert::{float, round_precision, round_to};
use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::store::Val;
use serde_json::{Map, Value, json};

const OP: &str = "stock.warehouse.orderpoint";
const PO: &str = "purchase.order";
const POL: &str = "purchase.order.line";

pub fn prepare_orderpoint(env: &mut Env, vals: &mut Map<String, Value>) {
    if !vals.contains_key("name") {
        let n = env.db.next_seq("stock.orderpoint");
        vals.insert("name".into(), json!(format!("OP/{n:05}")));
    }
    let wh = vals
        .get("warehouse_id")
        .and_then(Value::as_i64)
        .or_else(|| env.find_one("stock.warehouse", json!([["company_id", "=", 1]])))
        .unwrap_or(1);
    vals.entry("warehouse_id").or_insert(json!(wh));
    if !vals.contains_key("location_id")
        && let Some(l) = env.get_id("stock.warehouse", wh, "lot_stock_id")
    {
        vals.insert("location_id".into(), json!(l));
    }
    vals.entry("product_min_qty").or_insert(json!(0.0));
    vals.entry("product_max_qty").or_insert(json!(0.0));
}

pub fn prepare_supplierinfo(env: &mut Env, vals: &mut Map<String, Value>) {
    if !vals.contains_key("product_tmpl_id")
        && let Some(p) = vals.get("product_id").and_then(Value::as_i64)
        && let Some(t) = env.get_id("product.product", p, "product_tmpl_id")
    {
        vals.insert("product_tmpl_id".into(), json!(t));
    }
}

/// Sellers created through a variant name that variant (single-variant templates).
pub fn link_sellers_to_variant(env: &mut Env, product: i64) -> OResult<()> {
    let Some(t) = env.get_id("product.product", product, "product_tmpl_id") else {
        return Ok(());
    };
    for s in env.get_ids("product.template", t, "seller_ids") {
        if env
            .get_id("product.supplierinfo", s, "product_id")
            .is_none()
        {
            env.set_fields("product.supplierinfo", s, &[("product_id", json!(product))])?;
        }
    }
    Ok(())
}

fn first_seller(env: &Env, product: i64) -> Option<i64> {
    let t = env.get_id("product.product", product, "product_tmpl_id")?;
    env.get_ids("product.template", t, "seller_ids")
        .into_iter()
        .find(|&s| {
            env.get_id("product.supplierinfo", s, "product_id")
                .is_none_or(|p| p == product)
        })
}

fn buy_route(env: &Env) -> Option<i64> {
    env.find_one("stock.route", json!([["name", "=", "Buy"]]))
}

/// Quantity of open RFQ/PO lines of an orderpoint not yet received (product unit).
fn on_order(env: &Env, op: i64) -> f64 {
    env.find(POL, json!([["orderpoint_id", "=", op]]))
        .iter()
        .filter(|&&l| {
            let o = env.get_id(POL, l, "order_id").unwrap_or(0);
            matches!(
                env.get_str(PO, o, "state").as_deref(),
                Some("draft" | "sent" | "to approve")
            )
        })
        .map(|&l| env.get_f64(POL, l, "product_qty"))
        .sum()
}

/// (on hand, forecast) of an orderpoint's product at its location: forecast counts open
/// moves and the RFQs the rule already generated (scenario 06: 2 on hand + 18 ordered = 20).
fn forecast(env: &Env, op: i64) -> (f64, f64) {
    let product = env.get_id(OP, op, "product_id").unwrap_or(0);
    let loc = env.get_id(OP, op, "location_id").unwrap_or(0);
    let (on_hand, incoming, outgoing) = location_quantities(env, product, loc);
    (
        on_hand,
        round_to(on_hand + incoming - outgoing + on_order(env, op), 4),
    )
}

/// (on hand, incoming, outgoing) of a product under a location (children included).
fn location_quantities(env: &Env, product: i64, location: i64) -> (f64, f64, f64) {
    let locs: std::collections::HashSet<i64> = env
        .find(
            "stock.location",
            json!([
                ["id", "child_of", location],
                ["usage", "in", ["internal", "transit"]]
            ]),
        )
        .into_iter()
        .collect();
    let on_hand: f64 = env
        .find("stock.quant", json!([["product_id", "=", product]]))
        .into_iter()
        .filter(|&q| locs.contains(&env.get_id("stock.quant", q, "location_id").unwrap_or(0)))
        .map(|q| env.get_f64("stock.quant", q, "quantity"))
        .sum();
    let (mut incoming, mut outgoing) = (0.0, 0.0);
    for mv in env.find(
        "stock.move",
        json!([
            ["product_id", "=", product],
            [
                "state",
                "in",
                ["waiting", "confirmed", "assigned", "partially_available"]
            ]
        ]),
    ) {
        let from_here = locs.contains(&env.get_id("stock.move", mv, "location_id").unwrap_or(0));
        let to_here = locs.contains(
            &env.get_id("stock.move", mv, "location_dest_id")
                .unwrap_or(0),
        );
        let qty = env.get_f64("stock.move", mv, "product_qty");
        match (from_here, to_here) {
            (true, false) => outgoing += qty,
            (false, true) => incoming += qty,
            _ => {}
        }
    }
    (on_hand, incoming, outgoing)
}

fn qty_to_order(env: &Env, op: i64) -> f64 {
    let (_, fc) = forecast(env, op);
    let min = env.get_f64(OP, op, "product_min_qty");
    let max = env.get_f64(OP, op, "product_max_qty");
    if fc < min {
        round_to(max.max(min) - fc, 4)
    } else {
        0.0
    }
}

pub fn orderpoint_compute(env: &Env, field: &str, ids: &[i64]) -> Vec<Val> {
    ids.iter()
        .map(|&op| match field {
            "qty_on_hand" => Val::Float(forecast(env, op).0),
            "qty_forecast" => Val::Float(forecast(env, op).1),
            "qty_to_order" => Val::Float(qty_to_order(env, op)),
            "effective_route_id" => match env.get_id(OP, op, "route_id") {
                Some(r) => Val::Int(r),
                None => {
                    let p = env.get_id(OP, op, "product_id").unwrap_or(0);
                    if first_seller(env, p).is_some() {
                        buy_route(env).map_or(Val::False, Val::Int)
                    } else {
                        Val::False
                    }
                }
            },
            "effective_vendor_id" => match env.get_id(OP, op, "supplier_id") {
                Some(s) => env.get("product.supplierinfo", s, "partner_id"),
                None => {
                    let p = env.get_id(OP, op, "product_id").unwrap_or(0);
                    first_seller(env, p).map_or(Val::False, |s| {
                        env.get("product.supplierinfo", s, "partner_id")
                    })
                }
            },
            "product_uom" => {
                let p = env.get_id(OP, op, "product_id").unwrap_or(0);
                env.get("product.product", p, "uom_id")
            }
            "lead_days_date" => Val::Str(today(env).into()),
            _ => Val::False,
        })
        .collect()
}

/// `action_replenish`: order what the rule says from the first vendor, as a draft RFQ.
pub fn action_replenish(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(env.m(OP), i))
        .collect();
    if !missing.is_empty() {
        return Err(OdooError::missing(OP, &missing, env.uid));
    }
    let mut orders = Vec::new();
    for &op in ids {
        let qty = qty_to_order(env, op);
        if qty <= 0.0 {
            continue;
        }
        let product = env.get_id(OP, op, "product_id").unwrap_or(0);
        let Some(seller) = first_seller(env, product) else {
            let name = crate::compute::product_display_name(env, product);
            return Err(OdooError::user(format!(
                "There is no matching vendor price to generate the purchase order for product {name} (no vendor defined, minimum quantity not reached, dates not valid, ...). Go on the product form and complete the list of vendors."
            )));
        };
        let vendor = env
            .get_id("product.supplierinfo", seller, "partner_id")
            .unwrap_or(0);
        let delay = env.get_f64("product.supplierinfo", seller, "delay") as i64;
        let wh = env.get_id(OP, op, "warehouse_id").unwrap_or(1);
        let in_type = env.get_id("stock.warehouse", wh, "in_type_id").unwrap_or(1);
        let t = today(env);
        let date_order = format!("{t} 12:00:00");
        let date_planned = format!("{} 12:00:00", add_days(&t, delay));
        let origin = env.get_str(OP, op, "name").unwrap_or_default();
        let po = match env.find_one(
            PO,
            json!([["partner_id", "=", vendor], ["state", "=", "draft"], ["picking_type_id", "=", in_type], ["company_id", "=", 1], ["user_id", "=", false]]),
        ) {
            Some(po) => {
                let o = env.get_str(PO, po, "origin").unwrap_or_default();
                if !o.split(", ").any(|x| x == origin) {
                    let joined = if o.is_empty() { origin.clone() } else { format!("{o}, {origin}") };
                    env.set_fields(PO, po, &[("origin", json!(joined))])?;
                }
                po
            }
            None => env.create_rec(
                PO,
                json!({"partner_id": vendor, "origin": origin, "date_order": date_order, "picking_type_id": in_type,
                       "currency_id": env.get_id("product.supplierinfo", seller, "currency_id").unwrap_or(1),
                       "company_id": 1, "user_id": false, "date_planned": date_planned}),
            )?,
        };
        let code = env
            .get_str("product.supplierinfo", seller, "product_code")
            .filter(|c| !c.is_empty());
        let pname = env
            .get_str("product.product", product, "name")
            .unwrap_or_default();
        let name = match code {
            Some(c) => format!("[{c}] {pname}"),
            None => crate::compute::product_display_name(env, product),
        };
        env.create_rec(
            POL,
            json!({"order_id": po, "product_id": product, "name": name, "product_qty": qty,
                   "price_unit": env.get_f64("product.supplierinfo", seller, "price"),
                   "date_planned": date_planned, "orderpoint_id": op}),
        )?;
        if !orders.contains(&po) {
            orders.push(po);
        }
    }
    if ids.len() != 1 || orders.is_empty() {
        return Ok(Value::Bool(false));
    }
    let po = orders[0];
    let name = env.get_str(PO, po, "name").unwrap_or_default();
    Ok(json!({
        "type": "ir.actions.client", "tag": "display_notification",
        "params": {
            "title": "The following replenishment order has been generated", "message": "%s",
            "links": [{"label": name, "url": format!("/odoo/action-purchase.action_rfq_form/{po}")}],
            "sticky": false, "next": {"type": "ir.actions.act_window_close"},
        },
    }))
}

pub fn prepare_order(env: &mut Env, vals: &mut Map<String, Value>) {
    if !vals
        .get("name")
        .is_some_and(|v| crate::convert::truthy(v) && v != "New")
    {
        let n = env.db.next_seq("purchase.order");
        vals.insert("name".into(), json!(format!("P{n:05}")));
    }
    vals.entry("date_order")
        .or_insert_with(|| json!(now_str(env)));
    vals.entry("currency_id").or_insert(json!(1));
    vals.entry("company_id").or_insert(json!(1));
    vals.entry("picking_type_id").or_insert(json!(1));
}

pub fn prepare_line(env: &mut Env, vals: &mut Map<String, Value>) {
    let Some(product) = vals.get("product_id").and_then(Value::as_i64) else {
        return;
    };
    if !vals.contains_key("name") {
        vals.insert(
            "name".into(),
            json!(crate::compute::product_display_name(env, product)),
        );
    }
    if !vals.contains_key("product_uom_id") {
        let u = env
            .get_id("product.product", product, "uom_id")
            .unwrap_or(1);
        vals.insert("product_uom_id".into(), json!(u));
    }
    vals.entry("product_qty").or_insert(json!(1.0));
    if !vals.contains_key("price_unit") {
        let price = first_seller(env, product)
            .map_or(0.0, |s| env.get_f64("product.supplierinfo", s, "price"));
        vals.insert("price_unit".into(), float(price));
    }
    if !vals.contains_key("tax_ids") {
        let taxes: Vec<i64> = env
            .get_ids("product.product", product, "supplier_taxes_id")
            .into_iter()
            .filter(|&t| env.get_id("account.tax", t, "company_id").unwrap_or(1) == 1)
            .collect();
        vals.insert("tax_ids".into(), json!([[6, 0, taxes]]));
    }
    if !vals.contains_key("date_planned") {
        let d = format!("{} 12:00:00", today(env));
        vals.insert("date_planned".into(), json!(d));
    }
}

pub fn recompute_line(env: &mut Env, line: i64) -> OResult<()> {
    let qty = env.get_f64(POL, line, "product_qty");
    let price = env.get_f64(POL, line, "price_unit");
    let disc = env.get_f64(POL, line, "discount");
    let subtotal = round_precision(qty * price * (1.0 - disc / 100.0), 0.01);
    let pct: f64 = env
        .get_ids(POL, line, "tax_ids")
        .iter()
        .map(|&t| env.get_f64("account.tax", t, "amount"))
        .sum();
    let tax = round_precision(subtotal * pct / 100.0, 0.01);
    let m = env.m(POL);
    let reg = env.reg();
    let mm = reg.m(m);
    for (f, v) in [
        ("price_subtotal", subtotal),
        ("price_total", round_to(subtotal + tax, 2)),
        ("price_tax", tax),
    ] {
        if let Some(fid) = mm.fid(f) {
            env.set_raw(m, line, fid, Some(Val::Float(v)));
        }
    }
    if let Some(po) = env.get_id(POL, line, "order_id") {
        let lines = env.get_ids(PO, po, "order_line");
        let untaxed: f64 = lines
            .iter()
            .map(|&l| env.get_f64(POL, l, "price_subtotal"))
            .sum();
        let tax: f64 = lines
            .iter()
            .map(|&l| env.get_f64(POL, l, "price_tax"))
            .sum();
        let pm = env.m(PO);
        let pmm = reg.m(pm);
        for (f, v) in [
            ("amount_untaxed", round_to(untaxed, 2)),
            ("amount_tax", round_to(tax, 2)),
            ("amount_total", round_to(untaxed + tax, 2)),
        ] {
            if let Some(fid) = pmm.fid(f) {
                env.set_raw(pm, po, fid, Some(Val::Float(v)));
            }
        }
    }
    Ok(())
}

pub fn compute(env: &Env, model: &str, field: &str, ids: &[i64]) -> Vec<Val> {
    ids.iter()
        .map(|&id| match (model, field) {
            (PO, "picking_ids") => Val::Ids(
                env.find(
                    "stock.picking",
                    json!([
                        [
                            "origin",
                            "=",
                            env.get_str(PO, id, "name").unwrap_or_default()
                        ],
                        ["picking_type_code", "=", "incoming"]
                    ]),
                )
                .into(),
            ),
            (PO, "incoming_picking_count") => Val::Int(
                env.find(
                    "stock.picking",
                    json!([[
                        "origin",
                        "=",
                        env.get_str(PO, id, "name").unwrap_or_default()
                    ]]),
                )
                .len() as i64,
            ),
            (PO, "invoice_count") => Val::Int(0),
            (POL, "partner_id" | "currency_id" | "company_id" | "state" | "date_order") => {
                let o = env.get_id(POL, id, "order_id").unwrap_or(0);
                env.get(PO, o, field)
            }
            (POL, "product_type") => match env.get_id(POL, id, "product_id") {
                Some(p) => env.get("product.product", p, "type"),
                None => Val::False,
            },
            (POL, "product_uom_qty") => Val::Float(env.get_f64(POL, id, "product_qty")),
            _ => Val::False,
        })
        .collect()
}

/// `button_confirm`: the RFQ becomes a purchase order with its receipt.
pub fn button_confirm(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &po in ids {
        let st = env.get_str(PO, po, "state").unwrap_or_default();
        if !matches!(st.as_str(), "draft" | "sent") {
            continue;
        }
        env.set_fields(
            PO,
            po,
            &[
                ("state", json!("purchase")),
                ("date_approve", json!(now_str(env))),
            ],
        )?;
        let in_type = env.get_id(PO, po, "picking_type_id").unwrap_or(1);
        let dst = env
            .get_id("stock.picking.type", in_type, "default_location_dest_id")
            .unwrap_or(5);
        let src = env
            .find_one("stock.location", json!([["usage", "=", "supplier"]]))
            .unwrap_or(1);
        let partner = env.get_id(PO, po, "partner_id").unwrap_or(0);
        let name = env.get_str(PO, po, "name").unwrap_or_default();
        let pk = env.create_rec(
            "stock.picking",
            json!({"picking_type_id": in_type, "location_id": src, "location_dest_id": dst,
                   "partner_id": partner, "origin": name, "state": "draft"}),
        )?;
        for l in env.get_ids(PO, po, "order_line") {
            let Some(product) = env.get_id(POL, l, "product_id") else {
                continue;
            };
            env.create_rec(
                "stock.move",
                json!({"product_id": product, "product_uom_qty": env.get_f64(POL, l, "product_qty"),
                       "picking_id": pk, "purchase_line_id": l, "origin": name, "state": "draft"}),
            )?;
        }
        crate::business::stock::picking_action_confirm(env, &[pk])?;
    }
    Ok(json!(true))
}
