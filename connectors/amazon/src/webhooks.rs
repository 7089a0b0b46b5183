//! SP-API notifications. Amazon has no HTTP push: notifications go to an SQS queue or an
//! EventBridge bus (reading those is outside this crate). Whatever reads them hands the message
//! body here. There is **no signature** (authenticity comes from the AWS resource policy), so
//! `verify_webhook` refuses HTTP deliveries and this module only parses.
//!
//! Accepted shapes, all carrying the notification envelope
//! `{NotificationVersion, NotificationType, PayloadVersion, EventTime, Payload,
//! NotificationMetadata{ApplicationId, SubscriptionId, PublishTime, NotificationId}}`:
//! * the envelope itself (an SQS message body);
//! * an SQS message object with the envelope as a JSON string in `Body`;
//! * an EventBridge event with the envelope in `detail`.
//!
//! `ORDER_CHANGE` becomes `OrderChanged` (or `OrderCancelled` when the summary says
//! `Canceled`); other types become `Other`. Deliveries are at-least-once: events are deduped on
//! `NotificationId`. A notification is only a trigger: the daemon then pulls the order.

use channels_core::webhook::DedupeSet;
use channels_core::{WebhookError, WebhookEvent, WebhookEventKind};
use jiff::Timestamp;
use serde_json::Value;

/// Largest notification accepted (SQS messages are at most 256 KiB).
pub const MAX_BODY: usize = 256 * 1024;

fn envelope(v: &Value) -> Result<Value, WebhookError> {
    if v.get("NotificationType").is_some() {
        return Ok(v.clone());
    }
    if let Some(detail) = v.get("detail").filter(|d| d.is_object()) {
        return envelope(detail);
    }
    if let Some(body) = v.get("Body").and_then(Value::as_str) {
        let inner: Value = serde_json::from_str(body)
            .map_err(|e| WebhookError::Malformed(format!("SQS Body is not JSON: {e}")))?;
        return envelope(&inner);
    }
    Err(WebhookError::Malformed(
        "not an SP-API notification (no NotificationType)".into(),
    ))
}

/// Parses one notification; `Ok(vec![])` when it is a duplicate of one already seen.
pub fn parse(
    body: &[u8],
    seen: &DedupeSet,
    received_at: Timestamp,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    channels_core::webhook::check_body_size(body, MAX_BODY)?;
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("not JSON: {e}")))?;
    let env = envelope(&v)?;
    let topic = env
        .get("NotificationType")
        .and_then(Value::as_str)
        .ok_or_else(|| WebhookError::Malformed("NotificationType is not a string".into()))?
        .to_string();
    let id = env
        .get("NotificationMetadata")
        .and_then(|m| m.get("NotificationId"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            WebhookError::Malformed("NotificationMetadata.NotificationId missing".into())
        })?
        .to_string();
    let occurred_at = env
        .get("EventTime")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok());
    let kind = match topic.as_str() {
        "ORDER_CHANGE" => {
            let n = env
                .get("Payload")
                .and_then(|p| p.get("OrderChangeNotification"))
                .ok_or_else(|| {
                    WebhookError::Malformed("Payload.OrderChangeNotification missing".into())
                })?;
            let order = n
                .get("AmazonOrderId")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| {
                    WebhookError::Malformed(
                        "Payload.OrderChangeNotification.AmazonOrderId missing".into(),
                    )
                })?
                .to_string();
            let status = n
                .get("Summary")
                .and_then(|s| s.get("OrderStatus"))
                .and_then(Value::as_str);
            if status == Some("Canceled") {
                WebhookEventKind::OrderCancelled { external_id: order }
            } else {
                WebhookEventKind::OrderChanged { external_id: order }
            }
        }
        _ => WebhookEventKind::Other,
    };
    if !seen.insert_new(&id) {
        return Ok(vec![]);
    }
    Ok(vec![WebhookEvent {
        event_id: id,
        topic,
        kind,
        occurred_at,
        received_at,
    }])
}
