//! Non-stored computed fields and display names.
//!
//! Odoo computes these on read; so does the sandbox, in batches (one call computes a field for
//! all requested ids), so a `search_read` of 100,000 products with `qty_available` costs one
//! pass over the quant index, not 100,000 searches.

use crate::convert::round_to;
use crate::env::Env;
use crate::error::OResult;
use crate::registry::empty_val;
use crate::store::Val;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Which stock locations a product quantity is measured over, from the context.
pub fn stock_scope(env: &Env) -> HashSet<i64> {
    let pers = env.pers();
    let loc_m = env.m("stock.location");
    let mut roots: Vec<i64> = Vec::new();
    if let Some(v) = env
        .ctx
        .get("location")
        .filter(|v| crate::convert::truthy(v))
    {
        match v {
            Value::String(s) => {
                roots.extend(env.find("stock.location", json!([["complete_name", "ilike", s]])))
            }
            other => roots.extend(crate::convert::ids_of(other).unwrap_or_default()),
        }
    } else if let Some(v) = env
        .ctx
        .get(pers.warehouse_context_key)
        .filter(|v| crate::convert::truthy(v))
    {
        let whs: Vec<i64> = match v {
            Value::String(s) => env.find("stock.warehouse", json!([["name", "ilike", s]])),
            other => crate::convert::ids_of(other).unwrap_or_default(),
        };
        for w in whs {
            if let Some(view) = env.get_id("stock.warehouse", w, "view_location_id") {
                roots.push(view);
            }
        }
    } else {
        let company = env.ctx_i64("force_company").unwrap_or(1);
        for w in env.find("stock.warehouse", json!([["company_id", "=", company]])) {
            if let Some(view) = env.get_id("stock.warehouse", w, "view_location_id") {
                roots.push(view);
            }
        }
    }
    let mut out = HashSet::new();
    let parent_f = env.db.reg.m(loc_m).fid("location_id").expect("location_id");
    let table = env.db.table(loc_m);
    let mut frontier = roots;
    while let Some(l) = frontier.pop() {
        if !out.insert(l) {
            continue;
        }
        if let Some(ix) = table.index_for(parent_f)
            && let Some(children) = ix.map.get(&l)
        {
            frontier.extend(children.iter().copied());
        }
    }
    out.retain(|&l| {
        matches!(
            env.get_str("stock.location", l, "usage").as_deref(),
            Some("internal" | "transit")
        )
    });
    out
}

/// Per product: (on hand, reserved, incoming, outgoing) within the context's scope.
pub fn stock_quantities(env: &Env, product_ids: &[i64]) -> HashMap<i64, (f64, f64, f64, f64)> {
    let scope = stock_scope(env);
    let quant_m = env.m("stock.quant");
    let move_m = env.m("stock.move");
    let reg = env.reg();
    let qm = reg.m(quant_m);
    let (qp, ql, qq, qr) = (
        qm.fid("product_id").expect("f"),
        qm.fid("location_id").expect("f"),
        qm.fid("quantity").expect("f"),
        qm.fid("reserved_quantity").expect("f"),
    );
    let mm = reg.m(move_m);
    let (mp, msrc, mdst, mqty, mstate) = (
        mm.fid("product_id").expect("f"),
        mm.fid("location_id").expect("f"),
        mm.fid("location_dest_id").expect("f"),
        mm.fid("product_uom_qty").expect("f"),
        mm.fid("state").expect("f"),
    );
    let qt = env.db.table(quant_m);
    let mt = env.db.table(move_m);
    let qix = qt.index_for(qp);
    let mix = mt.index_for(mp);
    let mut out = HashMap::with_capacity(product_ids.len());
    for &p in product_ids {
        let (mut on_hand, mut reserved, mut incoming, mut outgoing) = (0.0, 0.0, 0.0, 0.0);
        if let Some(qids) = qix.and_then(|ix| ix.map.get(&p)) {
            for &q in qids {
                let Some(r) = qt.get(q) else { continue };
                let loc = r.get(ql).and_then(Val::as_id).unwrap_or(0);
                if scope.contains(&loc) {
                    on_hand += r.get(qq).map_or(0.0, Val::as_f64);
                    reserved += r.get(qr).map_or(0.0, Val::as_f64);
                }
            }
        }
        if let Some(mids) = mix.and_then(|ix| ix.map.get(&p)) {
            for &mv in mids {
                let Some(r) = mt.get(mv) else { continue };
                let state = r.get(mstate).and_then(Val::as_str).unwrap_or("draft");
                if !matches!(
                    state,
                    "waiting" | "confirmed" | "assigned" | "partially_available"
                ) {
                    continue;
                }
                // Demand in the product's unit (moves store product_uom_qty in move UoM).
                let qty = env
                    .vals(move_m, &[mv], mm.fid("product_qty").expect("f"))
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map_or_else(|| r.get(mqty).map_or(0.0, Val::as_f64), |v| v.as_f64());
                let src = r.get(msrc).and_then(Val::as_id).unwrap_or(0);
                let dst = r.get(mdst).and_then(Val::as_id).unwrap_or(0);
                match (scope.contains(&src), scope.contains(&dst)) {
                    (true, false) => outgoing += qty,
                    (false, true) => incoming += qty,
                    _ => {}
                }
            }
        }
        out.insert(
            p,
            (
                round_to(on_hand, 4),
                round_to(reserved, 4),
                round_to(incoming, 4),
                round_to(outgoing, 4),
            ),
        );
    }
    out
}

fn fl(x: f64) -> Val {
    Val::Float(x)
}

fn id_or_false(x: Option<i64>) -> Val {
    x.map_or(Val::False, Val::Int)
}

/// Compute field `f` of `model` for `ids`.
pub fn compute(env: &Env, model: u16, f: u16, ids: &[i64]) -> OResult<Vec<Val>> {
    let reg = env.reg();
    let m = reg.m(model);
    let field = m.fname(f).to_owned();
    let mname = m.name.as_str();
    let each = |g: &dyn Fn(i64) -> Val| -> Vec<Val> { ids.iter().map(|&i| g(i)).collect() };
    if field != "display_name"
        && let Some(v) = crate::business::channel_sync::compute(env, mname, &field, ids)
    {
        return Ok(v);
    }
    Ok(match (mname, field.as_str()) {
        (_, "display_name") => display_names(env, model, ids)
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Val::Str(s.into()),
                _ => Val::False,
            })
            .collect(),
        (
            "product.product",
            "qty_available" | "free_qty" | "virtual_available" | "incoming_qty" | "outgoing_qty",
        ) => {
            let q = stock_quantities(env, ids);
            ids.iter()
                .map(|i| {
                    let (on, res, inc, out) = q.get(i).copied().unwrap_or_default();
                    fl(match field.as_str() {
                        "qty_available" => on,
                        "free_qty" => round_to(on - res, 4),
                        "virtual_available" => round_to(on + inc - out, 4),
                        "incoming_qty" => inc,
                        _ => out,
                    })
                })
                .collect()
        }
        (
            "product.template",
            "qty_available" | "free_qty" | "virtual_available" | "incoming_qty" | "outgoing_qty",
        ) => {
            let pm = env.m("product.product");
            let pf = reg.m(pm).fid(&field).expect("same field on variants");
            each(&|t| {
                let variants = env.find("product.product", json!([["product_tmpl_id", "=", t]]));
                let v = env.vals(pm, &variants, pf).unwrap_or_default();
                fl(round_to(v.iter().map(Val::as_f64).sum(), 4))
            })
        }
        ("product.product", "lst_price") => each(&|p| {
            fl(env.get_f64("product.product", p, "list_price")
                + env.get_f64("product.product", p, "price_extra"))
        }),
        ("product.product", "price_extra") => each(&|_| fl(0.0)),
        ("product.product", "code") => each(&|p| env.get("product.product", p, "default_code")),
        ("product.product", "partner_ref") => display_names(env, model, ids)
            .into_iter()
            .map(|v| v.as_str().map_or(Val::False, |s| Val::Str(s.into())))
            .collect(),
        ("product.product", "is_product_variant") => each(&|_| Val::Bool(true)),
        ("product.product", "variant_seller_ids") => each(&|p| {
            let t = env
                .get_id("product.product", p, "product_tmpl_id")
                .unwrap_or(0);
            Val::Ids(env.get_ids("product.template", t, "seller_ids").into())
        }),
        ("product.product" | "product.template", "product_variant_count") => each(&|i| {
            let t = if mname == "product.product" {
                env.get_id("product.product", i, "product_tmpl_id")
                    .unwrap_or(0)
            } else {
                i
            };
            Val::Int(
                env.find("product.product", json!([["product_tmpl_id", "=", t]]))
                    .len() as i64,
            )
        }),
        ("product.product", "nbr_reordering_rules") => each(&|p| {
            Val::Int(
                env.find(
                    "stock.warehouse.orderpoint",
                    json!([["product_id", "=", p]]),
                )
                .len() as i64,
            )
        }),
        ("product.product", "reordering_min_qty" | "reordering_max_qty") => each(&|p| {
            let fname = if field == "reordering_min_qty" {
                "product_min_qty"
            } else {
                "product_max_qty"
            };
            let ops = env.find(
                "stock.warehouse.orderpoint",
                json!([["product_id", "=", p]]),
            );
            fl(ops
                .iter()
                .map(|o| env.get_f64("stock.warehouse.orderpoint", *o, fname))
                .sum())
        }),
        ("product.template", "product_variant_id") => each(&|t| {
            id_or_false(env.find_one("product.product", json!([["product_tmpl_id", "=", t]])))
        }),
        ("product.template", "default_code" | "barcode" | "standard_price") => each(&|t| {
            let variants = env.find(
                "product.product",
                json!([["product_tmpl_id", "=", t], ["active", "in", [true, false]]]),
            );
            if variants.len() == 1 {
                env.get("product.product", variants[0], &field)
            } else if field == "standard_price" {
                fl(0.0)
            } else {
                Val::False
            }
        }),
        ("product.template", "currency_id" | "cost_currency_id") => each(&|_| Val::Int(1)),
        ("product.template", "is_product_variant") => each(&|_| Val::Bool(false)),
        ("product.template", "uom_name") => each(&|t| {
            let u = env.get_id("product.template", t, "uom_id").unwrap_or(1);
            env.get("uom.uom", u, "name")
        }),
        ("product.template", "nbr_reordering_rules") => each(&|_| Val::Int(0)),
        // ---- stock.quant
        ("stock.quant", "available_quantity") => each(&|q| {
            fl(round_to(
                env.get_f64("stock.quant", q, "quantity")
                    - env.get_f64("stock.quant", q, "reserved_quantity"),
                4,
            ))
        }),
        ("stock.quant", "inventory_diff_quantity") => each(&|q| {
            if env.get_bool("stock.quant", q, "inventory_quantity_set") {
                fl(round_to(
                    env.get_f64("stock.quant", q, "inventory_quantity")
                        - env.get_f64("stock.quant", q, "quantity"),
                    4,
                ))
            } else {
                fl(0.0)
            }
        }),
        ("stock.quant", "warehouse_id") => {
            let locs = env.vals(model, ids, m.fid("location_id").expect("f"))?;
            let lm = env.m("stock.location");
            let wf = reg.m(lm).fid("warehouse_id").expect("f");
            let mut cache: HashMap<i64, Val> = HashMap::new();
            locs.iter()
                .map(|l| match l.as_id() {
                    Some(l) => cache
                        .entry(l)
                        .or_insert_with(|| {
                            env.vals(lm, &[l], wf)
                                .ok()
                                .and_then(|mut v| v.pop())
                                .unwrap_or(Val::False)
                        })
                        .clone(),
                    None => Val::False,
                })
                .collect()
        }
        ("stock.quant", "company_id") => each(&|q| {
            let l = env.get_id("stock.quant", q, "location_id").unwrap_or(0);
            match env.get_id("stock.location", l, "company_id") {
                Some(c) => Val::Int(c),
                None => Val::Int(1),
            }
        }),
        ("stock.quant", "product_tmpl_id") => each(&|q| {
            let p = env.get_id("stock.quant", q, "product_id").unwrap_or(0);
            env.get("product.product", p, "product_tmpl_id")
        }),
        ("stock.quant", "product_uom_id") => each(&|q| {
            let p = env.get_id("stock.quant", q, "product_id").unwrap_or(0);
            env.get("product.product", p, "uom_id")
        }),
        ("stock.quant", "product_categ_id") => each(&|q| {
            let p = env.get_id("stock.quant", q, "product_id").unwrap_or(0);
            env.get("product.product", p, "categ_id")
        }),
        ("stock.quant", "tracking") => each(&|q| {
            let p = env.get_id("stock.quant", q, "product_id").unwrap_or(0);
            env.get("product.product", p, "tracking")
        }),
        ("stock.quant", "currency_id") => each(&|_| Val::Int(1)),
        ("stock.quant", "is_outdated") => each(&|_| Val::Bool(false)),
        ("stock.quant", "on_hand") => each(&|q| {
            let l = env.get_id("stock.quant", q, "location_id").unwrap_or(0);
            Val::Bool(env.get_str("stock.location", l, "usage").as_deref() == Some("internal"))
        }),
        ("stock.quant", "cost_method") => each(&|_| Val::Str("standard".into())),
        ("stock.quant", "value") => each(&|q| {
            let p = env.get_id("stock.quant", q, "product_id").unwrap_or(0);
            fl(round_to(
                env.get_f64("stock.quant", q, "quantity")
                    * env.get_f64("product.product", p, "standard_price"),
                2,
            ))
        }),
        // ---- stock.location
        ("stock.location", "child_internal_location_ids") => each(&|l| {
            let mut all: Vec<i64> = env.find(
                "stock.location",
                json!([["id", "child_of", l], ["usage", "=", "internal"]]),
            );
            all.sort_unstable();
            Val::Ids(all.into())
        }),
        ("stock.location", "is_empty") => each(&|l| {
            Val::Bool(
                env.find(
                    "stock.quant",
                    json!([["location_id", "=", l], ["quantity", ">", 0]]),
                )
                .is_empty(),
            )
        }),
        // ---- stock.picking / move / move line
        ("stock.picking", "picking_type_code") => each(&|p| {
            let t = env
                .get_id("stock.picking", p, "picking_type_id")
                .unwrap_or(0);
            env.get("stock.picking.type", t, "code")
        }),
        ("stock.picking", "products_availability") => each(&|p| {
            let st = env.get_str("stock.picking", p, "state").unwrap_or_default();
            match st.as_str() {
                "assigned" => Val::Str("Available".into()),
                "confirmed" | "waiting" => Val::Str("Not Available".into()),
                _ => Val::False,
            }
        }),
        ("stock.picking", "show_check_availability") => each(&|p| {
            let st = env.get_str("stock.picking", p, "state").unwrap_or_default();
            Val::Bool(matches!(st.as_str(), "confirmed" | "waiting"))
        }),
        ("stock.picking", "has_packages") => each(&|_| Val::Bool(false)),
        ("stock.picking", "return_count") => each(&|p| {
            Val::Int(
                env.find("stock.picking", json!([["return_id", "=", p]]))
                    .len() as i64,
            )
        }),
        ("stock.move", "product_qty") => each(&|mv| {
            let qty = env.get_f64("stock.move", mv, "product_uom_qty");
            let uom = env.get_id("stock.move", mv, "product_uom").unwrap_or(1);
            let p = env.get_id("stock.move", mv, "product_id").unwrap_or(0);
            let puom = env.get_id("product.product", p, "uom_id").unwrap_or(1);
            fl(uom_convert(env, qty, uom, puom))
        }),
        ("stock.move", "availability") => each(&|mv| fl(env.get_f64("stock.move", mv, "quantity"))),
        ("stock.move", "picking_code") => each(&|mv| {
            let t = env.get_id("stock.move", mv, "picking_type_id").unwrap_or(0);
            env.get("stock.picking.type", t, "code")
        }),
        ("stock.move", "product_tmpl_id") => each(&|mv| {
            let p = env.get_id("stock.move", mv, "product_id").unwrap_or(0);
            env.get("product.product", p, "product_tmpl_id")
        }),
        ("stock.move.line", "quantity_product_uom") => {
            each(&|l| fl(env.get_f64("stock.move.line", l, "quantity")))
        }
        ("stock.move.line", "picking_code") => each(&|l| {
            let t = env
                .get_id("stock.move.line", l, "picking_type_id")
                .unwrap_or(0);
            env.get("stock.picking.type", t, "code")
        }),
        ("stock.move.line", "tracking") => each(&|l| {
            let p = env.get_id("stock.move.line", l, "product_id").unwrap_or(0);
            env.get("product.product", p, "tracking")
        }),
        // ---- orderpoints
        ("stock.warehouse.orderpoint", _) => {
            crate::business::purchase::orderpoint_compute(env, &field, ids)
        }
        // ---- return wizard
        ("stock.return.picking", "picking_type_code") => each(&|w| {
            let p = env
                .get_id("stock.return.picking", w, "picking_id")
                .unwrap_or(0);
            env.get("stock.picking", p, "picking_type_code")
        }),
        ("stock.return.picking.line", "move_quantity") => each(&|l| {
            let mv = env
                .get_id("stock.return.picking.line", l, "move_id")
                .unwrap_or(0);
            fl(env.get_f64("stock.move", mv, "quantity"))
        }),
        ("stock.return.picking.line", "uom_id") => each(&|l| {
            let p = env
                .get_id("stock.return.picking.line", l, "product_id")
                .unwrap_or(0);
            env.get("product.product", p, "uom_id")
        }),
        // ---- sales
        ("sale.order", _) | ("sale.order.line", _) => {
            crate::business::sale::compute(env, mname, &field, ids)
        }
        ("purchase.order", _) | ("purchase.order.line", _) => {
            crate::business::purchase::compute(env, mname, &field, ids)
        }
        ("account.move", _) => crate::business::account::compute(env, mname, &field, ids),
        // ---- partners, currencies, uom, misc
        ("res.partner", "commercial_partner_id") => each(&|p| {
            let mut cur = p;
            for _ in 0..10 {
                if env.get_bool("res.partner", cur, "is_company") {
                    break;
                }
                match env.get_id("res.partner", cur, "parent_id") {
                    Some(par) => cur = par,
                    None => break,
                }
            }
            Val::Int(cur)
        }),
        ("res.partner", "sale_order_count") => each(&|p| {
            Val::Int(
                env.find("sale.order", json!([["partner_id", "child_of", p]]))
                    .len() as i64,
            )
        }),
        ("res.partner", "user_ids") => each(&|p| {
            Val::Ids(
                env.find("res.users", json!([["partner_id", "=", p]]))
                    .into(),
            )
        }),
        (
            "res.currency",
            "rate" | "inverse_rate" | "rate_string" | "date" | "is_current_company_currency",
        ) => each(&|c| {
            let rate = currency_rate(env, c);
            match field.as_str() {
                "rate" => fl(rate),
                "inverse_rate" => fl(1.0 / rate),
                "rate_string" => Val::Str(
                    format!(
                        "1 USD = {} {}",
                        round_to(rate, 6),
                        env.get_str("res.currency", c, "name").unwrap_or_default()
                    )
                    .into(),
                ),
                "date" => match env.find_one("res.currency.rate", json!([["currency_id", "=", c]]))
                {
                    Some(r) => env.get("res.currency.rate", r, "name"),
                    None => Val::False,
                },
                _ => Val::Bool(c == 1),
            }
        }),
        ("res.currency.rate", "company_rate") => {
            each(&|r| fl(env.get_f64("res.currency.rate", r, "rate")))
        }
        ("res.currency.rate", "inverse_company_rate") => each(&|r| {
            let x = env.get_f64("res.currency.rate", r, "rate");
            fl(if x != 0.0 { 1.0 / x } else { 0.0 })
        }),
        ("uom.uom", "factor") => each(&|u| fl(uom_factor(env, u))),
        ("ir.model.data", "complete_name") => each(&|d| {
            Val::Str(
                format!(
                    "{}.{}",
                    env.get_str("ir.model.data", d, "module")
                        .unwrap_or_default(),
                    env.get_str("ir.model.data", d, "name").unwrap_or_default()
                )
                .into(),
            )
        }),
        ("ir.model.data", "reference") => each(&|d| {
            Val::Str(
                format!(
                    "{},{}",
                    env.get_str("ir.model.data", d, "model").unwrap_or_default(),
                    env.get_f64("ir.model.data", d, "res_id") as i64
                )
                .into(),
            )
        }),
        ("product.supplierinfo", "product_uom_id") => each(&|s| {
            let t = env
                .get_id("product.supplierinfo", s, "product_tmpl_id")
                .unwrap_or(0);
            env.get("product.template", t, "uom_id")
        }),
        ("product.supplierinfo", "price_discounted") => each(&|s| {
            fl(env.get_f64("product.supplierinfo", s, "price")
                * (1.0 - env.get_f64("product.supplierinfo", s, "discount") / 100.0))
        }),
        ("product.supplierinfo", "product_variant_count") => each(&|s| {
            let t = env
                .get_id("product.supplierinfo", s, "product_tmpl_id")
                .unwrap_or(0);
            Val::Int(
                env.find("product.product", json!([["product_tmpl_id", "=", t]]))
                    .len() as i64,
            )
        }),
        ("mail.message", "starred" | "is_current_user_or_guest_author") => {
            each(&|_| Val::Bool(false))
        }
        ("mail.message", "preview") => each(&|mm| {
            let body = env.get_str("mail.message", mm, "body").unwrap_or_default();
            Val::Str(strip_tags(&body).into())
        }),
        _ => vec![empty_val(m.ftype(f)); ids.len()],
    })
}

pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The latest rate of a currency against the company currency (USD = 1).
pub fn currency_rate(env: &Env, currency: i64) -> f64 {
    if currency == 1 {
        return 1.0;
    }
    let rates = env.find("res.currency.rate", json!([["currency_id", "=", currency]]));
    rates
        .first()
        .map(|&r| env.get_f64("res.currency.rate", r, "rate"))
        .filter(|r| *r > 0.0)
        .unwrap_or(1.0)
}

/// The size of a unit in reference units (Pack of 6 → 6).
pub fn uom_factor(env: &Env, uom: i64) -> f64 {
    let mut f = 1.0;
    let mut cur = Some(uom);
    for _ in 0..5 {
        let Some(u) = cur else { break };
        f *= env
            .get_f64("uom.uom", u, "relative_factor")
            .max(f64::MIN_POSITIVE);
        cur = env.get_id("uom.uom", u, "relative_uom_id");
    }
    f
}

/// Convert a quantity between units.
pub fn uom_convert(env: &Env, qty: f64, from: i64, to: i64) -> f64 {
    if from == to {
        return qty;
    }
    round_to(qty * uom_factor(env, from) / uom_factor(env, to), 4)
}

/// Display names of `ids` (`false` where Odoo shows none).
pub fn display_names(env: &Env, model: u16, ids: &[i64]) -> Vec<Value> {
    let reg = env.reg();
    let m = reg.m(model);
    let s = |x: String| Value::String(x);
    let name_of = |mname: &str, id: i64, f: &str| env.get_str(mname, id, f).unwrap_or_default();
    ids.iter()
        .map(|&id| {
            if !env.exists(model, id) {
                return Value::Bool(false);
            }
            if let Some(n) = crate::business::channel_sync::display_name(env, &m.name, id) {
                return s(n);
            }
            match m.name.as_str() {
                "product.product" => s(product_display_name(env, id)),
                "product.template" => {
                    let name = name_of("product.template", id, "name");
                    let variants = env.find(
                        "product.product",
                        json!([
                            ["product_tmpl_id", "=", id],
                            ["active", "in", [true, false]]
                        ]),
                    );
                    match variants.as_slice() {
                        [one] => match env.get_str("product.product", *one, "default_code") {
                            Some(c) if !c.is_empty() => s(format!("[{c}] {name}")),
                            _ => s(name),
                        },
                        _ => s(name),
                    }
                }
                "stock.picking.type" => {
                    let name = name_of("stock.picking.type", id, "name");
                    match env.get_id("stock.picking.type", id, "warehouse_id") {
                        Some(w) => s(format!("{}: {name}", name_of("stock.warehouse", w, "name"))),
                        None => s(name),
                    }
                }
                "sale.order.line" => s(crate::business::sale::line_display_name(env, id)),
                "stock.move" => {
                    let picking = env.get_id("stock.move", id, "picking_id");
                    let origin = picking
                        .and_then(|p| env.get_str("stock.picking", p, "origin"))
                        .filter(|o| !o.is_empty());
                    let p = env.get_id("stock.move", id, "product_id").unwrap_or(0);
                    let code = env
                        .get_str("product.product", p, "default_code")
                        .filter(|c| !c.is_empty());
                    let src = env.get_id("stock.move", id, "location_id").unwrap_or(0);
                    let dst = env
                        .get_id("stock.move", id, "location_dest_id")
                        .unwrap_or(0);
                    s(format!(
                        "{}{}{}>{}",
                        origin.map(|o| format!("{o}/")).unwrap_or_default(),
                        code.map(|c| format!("{c}: ")).unwrap_or_default(),
                        name_of("stock.location", src, "name"),
                        name_of("stock.location", dst, "name")
                    ))
                }
                "product.pricelist" => {
                    let cur = env
                        .get_id("product.pricelist", id, "currency_id")
                        .unwrap_or(1);
                    s(format!(
                        "{} ({})",
                        name_of("product.pricelist", id, "name"),
                        name_of("res.currency", cur, "name")
                    ))
                }
                "account.move" => {
                    let name = env
                        .get_str("account.move", id, "name")
                        .filter(|n| !n.is_empty() && n != "/");
                    let mt = env
                        .get_str("account.move", id, "move_type")
                        .unwrap_or_default();
                    match name {
                        Some(n) => match env
                            .get_str("account.move", id, "ref")
                            .filter(|r| !r.is_empty())
                        {
                            Some(r) if mt == "entry" => s(format!("{n} ({r})")),
                            _ => s(n),
                        },
                        None => s(match mt.as_str() {
                            "out_invoice" => "Draft Invoice".to_owned(),
                            "out_refund" => "Draft Credit Note".to_owned(),
                            "in_invoice" => "Draft Bill".to_owned(),
                            _ => "Draft Entry".to_owned(),
                        }),
                    }
                }
                "account.account" => s(format!(
                    "{} {}",
                    name_of("account.account", id, "code"),
                    name_of("account.account", id, "name")
                )),
                "account.payment.method.line" => {
                    let j = env.get_id("account.payment.method.line", id, "journal_id");
                    let name = name_of("account.payment.method.line", id, "name");
                    match j {
                        Some(j) => s(format!(
                            "{name} ({})",
                            name_of("account.journal", j, "name")
                        )),
                        None => s(name),
                    }
                }
                "ir.model.fields" => {
                    let model_name = name_of("ir.model.fields", id, "model");
                    let desc = reg
                        .get(&model_name)
                        .map(|mm| mm.schema.description.clone())
                        .unwrap_or(model_name);
                    s(format!(
                        "{} ({desc})",
                        name_of("ir.model.fields", id, "field_description")
                    ))
                }
                "mail.message" | "mail.tracking.value" => Value::Bool(false),
                "res.users" => {
                    let p = env.get_id("res.users", id, "partner_id").unwrap_or(0);
                    s(name_of("res.partner", p, "name"))
                }
                "stock.warehouse.orderpoint"
                | "purchase.order"
                | "stock.picking"
                | "sale.order" => s(name_of(&m.name, id, "name")),
                "purchase.order.line" => {
                    let o = env
                        .get_id("purchase.order.line", id, "order_id")
                        .unwrap_or(0);
                    s(format!(
                        "{}: {}",
                        name_of("purchase.order", o, "name"),
                        name_of("purchase.order.line", id, "name")
                    ))
                }
                "product.supplierinfo" => {
                    let p = env
                        .get_id("product.supplierinfo", id, "partner_id")
                        .unwrap_or(0);
                    s(name_of("res.partner", p, "complete_name"))
                }
                "stock.quant" => {
                    let l = env.get_id("stock.quant", id, "location_id").unwrap_or(0);
                    s(name_of("stock.location", l, "complete_name"))
                }
                _ => {
                    let rec = m.meta.rec_name;
                    match m.fid(rec) {
                        Some(f) if rec != "display_name" => {
                            match env.vals(model, &[id], f).ok().and_then(|mut v| v.pop()) {
                                Some(Val::Str(x)) => s(x.to_string()),
                                Some(Val::Int(t))
                                    if m.ftype(f) == crate::schema::FieldType::Many2one =>
                                {
                                    let rel = m.schema.fields[f as usize]
                                        .relation
                                        .clone()
                                        .unwrap_or_default();
                                    Value::String(env.display_name(&rel, t))
                                }
                                _ => Value::Bool(false),
                            }
                        }
                        _ => s(format!("{},{id}", m.name)),
                    }
                }
            }
        })
        .collect()
}

/// `[CODE] Name (Variant, Values)`.
pub fn product_display_name(env: &Env, id: i64) -> String {
    let name = env
        .get_str("product.product", id, "name")
        .unwrap_or_default();
    let code = env
        .get_str("product.product", id, "default_code")
        .filter(|c| !c.is_empty());
    let variant = env
        .get_str("product.product", id, "__variant_label")
        .filter(|c| !c.is_empty());
    let mut out = String::new();
    if let Some(c) = code {
        out.push_str(&format!("[{c}] "));
    }
    out.push_str(&name);
    if let Some(v) = variant {
        out.push_str(&format!(" ({v})"));
    }
    out
}
