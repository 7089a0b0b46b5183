//! `[orders]`: how marketplace orders become Odoo sale orders.
//!
//! Everything the inbound order job decides by rule lives here: which service products carry
//! shipping charges and rounding differences, how taxes are treated, the audit rules (审单) and
//! their per-channel overrides, warehouse routing, carrier choice and SLA priority. The raw
//! layer (lenient serde, defaults written once) and the validation (every problem with its key
//! path) follow the same two-layer pattern as the rest of `config`.
//!
//! The rule types themselves are plain data, consumed by the pure cores
//! `sync::audit` and `sync::routing`.

use std::collections::BTreeMap;
use std::time::Duration;

use channels_core::ServiceLevel;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{KeyPath, Problems};

// ---------------------------------------------------------------------------------------------
// The validated section
// ---------------------------------------------------------------------------------------------

/// The whole `[orders]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersConfig {
    /// `default_code` of the service product that carries shipping charges (created if missing).
    pub shipping_product: String,
    /// `default_code` of the service product that carries rounding differences.
    pub rounding_product: String,
    /// Largest difference between Odoo's total and the marketplace's that a rounding line
    /// absorbs; a larger one holds the order.
    pub rounding_tolerance: Decimal,
    pub taxes: TaxMode,
    /// Post an "imported" note on every order (held, updated and failed orders always get one).
    pub import_note: bool,
    /// Orders per `create` / `action_confirm` call (1 = one at a time).
    pub batch_size: usize,
    /// Login of the person who gets the activity of a held order (`None`: the integration user).
    pub hold_activity_user: Option<String>,
    /// The `crm.tag` marking held drafts.
    pub hold_tag: String,
    /// Service levels shipped first (picking priority "urgent").
    pub urgent_service_levels: Vec<ServiceLevel>,
    /// A ship-by deadline closer than this makes the delivery urgent too.
    pub urgent_within: Duration,
    /// `queue` flags deliveries whose deadline is closer than this and that are not picked.
    pub at_risk: Duration,
    /// Code of the warehouse standing for marketplace-held stock (FBA, WFS…), created if missing.
    pub marketplace_warehouse: String,
    /// Codes of warehouses run by a third-party logistics provider (shown as such; routed like
    /// any other when a rule lists them).
    pub third_party_warehouses: Vec<String>,
    pub carrier_strategy: CarrierStrategy,
    pub audit: AuditRules,
    pub channels: BTreeMap<String, ChannelOrders>,
    pub routes: Vec<RouteRule>,
    pub carriers: Vec<CarrierRule>,
}

/// Per-channel settings, overrides already applied (see [`OrdersConfig::for_channel`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelOrders {
    /// `product.pricelist` name (else: a pricelist in the order's currency, if any).
    pub pricelist: Option<String>,
    /// `account.fiscal.position` name set on every order of the channel.
    pub fiscal_position: Option<String>,
    pub taxes: TaxMode,
    pub hold_activity_user: Option<String>,
    pub audit: AuditRules,
}

/// How line taxes are set in Odoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxMode {
    /// The marketplace's statement is authoritative: lines without seller-collected tax get
    /// no tax; a seller-collected tax maps to the Odoo sale tax of the same rate (none: held).
    Marketplace,
    /// Odoo's product taxes through the order's fiscal position, for seller-collected lines.
    Odoo,
}

impl TaxMode {
    pub const NAMES: &[&str] = &["marketplace", "odoo"];
    fn parse(s: &str) -> Option<Self> {
        match s {
            "marketplace" => Some(Self::Marketplace),
            "odoo" => Some(Self::Odoo),
            _ => None,
        }
    }
}

/// How a carrier is picked among those that serve the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierStrategy {
    Cheapest,
    Fastest,
    /// The cheapest carrier that is at least as fast as the service level the buyer paid for.
    ServiceLevel,
}

impl CarrierStrategy {
    pub const NAMES: &[&str] = &["cheapest", "fastest", "service_level"];
    fn parse(s: &str) -> Option<Self> {
        match s {
            "cheapest" => Some(Self::Cheapest),
            "fastest" => Some(Self::Fastest),
            "service_level" => Some(Self::ServiceLevel),
            _ => None,
        }
    }
}

/// The audit rules (审单). A rule at its "off" value never holds an order.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRules {
    /// Hold merchant-shipped orders whose shipping address lacks name, street, city, zip or
    /// country.
    pub require_address: bool,
    /// Hold orders without any phone number (buyer or shipping address).
    pub require_phone: bool,
    /// Hold when a line's paid unit price deviates from the Odoo price by more than this
    /// percentage (0 = off).
    pub max_price_deviation_percent: Decimal,
    /// Hold when a line orders more units than this (0 = off).
    pub max_line_quantity: u32,
    /// Hold an order with the same buyer and the same items as another placed within this
    /// window (zero = off).
    pub duplicate_window: Duration,
    /// Hold when no allowed warehouse (or split) can ship every unit.
    pub check_stock: bool,
    /// Hold a merchant-shipped order the buyer has already asked the marketplace to cancel
    /// (Amazon's `BuyerRequestedCancel`), so that nothing is picked before a person decides.
    pub hold_cancel_requests: bool,
}

impl Default for AuditRules {
    fn default() -> Self {
        AuditRules {
            require_address: true,
            require_phone: false,
            max_price_deviation_percent: Decimal::from(50),
            max_line_quantity: 100,
            duplicate_window: Duration::from_secs(10 * 60),
            check_stock: true,
            hold_cancel_requests: true,
        }
    }
}

impl AuditRules {
    /// Every rule off.
    pub fn off() -> Self {
        AuditRules {
            require_address: false,
            require_phone: false,
            max_price_deviation_percent: Decimal::ZERO,
            max_line_quantity: 0,
            duplicate_window: Duration::ZERO,
            check_stock: false,
            hold_cancel_requests: false,
        }
    }
}

/// One routing rule; the first rule whose filters all match an order applies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteRule {
    /// Channel ids (empty: any).
    pub channels: Vec<String>,
    /// ISO country codes of the destination (empty: any).
    pub countries: Vec<String>,
    /// State or region codes of the destination, as the marketplace gives them (empty: any).
    pub regions: Vec<String>,
    /// Candidate warehouse codes, most preferred first.
    pub warehouses: Vec<String>,
    /// When no single candidate can ship the whole order, ship lines from several.
    pub split: bool,
}

/// A carrier the merchant uses, with what it serves and costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierRule {
    /// `delivery.carrier` name in Odoo.
    pub name: String,
    /// Service levels it offers (empty: any).
    pub service_levels: Vec<ServiceLevel>,
    /// Destination countries it serves (empty: any).
    pub countries: Vec<String>,
    /// Heaviest order it takes, in kg (`None`: no limit).
    pub max_weight: Option<Decimal>,
    /// Typical cost of a parcel, for `cheapest`.
    pub cost: Decimal,
    /// Typical days in transit, for `fastest` and `service_level`.
    pub transit_days: u32,
}

impl OrdersConfig {
    /// The settings of one channel: its `[orders.channels.<id>]` overrides over the defaults.
    pub fn for_channel(&self, channel: &str) -> ChannelOrders {
        self.channels
            .get(channel)
            .cloned()
            .unwrap_or_else(|| ChannelOrders {
                pricelist: None,
                fiscal_position: None,
                taxes: self.taxes,
                hold_activity_user: self.hold_activity_user.clone(),
                audit: self.audit.clone(),
            })
    }
}

impl Default for OrdersConfig {
    fn default() -> Self {
        let mut p = Problems {
            list: Vec::new(),
            warnings: Vec::new(),
            locator: &super::Locator {
                text: "",
                doc: None,
            },
        };
        validate(RawOrders::default(), &[], &mut p).expect("the defaults are valid")
    }
}

// ---------------------------------------------------------------------------------------------
// The raw layer (defaults live here, once)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOrders {
    pub shipping_product: String,
    pub rounding_product: String,
    pub rounding_tolerance: Decimal,
    pub taxes: String,
    pub import_note: bool,
    pub batch_size: i64,
    pub hold_activity_user: Option<String>,
    pub hold_tag: String,
    pub urgent_service_levels: Vec<String>,
    pub urgent_within_hours: i64,
    pub at_risk_hours: i64,
    pub marketplace_warehouse: String,
    pub third_party_warehouses: Vec<String>,
    pub carrier_strategy: String,
    pub audit: RawAudit,
    pub channels: BTreeMap<String, RawChannelOrders>,
    pub routes: Vec<RawRoute>,
    pub carriers: Vec<RawCarrier>,
}

impl Default for RawOrders {
    fn default() -> Self {
        RawOrders {
            shipping_product: "CHANNEL-SHIPPING".into(),
            rounding_product: "CHANNEL-ROUNDING".into(),
            rounding_tolerance: Decimal::new(5, 2),
            taxes: "marketplace".into(),
            import_note: false,
            batch_size: 20,
            hold_activity_user: None,
            hold_tag: "Held by odoo-channels".into(),
            urgent_service_levels: vec![
                "same_day".into(),
                "next_day".into(),
                "two_day".into(),
                "prime".into(),
            ],
            urgent_within_hours: 24,
            at_risk_hours: 4,
            marketplace_warehouse: "MKTF".into(),
            third_party_warehouses: Vec::new(),
            carrier_strategy: "service_level".into(),
            audit: RawAudit::default(),
            channels: BTreeMap::new(),
            routes: Vec::new(),
            carriers: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    pub require_address: bool,
    pub require_phone: bool,
    pub max_price_deviation_percent: Decimal,
    pub max_line_quantity: i64,
    pub duplicate_window_minutes: i64,
    pub check_stock: bool,
    pub hold_cancel_requests: bool,
}

impl Default for RawAudit {
    fn default() -> Self {
        let d = AuditRules::default();
        RawAudit {
            require_address: d.require_address,
            require_phone: d.require_phone,
            max_price_deviation_percent: d.max_price_deviation_percent,
            max_line_quantity: i64::from(d.max_line_quantity),
            duplicate_window_minutes: (d.duplicate_window.as_secs() / 60) as i64,
            check_stock: d.check_stock,
            hold_cancel_requests: d.hold_cancel_requests,
        }
    }
}

/// `[orders.channels.<id>.audit]`: any subset of `[orders.audit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuditOverride {
    pub require_address: Option<bool>,
    pub require_phone: Option<bool>,
    pub max_price_deviation_percent: Option<Decimal>,
    pub max_line_quantity: Option<i64>,
    pub duplicate_window_minutes: Option<i64>,
    pub check_stock: Option<bool>,
    pub hold_cancel_requests: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawChannelOrders {
    pub pricelist: Option<String>,
    pub fiscal_position: Option<String>,
    pub taxes: Option<String>,
    pub hold_activity_user: Option<String>,
    pub audit: RawAuditOverride,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoute {
    pub channels: Vec<String>,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub warehouses: Vec<String>,
    pub split: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCarrier {
    pub name: Option<String>,
    pub service_levels: Vec<String>,
    pub countries: Vec<String>,
    pub max_weight: Option<Decimal>,
    pub cost: Decimal,
    pub transit_days: i64,
}

impl Default for RawCarrier {
    fn default() -> Self {
        RawCarrier {
            name: None,
            service_levels: Vec::new(),
            countries: Vec::new(),
            max_weight: None,
            cost: Decimal::ZERO,
            transit_days: 3,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// A service level by its snake_case name (`two_day`, `prime`, …).
pub fn parse_service_level(s: &str) -> Option<ServiceLevel> {
    serde_json::from_value::<ServiceLevel>(serde_json::Value::String(s.trim().to_owned())).ok()
}

const SERVICE_LEVEL_NAMES: &str =
    "economy, standard, expedited, two_day, next_day, same_day, prime, scheduled, pickup, unknown";

fn service_levels(names: &[String], path: &KeyPath, p: &mut Problems<'_>) -> Vec<ServiceLevel> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match parse_service_level(n) {
            Some(l) => out.push(l),
            None => p.err(
                &path.index(i),
                format!("unknown service level `{n}` (expected one of: {SERVICE_LEVEL_NAMES})"),
            ),
        }
    }
    out
}

fn codes(list: &[String], path: &KeyPath, p: &mut Problems<'_>, upper: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let c = c.trim();
        if c.is_empty() {
            p.err(&path.index(i), "must not be empty");
            continue;
        }
        let c = if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_owned()
        };
        if out.contains(&c) {
            p.err(&path.index(i), format!("`{c}` is listed twice"));
            continue;
        }
        out.push(c);
    }
    out
}

fn non_empty(value: &str, path: &KeyPath, p: &mut Problems<'_>) -> String {
    if value.trim().is_empty() {
        p.err(path, "must not be empty");
    }
    value.trim().to_owned()
}

fn opt_non_empty(value: Option<String>, path: &KeyPath, p: &mut Problems<'_>) -> Option<String> {
    match value {
        Some(v) if v.trim().is_empty() => {
            p.err(path, "must not be empty (leave the key out instead)");
            None
        }
        other => other.map(|v| v.trim().to_owned()),
    }
}

fn percent(value: Decimal, path: &KeyPath, p: &mut Problems<'_>) -> Decimal {
    if value.is_sign_negative() || value > Decimal::from(10_000) {
        p.err(
            path,
            format!("must be between 0 and 10000 (got {})", value.normalize()),
        );
        return Decimal::ZERO;
    }
    value
}

fn audit_rules(raw: RawAudit, base: &KeyPath, p: &mut Problems<'_>) -> AuditRules {
    let qty = p.range(
        &base.key("max_line_quantity"),
        raw.max_line_quantity,
        0,
        1_000_000,
    );
    let mins = p.range(
        &base.key("duplicate_window_minutes"),
        raw.duplicate_window_minutes,
        0,
        7 * 24 * 60,
    );
    AuditRules {
        require_address: raw.require_address,
        require_phone: raw.require_phone,
        max_price_deviation_percent: percent(
            raw.max_price_deviation_percent,
            &base.key("max_price_deviation_percent"),
            p,
        ),
        max_line_quantity: qty as u32,
        duplicate_window: Duration::from_secs(mins as u64 * 60),
        check_stock: raw.check_stock,
        hold_cancel_requests: raw.hold_cancel_requests,
    }
}

fn audit_override(
    raw: RawAuditOverride,
    defaults: &AuditRules,
    base: &KeyPath,
    p: &mut Problems<'_>,
) -> AuditRules {
    let d = defaults;
    audit_rules(
        RawAudit {
            require_address: raw.require_address.unwrap_or(d.require_address),
            require_phone: raw.require_phone.unwrap_or(d.require_phone),
            max_price_deviation_percent: raw
                .max_price_deviation_percent
                .unwrap_or(d.max_price_deviation_percent),
            max_line_quantity: raw
                .max_line_quantity
                .unwrap_or(i64::from(d.max_line_quantity)),
            duplicate_window_minutes: raw
                .duplicate_window_minutes
                .unwrap_or((d.duplicate_window.as_secs() / 60) as i64),
            check_stock: raw.check_stock.unwrap_or(d.check_stock),
            hold_cancel_requests: raw.hold_cancel_requests.unwrap_or(d.hold_cancel_requests),
        },
        base,
        p,
    )
}

fn tax_mode(s: &str, path: &KeyPath, p: &mut Problems<'_>) -> TaxMode {
    TaxMode::parse(s).unwrap_or_else(|| {
        p.err(
            path,
            format!(
                "unknown tax mode `{s}` (expected one of: {})",
                TaxMode::NAMES.join(", ")
            ),
        );
        TaxMode::Marketplace
    })
}

/// Validate `[orders]`; `channel_ids` are the `[[channels]]` ids, which the per-channel tables
/// and routing rules must name. Returns `None` only when a problem was recorded.
pub(super) fn validate(
    raw: RawOrders,
    channel_ids: &[String],
    p: &mut Problems<'_>,
) -> Option<OrdersConfig> {
    let before = p.list.len();
    let base = KeyPath::root("orders");
    let shipping_product = non_empty(&raw.shipping_product, &base.key("shipping_product"), p);
    let rounding_product = non_empty(&raw.rounding_product, &base.key("rounding_product"), p);
    if !shipping_product.is_empty() && shipping_product == rounding_product {
        p.err(
            &base.key("rounding_product"),
            "must differ from shipping_product (the rounding line must stay recognisable)",
        );
    }
    let tol = raw.rounding_tolerance;
    if tol.is_sign_negative() || tol > Decimal::from(100) {
        p.err(
            &base.key("rounding_tolerance"),
            format!("must be between 0 and 100 (got {})", tol.normalize()),
        );
    }
    let taxes = tax_mode(&raw.taxes, &base.key("taxes"), p);
    let batch_size = p.range(&base.key("batch_size"), raw.batch_size, 1, 500) as usize;
    let hold_activity_user =
        opt_non_empty(raw.hold_activity_user, &base.key("hold_activity_user"), p);
    let hold_tag = non_empty(&raw.hold_tag, &base.key("hold_tag"), p);
    let urgent_service_levels = service_levels(
        &raw.urgent_service_levels,
        &base.key("urgent_service_levels"),
        p,
    );
    let urgent = p.range(
        &base.key("urgent_within_hours"),
        raw.urgent_within_hours,
        0,
        24 * 30,
    );
    let at_risk = p.range(&base.key("at_risk_hours"), raw.at_risk_hours, 0, 24 * 30);
    let marketplace_warehouse = non_empty(
        &raw.marketplace_warehouse,
        &base.key("marketplace_warehouse"),
        p,
    );
    let third_party_warehouses = codes(
        &raw.third_party_warehouses,
        &base.key("third_party_warehouses"),
        p,
        false,
    );
    if third_party_warehouses.contains(&marketplace_warehouse) {
        p.err(
            &base.key("third_party_warehouses"),
            format!("`{marketplace_warehouse}` is the marketplace_warehouse"),
        );
    }
    let carrier_strategy = CarrierStrategy::parse(&raw.carrier_strategy).unwrap_or_else(|| {
        p.err(
            &base.key("carrier_strategy"),
            format!(
                "unknown strategy `{}` (expected one of: {})",
                raw.carrier_strategy,
                CarrierStrategy::NAMES.join(", ")
            ),
        );
        CarrierStrategy::ServiceLevel
    });
    let audit = audit_rules(raw.audit, &base.key("audit"), p);

    let mut channels = BTreeMap::new();
    for (id, c) in raw.channels {
        let cb = base.key("channels").key(&id);
        if !channel_ids.contains(&id) {
            p.err(
                &cb,
                format!(
                    "no [[channels]] entry has id `{id}` (known: {})",
                    channel_ids.join(", ")
                ),
            );
        }
        let taxes = match &c.taxes {
            Some(t) => tax_mode(t, &cb.key("taxes"), p),
            None => taxes,
        };
        channels.insert(
            id,
            ChannelOrders {
                pricelist: opt_non_empty(c.pricelist, &cb.key("pricelist"), p),
                fiscal_position: opt_non_empty(c.fiscal_position, &cb.key("fiscal_position"), p),
                taxes,
                hold_activity_user: opt_non_empty(
                    c.hold_activity_user,
                    &cb.key("hold_activity_user"),
                    p,
                )
                .or_else(|| hold_activity_user.clone()),
                audit: audit_override(c.audit, &audit, &cb.key("audit"), p),
            },
        );
    }

    let mut routes = Vec::new();
    for (i, r) in raw.routes.into_iter().enumerate() {
        let rb = base.key("routes").index(i);
        let chans = codes(&r.channels, &rb.key("channels"), p, false);
        for (j, c) in chans.iter().enumerate() {
            if !channel_ids.contains(c) {
                p.err(
                    &rb.key("channels").index(j),
                    format!("no [[channels]] entry has id `{c}`"),
                );
            }
        }
        let warehouses = codes(&r.warehouses, &rb.key("warehouses"), p, false);
        if warehouses.is_empty() {
            p.err(
                &rb.key("warehouses"),
                "list at least one warehouse code (most preferred first)",
            );
        }
        if warehouses.contains(&marketplace_warehouse) {
            p.err(
                &rb.key("warehouses"),
                format!(
                    "`{marketplace_warehouse}` holds marketplace stock: merchant orders are never routed there"
                ),
            );
        }
        routes.push(RouteRule {
            channels: chans,
            countries: codes(&r.countries, &rb.key("countries"), p, true),
            regions: codes(&r.regions, &rb.key("regions"), p, true),
            warehouses,
            split: r.split,
        });
    }

    let mut carriers = Vec::new();
    for (i, c) in raw.carriers.into_iter().enumerate() {
        let cb = base.key("carriers").index(i);
        let name = match c.name {
            Some(n) if !n.trim().is_empty() => n.trim().to_owned(),
            _ => {
                p.err(
                    &cb.key("name"),
                    "required: the delivery.carrier name in Odoo",
                );
                String::new()
            }
        };
        if c.cost.is_sign_negative() {
            p.err(&cb.key("cost"), "must not be negative");
        }
        if let Some(w) = c.max_weight
            && w <= Decimal::ZERO
        {
            p.err(
                &cb.key("max_weight"),
                "must be positive (leave it out for no limit)",
            );
        }
        let transit = p.range(&cb.key("transit_days"), c.transit_days, 0, 365);
        carriers.push(CarrierRule {
            name,
            service_levels: service_levels(&c.service_levels, &cb.key("service_levels"), p),
            countries: codes(&c.countries, &cb.key("countries"), p, true),
            max_weight: c.max_weight,
            cost: c.cost,
            transit_days: transit as u32,
        });
    }

    (p.list.len() == before).then_some(OrdersConfig {
        shipping_product,
        rounding_product,
        rounding_tolerance: tol,
        taxes,
        import_note: raw.import_note,
        batch_size,
        hold_activity_user,
        hold_tag,
        urgent_service_levels,
        urgent_within: Duration::from_secs(urgent as u64 * 3600),
        at_risk: Duration::from_secs(at_risk as u64 * 3600),
        marketplace_warehouse,
        third_party_warehouses,
        carrier_strategy,
        audit,
        channels,
        routes,
        carriers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::load;

    #[test]
    fn defaults_without_a_section() {
        let c = load("").unwrap();
        assert_eq!(c.orders, OrdersConfig::default());
        assert_eq!(c.orders.taxes, TaxMode::Marketplace);
        assert_eq!(c.orders.batch_size, 20);
        assert_eq!(c.orders.audit, AuditRules::default());
        assert!(
            c.orders
                .urgent_service_levels
                .contains(&ServiceLevel::Prime)
        );
        assert_eq!(c.orders.for_channel("shop").audit, AuditRules::default());
    }

    #[test]
    fn channel_overrides_apply_over_the_defaults() {
        let c = load(
            r#"
[orders]
hold_activity_user = "ops@example.com"
[orders.audit]
max_line_quantity = 10
[orders.channels.amz]
pricelist = "Amazon EUR"
taxes = "odoo"
[orders.channels.amz.audit]
require_phone = true
"#,
        )
        .unwrap();
        let amz = c.orders.for_channel("amz");
        assert_eq!(amz.pricelist.as_deref(), Some("Amazon EUR"));
        assert_eq!(amz.taxes, TaxMode::Odoo);
        assert!(amz.audit.require_phone);
        assert_eq!(amz.audit.max_line_quantity, 10, "inherits [orders.audit]");
        assert_eq!(amz.hold_activity_user.as_deref(), Some("ops@example.com"));
        let shop = c.orders.for_channel("shop");
        assert!(!shop.audit.require_phone);
        assert_eq!(shop.taxes, TaxMode::Marketplace);
    }

    #[test]
    fn every_problem_is_named() {
        let e = load(
            r#"
[orders]
taxes = "guess"
batch_size = 0
urgent_service_levels = ["warp"]
rounding_product = "CHANNEL-SHIPPING"
carrier_strategy = "random"
[orders.audit]
duplicate_window_minutes = -1
[orders.channels.ebay]
taxes = "odoo"
[[orders.routes]]
channels = ["nope"]
warehouses = []
[[orders.carriers]]
cost = "-1"
"#,
        )
        .unwrap_err();
        for needle in [
            "orders.taxes: unknown tax mode `guess`",
            "orders.batch_size: must be between 1 and 500",
            "orders.urgent_service_levels[0]: unknown service level `warp`",
            "orders.rounding_product: must differ",
            "orders.carrier_strategy: unknown strategy",
            "orders.audit.duplicate_window_minutes: must be between",
            "orders.channels.ebay: no [[channels]] entry has id `ebay`",
            "orders.routes[0].channels[0]: no [[channels]] entry",
            "orders.routes[0].warehouses: list at least one",
            "orders.carriers[0].name: required",
            "orders.carriers[0].cost: must not be negative",
        ] {
            assert!(
                e.iter().any(|p| p.starts_with(needle)),
                "missing `{needle}` in {e:#?}"
            );
        }
    }

    #[test]
    fn routes_and_carriers_are_typed() {
        let c = load(
            r#"
[[orders.routes]]
channels = ["shop"]
countries = ["us", "CA"]
regions = ["ca"]
warehouses = ["WH", "WH2"]
split = true
[[orders.carriers]]
name = "Express"
service_levels = ["next_day", "two_day"]
countries = ["us"]
max_weight = "30"
cost = "12.50"
transit_days = 1
"#,
        )
        .unwrap();
        let r = &c.orders.routes[0];
        assert_eq!(r.countries, vec!["US", "CA"]);
        assert_eq!(r.regions, vec!["CA"]);
        assert!(r.split);
        let k = &c.orders.carriers[0];
        assert_eq!(
            k.service_levels,
            vec![ServiceLevel::NextDay, ServiceLevel::TwoDay]
        );
        assert_eq!(k.max_weight, Some(Decimal::from(30)));
        assert_eq!(k.transit_days, 1);
    }

    /// Every key of every `[orders…]` table appears in config.example.toml (the parser's own
    /// list of expected keys, read from its unknown-field error).
    #[test]
    fn example_documents_every_orders_key() {
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
                .unwrap();
        for probe in [
            "[orders]\nzz_unknown = 1",
            "[orders.audit]\nzz_unknown = 1",
            "[orders.channels.shop]\nzz_unknown = 1",
            "[orders.channels.shop.audit]\nzz_unknown = 1",
            "[[orders.routes]]\nzz_unknown = 1",
            "[[orders.carriers]]\nzz_unknown = 1",
        ] {
            let e = load(probe).unwrap_err();
            let msg = &e[0];
            let expected = msg
                .split("expected ")
                .nth(1)
                .unwrap_or_else(|| panic!("{probe}: {msg}"))
                .trim_start_matches("one of ");
            let keys: Vec<&str> = expected
                .split(", ")
                .flat_map(|k| k.split(" or "))
                .map(|k| k.trim().trim_matches('`'))
                .collect();
            assert!(keys.len() >= 2, "{probe}: {keys:?}");
            for k in keys {
                let documented = example.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.starts_with(&format!("{k} = ")) || l.starts_with(&format!("{k}  "))
                });
                assert!(
                    documented,
                    "{probe}: `{k}` is not documented in config.example.toml"
                );
            }
        }
    }
}
