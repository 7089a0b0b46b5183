use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Money;

/// Set a SKU's sellable quantity on the channel.
///
/// `version` is the daemon's outbox version for this (channel, sku): it comes back in the
/// outcome so the daemon can ack exactly the value that was applied, never an older one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockUpdate {
    pub sku: String,
    pub quantity: u32,
    pub version: u64,
    /// Compare-and-set guard: apply only if the channel still shows this quantity (Shopify
    /// `compareQuantity`). Ignored by channels without CAS (`Capabilities::stock_cas`).
    pub expected: Option<i64>,
    /// Channel location/warehouse to set it at, when the channel has several (Shopify
    /// location, Walmart ship node, Amazon fulfilment channel code).
    pub location: Option<String>,
}

/// What the channel currently shows for a SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: String,
    /// Some channels allow negative available quantities (oversold).
    pub quantity: i64,
    pub location: Option<String>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceUpdate {
    pub sku: String,
    pub price: Money,
    /// The "was" price shown struck through.
    pub compare_at: Option<Money>,
    pub version: u64,
}

/// A product as listed on a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub sku: String,
    pub version: u64,
    pub title: String,
    pub description: Option<String>,
    pub brand: Option<String>,
    /// GTIN / EAN / UPC.
    pub barcode: Option<String>,
    pub weight: Option<Weight>,
    /// Image URLs, main image first.
    pub images: Vec<String>,
    pub price: Option<Money>,
    pub compare_at: Option<Money>,
    /// Channel-specific fields, by a name the connector documents: Shopify `seo_title`,
    /// `seo_description`, `metafields`, `collections`; Amazon `asin`, `bullet_points`,
    /// `aplus_ref`, `product_type`; eBay `condition`, `condition_description`,
    /// `item_specifics`; Walmart attributes; TikTok `video_url`, `live_shopping`.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub value: Decimal,
    pub unit: WeightUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    G,
    Kg,
    Oz,
    Lb,
}

/// A value as the channel holds it, echoed back in outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelValue {
    Quantity {
        quantity: i64,
    },
    Price {
        price: Money,
        compare_at: Option<Money>,
    },
    Listing {
        listing_ref: Option<String>,
    },
}

/// A token for an accepted but not yet processed write (an async feed submission), to be
/// passed to `Channel::poll_pending` later.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PendingHandle(pub String);

/// The outcome of one item of a push. A batch returns one outcome per item, in input order;
/// one bad record never fails the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushOutcome {
    /// The channel now holds this value: ack `version`.
    Applied {
        sku: String,
        version: u64,
        channel_value: ChannelValue,
    },
    /// Accepted for asynchronous processing (Amazon feeds): poll `handle` later; do not ack yet.
    Pending {
        sku: String,
        version: u64,
        handle: PendingHandle,
    },
    /// Compare-and-set mismatch: the channel changed underneath (a sale). Re-read, recompute.
    Conflict {
        sku: String,
        version: u64,
        current: Option<ChannelValue>,
    },
    /// Refused. `retryable` tells whether sending the same value later may work (throttling,
    /// outage before sending) or not (validation: unknown SKU, bad price).
    Rejected {
        sku: String,
        version: u64,
        reason: String,
        code: Option<String>,
        retryable: bool,
    },
    /// The request was sent but its outcome is unknown (timeout after sending). Read the value
    /// back (`read_stock`) before sending again.
    Unknown {
        sku: String,
        version: u64,
        reason: String,
    },
}

impl PushOutcome {
    pub fn sku(&self) -> &str {
        match self {
            PushOutcome::Applied { sku, .. }
            | PushOutcome::Pending { sku, .. }
            | PushOutcome::Conflict { sku, .. }
            | PushOutcome::Rejected { sku, .. }
            | PushOutcome::Unknown { sku, .. } => sku,
        }
    }

    pub fn version(&self) -> u64 {
        match self {
            PushOutcome::Applied { version, .. }
            | PushOutcome::Pending { version, .. }
            | PushOutcome::Conflict { version, .. }
            | PushOutcome::Rejected { version, .. }
            | PushOutcome::Unknown { version, .. } => *version,
        }
    }

    pub fn is_applied(&self) -> bool {
        matches!(self, PushOutcome::Applied { .. })
    }
}
