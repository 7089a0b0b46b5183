//! Incoming Shopify webhooks: verification and parsing.
//!
//! * `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw body)), compared in
//!   constant time over the **raw bytes** (never a re-serialised JSON).
//! * The body is capped before it is hashed.
//! * `X-Shopify-Shop-Domain` must be the configured shop: an app's client secret is the same
//!   for every shop that installs it, so a valid signature alone does not say *which* shop.
//! * `X-Shopify-Triggered-At` must be within a window (a captured request replayed later). The
//!   header is not covered by the HMAC, so this only stops naive replays; the webhook-id
//!   dedupe (in the channel) stops exact ones.
//! * Events only *trigger* pulls: the `updated_at` cursor stays the source of truth, so a
//!   refused or lost webhook loses nothing.
//!
//! Rejections are logged by the channel with topic, shop domain, webhook id and reason only:
//! never the body (customer data, order tokens) nor the signature.

use std::time::Duration;

use channels_core::webhook::{check_body_size, header_str, verify_hmac_base64};
use channels_core::{WebhookError, WebhookEvent, WebhookEventKind};
use http::HeaderMap;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::mapping::gid_number;

pub const TOPIC: &str = "x-shopify-topic";
pub const HMAC: &str = "x-shopify-hmac-sha256";
pub const SHOP_DOMAIN: &str = "x-shopify-shop-domain";
pub const WEBHOOK_ID: &str = "x-shopify-webhook-id";
pub const EVENT_ID: &str = "x-shopify-event-id";
pub const TRIGGERED_AT: &str = "x-shopify-triggered-at";
pub const API_VERSION: &str = "x-shopify-api-version";

/// The topics this connector acts on.
pub const TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "inventory_levels/update",
    "app/uninstalled",
];

/// A header value safe to log: printable ASCII, at most 100 characters.
pub fn loggable(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(100)
                .collect()
        })
        .unwrap_or_else(|| "-".into())
}

/// Size, signature, shop, replay window — cheapest first, signature before anything that
/// trusts the content.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secret: &SecretString,
    expected_shop: Option<&str>,
    now: Timestamp,
    window: Duration,
    max_body: usize,
) -> Result<(), WebhookError> {
    check_body_size(body, max_body)?;
    let sig = header_str(headers, HMAC)?;
    verify_hmac_base64(secret.expose_secret().as_bytes(), &[body], sig)?;
    let shop = header_str(headers, SHOP_DOMAIN)?;
    if let Some(expected) = expected_shop
        && !shop.eq_ignore_ascii_case(expected)
    {
        return Err(WebhookError::InvalidHeader(SHOP_DOMAIN));
    }
    let triggered = header_str(headers, TRIGGERED_AT)?;
    let t: Timestamp = triggered
        .parse()
        .map_err(|_| WebhookError::InvalidHeader(TRIGGERED_AT))?;
    channels_core::webhook::check_replay_window(t.as_second(), now, window)?;
    header_str(headers, WEBHOOK_ID)?;
    header_str(headers, TOPIC)?;
    Ok(())
}

fn id_of(v: &Value, key: &str, kind: &str) -> Option<String> {
    match v.get(key)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => gid_number(s, kind),
        _ => None,
    }
}

/// Turns a verified delivery into trigger events. `sku_of_item` maps an inventory item id to
/// the SKU the connector resolved earlier (`inventory_levels/update` carries no SKU).
pub fn parse(
    headers: &HeaderMap,
    body: &[u8],
    received_at: Timestamp,
    sku_of_item: impl Fn(&str) -> Option<String>,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    let event_id = header_str(headers, WEBHOOK_ID)?.to_string();
    let topic = header_str(headers, TOPIC)?.to_string();
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("{topic}: body is not JSON: {e}")))?;
    let missing = |what: &str| WebhookError::Malformed(format!("{topic}: {what} missing"));
    let order_id = || {
        id_of(&v, "id", "Order")
            .or_else(|| id_of(&v, "admin_graphql_api_id", "Order"))
            .ok_or_else(|| missing("id"))
    };
    let kind = match topic.as_str() {
        "orders/create"
        | "orders/updated"
        | "orders/paid"
        | "orders/fulfilled"
        | "orders/partially_fulfilled"
        | "orders/edited" => WebhookEventKind::OrderChanged {
            external_id: order_id()?,
        },
        "orders/cancelled" => WebhookEventKind::OrderCancelled {
            external_id: order_id()?,
        },
        "refunds/create" => WebhookEventKind::OrderChanged {
            external_id: id_of(&v, "order_id", "Order").ok_or_else(|| missing("order_id"))?,
        },
        "inventory_levels/update" => {
            let item = id_of(&v, "inventory_item_id", "InventoryItem")
                .ok_or_else(|| missing("inventory_item_id"))?;
            match sku_of_item(&item) {
                Some(sku) => WebhookEventKind::InventoryChanged { sku },
                // An item we never pushed: nothing of ours to re-check.
                None => WebhookEventKind::Other,
            }
        }
        "app/uninstalled" => WebhookEventKind::Uninstalled,
        _ => WebhookEventKind::Other,
    };
    let occurred_at = headers
        .get(TRIGGERED_AT)
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse().ok());
    Ok(vec![WebhookEvent {
        event_id,
        topic,
        kind,
        occurred_at,
        received_at,
    }])
}
