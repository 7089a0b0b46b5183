use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Money, OrderStatus, PendingHandle};

/// Tell the channel that (part of) an order has shipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub order_external_id: String,
    /// Empty means "everything still unshipped on the order".
    pub lines: Vec<ItemQuantity>,
    pub carrier: Carrier,
    pub service: Option<String>,
    /// The idempotency key of a shipment on every marketplace we know: confirming the same
    /// tracking number twice must not create two shipments.
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub shipped_at: Timestamp,
}

/// A quantity of one order line (for shipments, cancellations and returns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemQuantity {
    pub external_line_id: String,
    pub sku: Option<String>,
    pub quantity: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carrier {
    /// The channel's carrier code when it has a list (Amazon `carrierCode`, eBay
    /// `shippingCarrierCode`), else a well-known name such as `UPS`, `SF Express`.
    pub code: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentAck {
    /// The channel's id for the shipment/fulfilment, when it has one.
    pub external_id: Option<String>,
    /// The channel already had this shipment (same tracking number): nothing new was created.
    pub already_existed: bool,
    pub order_status: Option<OrderStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub order_external_id: String,
    /// Empty means the whole order.
    pub lines: Vec<ItemQuantity>,
    pub reason: CancelReason,
    pub reason_text: Option<String>,
    pub initiated_by: CancelInitiator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    OutOfStock,
    BuyerRequest,
    AddressUndeliverable,
    PricingError,
    Fraud,
    ShippingDelay,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelInitiator {
    Seller,
    Buyer,
    Marketplace,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAck {
    pub already_cancelled: bool,
    pub order_status: Option<OrderStatus>,
    /// The channel took the request for later processing (Amazon's acknowledgement feed):
    /// resolve it with `poll_pending`, whose `Applied` means cancelled and `Rejected` refused.
    /// `None`: the cancellation is done when this returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingHandle>,
}

/// A return (RMA) as the channel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Return {
    pub external_id: String,
    pub order_external_id: String,
    pub lines: Vec<ReturnLine>,
    pub status: ReturnStatus,
    pub raw_status: String,
    pub requested_at: Timestamp,
    pub received_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub refund: Option<Money>,
    pub raw: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub external_line_id: Option<String>,
    pub sku: Option<String>,
    pub quantity: Decimal,
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    InTransit,
    Received,
    Refunded,
    Rejected,
    Closed,
    Unknown,
}
