//! A marketplace order as `sale.order` values: amounts as the marketplace charged them.
//!
//! Pure (the decisions come in as plain data), unit-tested.
//!
//! * **Unit prices after discounts**: a line's `price_unit` is the line total the marketplace
//!   states (after its discounts, before taxes) divided by the quantity; the list price and the
//!   discounts are written into the line's description for people.
//! * **Taxes the marketplace collected are not revenue**: they never appear on the order.
//!   With `taxes = "marketplace"` a line whose only taxes the marketplace collected (or that has
//!   none) gets an explicit empty `tax_ids`, so Odoo's default product taxes do not add tax the
//!   buyer never paid to the seller; a seller-collected tax is mapped to the Odoo sale tax of the
//!   same rate (none: the order is held). With `taxes = "odoo"` seller-taxed lines keep Odoo's
//!   product taxes through the order's fiscal position.
//! * **Shipping** is a line of the configured service product (`is_delivery`).
//! * **Rounding**: the total Odoo must reach is the marketplace total less the taxes the
//!   marketplace collected. When every line is untaxed in Odoo, Odoo's total is predicted
//!   exactly (unit price rounded to the 2-digit product price precision, line subtotals to the
//!   currency) and a rounding line of the configured product absorbs a difference up to the
//!   tolerance in the create itself; a larger difference holds the order. Orders with taxes are
//!   checked after the create against Odoo's own total (see `apply`).

use channels_core::{Order, TaxCollector, TaxLine};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::setup::{CurrencyInfo, SaleTax};
use crate::config::orders::TaxMode;
use crate::sync::audit::{Finding, Rule};

/// The Odoo product of one order line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineProduct {
    pub product_id: i64,
    pub name: String,
}

/// What the job decided, as Odoo ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decisions {
    pub partner: i64,
    pub shipping_partner: i64,
    pub warehouse: i64,
    /// Per product line: the delivery route of the warehouse shipping it, when the order is
    /// split (otherwise `None`: the order's warehouse).
    pub line_routes: Vec<Option<i64>>,
    pub carrier: Option<i64>,
    pub pricelist: Option<i64>,
    pub fiscal_position: Option<i64>,
    /// The hold tag, when the audit holds the order.
    pub hold_tag: Option<i64>,
    /// The addon's `channel.channel` id, when installed.
    pub addon_channel: Option<i64>,
}

/// The fixed parts of the amounts logic.
#[derive(Debug, Clone)]
pub struct AmountRules<'a> {
    pub shipping_product: i64,
    pub rounding_product: i64,
    pub currency: &'a CurrencyInfo,
    pub tolerance: Decimal,
    pub taxes: TaxMode,
    pub sale_taxes: &'a [SaleTax],
    /// `tax_ids` (19) or `tax_id` (16–18), from the version map.
    pub taxes_field: &'a str,
    /// `route_ids` (19, many2many) or `route_id` (16–18).
    pub route_field: &'a str,
}

/// `sale.order` values plus what to verify after the create.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub vals: Map<String, Value>,
    /// What Odoo's `amount_total` must be: the marketplace total less marketplace-collected tax.
    pub target_total: Decimal,
    /// The rounding line put in the create, if any.
    pub rounding: Option<Decimal>,
    /// Amount or tax problems that hold the order.
    pub findings: Vec<Finding>,
}

fn f(d: Decimal) -> Value {
    json!(d.to_f64().unwrap_or(0.0))
}

fn seller_tax(taxes: &[TaxLine]) -> Decimal {
    taxes
        .iter()
        .filter(|t| t.collected_by == TaxCollector::Seller)
        .map(|t| t.amount.amount)
        .sum()
}

fn marketplace_tax(taxes: &[TaxLine]) -> Decimal {
    taxes
        .iter()
        .filter(|t| t.collected_by == TaxCollector::Marketplace)
        .map(|t| t.amount.amount)
        .sum()
}

/// The Odoo taxes of a line: `Some(ids)` to set explicitly, `None` to leave Odoo's defaults.
fn line_taxes(
    taxes: &[TaxLine],
    base: Decimal,
    what: &str,
    r: &AmountRules<'_>,
) -> Result<Option<Vec<i64>>, Finding> {
    let seller = seller_tax(taxes);
    if seller.is_zero() {
        return Ok(match r.taxes {
            TaxMode::Odoo if taxes.is_empty() => None,
            _ => Some(vec![]),
        });
    }
    if r.taxes == TaxMode::Odoo {
        return Ok(None);
    }
    // The Odoo percent tax that yields the stated amount on this base (to the cent).
    let best = r
        .sale_taxes
        .iter()
        .map(|t| {
            let amount = r.currency.round(base * t.amount / Decimal::ONE_HUNDRED);
            ((amount - seller).abs(), t)
        })
        .filter(|(diff, _)| *diff <= r.currency.rounding)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    match best {
        Some((_, t)) => Ok(Some(vec![t.id])),
        None => {
            let pct = if base.is_zero() {
                Decimal::ZERO
            } else {
                (seller / base * Decimal::ONE_HUNDRED).round_dp(2)
            };
            Err(Finding::new(
                Rule::Tax,
                format!(
                    "{what}: the seller collected {} {} of tax (about {}%), and no Odoo sale tax of that rate exists; create it or set taxes = \"odoo\"",
                    seller.normalize(),
                    r.currency.code,
                    pct.normalize()
                ),
            ))
        }
    }
}

/// What Odoo's total must be: the marketplace total less the taxes the marketplace collected.
pub fn target_total(order: &Order, c: &CurrencyInfo) -> Decimal {
    let market: Decimal = order
        .lines
        .iter()
        .map(|l| marketplace_tax(&l.taxes))
        .sum::<Decimal>()
        + marketplace_tax(&order.shipping_taxes);
    c.round(order.order_total.amount - market)
}

/// What Odoo computes for an untaxed line: the unit price rounded to 2 digits (product price
/// precision), times the quantity, rounded to the currency.
fn odoo_subtotal(qty: Decimal, unit: Decimal, c: &CurrencyInfo) -> Decimal {
    let unit = crate::odoo::decode::round_half_up(unit, Decimal::new(1, 2), 2).unwrap_or(unit);
    c.round(qty * unit)
}

/// Build the values of a new `sale.order`.
pub fn order_vals(
    order: &Order,
    products: &[LineProduct],
    d: &Decisions,
    r: &AmountRules<'_>,
) -> Built {
    let mut findings = Vec::new();
    let mut lines = Vec::with_capacity(order.lines.len() + 2);
    // Odoo's untaxed total when every line is explicitly untaxed; `None` once a line has tax.
    let mut predicted = Some(Decimal::ZERO);
    for (i, (line, p)) in order.lines.iter().zip(products).enumerate() {
        let unit = if line.quantity.is_zero() {
            line.unit_price.amount
        } else {
            (line.line_total.amount / line.quantity).round_dp(6)
        };
        let mut name = line.title.clone().unwrap_or_else(|| p.name.clone());
        if !line.discounts.is_empty() {
            name.push_str(&format!(
                "\nList price {} × {}",
                line.unit_price.amount.normalize(),
                line.quantity.normalize()
            ));
            for disc in &line.discounts {
                let label = disc
                    .code
                    .as_deref()
                    .or(disc.description.as_deref())
                    .unwrap_or("discount");
                name.push_str(&format!("\n{label}: −{}", disc.amount.amount.normalize()));
            }
        }
        let mut v = Map::new();
        v.insert("product_id".into(), json!(p.product_id));
        v.insert("product_uom_qty".into(), f(line.quantity));
        v.insert("price_unit".into(), f(unit));
        v.insert("name".into(), json!(name));
        let what = format!(
            "line {} ({})",
            i + 1,
            line.sku.as_deref().unwrap_or(&p.name)
        );
        match line_taxes(&line.taxes, line.line_total.amount, &what, r) {
            Ok(Some(ids)) => {
                if !ids.is_empty() {
                    predicted = None;
                }
                v.insert(r.taxes_field.into(), json!([[6, 0, ids]]));
            }
            Ok(None) => predicted = None,
            Err(finding) => {
                predicted = None;
                findings.push(finding);
                v.insert(r.taxes_field.into(), json!([[6, 0, []]]));
            }
        }
        if let Some(Some(route)) = d.line_routes.get(i) {
            if r.route_field == "route_ids" {
                v.insert("route_ids".into(), json!([[6, 0, [route]]]));
            } else {
                v.insert(r.route_field.into(), json!(route));
            }
        }
        if let Some(pr) = predicted.as_mut() {
            *pr += odoo_subtotal(line.quantity, unit, r.currency);
        }
        lines.push(json!([0, 0, v]));
    }
    if let Some(ship) = &order.shipping_charge
        && !ship.amount.is_zero()
    {
        let mut v = Map::new();
        v.insert("product_id".into(), json!(r.shipping_product));
        v.insert("product_uom_qty".into(), json!(1.0));
        v.insert("price_unit".into(), f(ship.amount));
        v.insert(
            "name".into(),
            json!(match &order.raw_service_level {
                Some(l) => format!("Shipping ({l})"),
                None => "Shipping".to_owned(),
            }),
        );
        v.insert("is_delivery".into(), json!(true));
        match line_taxes(&order.shipping_taxes, ship.amount, "shipping", r) {
            Ok(Some(ids)) => {
                if !ids.is_empty() {
                    predicted = None;
                }
                v.insert(r.taxes_field.into(), json!([[6, 0, ids]]));
            }
            Ok(None) => predicted = None,
            Err(finding) => {
                predicted = None;
                findings.push(finding);
                v.insert(r.taxes_field.into(), json!([[6, 0, []]]));
            }
        }
        if let Some(pr) = predicted.as_mut() {
            *pr += odoo_subtotal(Decimal::ONE, ship.amount, r.currency);
        }
        lines.push(json!([0, 0, v]));
    }
    let target_total = target_total(order, r.currency);
    let mut rounding = None;
    if let Some(pr) = predicted {
        let diff = r.currency.round(target_total - pr);
        if !diff.is_zero() {
            if diff.abs() <= r.tolerance {
                lines.push(json!([0, 0, rounding_line(r, diff, target_total)]));
                rounding = Some(diff);
            } else {
                findings.push(amounts_finding(pr, target_total, r.currency));
            }
        }
    }
    let mut vals = Map::new();
    vals.insert("partner_id".into(), json!(d.partner));
    vals.insert("partner_invoice_id".into(), json!(d.partner));
    vals.insert("partner_shipping_id".into(), json!(d.shipping_partner));
    vals.insert("client_order_ref".into(), json!(order.binding_key()));
    vals.insert(
        "origin".into(),
        json!(format!(
            "{}#{}",
            order.channel,
            order
                .external_number
                .as_deref()
                .unwrap_or(&order.external_id)
        )),
    );
    vals.insert("warehouse_id".into(), json!(d.warehouse));
    if let Some(p) = d.pricelist {
        vals.insert("pricelist_id".into(), json!(p));
    }
    if let Some(fp) = d.fiscal_position {
        vals.insert("fiscal_position_id".into(), json!(fp));
    }
    if let Some(c) = d.carrier {
        vals.insert("carrier_id".into(), json!(c));
    }
    if let Some(t) = order.ship_by
        && order.fulfilled_by == channels_core::FulfilledBy::Merchant
    {
        // Odoo dates the delivery from the commitment date: scheduled date and deadline.
        vals.insert(
            "commitment_date".into(),
            json!(crate::sync::odoo_log::odoo_dt(t)),
        );
    }
    if let Some(tag) = d.hold_tag {
        vals.insert("tag_ids".into(), json!([[6, 0, [tag]]]));
    }
    vals.insert("order_line".into(), Value::Array(lines));
    if let Some(channel_id) = d.addon_channel {
        vals.insert("channel_id".into(), json!(channel_id));
        vals.insert("channel_order_ref".into(), json!(order.external_id));
        if let Some(t) = order.ship_by {
            vals.insert(
                "channel_ship_by".into(),
                json!(crate::sync::odoo_log::odoo_dt(t)),
            );
        }
        if let Some(t) = order.deliver_by {
            vals.insert(
                "channel_deliver_by".into(),
                json!(crate::sync::odoo_log::odoo_dt(t)),
            );
        }
        vals.insert(
            "channel_fulfilled_by".into(),
            json!(match order.fulfilled_by {
                channels_core::FulfilledBy::Merchant => "merchant",
                channels_core::FulfilledBy::Marketplace { .. } => "marketplace",
            }),
        );
        if let Some(l) = &order.raw_service_level {
            vals.insert("channel_service_level".into(), json!(l));
        }
    }
    Built {
        vals,
        target_total,
        rounding,
        findings,
    }
}

/// A line of the rounding product carrying `diff`.
pub fn rounding_line(r: &AmountRules<'_>, diff: Decimal, target: Decimal) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("product_id".into(), json!(r.rounding_product));
    v.insert("product_uom_qty".into(), json!(1.0));
    v.insert("price_unit".into(), f(diff));
    v.insert(
        "name".into(),
        json!(format!(
            "Rounding difference (marketplace total {} {})",
            target.normalize(),
            r.currency.code
        )),
    );
    v.insert(r.taxes_field.into(), json!([[6, 0, []]]));
    v
}

pub fn amounts_finding(odoo: Decimal, target: Decimal, c: &CurrencyInfo) -> Finding {
    Finding::new(
        Rule::Amounts,
        format!(
            "Odoo's total {} {} differs from the marketplace total {} {} by {}, more than the rounding tolerance",
            odoo.normalize(),
            c.code,
            target.normalize(),
            c.code,
            (target - odoo).normalize()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use channels_core::{
        Buyer, ChannelId, Currency, Discount, FulfilledBy, Money, OrderLine, OrderStatus,
        ServiceLevel,
    };
    use jiff::Timestamp;
    use rust_decimal_macros::dec;

    fn usd() -> CurrencyInfo {
        CurrencyInfo {
            id: 1,
            code: "USD".into(),
            rounding: dec!(0.01),
            rate: Decimal::ONE,
        }
    }

    fn money(a: Decimal) -> Money {
        Money::new(a, Currency::new("USD").unwrap())
    }

    fn order(lines: Vec<(Decimal, Decimal, Decimal, Vec<TaxLine>)>, ship: Decimal) -> Order {
        let mut total = ship;
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(i, (qty, unit, line_total, taxes))| {
                total += line_total + taxes.iter().map(|t| t.amount.amount).sum::<Decimal>();
                OrderLine {
                    external_line_id: format!("L{i}"),
                    sku: Some(format!("SKU-{i}")),
                    title: Some(format!("Item {i}")),
                    quantity: qty,
                    unit_price: money(unit),
                    discounts: if line_total < qty * unit {
                        vec![Discount {
                            amount: money(qty * unit - line_total),
                            code: Some("SPRING".into()),
                            description: None,
                        }]
                    } else {
                        vec![]
                    },
                    taxes,
                    line_total: money(line_total),
                    quantity_cancelled: Decimal::ZERO,
                }
            })
            .collect();
        Order {
            channel: ChannelId::new("shop").unwrap(),
            external_id: "O1".into(),
            external_number: Some("#1001".into()),
            status: OrderStatus::Unshipped,
            raw_status: "unshipped".into(),
            buyer: Buyer::default(),
            billing_address: None,
            shipping_address: None,
            lines,
            shipping_charge: Some(money(ship)),
            shipping_taxes: vec![],
            order_total: money(total),
            fees_known_at_order_time: vec![],
            currency: Currency::new("USD").unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            ship_by: None,
            deliver_by: None,
            service_level: ServiceLevel::Standard,
            raw_service_level: Some("standard".into()),
            fulfilled_by: FulfilledBy::Merchant,
            is_business: false,
            buyer_cancel_request: None,
            raw: Value::Null,
        }
    }

    fn tax(amount: Decimal, by: TaxCollector) -> TaxLine {
        TaxLine {
            amount: money(amount),
            rate: None,
            title: None,
            collected_by: by,
        }
    }

    fn rules<'a>(c: &'a CurrencyInfo, taxes: &'a [SaleTax], mode: TaxMode) -> AmountRules<'a> {
        AmountRules {
            shipping_product: 900,
            rounding_product: 901,
            currency: c,
            tolerance: dec!(0.05),
            taxes: mode,
            sale_taxes: taxes,
            taxes_field: "tax_ids",
            route_field: "route_ids",
        }
    }

    fn products(n: usize) -> Vec<LineProduct> {
        (0..n)
            .map(|i| LineProduct {
                product_id: 100 + i as i64,
                name: format!("P{i}"),
            })
            .collect()
    }

    fn lines_of(b: &Built) -> Vec<Map<String, Value>> {
        b.vals["order_line"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[2].as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn discounted_unit_price_shipping_and_a_rounding_cent() {
        // 3 × 33.333… = 100.00 on the marketplace; Odoo rounds the unit to 33.33 → 99.99.
        let o = order(vec![(dec!(3), dec!(40), dec!(100), vec![])], dec!(4.99));
        let c = usd();
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &[], TaxMode::Marketplace),
        );
        assert!(b.findings.is_empty(), "{:?}", b.findings);
        assert_eq!(b.target_total, dec!(104.99));
        assert_eq!(b.rounding, Some(dec!(0.01)));
        let l = lines_of(&b);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0]["price_unit"], json!(33.333333));
        assert_eq!(
            l[0]["tax_ids"],
            json!([[6, 0, []]]),
            "no default product tax"
        );
        assert!(l[0]["name"].as_str().unwrap().contains("SPRING: −20"));
        assert_eq!(l[1]["product_id"], json!(900));
        assert_eq!(l[1]["is_delivery"], json!(true));
        assert_eq!(l[2]["product_id"], json!(901));
        assert_eq!(l[2]["price_unit"], json!(0.01));
        assert_eq!(b.vals["client_order_ref"], json!("shop:O1"));
        assert_eq!(b.vals["origin"], json!("shop##1001"));
    }

    #[test]
    fn marketplace_collected_tax_is_not_revenue() {
        let o = order(
            vec![(
                dec!(1),
                dec!(20),
                dec!(20),
                vec![tax(dec!(1.65), TaxCollector::Marketplace)],
            )],
            dec!(0),
        );
        let c = usd();
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &[], TaxMode::Marketplace),
        );
        assert_eq!(o.order_total.amount, dec!(21.65));
        assert_eq!(
            b.target_total,
            dec!(20),
            "the facilitator tax is not on the order"
        );
        assert_eq!(b.rounding, None);
        assert!(b.findings.is_empty());
        assert_eq!(lines_of(&b).len(), 1, "no shipping line for a zero charge");
    }

    #[test]
    fn seller_tax_maps_to_the_odoo_tax_of_that_rate_or_holds() {
        let taxes = vec![
            SaleTax {
                id: 1,
                name: "15%".into(),
                amount: dec!(15),
            },
            SaleTax {
                id: 7,
                name: "8.25%".into(),
                amount: dec!(8.25),
            },
        ];
        let o = order(
            vec![(
                dec!(2),
                dec!(10),
                dec!(20),
                vec![tax(dec!(1.65), TaxCollector::Seller)],
            )],
            dec!(0),
        );
        let c = usd();
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &taxes, TaxMode::Marketplace),
        );
        assert!(b.findings.is_empty());
        assert_eq!(lines_of(&b)[0]["tax_ids"], json!([[6, 0, [7]]]));
        assert_eq!(
            b.rounding, None,
            "taxed orders are checked after the create"
        );
        assert_eq!(b.target_total, dec!(21.65));
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &taxes[..1], TaxMode::Marketplace),
        );
        assert_eq!(b.findings.len(), 1);
        assert_eq!(b.findings[0].rule, Rule::Tax);
        assert!(b.findings[0].message.contains("8.25%"), "{}", b.findings[0]);
        // taxes = "odoo": Odoo's own product taxes.
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &[], TaxMode::Odoo),
        );
        assert!(b.findings.is_empty());
        assert!(!lines_of(&b)[0].contains_key("tax_ids"));
    }

    #[test]
    fn a_total_that_does_not_add_up_holds_the_order() {
        let mut o = order(vec![(dec!(1), dec!(10), dec!(10), vec![])], dec!(0));
        o.order_total = money(dec!(12.50));
        let c = usd();
        let b = order_vals(
            &o,
            &products(1),
            &Decisions::default(),
            &rules(&c, &[], TaxMode::Marketplace),
        );
        assert_eq!(b.findings.len(), 1);
        assert_eq!(b.findings[0].rule, Rule::Amounts);
        assert_eq!(b.rounding, None);
    }

    #[test]
    fn decisions_become_fields() {
        let mut o = order(
            vec![
                (dec!(1), dec!(10), dec!(10), vec![]),
                (dec!(1), dec!(5), dec!(5), vec![]),
            ],
            dec!(0),
        );
        o.ship_by = Some(Timestamp::from_second(1_767_225_600).unwrap());
        let d = Decisions {
            partner: 5,
            shipping_partner: 6,
            warehouse: 2,
            line_routes: vec![None, Some(44)],
            carrier: Some(3),
            pricelist: Some(9),
            fiscal_position: Some(4),
            hold_tag: Some(12),
            addon_channel: Some(1),
        };
        let c = usd();
        let b = order_vals(&o, &products(2), &d, &rules(&c, &[], TaxMode::Marketplace));
        let v = &b.vals;
        assert_eq!(v["partner_shipping_id"], json!(6));
        assert_eq!(v["warehouse_id"], json!(2));
        assert_eq!(v["carrier_id"], json!(3));
        assert_eq!(v["pricelist_id"], json!(9));
        assert_eq!(v["fiscal_position_id"], json!(4));
        assert_eq!(v["tag_ids"], json!([[6, 0, [12]]]));
        assert_eq!(v["commitment_date"], json!("2026-01-01 00:00:00"));
        assert_eq!(v["channel_order_ref"], json!("O1"));
        let l = lines_of(&b);
        assert!(!l[0].contains_key("route_ids"));
        assert_eq!(l[1]["route_ids"], json!([[6, 0, [44]]]));
    }
}
