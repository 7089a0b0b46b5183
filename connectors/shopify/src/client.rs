//! HTTP to the Admin GraphQL API: one pooled `reqwest::Client`, `X-Shopify-Access-Token`,
//! the cost-based leaky bucket, the retry policy, and the translation of outcomes into
//! `ChannelError`s.
//!
//! **Rate limit.** Shopify meters by calculated query cost in a leaky bucket per app and shop
//! (`extensions.cost.throttleStatus{maximumAvailable, currentlyAvailable, restoreRate}` on
//! every response). Before sending, a request reserves its *requested* cost in a
//! [`CostBucket`] and waits if the bucket does not hold it; the response corrects the bucket
//! (refund of requested − actual, the server's maximum and restore rate, and never more
//! available than the server says, less what our other in-flight requests will still take).
//! A document's requested cost is learnt from its first response (keyed by operation and its
//! size variables); until then it reserves the single-query maximum. Until the first response
//! tells the shop's plan, requests go one at a time. We allow ourselves `rate_margin` (90 %)
//! of the restore rate: the shop measures arrivals, we measure sends.
//!
//! **THROTTLED** (HTTP 200, `errors[].extensions.code == "THROTTLED"`) means the query was
//! refused *before execution* (the bucket is checked before anything runs, and a throttled
//! response has `actualQueryCost: null`). So it is retried for reads **and writes**: sending a
//! refused mutation again cannot apply it twice. It comes back as `RateLimited` with the time
//! the bucket needs to refill, which the retry policy honours.
//!
//! Classification of everything else:
//! * network failure before a response: `Transient`; after sending a write (timeout, lost
//!   connection): `Ambiguous`;
//! * 401: `Auth` and an error log (offline tokens do not refresh: a person must reinstall or
//!   re-authorise the app); 403 (missing scope): `Auth`; 402 (shop frozen) and 423 (locked):
//!   `Rejected`; 404: `Config` (shop or API version); 429: `RateLimited` with `Retry-After`;
//!   503: `Transient`; other 5xx: `Transient` for reads, `Ambiguous` for writes;
//! * GraphQL `errors`: `MAX_COST_EXCEEDED` → `Rejected` (the caller shrinks its page),
//!   `INTERNAL_SERVER_ERROR` → `Transient`/`Ambiguous`, `ACCESS_DENIED` → `Auth`, anything else
//!   (validation) → `Rejected`. `userErrors` are data: the caller maps them per item.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use channels_core::ratelimit::{QueryCost, ThrottleStatus};
use channels_core::{CallKind, ChannelError, ChannelId, CostBucket, MappingError, RetryPolicy};
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::config::ShopifyConfig;
use crate::documents::Document;

/// The single-query maximum (shopify.dev): the most any query can request.
pub const MAX_QUERY_COST: f64 = 1000.0;

pub struct Client {
    channel: ChannelId,
    http: reqwest::Client,
    url: String,
    token: SecretString,
    bucket: CostBucket,
    calibrated: AtomicBool,
    calibration: tokio::sync::Mutex<()>,
    /// Operation key → last requested cost the shop reported.
    estimates: Mutex<HashMap<String, f64>>,
    /// Operation key → held while its first request learns its cost.
    learning: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Requests sent and not yet answered: send sequence → points reserved.
    inflight: Mutex<(u64, std::collections::BTreeMap<u64, f64>)>,
    margin: f64,
    retry: RetryPolicy,
}

impl Client {
    pub fn new(channel: &ChannelId, config: &ShopifyConfig) -> Result<Self, ChannelError> {
        let c = &config.connection;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(c.timeout_ms))
            .connect_timeout(Duration::from_millis(c.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("odoo-channels/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::Config(format!("http client: {e}")))?;
        Ok(Self {
            channel: channel.clone(),
            http,
            url: config.graphql_url(),
            token: config.access_token.clone(),
            // A Standard plan's bucket until the shop tells us its own.
            bucket: CostBucket::new(1000.0, 50.0 * c.rate_margin),
            calibrated: AtomicBool::new(false),
            calibration: tokio::sync::Mutex::new(()),
            estimates: Mutex::new(HashMap::new()),
            learning: Mutex::new(HashMap::new()),
            inflight: Mutex::new((0, std::collections::BTreeMap::new())),
            margin: c.rate_margin,
            retry: c.retry.policy(),
        })
    }

    /// Points our bucket holds now (for tests and the status page).
    pub fn available_points(&self) -> f64 {
        self.bucket.available()
    }

    /// A read: retried on transient errors and THROTTLED per the policy.
    pub async fn query(&self, doc: &Document, vars: Value) -> Result<Value, ChannelError> {
        self.retry
            .run(CallKind::Read, |_| self.once(CallKind::Read, doc, &vars))
            .await
    }

    /// A write: retried only after THROTTLED (not executed); anything else goes back to the
    /// caller, `Ambiguous` when the outcome is unknown.
    pub async fn mutate(&self, doc: &Document, vars: Value) -> Result<Value, ChannelError> {
        debug_assert!(doc.is_mutation);
        self.retry
            .run(CallKind::Write, |_| self.once(CallKind::Write, doc, &vars))
            .await
    }

    fn key(doc: &Document, vars: &Value) -> String {
        let mut k = doc.name.to_string();
        if let Some(o) = vars.as_object() {
            for (name, v) in o {
                if v.is_i64() || v.is_u64() {
                    k.push_str(&format!(":{name}={v}"));
                }
            }
        }
        k
    }

    async fn once(
        &self,
        kind: CallKind,
        doc: &Document,
        vars: &Value,
    ) -> Result<Value, ChannelError> {
        // Until the shop has told us its bucket, one request at a time.
        let _calibrating = if self.calibrated.load(Ordering::Acquire) {
            None
        } else {
            let g = self.calibration.lock().await;
            if self.calibrated.load(Ordering::Acquire) {
                None
            } else {
                Some(g)
            }
        };
        let key = Self::key(doc, vars);
        let known = self.estimates.lock().get(&key).copied();
        // A document's first request reserves the single-query maximum; concurrent first
        // requests of the same document wait for it to learn the real cost instead of each
        // reserving the maximum.
        let (estimate, _learning) = match known {
            Some(e) => (e, None),
            None => {
                let m = self.learning.lock().entry(key.clone()).or_default().clone();
                let g = m.lock_owned().await;
                match self.estimates.lock().get(&key).copied() {
                    Some(e) => (e, None),
                    None => (MAX_QUERY_COST, Some(g)),
                }
            }
        };
        self.bucket.acquire(estimate).await;
        let seq = {
            let mut f = self.inflight.lock();
            f.0 += 1;
            let seq = f.0;
            f.1.insert(seq, estimate);
            seq
        };
        let sent = self.send(kind, doc, vars).await;
        // What the shop may not have charged yet when it reported its bucket: requests we
        // sent after this one and that are still unanswered (earlier ones reached it first).
        let others: f64 = {
            let mut f = self.inflight.lock();
            f.1.remove(&seq);
            f.1.range(seq + 1..).map(|(_, c)| *c).sum()
        };
        let (status, body) = match sent {
            Ok(x) => x,
            Err(e) => {
                self.give_back(estimate);
                return Err(e);
            }
        };
        if !status.is_success() {
            self.give_back(estimate);
            return Err(self.http_error(kind, doc, status, &body));
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            ChannelError::Decode(MappingError::new(
                format!("response to {}", doc.name),
                "$",
                format!("not JSON: {e}"),
            ))
        })?;
        let cost = QueryCost::from_response(&v);
        if let Some(c) = &cost {
            self.estimates.lock().insert(key, c.requested_query_cost);
            let ts = c.throttle_status;
            self.bucket.observe(&QueryCost {
                // We reserved `estimate`; refund down to what it really cost (nothing when
                // the shop refused to run it: THROTTLED, MAX_COST_EXCEEDED).
                requested_query_cost: estimate,
                actual_query_cost: Some(c.actual_query_cost.unwrap_or(0.0)),
                throttle_status: ThrottleStatus {
                    maximum_available: ts.maximum_available,
                    currently_available: (ts.currently_available - others).max(0.0),
                    restore_rate: ts.restore_rate * self.margin,
                },
            });
            self.calibrated.store(true, Ordering::Release);
        }
        if cost.is_none() {
            self.give_back(estimate);
        }
        if let Some(errors) = v.get("errors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            return Err(self.graphql_error(kind, doc, errors, cost.as_ref()));
        }
        match v.get("data") {
            Some(d) if !d.is_null() => Ok(d.clone()),
            _ => Err(ChannelError::Decode(MappingError::new(
                format!("response to {}", doc.name),
                "data",
                "missing",
            ))),
        }
    }

    /// The shop did not say what a failed request cost (a proxy error, a lost connection):
    /// return the reservation rather than leak it. If the shop did charge it, the next
    /// response's `currentlyAvailable` lowers the bucket again.
    fn give_back(&self, reserved: f64) {
        self.bucket.observe(&QueryCost {
            requested_query_cost: reserved,
            actual_query_cost: Some(0.0),
            // Zero limits and an infinite availability: only the refund applies.
            throttle_status: ThrottleStatus {
                maximum_available: 0.0,
                currently_available: f64::INFINITY,
                restore_rate: 0.0,
            },
        });
    }

    async fn send(
        &self,
        kind: CallKind,
        doc: &Document,
        vars: &Value,
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), ChannelError> {
        let body = json!({"query": doc.text, "variables": vars, "operationName": doc.name});
        let resp = self
            .http
            .post(&self.url)
            .header("X-Shopify-Access-Token", self.token.expose_secret())
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| network_error(kind, doc.name, &e))?;
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| network_error(kind, doc.name, &e))?;
        if status.as_u16() == 429 {
            let ra = retry_after.unwrap_or(Duration::from_secs(2));
            return Err(ChannelError::RateLimited {
                retry_after: Some(ra),
            });
        }
        Ok((status, bytes))
    }

    fn http_error(
        &self,
        kind: CallKind,
        doc: &Document,
        status: reqwest::StatusCode,
        body: &[u8],
    ) -> ChannelError {
        // Shopify's REST-style error bodies: {"errors": "text"} or {"errors": {...}}.
        let text = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("errors").cloned())
            .map(|e| match e {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        let message = format!("{} {}: {text}", doc.name, status.as_u16());
        match status.as_u16() {
            401 => {
                tracing::error!(
                    channel = %self.channel,
                    operation = doc.name,
                    "Shopify refused the access token (401). Offline access tokens do not expire \
                     or refresh: the app was uninstalled or the token revoked. A person must \
                     reinstall or re-authorise the app and update the secret."
                );
                ChannelError::Auth { message }
            }
            403 => {
                tracing::error!(
                    channel = %self.channel,
                    operation = doc.name,
                    "Shopify answered 403: the app lacks an access scope for this operation"
                );
                ChannelError::Auth { message }
            }
            402 => ChannelError::Rejected {
                message: format!("{message} (shop frozen: unpaid Shopify bill)"),
                code: Some("PAYMENT_REQUIRED".into()),
            },
            423 => ChannelError::Rejected {
                message: format!("{message} (shop locked)"),
                code: Some("LOCKED".into()),
            },
            404 => ChannelError::Config(format!(
                "{message}: no such shop or API version at {}",
                self.url
            )),
            503 => ChannelError::Transient { message },
            500..=599 if kind == CallKind::Write => ChannelError::Ambiguous { message },
            500..=599 => ChannelError::Transient { message },
            _ => ChannelError::Rejected {
                message,
                code: None,
            },
        }
    }

    fn graphql_error(
        &self,
        kind: CallKind,
        doc: &Document,
        errors: &[Value],
        cost: Option<&QueryCost>,
    ) -> ChannelError {
        let code = |e: &Value| {
            e.get("extensions")
                .and_then(|x| x.get("code"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if errors
            .iter()
            .any(|e| code(e).as_deref() == Some("THROTTLED"))
        {
            let (needed, wait) = match cost {
                Some(c) => {
                    let ts = c.throttle_status;
                    self.bucket.throttled(&ts, c.requested_query_cost);
                    let missing = (c.requested_query_cost - ts.currently_available).max(0.0);
                    let rate = (ts.restore_rate * self.margin).max(1.0);
                    (c.requested_query_cost, missing / rate)
                }
                None => (0.0, 1.0),
            };
            tracing::warn!(
                channel = %self.channel,
                operation = doc.name,
                needed,
                "Shopify throttled a request (it was not executed); waiting for the bucket"
            );
            return ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs_f64(wait.clamp(0.05, 60.0))),
            };
        }
        let first = &errors[0];
        let c = code(first);
        let message = format!(
            "{}: {}",
            doc.name,
            first
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("GraphQL error")
                .chars()
                .take(500)
                .collect::<String>()
        );
        match c.as_deref() {
            Some("INTERNAL_SERVER_ERROR") if kind == CallKind::Write => {
                ChannelError::Ambiguous { message }
            }
            Some("INTERNAL_SERVER_ERROR") => ChannelError::Transient { message },
            Some("ACCESS_DENIED") => ChannelError::Auth { message },
            _ => ChannelError::Rejected { message, code: c },
        }
    }
}

fn network_error(kind: CallKind, op: &str, e: &reqwest::Error) -> ChannelError {
    // Never the request itself (it carries the token): only what kind of failure it was.
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection lost while reading the response"
    } else {
        "request failed"
    };
    let message = format!("{op}: {what}");
    if e.is_connect() || kind == CallKind::Read {
        ChannelError::Transient { message }
    } else {
        ChannelError::Ambiguous { message }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(3600.0)))
}

/// User errors of a mutation payload: (code, field path, message).
pub fn user_errors(payload: &Value, key: &str) -> Vec<(Option<String>, Vec<String>, String)> {
    payload
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e.get("code").and_then(Value::as_str).map(str::to_string),
                        e.get("field")
                            .and_then(Value::as_array)
                            .map(|f| {
                                f.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_string)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("rejected")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
