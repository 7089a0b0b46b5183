//! Outgoing webhooks: signed, delivered at least once, possibly duplicated and out of order.
//!
//! Signature: `X-Sandbox-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
//! with `X-Sandbox-Timestamp` in Unix seconds, `X-Sandbox-Event-Id` and `X-Sandbox-Topic`.
//! Signing is done here with `hmac` directly, not with the connector's helpers, so a bug in
//! one cannot hide a bug in the other.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::{App, SbEvent};

/// Where and how to deliver webhooks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookBehaviour {
    /// `None`: events are recorded but not delivered.
    pub url: Option<String>,
    /// Probability that an event is delivered a second time (same event id).
    pub duplicate_rate: f64,
    /// Each delivery waits a random time up to this before being sent, so events overtake
    /// each other.
    pub max_delay_ms: u64,
    /// Attempts per delivery when the receiver does not answer 2xx (default 3 when 0).
    pub max_attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub topic: String,
    pub attempt: u32,
    /// HTTP status, or `None` if the request failed.
    pub status: Option<u16>,
    pub duplicate: bool,
}

pub(crate) fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let out = mac.finalize().into_bytes();
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

pub(crate) async fn run(app: Arc<App>, mut rx: mpsc::UnboundedReceiver<SbEvent>, seed: u64) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed)));
    while let Some(ev) = rx.recv().await {
        let behaviour = app.webhooks.lock().clone();
        let Some(url) = behaviour.url.clone() else {
            continue;
        };
        let (delay, dup, dup_delay) = {
            let mut r = rng.lock();
            let max = behaviour.max_delay_ms;
            (
                if max == 0 { 0 } else { r.random_range(0..=max) },
                r.random_bool(behaviour.duplicate_rate.clamp(0.0, 1.0)),
                if max == 0 { 0 } else { r.random_range(0..=max) },
            )
        };
        let app = app.clone();
        let client = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            deliver(&app, &client, &url, &ev, behaviour.max_attempts, false).await;
            if dup {
                tokio::time::sleep(Duration::from_millis(dup_delay)).await;
                deliver(&app, &client, &url, &ev, behaviour.max_attempts, true).await;
            }
        });
    }
}

async fn deliver(
    app: &App,
    client: &reqwest::Client,
    url: &str,
    ev: &SbEvent,
    max_attempts: u32,
    duplicate: bool,
) {
    let body = serde_json::to_vec(&ev.body()).unwrap_or_default();
    let attempts = if max_attempts == 0 { 3 } else { max_attempts };
    for attempt in 1..=attempts {
        let ts = jiff::Timestamp::now().as_second();
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-sandbox-event-id", &ev.id)
            .header("x-sandbox-topic", &ev.topic)
            .header("x-sandbox-timestamp", ts.to_string())
            .header("x-sandbox-signature", sign(&app.webhook_secret, ts, &body))
            .body(body.clone())
            .send()
            .await;
        let status = res.as_ref().ok().map(|r| r.status().as_u16());
        app.deliveries.lock().push(DeliveryRecord {
            event_id: ev.id.clone(),
            topic: ev.topic.clone(),
            attempt,
            status,
            duplicate,
        });
        if status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100 * (1 << attempt.min(6)))).await;
    }
}
