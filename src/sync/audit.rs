//! Order audit (审单): should this order wait for a person before it ships?
//!
//! Pure functions over plain data, property-tested: the order job gathers the facts (the
//! order, Odoo prices, routing shortages, earlier orders of the same buyer) and this module
//! only decides. A finding never drops an order: the job creates it in Odoo as a draft, tagged,
//! with a note naming every finding and an activity for a person, who releases it by
//! confirming it there.
//!
//! Marketplace-fulfilled orders (FBA, WFS…) are facts, not decisions: the marketplace already
//! shipped them, so address, phone, stock and duplicate rules do not apply to them. Amount
//! checks (totals, taxes, currency) are made by the job for every order and reported as
//! findings of this module's [`Rule`]s so that a note reads the same whatever held the order.

use std::fmt;
use std::time::Duration;

use channels_core::{Address, Buyer, BuyerCancelRequest, Order};
use jiff::Timestamp;
use rust_decimal::Decimal;

pub use crate::config::orders::AuditRules;

use super::routing::Shortage;

/// Why an order is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The shipping address misses fields a parcel needs.
    Address,
    /// No phone number for the carrier.
    Phone,
    /// A paid unit price deviates too far from the Odoo price.
    Price,
    /// A line orders more units than allowed.
    Quantity,
    /// Same buyer, same items, shortly after another order.
    Duplicate,
    /// No allowed warehouse can ship every unit.
    Stock,
    /// Odoo's total differs from the marketplace total by more than the rounding tolerance.
    Amounts,
    /// A seller-collected tax has no Odoo tax of the same rate.
    Tax,
    /// The order's currency has no pricelist in Odoo.
    Currency,
    /// Odoo refused to confirm the order.
    Confirmation,
    /// The buyer already asked the marketplace to cancel it.
    CancelRequest,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Address => "incomplete address",
            Rule::Phone => "no phone",
            Rule::Price => "price deviation",
            Rule::Quantity => "quantity limit",
            Rule::Duplicate => "suspected duplicate",
            Rule::Stock => "not enough stock",
            Rule::Amounts => "amounts differ",
            Rule::Tax => "tax not mapped",
            Rule::Currency => "currency",
            Rule::Confirmation => "Odoo refused to confirm",
            Rule::CancelRequest => "buyer asked to cancel",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason to hold, with the facts a person needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub message: String,
}

impl Finding {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Finding {
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// One order line, as the audit sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLine {
    pub sku: String,
    pub quantity: Decimal,
    /// What the buyer paid per unit, after discounts, before taxes.
    pub unit_paid: Decimal,
    /// Odoo's price for the product in the order's currency (`None`: unknown, not checked).
    pub odoo_price: Option<Decimal>,
}

/// Everything the rules look at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditInput {
    pub marketplace_fulfilled: bool,
    /// Shipping-address fields that are missing (see `Address::missing_for_shipping`).
    pub missing_address: Vec<&'static str>,
    pub has_phone: bool,
    pub lines: Vec<AuditLine>,
    /// Units no allowed warehouse can ship (from routing).
    pub shortages: Vec<Shortage>,
    /// The earlier order this one duplicates (see [`find_duplicate`]).
    pub duplicate_of: Option<String>,
    /// The buyer's cancellation request the marketplace left to the seller.
    pub cancel_request: Option<BuyerCancelRequest>,
}

impl AuditInput {
    /// The address and phone facts of an order.
    pub fn contact_facts(order: &Order) -> (Vec<&'static str>, bool) {
        let missing = match &order.shipping_address {
            Some(a) => a.missing_for_shipping(),
            None => Address::default().missing_for_shipping(),
        };
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        let has_phone = !blank(&order.buyer.phone)
            || order
                .shipping_address
                .as_ref()
                .is_some_and(|a| !blank(&a.phone));
        (missing, has_phone)
    }
}

/// The findings of every rule that is on, in rule order. Empty: the order may be confirmed.
pub fn audit(rules: &AuditRules, input: &AuditInput) -> Vec<Finding> {
    let mut out = Vec::new();
    let merchant = !input.marketplace_fulfilled;
    if merchant && rules.require_address && !input.missing_address.is_empty() {
        out.push(Finding::new(
            Rule::Address,
            format!(
                "the shipping address has no {}",
                input.missing_address.join(", ")
            ),
        ));
    }
    if merchant && rules.require_phone && !input.has_phone {
        out.push(Finding::new(
            Rule::Phone,
            "neither the buyer nor the shipping address has a phone number",
        ));
    }
    if !rules.max_price_deviation_percent.is_zero() {
        for l in &input.lines {
            let Some(odoo) = l.odoo_price.filter(|p| *p > Decimal::ZERO) else {
                continue;
            };
            let deviation = ((l.unit_paid - odoo).abs() / odoo * Decimal::ONE_HUNDRED).round_dp(2);
            if deviation > rules.max_price_deviation_percent {
                out.push(Finding::new(
                    Rule::Price,
                    format!(
                        "{} sold at {} per unit, {}% from the Odoo price {} (limit {}%)",
                        l.sku,
                        l.unit_paid.normalize(),
                        deviation.normalize(),
                        odoo.normalize(),
                        rules.max_price_deviation_percent.normalize()
                    ),
                ));
            }
        }
    }
    if rules.max_line_quantity > 0 {
        let limit = Decimal::from(rules.max_line_quantity);
        for l in &input.lines {
            if l.quantity > limit {
                out.push(Finding::new(
                    Rule::Quantity,
                    format!(
                        "{} × {} is above the limit of {} per line",
                        l.quantity.normalize(),
                        l.sku,
                        rules.max_line_quantity
                    ),
                ));
            }
        }
    }
    if merchant
        && !rules.duplicate_window.is_zero()
        && let Some(other) = &input.duplicate_of
    {
        out.push(Finding::new(
            Rule::Duplicate,
            format!(
                "same buyer and same items as order {other}, placed within {} minutes",
                rules.duplicate_window.as_secs() / 60
            ),
        ));
    }
    if merchant && rules.check_stock {
        for s in &input.shortages {
            out.push(Finding::new(
                Rule::Stock,
                format!(
                    "{}: {} ordered, {} available in the allowed warehouses",
                    s.sku,
                    s.wanted.normalize(),
                    s.available.max(Decimal::ZERO).normalize()
                ),
            ));
        }
    }
    if merchant
        && rules.hold_cancel_requests
        && let Some(req) = &input.cancel_request
    {
        out.push(Finding::new(
            Rule::CancelRequest,
            format!(
                "the buyer asked the marketplace to cancel this order{}: cancel it here and odoo-channels cancels it on the channel as the buyer's request, or confirm it to ship it anyway",
                req.reason
                    .as_deref()
                    .map(|r| format!(" (reason: {r})"))
                    .unwrap_or_default()
            ),
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Duplicates and normalisation
// ---------------------------------------------------------------------------------------------

/// Lowercase, punctuation dropped, whitespace collapsed: `" 1, Infinite  Loop. "` →
/// `"1 infinite loop"`. Used for buyers, addresses and partner matching.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_alphanumeric() || c == '@' {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() || matches!(c, ',' | '.' | '-' | '/' | '#') {
            space = true;
        }
    }
    out
}

/// A normalised address: who, street, zip, country. `None` without street or zip (too little
/// to tell two addresses apart).
pub fn address_key(a: &Address) -> Option<String> {
    let f = |v: &Option<String>| normalise(v.as_deref().unwrap_or(""));
    let street = f(&a.street);
    let zip = f(&a.zip);
    if street.is_empty() || zip.is_empty() {
        return None;
    }
    Some(format!(
        "{}|{}|{}|{}|{}",
        f(&a.name),
        street,
        f(&a.street2),
        zip,
        f(&a.country_code)
    ))
}

/// Who the buyer is, as stably as the order tells: the channel's buyer id, else the e-mail,
/// else the normalised shipping address.
pub fn buyer_key(buyer: &Buyer, shipping: Option<&Address>) -> Option<String> {
    if let Some(id) = buyer.external_id.as_deref().map(str::trim)
        && !id.is_empty()
    {
        return Some(format!("id:{id}"));
    }
    if let Some(e) = buyer.email.as_deref().map(|e| e.trim().to_lowercase())
        && e.contains('@')
    {
        return Some(format!("email:{e}"));
    }
    shipping.and_then(address_key).map(|k| format!("addr:{k}"))
}

/// What makes two orders look like the same purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub external_id: String,
    pub buyer: String,
    /// (SKU, quantity), sorted, quantities of repeated SKUs summed.
    pub items: Vec<(String, Decimal)>,
    pub created_at: Timestamp,
}

impl Fingerprint {
    /// `None` when the buyer cannot be identified or the order has no SKU lines.
    pub fn of(order: &Order) -> Option<Fingerprint> {
        let buyer = buyer_key(&order.buyer, order.shipping_address.as_ref())?;
        let mut items: Vec<(String, Decimal)> = Vec::new();
        for l in &order.lines {
            let sku = l.sku.as_deref()?.trim().to_owned();
            match items.iter_mut().find(|(s, _)| *s == sku) {
                Some((_, q)) => *q += l.quantity,
                None => items.push((sku, l.quantity)),
            }
        }
        if items.is_empty() {
            return None;
        }
        items.sort();
        for (_, q) in &mut items {
            *q = q.normalize();
        }
        Some(Fingerprint {
            external_id: order.external_id.clone(),
            buyer,
            items,
            created_at: order.created_at,
        })
    }

    fn before(&self, other: &Fingerprint) -> bool {
        (self.created_at, &self.external_id) < (other.created_at, &other.external_id)
    }
}

/// The earliest other order with the same buyer and items placed within `window` before `fp`
/// (ties broken by external id), if any. Of two such orders only the later one is ever a
/// duplicate, so the first is imported and the second held.
pub fn find_duplicate<'a>(
    fp: &Fingerprint,
    others: impl IntoIterator<Item = &'a Fingerprint>,
    window: Duration,
) -> Option<&'a Fingerprint> {
    if window.is_zero() {
        return None;
    }
    let window = jiff::SignedDuration::try_from(window).unwrap_or(jiff::SignedDuration::MAX);
    others
        .into_iter()
        .filter(|o| {
            o.external_id != fp.external_id
                && o.buyer == fp.buyer
                && o.items == fp.items
                && o.before(fp)
                && fp.created_at.duration_since(o.created_at) <= window
        })
        .min_by(|a, b| (a.created_at, &a.external_id).cmp(&(b.created_at, &b.external_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(sku: &str, qty: i64, paid: Decimal, odoo: Option<Decimal>) -> AuditLine {
        AuditLine {
            sku: sku.into(),
            quantity: Decimal::from(qty),
            unit_paid: paid,
            odoo_price: odoo,
        }
    }

    fn clean() -> AuditInput {
        AuditInput {
            marketplace_fulfilled: false,
            missing_address: vec![],
            has_phone: true,
            lines: vec![line("A", 1, dec!(10), Some(dec!(10)))],
            shortages: vec![],
            duplicate_of: None,
            cancel_request: None,
        }
    }

    fn rules_of(f: &[Finding]) -> Vec<Rule> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_buyers_cancel_request_holds_a_merchant_order_unless_the_rule_is_off() {
        let mut input = clean();
        input.cancel_request = Some(BuyerCancelRequest {
            reason: Some("Ordered twice".into()),
        });
        let f = audit(&AuditRules::default(), &input);
        assert_eq!(rules_of(&f), [Rule::CancelRequest]);
        assert!(f[0].message.contains("(reason: Ordered twice)"), "{}", f[0]);
        let off = AuditRules {
            hold_cancel_requests: false,
            ..AuditRules::default()
        };
        assert!(audit(&off, &input).is_empty());
        // Amazon ships it (FBA): nothing of the seller's to hold.
        input.marketplace_fulfilled = true;
        assert!(audit(&AuditRules::default(), &input).is_empty());
    }

    #[test]
    fn a_clean_order_passes_every_rule() {
        assert!(audit(&AuditRules::default(), &clean()).is_empty());
    }

    #[test]
    fn each_rule_names_what_held_the_order() {
        let mut i = clean();
        i.missing_address = vec!["street", "zip"];
        i.has_phone = false;
        i.lines = vec![
            line("CHEAP", 1, dec!(4), Some(dec!(10))),
            line("BULK", 500, dec!(10), Some(dec!(10))),
        ];
        i.shortages = vec![Shortage {
            line: 1,
            sku: "BULK".into(),
            wanted: dec!(500),
            available: dec!(12),
        }];
        i.duplicate_of = Some("SBX-1".into());
        let r = AuditRules {
            require_phone: true,
            ..Default::default()
        };
        let f = audit(&r, &i);
        assert_eq!(
            rules_of(&f),
            vec![
                Rule::Address,
                Rule::Phone,
                Rule::Price,
                Rule::Quantity,
                Rule::Duplicate,
                Rule::Stock
            ]
        );
        assert!(f[0].message.contains("street, zip"), "{}", f[0]);
        assert!(f[2].message.contains("CHEAP sold at 4"), "{}", f[2]);
        assert!(f[2].message.contains("60%"), "{}", f[2]);
        assert!(f[3].message.contains("500 × BULK"), "{}", f[3]);
        assert!(f[4].message.contains("SBX-1"), "{}", f[4]);
        assert!(
            f[5].message.contains("500 ordered, 12 available"),
            "{}",
            f[5]
        );
    }

    #[test]
    fn a_deviation_exactly_at_the_limit_passes() {
        let mut i = clean();
        i.lines = vec![line("A", 1, dec!(15), Some(dec!(10)))];
        let mut r = AuditRules {
            max_price_deviation_percent: dec!(50),
            ..Default::default()
        };
        assert!(audit(&r, &i).is_empty());
        r.max_price_deviation_percent = dec!(49.99);
        assert_eq!(rules_of(&audit(&r, &i)), vec![Rule::Price]);
    }

    #[test]
    fn marketplace_fulfilled_orders_are_not_held_for_shipping_facts() {
        let mut i = clean();
        i.marketplace_fulfilled = true;
        i.missing_address = vec!["name", "street"];
        i.has_phone = false;
        i.shortages = vec![Shortage {
            line: 0,
            sku: "A".into(),
            wanted: dec!(1),
            available: dec!(0),
        }];
        i.duplicate_of = Some("X".into());
        let r = AuditRules {
            require_phone: true,
            ..Default::default()
        };
        assert!(audit(&r, &i).is_empty());
    }

    #[test]
    fn normalisation_ignores_case_punctuation_and_spacing() {
        assert_eq!(normalise(" 1, Infinite  Loop. "), "1 infinite loop");
        assert_eq!(normalise("Ada LOVELACE"), normalise("ada  lovelace"));
        let a = Address {
            name: Some("Ada".into()),
            street: Some("1 Infinite Loop".into()),
            zip: Some("95014".into()),
            country_code: Some("US".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.street = Some("1 infinite loop.".into());
        b.city = Some("Cupertino".into());
        assert_eq!(address_key(&a), address_key(&b));
        b.zip = None;
        assert_eq!(address_key(&b), None);
    }

    #[test]
    fn buyer_key_prefers_the_channel_id_then_email_then_address() {
        let mut b = Buyer {
            external_id: Some("B1".into()),
            email: Some("Ada@Example.test".into()),
            ..Default::default()
        };
        assert_eq!(buyer_key(&b, None).as_deref(), Some("id:B1"));
        b.external_id = None;
        assert_eq!(
            buyer_key(&b, None).as_deref(),
            Some("email:ada@example.test")
        );
        b.email = None;
        assert_eq!(buyer_key(&b, None), None);
    }

    fn fp(id: &str, buyer: &str, items: &[(&str, i64)], minute: i64) -> Fingerprint {
        let mut items: Vec<(String, Decimal)> = items
            .iter()
            .map(|(s, q)| ((*s).to_owned(), Decimal::from(*q)))
            .collect();
        items.sort();
        Fingerprint {
            external_id: id.into(),
            buyer: buyer.into(),
            items,
            created_at: Timestamp::from_second(1_700_000_000 + minute * 60).unwrap(),
        }
    }

    #[test]
    fn only_the_later_of_two_identical_orders_is_a_duplicate() {
        let a = fp("A", "id:1", &[("X", 1)], 0);
        let b = fp("B", "id:1", &[("X", 1)], 5);
        let w = Duration::from_secs(600);
        let all = [a.clone(), b.clone()];
        assert_eq!(
            find_duplicate(&b, &all, w).map(|f| &f.external_id),
            Some(&"A".to_string())
        );
        assert_eq!(find_duplicate(&a, &all, w), None);
        // Outside the window, other items or another buyer: not a duplicate.
        let late = fp("C", "id:1", &[("X", 1)], 30);
        assert_eq!(find_duplicate(&late, &all, w), None);
        let other = fp("D", "id:1", &[("X", 2)], 6);
        assert_eq!(find_duplicate(&other, &all, w), None);
        let buyer = fp("E", "id:2", &[("X", 1)], 6);
        assert_eq!(find_duplicate(&buyer, &all, w), None);
        assert_eq!(find_duplicate(&b, &all, Duration::ZERO), None);
    }

    fn arb_rules() -> impl Strategy<Value = AuditRules> {
        (
            any::<bool>(),
            any::<bool>(),
            0u32..200,
            0u32..50,
            0u64..30,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(addr, phone, pct, qty, mins, stock, cancel)| AuditRules {
                require_address: addr,
                require_phone: phone,
                max_price_deviation_percent: Decimal::from(pct),
                max_line_quantity: qty,
                duplicate_window: Duration::from_secs(mins * 60),
                check_stock: stock,
                hold_cancel_requests: cancel,
            })
    }

    fn arb_input() -> impl Strategy<Value = AuditInput> {
        let line = (1i64..80, 1i64..20_000, proptest::option::of(1i64..20_000)).prop_map(
            |(q, paid, odoo)| AuditLine {
                sku: format!("S{q}"),
                quantity: Decimal::from(q),
                unit_paid: Decimal::new(paid, 2),
                odoo_price: odoo.map(|o| Decimal::new(o, 2)),
            },
        );
        (
            any::<bool>(),
            proptest::sample::subsequence(
                vec!["name", "street", "city", "zip", "country_code"],
                0..=5,
            ),
            any::<bool>(),
            proptest::collection::vec(line, 1..5),
            proptest::collection::vec((0i64..100, 0i64..100), 0..3),
            proptest::option::of("[A-Z]{3}-[0-9]{2}"),
            proptest::option::of(proptest::option::of("[a-z ]{0,12}")),
        )
            .prop_map(
                |(mf, missing, phone, lines, short, dup, cancel)| AuditInput {
                    marketplace_fulfilled: mf,
                    missing_address: missing,
                    has_phone: phone,
                    lines,
                    shortages: short
                        .into_iter()
                        .enumerate()
                        .map(|(i, (w, a))| Shortage {
                            line: i,
                            sku: format!("S{i}"),
                            wanted: Decimal::from(w + a + 1),
                            available: Decimal::from(a),
                        })
                        .collect(),
                    duplicate_of: dup,
                    cancel_request: cancel.map(|reason| BuyerCancelRequest { reason }),
                },
            )
    }

    proptest! {
        /// With every rule off, nothing is ever held.
        #[test]
        fn rules_off_hold_nothing(input in arb_input()) {
            prop_assert!(audit(&AuditRules::off(), &input).is_empty());
        }

        /// Tightening a rule never releases an order: the findings under looser limits are a
        /// subset of those under stricter ones (compared by rule).
        #[test]
        fn stricter_rules_hold_at_least_as_much(input in arb_input(), r in arb_rules(), pct in 0u32..200, qty in 0u32..50) {
            let loose = audit(&r, &input);
            let mut strict = r.clone();
            strict.require_address = true;
            strict.require_phone = true;
            strict.check_stock = true;
            strict.hold_cancel_requests = true;
            if !strict.max_price_deviation_percent.is_zero() {
                strict.max_price_deviation_percent = strict.max_price_deviation_percent.min(Decimal::from(pct.max(1)));
            }
            if strict.max_line_quantity > 0 {
                strict.max_line_quantity = strict.max_line_quantity.min(qty.max(1));
            }
            let tight = audit(&strict, &input);
            for f in &loose {
                prop_assert!(tight.iter().any(|t| t.rule == f.rule), "{f} lost under stricter rules");
            }
        }

        /// A marketplace-fulfilled order is only ever held for money or quantity, never for
        /// shipping facts; the audit is deterministic.
        #[test]
        fn marketplace_orders_only_on_price_or_quantity(mut input in arb_input(), r in arb_rules()) {
            input.marketplace_fulfilled = true;
            let f = audit(&r, &input);
            prop_assert!(f.iter().all(|f| matches!(f.rule, Rule::Price | Rule::Quantity)));
            prop_assert_eq!(f, audit(&r, &input));
        }

        /// Of any set of orders, a duplicate always points at an earlier, different order with
        /// the same buyer and items, and the earliest order of each group is never held.
        #[test]
        fn duplicates_point_backwards(specs in proptest::collection::vec((0u8..3, 0u8..2, 0i64..40), 1..12), mins in 1u64..20) {
            let fps: Vec<Fingerprint> = specs.iter().enumerate().map(|(i, (b, it, m))| {
                fp(&format!("O{i:02}"), &format!("id:{b}"), &[("X", i64::from(*it) + 1)], *m)
            }).collect();
            let w = Duration::from_secs(mins * 60);
            for f in &fps {
                if let Some(d) = find_duplicate(f, &fps, w) {
                    prop_assert!(d.external_id != f.external_id);
                    prop_assert_eq!(&d.buyer, &f.buyer);
                    prop_assert_eq!(&d.items, &f.items);
                    prop_assert!(d.before(f));
                    prop_assert!(find_duplicate(d, std::slice::from_ref(f), w).is_none(), "mutual duplicates");
                }
            }
            let earliest = fps.iter().min_by(|a, b| (a.created_at, &a.external_id).cmp(&(b.created_at, &b.external_id))).unwrap();
            prop_assert!(find_duplicate(earliest, &fps, w).is_none());
        }
    }
}
