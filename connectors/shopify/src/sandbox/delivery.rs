//! Outgoing webhooks, as Shopify sends them: a REST-shaped JSON body (numeric `id` plus
//! `admin_graphql_api_id`) and the headers `X-Shopify-Topic`, `X-Shopify-Hmac-Sha256`
//! (base64 HMAC-SHA256 of the raw body with the app's client secret), `X-Shopify-Shop-Domain`,
//! `X-Shopify-API-Version`, `X-Shopify-Webhook-Id`, `X-Shopify-Event-Id`,
//! `X-Shopify-Triggered-At`. Delivered at least once (retried on a non-2xx answer).
//!
//! Signing is done here with `hmac` directly, not with `channels_core::webhook`, so a bug in
//! one cannot hide a bug in the other.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::App;
use super::schema::API_VERSION;
use super::state::Event;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub webhook_id: String,
    pub topic: String,
    pub attempt: u32,
    /// HTTP status, or `None` when the request failed.
    pub status: Option<u16>,
}

/// `base64(HMAC-SHA256(secret, body))`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    B64.encode(mac.finalize().into_bytes())
}

/// A webhook request, ready to send (tests may tamper with it before sending).
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    pub topic: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl WebhookRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(h) => h.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }

    /// As an `http::HeaderMap` (for calling a connector's `verify_webhook` directly).
    pub fn header_map(&self) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                h.append(k, v);
            }
        }
        h
    }
}

pub(crate) fn build(app: &App, ev: &Event) -> WebhookRequest {
    let body = serde_json::to_vec(&ev.body).unwrap_or_default();
    let webhook_id = uuid_like();
    let event_id = uuid_like();
    WebhookRequest {
        topic: ev.topic.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-shopify-topic".into(), ev.topic.clone()),
            (
                "x-shopify-hmac-sha256".into(),
                sign(&app.client_secret, &body),
            ),
            ("x-shopify-shop-domain".into(), app.domain.clone()),
            ("x-shopify-api-version".into(), API_VERSION.into()),
            ("x-shopify-webhook-id".into(), webhook_id),
            ("x-shopify-event-id".into(), event_id),
            ("x-shopify-triggered-at".into(), ev.triggered_at.to_string()),
        ],
        body,
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut r = rand::rng();
    let b: [u8; 16] = r.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

pub(crate) async fn send(client: &reqwest::Client, url: &str, req: &WebhookRequest) -> Option<u16> {
    let mut r = client.post(url).body(req.body.clone());
    for (k, v) in &req.headers {
        r = r.header(k, v);
    }
    r.send().await.ok().map(|r| r.status().as_u16())
}

pub(crate) async fn run(app: Arc<App>, mut rx: mpsc::UnboundedReceiver<Event>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    while let Some(ev) = rx.recv().await {
        let Some(url) = app.webhook_url.lock().clone() else {
            continue;
        };
        let req = build(&app, &ev);
        let app = app.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let id = req.header("x-shopify-webhook-id").unwrap_or("").to_string();
            for attempt in 1..=3u32 {
                let status = send(&client, &url, &req).await;
                app.state.lock().counters.webhooks_sent += 1;
                app.deliveries.lock().push(DeliveryRecord {
                    webhook_id: id.clone(),
                    topic: req.topic.clone(),
                    attempt,
                    status,
                });
                if status.is_some_and(|s| (200..300).contains(&s)) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        });
    }
}
