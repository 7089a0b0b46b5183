//! Incoming sandbox webhooks: verification and parsing.
//!
//! Scheme: `X-Sandbox-Signature: sha256=<hex HMAC-SHA256(secret, X-Sandbox-Timestamp + "." +
//! raw body)>`, timestamps within a replay window, body capped. Events only *trigger* pulls.

use std::time::Duration;

use channels_core::webhook::{check_body_size, check_replay_window, header_str, verify_hmac_hex};
use channels_core::{WebhookError, WebhookEvent, WebhookEventKind};
use http::HeaderMap;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

pub const EVENT_ID: &str = "x-sandbox-event-id";
pub const TOPIC: &str = "x-sandbox-topic";
pub const TIMESTAMP: &str = "x-sandbox-timestamp";
pub const SIGNATURE: &str = "x-sandbox-signature";

/// Checks size, timestamp window and signature over the raw body, in that order (cheap first).
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secret: &SecretString,
    now: Timestamp,
    window: Duration,
    max_body: usize,
) -> Result<(), WebhookError> {
    check_body_size(body, max_body)?;
    let ts_text = header_str(headers, TIMESTAMP)?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| WebhookError::InvalidHeader(TIMESTAMP))?;
    check_replay_window(ts, now, window)?;
    let sig = header_str(headers, SIGNATURE)?;
    let hex = sig
        .strip_prefix("sha256=")
        .ok_or(WebhookError::InvalidHeader(SIGNATURE))?;
    verify_hmac_hex(
        secret.expose_secret().as_bytes(),
        &[ts_text.as_bytes(), b".", body],
        hex,
    )
}

/// Turns a verified delivery into events. The header's event id is authoritative; a body
/// claiming another id is refused (someone is splicing deliveries).
pub fn parse(
    headers: &HeaderMap,
    body: &[u8],
    received_at: Timestamp,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    let event_id = header_str(headers, EVENT_ID)?.to_string();
    let topic = header_str(headers, TOPIC)?.to_string();
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
    if let Some(id) = v.get("id").and_then(Value::as_str)
        && id != event_id
    {
        return Err(WebhookError::Malformed(
            "event id in body differs from header".into(),
        ));
    }
    if let Some(t) = v.get("topic").and_then(Value::as_str)
        && t != topic
    {
        return Err(WebhookError::Malformed(
            "topic in body differs from header".into(),
        ));
    }
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let text = |k: &str| -> Result<String, WebhookError> {
        data.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| WebhookError::Malformed(format!("{topic}: data.{k} missing")))
    };
    let kind = match topic.as_str() {
        "order.created" | "order.updated" => WebhookEventKind::OrderChanged {
            external_id: text("order_id")?,
        },
        "order.cancelled" => WebhookEventKind::OrderCancelled {
            external_id: text("order_id")?,
        },
        "inventory.updated" => WebhookEventKind::InventoryChanged { sku: text("sku")? },
        "app.uninstalled" => WebhookEventKind::Uninstalled,
        _ => WebhookEventKind::Other,
    };
    let occurred_at = v
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Ok(vec![WebhookEvent {
        event_id,
        topic,
        kind,
        occurred_at,
        received_at,
    }])
}
