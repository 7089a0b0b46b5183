//! HTTP to the Selling Partner API: one pooled `reqwest::Client`, Login-with-Amazon tokens,
//! Restricted Data Tokens, the per-operation token buckets, the retry policy, and the
//! translation of HTTP outcomes into `ChannelError`s.
//!
//! Auth: no SigV4 (Amazon dropped it in 2023). An LWA access token (1 h) goes in
//! `x-amz-access-token`; [`TokenCache`] refreshes it `token_refresh_margin_secs` ahead of
//! expiry and once after a 401/403 `Unauthorized` (a refused request was not processed, so
//! sending it again is safe even for a write). PII operations use a Restricted Data Token in
//! the same header, cached the same way (its own `TokenCache`, whose source calls
//! `createRestrictedDataToken` with the LWA token).
//!
//! Rate limits: a bucket per operationId, from the published plan with a margin, waited on
//! *before* sending. `x-amzn-RateLimit-Limit` on a response is the seller's real rate for that
//! operation: adopted (with the margin) unless the configuration pins it. A 429
//! (`QuotaExceeded`) carries no `Retry-After` on SP-API: we drain the bucket for the time one
//! token takes to refill and send **the same request** again (same `NextToken`), so a throttle
//! never skips or restarts a page.
//!
//! Classification:
//! * network failure before a response: `Transient`; for a write, a timeout or a connection
//!   lost after sending is `Ambiguous`;
//! * 429: `RateLimited`; 401/403: `Auth`; 404: `NotFound`; other 4xx: `Rejected` with
//!   Amazon's error code;
//! * 503: `Transient` (not processed); other 5xx: `Transient` for reads, `Ambiguous` for writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use channels_core::{
    AccessToken, CallKind, ChannelError, ChannelId, ChannelLimiter, Limit, MappingError,
    RateLimiter, RetryPolicy, TokenCache, TokenSource,
};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::AmazonConfig;

/// Which token a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// The LWA access token.
    Lwa,
    /// A Restricted Data Token for `getOrders`/`getOrder` with `buyerInfo` and `shippingAddress`.
    OrdersRdt,
}

/// One SP-API request.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The operationId: the rate-limit key.
    pub op: &'static str,
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<&'a Value>,
    pub auth: Auth,
}

impl<'a> Request<'a> {
    pub fn get(op: &'static str, path: impl Into<String>) -> Self {
        Self {
            op,
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            auth: Auth::Lwa,
        }
    }

    pub fn with_body(
        op: &'static str,
        method: Method,
        path: impl Into<String>,
        body: &'a Value,
    ) -> Self {
        Self {
            op,
            method,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            auth: Auth::Lwa,
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
}

/// A successful answer. `body` is `Null` for 204.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Value,
}

/// Counters for logs, metrics and tests.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub token_fetches: AtomicU64,
    pub auth_refusals: AtomicU64,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    limiter: ChannelLimiter,
    retry: RetryPolicy,
    pinned: Vec<String>,
    lwa: TokenCache<Lwa>,
    stats: Arc<ClientStats>,
}

pub struct Client {
    inner: Arc<Inner>,
    rdt: TokenCache<RdtSource>,
}

impl Client {
    pub fn new(
        id: &ChannelId,
        config: &AmazonConfig,
        limiter: RateLimiter,
    ) -> Result<Self, ChannelError> {
        let c = &config.connection;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(c.timeout_ms))
            .connect_timeout(Duration::from_millis(c.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!(
                "odoo-channels/",
                env!("CARGO_PKG_VERSION"),
                " (Language=Rust)"
            ))
            .build()
            .map_err(|e| ChannelError::Config(format!("http client: {e}")))?;
        let limiter = limiter.for_channel(id.clone());
        for (op, l) in config.limits() {
            limiter.configure(&op, l);
        }
        let stats = Arc::new(ClientStats::default());
        let margin = Duration::from_secs(c.token_refresh_margin_secs);
        let lwa = Lwa {
            http: http.clone(),
            url: c.lwa_endpoint.clone(),
            client_id: c.client_id.clone(),
            client_secret: config.client_secret.clone(),
            refresh_token: config.refresh_token.clone(),
            stats: stats.clone(),
        };
        let inner = Arc::new(Inner {
            http,
            base: c.endpoint.trim_end_matches('/').to_string(),
            limiter,
            retry: c.retry.policy(),
            pinned: c.rate_limits.keys().cloned().collect(),
            lwa: TokenCache::new(lwa, margin),
            stats,
        });
        let rdt = TokenCache::new(
            RdtSource {
                inner: inner.clone(),
            },
            margin,
        );
        Ok(Self { inner, rdt })
    }

    pub fn limiter(&self) -> &ChannelLimiter {
        &self.inner.limiter
    }

    pub fn stats(&self) -> &ClientStats {
        &self.inner.stats
    }

    /// A read: retried on transient errors and 429 per the policy (same request each time).
    pub async fn read(&self, req: Request<'_>) -> Result<Response, ChannelError> {
        self.run(CallKind::Read, &req).await
    }

    /// A write: retried only after 429 (not processed) or a refused token; everything else goes
    /// back to the caller, `Ambiguous` when the outcome is unknown.
    pub async fn write(&self, req: Request<'_>) -> Result<Response, ChannelError> {
        self.run(CallKind::Write, &req).await
    }

    async fn run(&self, kind: CallKind, req: &Request<'_>) -> Result<Response, ChannelError> {
        self.inner
            .retry
            .run(kind, |_| async {
                match req.auth {
                    Auth::Lwa => {
                        self.inner
                            .lwa
                            .with_token(|t| self.inner.once(kind, req, t))
                            .await
                    }
                    Auth::OrdersRdt => self.rdt.with_token(|t| self.inner.once(kind, req, t)).await,
                }
            })
            .await
    }

    /// Upload a feed document to the pre-signed URL `createFeedDocument` returned (S3: no
    /// SP-API token, no SP-API rate limit). A failure is `Transient`: nothing refers to the
    /// document until `createFeed`, so uploading again is harmless.
    pub async fn upload(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), ChannelError> {
        let resp = self
            .inner
            .http
            .put(url)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| network_error(CallKind::Read, "upload feed document", &e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(ChannelError::Transient {
                message: format!("upload feed document: HTTP {}", resp.status().as_u16()),
            })
        }
    }

    /// Download a document from its pre-signed URL, retried like a read.
    pub async fn download(&self, url: &str) -> Result<Bytes, ChannelError> {
        self.inner
            .retry
            .run(CallKind::Read, |_| async {
                let resp = self
                    .inner
                    .http
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| network_error(CallKind::Read, "download document", &e))?;
                let status = resp.status();
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| network_error(CallKind::Read, "download document", &e))?;
                if status.is_success() {
                    Ok(bytes)
                } else if status.is_server_error() {
                    Err(ChannelError::Transient {
                        message: format!("download document: HTTP {}", status.as_u16()),
                    })
                } else {
                    Err(ChannelError::Rejected {
                        message: format!("download document: HTTP {}", status.as_u16()),
                        code: None,
                    })
                }
            })
            .await
    }
}

impl Inner {
    async fn once(
        &self,
        kind: CallKind,
        req: &Request<'_>,
        token: SecretString,
    ) -> Result<Response, ChannelError> {
        let op = req.op;
        self.limiter.acquire(op, 1.0).await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut r = self
            .http
            .request(req.method.clone(), format!("{}{}", self.base, req.path))
            .header("x-amz-access-token", token.expose_secret())
            .header(http::header::ACCEPT, "application/json");
        if !req.query.is_empty() {
            r = r.query(&req.query);
        }
        if let Some(b) = req.body {
            r = r.json(b);
        }
        let resp = match r.send().await {
            Ok(r) => r,
            Err(e) => return Err(network_error(kind, op, &e)),
        };
        let status = resp.status();
        self.adapt(op, resp.headers());
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(network_error(kind, op, &e)),
        };
        tracing::debug!(op, status = status.as_u16(), "sp-api call");
        if status.is_success() {
            let body = if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    if kind == CallKind::Write {
                        // It answered 2xx: applied, even if we cannot read the answer.
                        return ChannelError::Ambiguous {
                            message: format!("{op}: 2xx with an unreadable body: {e}"),
                        };
                    }
                    ChannelError::Decode(MappingError::new(
                        format!("response to {op}"),
                        "$",
                        format!("not JSON: {e}"),
                    ))
                })?
            };
            return Ok(Response { status, body });
        }
        let (message, code) = error_message(op, status, &bytes);
        Err(match status.as_u16() {
            429 => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                let rate = self
                    .limiter
                    .bucket(op)
                    .map(|b| b.limit().rate_per_sec)
                    .unwrap_or(1.0);
                let ra = Duration::from_secs_f64((1.0 / rate).clamp(0.05, 120.0));
                self.limiter.penalize(op, ra);
                tracing::info!(
                    op,
                    wait_ms = ra.as_millis() as u64,
                    "sp-api QuotaExceeded: waiting before the same request"
                );
                ChannelError::RateLimited {
                    retry_after: Some(ra),
                }
            }
            401 | 403 => {
                self.stats.auth_refusals.fetch_add(1, Ordering::Relaxed);
                ChannelError::Auth { message }
            }
            404 => ChannelError::NotFound {
                what: format!("{op} {}: {message}", req.path),
            },
            400..=499 => ChannelError::Rejected { message, code },
            503 => ChannelError::Transient { message },
            _ if kind == CallKind::Write => ChannelError::Ambiguous { message },
            _ => ChannelError::Transient { message },
        })
    }

    /// `x-amzn-RateLimit-Limit` is the rate actually applied to this seller for `op`.
    fn adapt(&self, op: &str, headers: &HeaderMap) {
        let Some(rate) = headers
            .get("x-amzn-ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
        else {
            return;
        };
        if self.pinned.iter().any(|p| p == op) {
            return;
        }
        let Some(bucket) = self.limiter.bucket(op) else {
            return;
        };
        let current = bucket.limit();
        let wanted = Limit::new(rate * crate::config::SAFETY_MARGIN, current.burst);
        if (wanted.rate_per_sec - current.rate_per_sec).abs() > 1e-9 {
            tracing::debug!(
                op,
                rate,
                "adopting the usage plan from x-amzn-RateLimit-Limit"
            );
            bucket.set_limit(wanted);
        }
    }
}

/// The LWA refresh-token grant.
pub struct Lwa {
    http: reqwest::Client,
    url: String,
    client_id: String,
    client_secret: SecretString,
    refresh_token: SecretString,
    stats: Arc<ClientStats>,
}

#[async_trait]
impl TokenSource for Lwa {
    async fn fetch(&self) -> Result<AccessToken, ChannelError> {
        self.stats.token_fetches.fetch_add(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.refresh_token.expose_secret()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let resp = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| network_error(CallKind::Read, "LWA token", &e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| network_error(CallKind::Read, "LWA token", &e))?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return parse_lwa_token(&v);
        }
        // OAuth error body: {"error": "invalid_grant", "error_description": "..."}
        let what = format!(
            "LWA token endpoint: HTTP {} {} {}",
            status.as_u16(),
            v.get("error").and_then(Value::as_str).unwrap_or(""),
            v.get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
        Err(match status.as_u16() {
            400 | 401 | 403 => ChannelError::Auth { message: what },
            429 => ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
            },
            _ => ChannelError::Transient { message: what },
        })
    }
}

/// `{"access_token", "token_type": "bearer", "expires_in": 3600}`.
pub fn parse_lwa_token(v: &Value) -> Result<AccessToken, ChannelError> {
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ChannelError::Decode(MappingError::new(
                "LWA token response",
                "access_token",
                "missing",
            ))
        })?;
    let expires_in = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
    Ok(AccessToken {
        token: SecretString::from(token.to_string()),
        expires_at: Some(Instant::now() + Duration::from_secs(expires_in)),
    })
}

/// Restricted Data Tokens for getOrders with buyer and address PII.
struct RdtSource {
    inner: Arc<Inner>,
}

#[async_trait]
impl TokenSource for RdtSource {
    async fn fetch(&self) -> Result<AccessToken, ChannelError> {
        let body = json!({
            "restrictedResources": [
                {
                    "method": "GET",
                    "path": "/orders/v0/orders",
                    "dataElements": ["buyerInfo", "shippingAddress"],
                },
                {
                    // A generic path: one token serves getOrder for every order.
                    "method": "GET",
                    "path": "/orders/v0/orders/{orderId}",
                    "dataElements": ["buyerInfo", "shippingAddress"],
                },
            ]
        });
        let req = Request::with_body(
            "createRestrictedDataToken",
            Method::POST,
            "/tokens/2021-03-01/restrictedDataToken",
            &body,
        );
        // Creating a token changes nothing: retried like a read.
        let resp = self
            .inner
            .retry
            .run(CallKind::Read, |_| async {
                self.inner
                    .lwa
                    .with_token(|t| self.inner.once(CallKind::Read, &req, t))
                    .await
            })
            .await?;
        let token = resp
            .body
            .get("restrictedDataToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ChannelError::Decode(MappingError::new(
                    "response to createRestrictedDataToken",
                    "restrictedDataToken",
                    "missing",
                ))
            })?;
        let expires_in = resp
            .body
            .get("expiresIn")
            .and_then(Value::as_u64)
            .unwrap_or(3600);
        Ok(AccessToken {
            token: SecretString::from(token.to_string()),
            expires_at: Some(Instant::now() + Duration::from_secs(expires_in)),
        })
    }
}

fn network_error(kind: CallKind, op: &str, e: &reqwest::Error) -> ChannelError {
    // Never include the request itself (headers hold the token): only the kind of failure.
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

/// The first error of `{"errors": [{code, message, details}]}`, or the status line.
pub fn error_message(op: &str, status: StatusCode, body: &[u8]) -> (String, Option<String>) {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let first = v.as_ref().and_then(|v| v.get("errors")?.get(0).cloned());
    match first {
        Some(e) => {
            let code = e.get("code").and_then(Value::as_str).map(str::to_string);
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("error");
            let msg = match e.get("details").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => format!("{msg} ({d})"),
                _ => msg.to_string(),
            };
            (
                format!(
                    "{op}: {} {}: {msg}",
                    status.as_u16(),
                    code.as_deref().unwrap_or("")
                ),
                code,
            )
        }
        None => (format!("{op}: {status}"), None),
    }
}

/// Percent-encodes one path segment (SKUs may hold `/`, spaces, `#`).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
