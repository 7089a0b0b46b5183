//! Sales (`sale`, `sale_stock`): quotations, prices and taxes, confirmation into a reserved
//! delivery, cancel/draft, delivery and invoice status, pricelists and currency rounding.

use super::{add_days, now_str, today};
use crate::compute::{currency_rate, uom_convert};
use crate::convert::{float, round_precision, round_to, truthy};
use crate::env::Env;
use crate::error::{OResult, OdooError};
use crate::store::Val;
use serde_json::{Map, Value, json};

const SO: &str = "sale.order";
const SOL: &str = "sale.order.line";

fn currency_rounding(env: &Env, currency: i64) -> f64 {
    let r = env.get_f64("res.currency", currency, "rounding");
    if r > 0.0 { r } else { 0.01 }
}

fn order_currency(env: &Env, order: i64) -> i64 {
    env.get_id(SO, order, "currency_id").unwrap_or(1)
}

/// The pricelist a new order gets when none is given (only once pricelists exist).
fn default_pricelist(env: &Env, partner: Option<i64>) -> Option<i64> {
    if let Some(p) = partner
        && let Some(pl) = env.get_id("res.partner", p, "property_product_pricelist")
    {
        return Some(pl);
    }
    env.find_one(
        "product.pricelist",
        json!([["company_id", "in", [1, false]], ["currency_id", "=", 1]]),
    )
    .or_else(|| {
        env.find_one(
            "product.pricelist",
            json!([["company_id", "in", [1, false]]]),
        )
    })
}

/// Fiscal position by the delivery country (l10n_us demo: Domestic / Foreign Trade).
fn fiscal_position(env: &Env, partner: i64) -> Option<i64> {
    let country = env.get_id("res.partner", partner, "country_id")?;
    let company_country = env.get_id("res.company", 1, "country_id").unwrap_or(233);
    let fps = env.find("account.fiscal.position", json!([["company_id", "=", 1]]));
    if fps.is_empty() {
        return None;
    }
    if country == company_country {
        env.find_one(
            "account.fiscal.position",
            json!([["name", "=", "Domestic"]]),
        )
    } else {
        env.find_one(
            "account.fiscal.position",
            json!([["name", "=", "Foreign Trade"]]),
        )
    }
}

pub fn prepare_order(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    let needs_name = !vals.get("name").is_some_and(|v| truthy(v) && v != "New");
    if needs_name {
        let n = env.db.next_seq("sale.order");
        vals.insert("name".into(), json!(format!("S{n:05}")));
    }
    let partner = vals.get("partner_id").and_then(Value::as_i64);
    if let Some(p) = partner {
        if !env.exists(env.m("res.partner"), p) {
            return Err(OdooError::missing("res.partner", &[p], env.uid));
        }
        let invoice = env
            .find_one(
                "res.partner",
                json!([["parent_id", "=", p], ["type", "=", "invoice"]]),
            )
            .unwrap_or(p);
        let delivery = env
            .find_one(
                "res.partner",
                json!([["parent_id", "=", p], ["type", "=", "delivery"]]),
            )
            .unwrap_or(p);
        vals.entry("partner_invoice_id").or_insert(json!(invoice));
        vals.entry("partner_shipping_id").or_insert(json!(delivery));
        if !vals.contains_key("fiscal_position_id")
            && let Some(fp) = fiscal_position(env, delivery)
        {
            vals.insert("fiscal_position_id".into(), json!(fp));
        }
    }
    let now = now_str(env);
    vals.entry("date_order").or_insert(json!(now));
    let validity = env.get_f64("res.company", 1, "quotation_validity_days") as i64;
    if validity > 0 {
        let t = today(env);
        vals.entry("validity_date")
            .or_insert(json!(add_days(&t, validity)));
    }
    vals.entry("user_id").or_insert(json!(env.uid));
    vals.entry("team_id").or_insert(json!(1));
    vals.entry("company_id").or_insert(json!(1));
    if !vals.contains_key("warehouse_id")
        && let Some(w) = env.find_one("stock.warehouse", json!([["company_id", "=", 1]]))
    {
        vals.insert("warehouse_id".into(), json!(w));
    }
    if !vals.get("pricelist_id").is_some_and(truthy)
        && let Some(pl) = default_pricelist(env, partner)
    {
        vals.insert("pricelist_id".into(), json!(pl));
    }
    let currency = vals
        .get("pricelist_id")
        .and_then(Value::as_i64)
        .and_then(|pl| env.get_id("product.pricelist", pl, "currency_id"))
        .unwrap_or(1);
    vals.entry("currency_id").or_insert(json!(currency));
    vals.insert("currency_rate".into(), float(currency_rate(env, currency)));
    Ok(())
}

pub fn after_create_order(env: &mut Env, id: i64) -> OResult<()> {
    recompute_order(env, id)?;
    super::mail::notify(
        env,
        SO,
        id,
        "<p>Sales Order created</p>",
        "mail.mt_note",
        None,
    )?;
    Ok(())
}

/// The line's default description: display name plus the sales description.
fn multiline_description(env: &Env, product: i64) -> String {
    let mut name = crate::compute::product_display_name(env, product);
    if let Some(d) = env
        .get_str("product.product", product, "description_sale")
        .filter(|d| !d.is_empty())
    {
        name.push('\n');
        name.push_str(&d);
    }
    name
}

pub fn prepare_line(env: &mut Env, vals: &mut Map<String, Value>) -> OResult<()> {
    let order = vals.get("order_id").and_then(Value::as_i64).unwrap_or(0);
    if vals.get("display_type").is_some_and(truthy) {
        return Ok(());
    }
    let Some(product) = vals.get("product_id").and_then(Value::as_i64) else {
        return Ok(());
    };
    if !env.exists(env.m("product.product"), product) {
        return Err(OdooError::missing("product.product", &[product], env.uid));
    }
    if !vals.contains_key("name") {
        vals.insert("name".into(), json!(multiline_description(env, product)));
    }
    let puom = env
        .get_id("product.product", product, "uom_id")
        .unwrap_or(1);
    let uom = match vals.get("product_uom_id").and_then(Value::as_i64) {
        Some(u) => u,
        None => {
            vals.insert("product_uom_id".into(), json!(puom));
            puom
        }
    };
    vals.entry("product_uom_qty").or_insert(json!(1.0));
    let currency = order_currency(env, order);
    match vals.get("price_unit").and_then(Value::as_f64) {
        Some(p) => {
            vals.entry("technical_price_unit").or_insert(float(p));
            vals.insert("price_unit".into(), float(round_to(p, 2)));
        }
        None => {
            let list = env.get_f64("product.product", product, "lst_price");
            let per_uom = list * uom_convert(env, 1.0, uom, puom).max(f64::MIN_POSITIVE);
            let price = round_to(per_uom * currency_rate(env, currency), 2);
            vals.insert("price_unit".into(), float(price));
            vals.entry("technical_price_unit").or_insert(float(price));
        }
    }
    if !vals.contains_key("tax_ids") {
        let taxes = env.get_ids("product.product", product, "taxes_id");
        let fp = env.get_id(SO, order, "fiscal_position_id");
        let mut mapped: Vec<i64> = Vec::new();
        for t in taxes {
            if env.get_id("account.tax", t, "company_id").unwrap_or(1) != 1 {
                continue;
            }
            let t2 = match fp {
                Some(fp) => map_tax(env, fp, t),
                None => t,
            };
            if !mapped.contains(&t2) {
                mapped.push(t2);
            }
        }
        vals.insert("tax_ids".into(), json!([[6, 0, mapped]]));
    }
    Ok(())
}

/// Fiscal position tax mapping (Foreign Trade: 15% → 0% Exports).
pub fn map_tax(env: &Env, fp: i64, tax: i64) -> i64 {
    let name = env
        .get_str("account.fiscal.position", fp, "name")
        .unwrap_or_default();
    if name == "Foreign Trade" {
        let kind = env
            .get_str("account.tax", tax, "type_tax_use")
            .unwrap_or_default();
        if let Some(t) = env.find_one(
            "account.tax",
            json!([
                ["type_tax_use", "=", kind],
                ["amount", "=", 0.0],
                ["company_id", "=", 1]
            ]),
        ) {
            return t;
        }
    }
    tax
}

pub fn after_create_line(env: &mut Env, id: i64) -> OResult<()> {
    recompute_line(env, id)?;
    if let Some(o) = env.get_id(SOL, id, "order_id") {
        recompute_order(env, o)?;
    }
    Ok(())
}

/// (subtotal, tax, total) of a line, rounded to the order currency like `round_per_line`.
pub fn line_amounts(env: &Env, line: i64) -> (f64, f64, f64) {
    let order = env.get_id(SOL, line, "order_id").unwrap_or(0);
    let rounding = currency_rounding(env, order_currency(env, order));
    let qty = env.get_f64(SOL, line, "product_uom_qty");
    let price = env.get_f64(SOL, line, "price_unit");
    let disc = env.get_f64(SOL, line, "discount");
    let subtotal = round_precision(qty * price * (1.0 - disc / 100.0), rounding);
    let pct: f64 = env
        .get_ids(SOL, line, "tax_ids")
        .iter()
        .filter(|&&t| env.get_str("account.tax", t, "amount_type").as_deref() != Some("fixed"))
        .map(|&t| env.get_f64("account.tax", t, "amount"))
        .sum();
    let tax = round_precision(subtotal * pct / 100.0, rounding);
    let total = round_precision(subtotal + tax, rounding);
    (subtotal, tax, total)
}

pub fn recompute_line(env: &mut Env, id: i64) -> OResult<()> {
    if !env.exists(env.m(SOL), id) {
        return Ok(());
    }
    let (subtotal, _tax, total) = line_amounts(env, id);
    let qty = env.get_f64(SOL, id, "product_uom_qty");
    let reduce = if qty != 0.0 { subtotal / qty } else { 0.0 };
    let reduce_inc = if qty != 0.0 { total / qty } else { 0.0 };
    let m = env.m(SOL);
    let reg = env.reg();
    let mm = reg.m(m);
    for (f, v) in [
        ("price_subtotal", subtotal),
        ("price_total", total),
        // Odoo stores the unrounded difference (float noise included).
        ("price_tax", total - subtotal),
        ("price_reduce_taxexcl", reduce),
        ("price_reduce_taxinc", reduce_inc),
    ] {
        if let Some(fid) = mm.fid(f) {
            env.set_raw(m, id, fid, Some(Val::Float(v)));
        }
    }
    Ok(())
}

/// Order totals: the untaxed sum of lines, and each tax applied once to the summed base of
/// its lines (Odoo 19's tax engine: 3 lines of 15% on 194.63 give 29.19, not Σ 29.20).
pub fn order_amounts(env: &Env, order: i64) -> (f64, f64) {
    let lines = env.get_ids(SO, order, "order_line");
    let rounding = currency_rounding(env, order_currency(env, order));
    let mut untaxed = 0.0;
    let mut bases: Vec<(i64, f64)> = Vec::new();
    for &l in &lines {
        let (s, _, _) = line_amounts(env, l);
        untaxed += s;
        for t in env.get_ids(SOL, l, "tax_ids") {
            match bases.iter_mut().find(|(x, _)| *x == t) {
                Some(b) => b.1 += s,
                None => bases.push((t, s)),
            }
        }
    }
    let tax: f64 = bases
        .iter()
        .map(|(t, base)| {
            round_precision(
                base * env.get_f64("account.tax", *t, "amount") / 100.0,
                rounding,
            )
        })
        .sum();
    (
        round_precision(untaxed, rounding),
        round_precision(tax, rounding),
    )
}

pub fn recompute_order(env: &mut Env, order: i64) -> OResult<()> {
    let rounding = currency_rounding(env, order_currency(env, order));
    let (untaxed, tax) = order_amounts(env, order);
    let m = env.m(SO);
    let reg = env.reg();
    let mm = reg.m(m);
    for (f, v) in [
        ("amount_untaxed", untaxed),
        ("amount_tax", tax),
        ("amount_total", round_precision(untaxed + tax, rounding)),
    ] {
        if let Some(fid) = mm.fid(f) {
            env.set_raw(m, order, fid, Some(Val::Float(v)));
        }
    }
    Ok(())
}

pub fn before_write_order(
    env: &mut Env,
    ids: &[i64],
    vals: &mut Map<String, Value>,
) -> OResult<()> {
    if let Some(pl) = vals.get("pricelist_id").and_then(Value::as_i64) {
        let cur = env
            .get_id("product.pricelist", pl, "currency_id")
            .unwrap_or(1);
        vals.insert("currency_id".into(), json!(cur));
    }
    let _ = ids;
    Ok(())
}

pub fn action_confirm(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| !env.exists(env.m(SO), i))
        .collect();
    if !missing.is_empty() {
        return Err(OdooError::missing(SO, &missing, env.uid));
    }
    for &o in ids {
        let st = env.get_str(SO, o, "state").unwrap_or_default();
        if !matches!(st.as_str(), "draft" | "sent") {
            return Err(OdooError::user(
                "Some orders are not in a state requiring confirmation.",
            ));
        }
    }
    for &o in ids {
        let now = now_str(env);
        env.set_fields(
            SO,
            o,
            &[("state", json!("sale")), ("date_order", json!(now))],
        )?;
        super::routes::create_deliveries(env, o)?;
        super::mail::notify(
            env,
            SO,
            o,
            "",
            "sale.mt_order_confirmed",
            Some(("state", "Quotation", "Sales Order")),
        )?;
    }
    Ok(json!(true))
}

pub fn update_delivery_status(env: &mut Env, order: i64) -> OResult<()> {
    let picks = env.find("stock.picking", json!([["sale_id", "=", order]]));
    let states: Vec<String> = picks
        .iter()
        .map(|&p| env.get_str("stock.picking", p, "state").unwrap_or_default())
        .filter(|s| s != "cancel")
        .collect();
    let status = if states.is_empty() {
        Value::Bool(false)
    } else if states.iter().all(|s| s == "done") {
        json!("full")
    } else if states.iter().any(|s| s == "done") {
        json!("partial")
    } else {
        json!("pending")
    };
    let done_dates: Vec<String> = picks
        .iter()
        .filter(|&&p| {
            env.get_str("stock.picking", p, "state").as_deref() == Some("done")
                && env
                    .get_str("stock.picking", p, "picking_type_code")
                    .as_deref()
                    == Some("outgoing")
        })
        .filter_map(|&p| match env.get("stock.picking", p, "date_done") {
            Val::Dt(us) => Some(crate::convert::fmt_dt(us)),
            _ => None,
        })
        .collect();
    let effective = done_dates
        .iter()
        .min()
        .map_or(Value::Bool(false), |d| json!(d));
    env.set_fields(
        SO,
        order,
        &[("delivery_status", status), ("effective_date", effective)],
    )
}

pub fn action_cancel(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &o in ids {
        if !env.exists(env.m(SO), o) {
            return Err(OdooError::missing(SO, &[o], env.uid));
        }
        for pk in env.find("stock.picking", json!([["sale_id", "=", o]])) {
            if env.get_str("stock.picking", pk, "state").as_deref() != Some("done") {
                super::stock::cancel_picking(env, pk)?;
            }
        }
        env.set_fields(SO, o, &[("state", json!("cancel"))])?;
        update_delivery_status(env, o)?;
    }
    Ok(json!(true))
}

pub fn action_draft(env: &mut Env, ids: &[i64]) -> OResult<Value> {
    for &o in ids {
        let st = env.get_str(SO, o, "state").unwrap_or_default();
        if matches!(st.as_str(), "cancel" | "sent") {
            env.set_fields(SO, o, &[("state", json!("draft"))])?;
        }
    }
    Ok(json!(true))
}

pub fn set_locked(env: &mut Env, ids: &[i64], locked: bool) -> OResult<Value> {
    for &o in ids {
        env.set_fields(SO, o, &[("locked", json!(locked))])?;
    }
    Ok(json!(true))
}

// --------------------------------------------------------------------------- computes

/// Delivered quantity of a line in its unit: done deliveries minus refunded returns.
fn qty_delivered(env: &Env, line: i64) -> f64 {
    let uom = env.get_id(SOL, line, "product_uom_id").unwrap_or(1);
    let mut q = 0.0;
    for mv in env.find(
        "stock.move",
        json!([["sale_line_id", "=", line], ["state", "=", "done"]]),
    ) {
        let dst = env
            .get_id("stock.move", mv, "location_dest_id")
            .unwrap_or(0);
        let src = env.get_id("stock.move", mv, "location_id").unwrap_or(0);
        let qty = env.get_f64("stock.move", mv, "quantity");
        let muom = env.get_id("stock.move", mv, "product_uom").unwrap_or(1);
        let qty = uom_convert(env, qty, muom, uom);
        let dst_usage = env
            .get_str("stock.location", dst, "usage")
            .unwrap_or_default();
        let src_usage = env
            .get_str("stock.location", src, "usage")
            .unwrap_or_default();
        if dst_usage == "customer" && src_usage != "customer" {
            if env
                .get_id("stock.move", mv, "origin_returned_move_id")
                .is_none()
                || env.get_bool("stock.move", mv, "to_refund")
            {
                q += qty;
            }
        } else if src_usage == "customer"
            && dst_usage != "customer"
            && env.get_bool("stock.move", mv, "to_refund")
        {
            q -= qty;
        }
    }
    round_to(q, 4)
}

fn qty_invoiced(env: &Env, line: i64) -> f64 {
    let mut q = 0.0;
    for aml in env.find(
        "account.move.line",
        json!([["sale_line_ids", "in", [line]]]),
    ) {
        let mv = env.get_id("account.move.line", aml, "move_id").unwrap_or(0);
        if env.get_str("account.move", mv, "state").as_deref() == Some("cancel") {
            continue;
        }
        let sign = if env.get_str("account.move", mv, "move_type").as_deref() == Some("out_refund")
        {
            -1.0
        } else {
            1.0
        };
        q += sign * env.get_f64("account.move.line", aml, "quantity");
    }
    round_to(q, 4)
}

fn qty_to_invoice(env: &Env, line: i64) -> f64 {
    let order = env.get_id(SOL, line, "order_id").unwrap_or(0);
    if env.get_str(SO, order, "state").as_deref() != Some("sale") {
        return 0.0;
    }
    let product = env.get_id(SOL, line, "product_id").unwrap_or(0);
    let policy = env
        .get_str("product.product", product, "invoice_policy")
        .unwrap_or_else(|| "order".into());
    let base = if policy == "delivery" {
        qty_delivered(env, line)
    } else {
        env.get_f64(SOL, line, "product_uom_qty")
    };
    round_to(base - qty_invoiced(env, line), 4)
}

fn line_invoice_status(env: &Env, line: i64) -> &'static str {
    let order = env.get_id(SOL, line, "order_id").unwrap_or(0);
    if env.get_str(SO, order, "state").as_deref() != Some("sale") {
        return "no";
    }
    if env.get(SOL, line, "display_type").truthy() {
        return "no";
    }
    if qty_to_invoice(env, line).abs() > 1e-9 {
        "to invoice"
    } else if qty_invoiced(env, line) + 1e-9 >= env.get_f64(SOL, line, "product_uom_qty") {
        "invoiced"
    } else {
        "no"
    }
}

fn invoices_of(env: &Env, order: i64) -> Vec<i64> {
    let lines = env.get_ids(SO, order, "order_line");
    let mut out: Vec<i64> = env
        .find("account.move.line", json!([["sale_line_ids", "in", lines]]))
        .iter()
        .filter_map(|&l| env.get_id("account.move.line", l, "move_id"))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

pub fn compute(env: &Env, model: &str, field: &str, ids: &[i64]) -> Vec<Val> {
    let each = |g: &dyn Fn(i64) -> Val| -> Vec<Val> { ids.iter().map(|&i| g(i)).collect() };
    match (model, field) {
        (SO, "picking_ids") => each(&|o| {
            Val::Ids(
                env.find("stock.picking", json!([["sale_id", "=", o]]))
                    .into(),
            )
        }),
        (SO, "delivery_count") => each(&|o| {
            Val::Int(
                env.find("stock.picking", json!([["sale_id", "=", o]]))
                    .len() as i64,
            )
        }),
        (SO, "invoice_ids") => each(&|o| Val::Ids(invoices_of(env, o).into())),
        (SO, "invoice_count") => each(&|o| Val::Int(invoices_of(env, o).len() as i64)),
        (SO, "invoice_status") => each(&|o| {
            let st = env.get_str(SO, o, "state").unwrap_or_default();
            if st != "sale" {
                return Val::Str("no".into());
            }
            let statuses: Vec<&str> = env
                .get_ids(SO, o, "order_line")
                .iter()
                .map(|&l| line_invoice_status(env, l))
                .collect();
            Val::Str(
                if statuses.contains(&"to invoice") {
                    "to invoice"
                } else if !statuses.is_empty() && statuses.iter().all(|s| *s == "invoiced") {
                    "invoiced"
                } else {
                    "no"
                }
                .into(),
            )
        }),
        (SO, "has_archived_products") => each(&|o| {
            Val::Bool(env.get_ids(SO, o, "order_line").iter().any(|&l| {
                env.get_id(SOL, l, "product_id")
                    .is_some_and(|p| !env.get_bool("product.product", p, "active"))
            }))
        }),
        (SO, "amount_invoiced") => each(&|o| Val::Float(amount_invoiced(env, o))),
        (SO, "amount_to_invoice") => each(&|o| {
            if env.get_str(SO, o, "state").as_deref() != Some("sale") {
                return Val::Float(0.0);
            }
            Val::Float(round_to(
                env.get_f64(SO, o, "amount_total") - amount_invoiced(env, o),
                2,
            ))
        }),
        (SO, "type_name") => each(&|o| {
            let st = env.get_str(SO, o, "state").unwrap_or_default();
            Val::Str(
                if matches!(st.as_str(), "draft" | "sent" | "cancel") {
                    "Quotation"
                } else {
                    "Sales Order"
                }
                .into(),
            )
        }),
        (SO, "access_url") => each(&|o| Val::Str(format!("/my/orders/{o}").into())),
        (SO, "is_expired") => each(&|_| Val::Bool(false)),
        (SO, "amount_undiscounted") => each(&|o| {
            Val::Float(
                env.get_ids(SO, o, "order_line")
                    .iter()
                    .map(|&l| {
                        env.get_f64(SOL, l, "product_uom_qty") * env.get_f64(SOL, l, "price_unit")
                    })
                    .sum(),
            )
        }),
        (SO, "tax_totals") => each(&|o| Val::Json(Box::new(tax_totals(env, o)))),
        (SO, f) if f.starts_with("activity_") => super::activity::compute(env, SO, f, ids),
        (SOL, "qty_delivered") => each(&|l| Val::Float(qty_delivered(env, l))),
        (SOL, "qty_invoiced") => each(&|l| Val::Float(qty_invoiced(env, l))),
        (SOL, "qty_to_invoice") => each(&|l| Val::Float(qty_to_invoice(env, l))),
        (SOL, "qty_to_deliver") => each(&|l| {
            Val::Float(round_to(
                env.get_f64(SOL, l, "product_uom_qty") - qty_delivered(env, l),
                4,
            ))
        }),
        (SOL, "invoice_status") => each(&|l| Val::Str(line_invoice_status(env, l).into())),
        (SOL, "product_qty") => each(&|l| {
            let p = env.get_id(SOL, l, "product_id").unwrap_or(0);
            let puom = env.get_id("product.product", p, "uom_id").unwrap_or(1);
            let uom = env.get_id(SOL, l, "product_uom_id").unwrap_or(puom);
            Val::Float(uom_convert(
                env,
                env.get_f64(SOL, l, "product_uom_qty"),
                uom,
                puom,
            ))
        }),
        (SOL, "order_partner_id" | "salesman_id" | "currency_id" | "state" | "company_id") => {
            each(&|l| {
                let o = env.get_id(SOL, l, "order_id").unwrap_or(0);
                let f = match field {
                    "order_partner_id" => "partner_id",
                    "salesman_id" => "user_id",
                    other => other,
                };
                env.get(SO, o, f)
            })
        }
        (SOL, "product_type") => each(&|l| match env.get_id(SOL, l, "product_id") {
            Some(p) => env.get("product.product", p, "type"),
            None => Val::False,
        }),
        (SOL, "invoice_lines") => each(&|l| {
            Val::Ids(
                env.find("account.move.line", json!([["sale_line_ids", "in", [l]]]))
                    .into(),
            )
        }),
        (SOL, "untaxed_amount_invoiced") => each(&|l| {
            Val::Float(
                env.find("account.move.line", json!([["sale_line_ids", "in", [l]]]))
                    .iter()
                    .map(|&a| env.get_f64("account.move.line", a, "price_subtotal"))
                    .sum(),
            )
        }),
        (SOL, "untaxed_amount_to_invoice") => each(&|l| {
            Val::Float(round_to(
                qty_to_invoice(env, l) * env.get_f64(SOL, l, "price_unit"),
                2,
            ))
        }),
        _ => vec![Val::False; ids.len()],
    }
}

fn amount_invoiced(env: &Env, order: i64) -> f64 {
    round_to(
        invoices_of(env, order)
            .iter()
            .filter(|&&m| env.get_str("account.move", m, "state").as_deref() == Some("posted"))
            .map(|&m| {
                let sign = if env.get_str("account.move", m, "move_type").as_deref()
                    == Some("out_refund")
                {
                    -1.0
                } else {
                    1.0
                };
                sign * env.get_f64("account.move", m, "amount_total")
            })
            .sum(),
        2,
    )
}

/// The `tax_totals` widget data (one subtotal, one group per tax group).
pub fn tax_totals(env: &Env, order: i64) -> Value {
    let currency = order_currency(env, order);
    let rate = currency_rate(env, currency);
    let pd = currency_rounding(env, currency);
    let lines = env.get_ids(SO, order, "order_line");
    let mut base_cur = 0.0f64;
    let mut tax_cur = 0.0f64;
    let mut groups: Vec<(i64, Vec<i64>, f64, f64)> = Vec::new();
    for &l in &lines {
        let (s, _, _) = line_amounts(env, l);
        base_cur += s;
        for tax in env.get_ids(SOL, l, "tax_ids") {
            let g = env.get_id("account.tax", tax, "tax_group_id").unwrap_or(1);
            let amount = env.get_f64("account.tax", tax, "amount");
            match groups.iter_mut().find(|x| x.0 == g) {
                Some(x) => {
                    if !x.1.contains(&tax) {
                        x.1.push(tax);
                    }
                    x.2 += s;
                }
                None => groups.push((g, vec![tax], s, amount)),
            }
        }
    }
    // Each group's tax on its summed base, rounded once.
    for g in &mut groups {
        g.3 = round_precision(g.2 * g.3 / 100.0, pd);
        tax_cur += g.3;
    }
    let to_company = |x: f64| round_to(x / rate, 2);
    // Company-currency tax: the tax of the converted base (151.65 × 15% = 22.75).
    let company_tax = |g: &(i64, Vec<i64>, f64, f64)| -> f64 {
        let pct: f64 =
            g.1.iter()
                .map(|&t| env.get_f64("account.tax", t, "amount"))
                .sum();
        round_to(to_company(g.2) * pct / 100.0, 2)
    };
    let tax_company: f64 = groups.iter().map(company_tax).sum();
    let group_json: Vec<Value> = groups
        .iter()
        .map(|g| {
            let (gid, taxes, base, tax) = g;
            json!({
                "id": gid, "involved_tax_ids": taxes,
                "tax_amount_currency": tax, "tax_amount": company_tax(g),
                "base_amount_currency": base, "base_amount": to_company(*base),
                "display_base_amount_currency": base, "display_base_amount": to_company(*base),
                "group_name": env.get_str("account.tax.group", *gid, "name").unwrap_or_default(),
                "group_label": false,
            })
        })
        .collect();
    json!({
        "currency_id": currency, "currency_pd": pd, "company_currency_id": 1, "company_currency_pd": 0.01,
        "has_tax_groups": !groups.is_empty(),
        "subtotals": [{
            "tax_groups": group_json, "tax_amount_currency": tax_cur, "tax_amount": tax_company,
            "base_amount_currency": base_cur, "base_amount": to_company(base_cur), "name": "Untaxed Amount",
        }],
        "base_amount_currency": base_cur, "base_amount": to_company(base_cur),
        "tax_amount_currency": tax_cur, "tax_amount": tax_company,
        "same_tax_base": true,
        "total_amount_currency": base_cur + tax_cur, "total_amount": round_to(to_company(base_cur) + tax_company, 2),
    })
}

/// `S00043 - [GS02-HOOD] Golden Hoodie (Ada Golden (SHOPIFY:1001))`.
pub fn line_display_name(env: &Env, line: i64) -> String {
    let order = env.get_id(SOL, line, "order_id").unwrap_or(0);
    let oname = env.get_str(SO, order, "name").unwrap_or_default();
    let name = env.get_str(SOL, line, "name").unwrap_or_default();
    let desc = match env.get_id(SOL, line, "product_id") {
        Some(p) => {
            let parts: Vec<&str> = name.splitn(3, '\n').collect();
            if name == multiline_description(env, p) || parts.len() < 2 || parts[1].is_empty() {
                crate::compute::product_display_name(env, p)
            } else {
                parts[1].to_owned()
            }
        }
        None => name.split('\n').next().unwrap_or("").to_owned(),
    };
    let partner = env.get_id(SO, order, "partner_id").unwrap_or(0);
    let pname = env
        .get_str("res.partner", partner, "name")
        .unwrap_or_default();
    if pname.is_empty() {
        format!("{oname} - {desc}")
    } else {
        format!("{oname} - {desc} ({pname})")
    }
}

// ------------------------------------------------------------------- pricelists, money

pub fn prepare_pricelist(env: &mut Env, vals: &mut Map<String, Value>) {
    vals.entry("currency_id").or_insert(json!(1));
    vals.entry("company_id").or_insert(json!(1));
    // The first pricelist switches the feature on: every company gets its Default first.
    if env.ctx_bool("sandbox_creating_default_pricelists") {
        return;
    }
    let any = env.with_ctx(&[("active_test", json!(false))], |e| {
        e.find("product.pricelist", json!([]))
    });
    if any.is_empty() {
        let mut companies = env.find("res.company", json!([]));
        companies.sort_unstable_by(|a, b| b.cmp(a));
        env.with_ctx(
            &[("sandbox_creating_default_pricelists", json!(true))],
            |env| {
                for c in companies {
                    let _ = env.create_rec(
                    "product.pricelist",
                    json!({"name": "Default", "currency_id": 1, "company_id": c, "sequence": 10}),
                );
                }
            },
        );
    }
}

/// `res.currency.round(amount)`: half-up at the currency's rounding.
pub fn currency_round(env: &mut Env, ids: &[i64], kw: &Map<String, Value>) -> OResult<Value> {
    let amount = kw.get("amount").and_then(Value::as_f64).unwrap_or(0.0);
    let c = *ids
        .first()
        .ok_or_else(|| OdooError::value("Expected singleton: res.currency()"))?;
    if !env.exists(env.m("res.currency"), c) {
        return Err(OdooError::missing("res.currency", &[c], env.uid));
    }
    Ok(float(round_precision(amount, currency_rounding(env, c))))
}

pub fn currency_compute(env: &mut Env, ids: &[i64], kw: &Map<String, Value>) -> OResult<Value> {
    let amount = kw.get("from_amount").and_then(Value::as_f64).unwrap_or(0.0);
    let from = *ids.first().unwrap_or(&1);
    let to = kw.get("to_currency").and_then(Value::as_i64).unwrap_or(1);
    let v = amount / currency_rate(env, from) * currency_rate(env, to);
    let round = kw.get("round").is_none_or(truthy);
    Ok(float(if round {
        round_precision(v, currency_rounding(env, to))
    } else {
        v
    }))
}
