use std::fmt;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{ChannelId, Currency, Money};

/// An order as the marketplace shows it, normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub channel: ChannelId,
    /// The marketplace's stable id (the binding key with `channel`).
    pub external_id: String,
    /// What the buyer and the seller see, e.g. `#1001` or `114-1234567-1234567`.
    pub external_number: Option<String>,
    pub status: OrderStatus,
    /// The marketplace's own status word, kept for display and for statuses we map to `Unknown`.
    pub raw_status: String,
    pub buyer: Buyer,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub lines: Vec<OrderLine>,
    pub shipping_charge: Option<Money>,
    pub shipping_taxes: Vec<TaxLine>,
    pub order_total: Money,
    /// Fees the marketplace states on the order (most only state them at settlement).
    pub fees_known_at_order_time: Vec<Fee>,
    pub currency: Currency,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Latest time the seller must ship (SLA): drives warehouse routing and priority.
    pub ship_by: Option<Timestamp>,
    pub deliver_by: Option<Timestamp>,
    pub service_level: ServiceLevel,
    pub raw_service_level: Option<String>,
    pub fulfilled_by: FulfilledBy,
    pub is_business: bool,
    /// The buyer asked the marketplace to cancel, and the marketplace leaves the decision to
    /// the seller (Amazon's `BuyerRequestedCancel`). Cancelling "because the buyer asked" does
    /// not count against the seller there, any other reason does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_cancel_request: Option<BuyerCancelRequest>,
    /// The marketplace payload, kept for replay.
    pub raw: serde_json::Value,
}

/// See [`Order::buyer_cancel_request`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerCancelRequest {
    /// The buyer's reason, as the marketplace gives it.
    pub reason: Option<String>,
}

impl Order {
    /// `channel:external_id`, the key used in logs and in Odoo's `client_order_ref` fallback.
    pub fn binding_key(&self) -> String {
        format!("{}:{}", self.channel, self.external_id)
    }

    /// The merchant must ship it (not FBA/WFS), and it is in a state that needs shipping.
    pub fn needs_merchant_fulfilment(&self) -> bool {
        self.fulfilled_by == FulfilledBy::Merchant
            && matches!(
                self.status,
                OrderStatus::Unshipped | OrderStatus::PartiallyShipped
            )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed but not yet released for shipping (payment pending, fraud review, Amazon `Pending`).
    Pending,
    /// Paid and waiting for the seller to ship.
    Unshipped,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    /// Fully returned after shipping.
    Returned,
    /// A status this connector does not know; see `raw_status`.
    Unknown,
}

impl OrderStatus {
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            OrderStatus::Pending | OrderStatus::Unshipped | OrderStatus::PartiallyShipped
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// The marketplace's buyer id, when it exposes one (used to find an existing partner).
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A postal address. Every field is optional: completeness is checked by the order audit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub company: Option<String>,
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    /// State or region code as the marketplace gives it (e.g. `CA`, `IDF`).
    pub state_code: Option<String>,
    pub zip: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

impl Address {
    /// The fields needed to ship a parcel that are missing or blank.
    pub fn missing_for_shipping(&self) -> Vec<&'static str> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        let mut out = Vec::new();
        if blank(&self.name) {
            out.push("name");
        }
        if blank(&self.street) {
            out.push("street");
        }
        if blank(&self.city) {
            out.push("city");
        }
        if blank(&self.zip) {
            out.push("zip");
        }
        if blank(&self.country_code) {
            out.push("country_code");
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub external_line_id: String,
    /// The seller SKU. `None` for custom lines (Shopify allows them); the audit decides.
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: Decimal,
    /// Units of `quantity` the marketplace cancelled while the order stays open (a partial
    /// cancellation); 0 for most lines. `quantity` stays what was ordered.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub quantity_cancelled: Decimal,
    pub unit_price: Money,
    pub discounts: Vec<Discount>,
    pub taxes: Vec<TaxLine>,
    /// What the line costs the buyer before taxes the marketplace collects, after discounts,
    /// as the marketplace states it (not recomputed: the audit compares).
    pub line_total: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discount {
    pub amount: Money,
    pub code: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxLine {
    pub amount: Money,
    pub rate: Option<Decimal>,
    pub title: Option<String>,
    /// Who collects and remits it. Marketplace-facilitator taxes (US states, EU OSS deemed
    /// supplier) are collected by the marketplace: they must not become seller revenue in Odoo.
    pub collected_by: TaxCollector,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxCollector {
    Seller,
    Marketplace,
}

/// A fee the marketplace charges the seller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fee {
    pub kind: FeeKind,
    /// Positive: what the seller pays.
    pub amount: Money,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// Referral / commission / final value fee.
    Commission,
    /// Marketplace fulfilment (FBA, WFS) pick/pack/ship.
    Fulfilment,
    Advertising,
    /// Postage bought through the marketplace.
    ShippingLabel,
    Storage,
    Subscription,
    PaymentProcessing,
    Other(String),
}

impl fmt::Display for FeeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeeKind::Other(s) => write!(f, "other:{s}"),
            k => write!(
                f,
                "{}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        }
    }
}

/// How fast the buyer asked for the order to arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    Economy,
    Standard,
    Expedited,
    TwoDay,
    NextDay,
    SameDay,
    /// Amazon Prime (or a marketplace badge with its own SLA).
    Prime,
    Scheduled,
    Pickup,
    Unknown,
}

impl ServiceLevel {
    /// Rough urgency rank for routing: higher is more urgent.
    pub fn urgency(&self) -> u8 {
        match self {
            ServiceLevel::SameDay => 6,
            ServiceLevel::NextDay => 5,
            ServiceLevel::Prime | ServiceLevel::TwoDay => 4,
            ServiceLevel::Expedited => 3,
            ServiceLevel::Scheduled => 2,
            ServiceLevel::Standard | ServiceLevel::Pickup | ServiceLevel::Unknown => 1,
            ServiceLevel::Economy => 0,
        }
    }
}

/// Who ships the order. Marketplace-fulfilled orders (FBA, WFS, …) are imported for accounting
/// but never routed to the seller's warehouses and never decrement the seller's stock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum FulfilledBy {
    Merchant,
    Marketplace { program: String },
}
