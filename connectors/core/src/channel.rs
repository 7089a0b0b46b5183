//! The `Channel` trait: everything the daemon asks of a marketplace.
//!
//! Design rules (why the trait looks like this):
//! * **Pull by cursor, pages at a time.** The sync job stores the page token / high-water mark
//!   after each page it has committed, so a crash resumes where it stopped. Webhooks only
//!   *trigger* a pull: the cursor stays the source of truth.
//! * **Batches return one outcome per item.** The connector decides whether to make per-SKU
//!   calls or a bulk feed; a bad record never fails its neighbours.
//! * **Writes are not retried blindly.** A connector retries reads; a write whose outcome is
//!   unknown comes back as `ChannelError::Ambiguous` / `PushOutcome::Unknown` and the daemon
//!   re-checks (e.g. `read_stock`, `get_order`) before sending again.
//! * **Object safe**: the daemon holds `Arc<dyn Channel>` built by the registry.

use std::fmt;

use async_trait::async_trait;
use http::HeaderMap;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    CancelAck, Cancellation, ChannelError, ChannelId, ChannelKind, Listing, Order, PendingHandle,
    PriceUpdate, Pulled, PushOutcome, Return, Settlement, Shipment, ShipmentAck, StockLevel,
    StockUpdate, WebhookError,
};

/// Every operation of the trait, for capabilities, rate-limit keys, metrics and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    PullOrders,
    GetOrder,
    PushStock,
    PollPending,
    ReadStock,
    PushPrices,
    UpsertListing,
    ConfirmShipment,
    CancelOrder,
    PullReturns,
    PullSettlements,
    Webhooks,
}

impl Operation {
    pub const ALL: [Operation; 12] = [
        Operation::PullOrders,
        Operation::GetOrder,
        Operation::PushStock,
        Operation::PollPending,
        Operation::ReadStock,
        Operation::PushPrices,
        Operation::UpsertListing,
        Operation::ConfirmShipment,
        Operation::CancelOrder,
        Operation::PullReturns,
        Operation::PullSettlements,
        Operation::Webhooks,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::PullOrders => "pull_orders",
            Operation::GetOrder => "get_order",
            Operation::PushStock => "push_stock",
            Operation::PollPending => "poll_pending",
            Operation::ReadStock => "read_stock",
            Operation::PushPrices => "push_prices",
            Operation::UpsertListing => "upsert_listing",
            Operation::ConfirmShipment => "confirm_shipment",
            Operation::CancelOrder => "cancel_order",
            Operation::PullReturns => "pull_returns",
            Operation::PullSettlements => "pull_settlements",
            Operation::Webhooks => "webhooks",
        }
    }

    /// Whether the operation changes state on the channel (never retried blindly).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Operation::PushStock
                | Operation::PushPrices
                | Operation::UpsertListing
                | Operation::ConfirmShipment
                | Operation::CancelOrder
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a connector can do, so the daemon schedules only what exists and sizes its batches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub operations: Vec<Operation>,
    /// The channel pushes change notifications the daemon can receive over HTTP.
    pub realtime_webhooks: bool,
    /// Largest number of stock updates the connector sends in one request (it splits larger
    /// slices itself; this lets the daemon size its own batches).
    pub max_stock_batch: usize,
    pub max_price_batch: usize,
    /// Largest page size the channel accepts for pulls.
    pub max_page_size: u32,
    /// Stock writes honour `StockUpdate::expected` (compare-and-set).
    pub stock_cas: bool,
    /// Writes may come back `Pending` and need `poll_pending` (feed-based channels).
    pub async_bulk: bool,
    pub partial_shipments: bool,
    pub partial_cancellation: bool,
    /// Some orders are fulfilled by the marketplace (FBA, WFS…).
    pub marketplace_fulfilment: bool,
}

impl Capabilities {
    pub fn supports(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }
}

/// An opaque continuation token from the channel (cursor, NextToken, page number…).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageToken(pub String);

/// One incremental pull request: orders, returns or settlements changed since a point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    /// Records updated at or after this instant. Channels differ on whether the bound is
    /// inclusive, so the daemon re-queries from a little before its high-water mark and relies
    /// on idempotent imports; a record may therefore be returned more than once.
    pub updated_after: Option<Timestamp>,
    /// Continue a previous pull. With a token the channel may ignore `updated_after`.
    pub page: Option<PageToken>,
    /// Requested page size; the connector caps it at `Capabilities::max_page_size`.
    pub page_size: Option<u32>,
}

pub type OrderQuery = PageQuery;

/// One page of pulled records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<Pulled<T>>,
    /// `None` when this was the last page.
    pub next: Option<PageToken>,
    /// The latest `updated_at` among this page's mapped records. After the last page, the
    /// daemon stores the greatest one it saw as the next `updated_after` (minus an overlap).
    pub high_water_mark: Option<Timestamp>,
}

pub type OrderPage = Page<Order>;

/// Something changed on the channel. Only a trigger: the job then pulls through the cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The channel's event id, for dedupe (deliveries are at-least-once).
    pub event_id: String,
    /// The channel's topic string, kept for logs.
    pub topic: String,
    pub kind: WebhookEventKind,
    /// When the channel says the event happened, if it says.
    pub occurred_at: Option<Timestamp>,
    pub received_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WebhookEventKind {
    OrderChanged {
        external_id: String,
    },
    OrderCancelled {
        external_id: String,
    },
    InventoryChanged {
        sku: String,
    },
    ListingChanged {
        sku: String,
    },
    ReturnChanged {
        external_id: String,
    },
    SettlementAvailable {
        external_id: Option<String>,
    },
    /// The seller removed the app / revoked access: stop the channel and alert.
    Uninstalled,
    /// A topic this connector does not act on.
    Other,
}

/// A marketplace connector. Implementations hold their own HTTP client, rate limiter and
/// secrets; they are `Send + Sync` and shared as `Arc<dyn Channel>`.
///
/// Default methods return `ChannelError::Unsupported`; a connector overrides what its
/// `capabilities()` lists.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    fn id(&self) -> &ChannelId;
    fn kind(&self) -> ChannelKind;
    fn capabilities(&self) -> Capabilities;

    /// Orders changed since `query.updated_after`, oldest first, one page.
    async fn pull_orders(&self, query: &OrderQuery) -> Result<OrderPage, ChannelError>;

    /// One order by its marketplace id (re-check after an ambiguous write, webhook follow-up).
    async fn get_order(&self, external_id: &str) -> Result<Pulled<Order>, ChannelError>;

    /// Set sellable quantities. One outcome per update, in input order.
    async fn push_stock(&self, _updates: &[StockUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        Err(ChannelError::Unsupported(Operation::PushStock.as_str()))
    }

    /// Resolve `Pending` outcomes from an earlier push (async feeds). One outcome per handle
    /// that has finished; handles still processing come back `Pending` again.
    async fn poll_pending(
        &self,
        _handles: &[PendingHandle],
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        Err(ChannelError::Unsupported(Operation::PollPending.as_str()))
    }

    /// What the channel currently shows for these SKUs. SKUs the channel does not know are
    /// simply absent from the result.
    async fn read_stock(&self, _skus: &[String]) -> Result<Vec<StockLevel>, ChannelError> {
        Err(ChannelError::Unsupported(Operation::ReadStock.as_str()))
    }

    async fn push_prices(
        &self,
        _updates: &[PriceUpdate],
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        Err(ChannelError::Unsupported(Operation::PushPrices.as_str()))
    }

    /// Create or update a listing (by SKU).
    async fn upsert_listing(&self, _listing: &Listing) -> Result<PushOutcome, ChannelError> {
        Err(ChannelError::Unsupported(Operation::UpsertListing.as_str()))
    }

    /// Confirm a shipment with tracking. Idempotent per tracking number.
    async fn confirm_shipment(&self, _shipment: &Shipment) -> Result<ShipmentAck, ChannelError> {
        Err(ChannelError::Unsupported(
            Operation::ConfirmShipment.as_str(),
        ))
    }

    async fn cancel_order(&self, _cancellation: &Cancellation) -> Result<CancelAck, ChannelError> {
        Err(ChannelError::Unsupported(Operation::CancelOrder.as_str()))
    }

    async fn pull_returns(&self, _query: &PageQuery) -> Result<Page<Return>, ChannelError> {
        Err(ChannelError::Unsupported(Operation::PullReturns.as_str()))
    }

    async fn pull_settlements(&self, _query: &PageQuery) -> Result<Page<Settlement>, ChannelError> {
        Err(ChannelError::Unsupported(
            Operation::PullSettlements.as_str(),
        ))
    }

    /// Check an incoming webhook's authenticity over the **raw** body bytes (never a
    /// re-serialised JSON). Cheap and synchronous: the server calls it before anything else.
    fn verify_webhook(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), WebhookError> {
        Err(WebhookError::Unsupported)
    }

    /// Turn a verified webhook into trigger events. Callers verify first.
    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        Err(WebhookError::Unsupported)
    }
}
