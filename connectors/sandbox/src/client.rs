//! HTTP to the sandbox marketplace: one pooled `reqwest::Client`, bearer auth, timeouts, the
//! channel's rate limiter, the retry policy, and the translation of HTTP outcomes into
//! `ChannelError`s.
//!
//! Classification (the part every connector must get right):
//! * network failure before a response: `Transient` (a connect error means nothing was sent);
//!   for a write, a timeout or a connection lost after sending is `Ambiguous`;
//! * 429: `RateLimited` with `Retry-After`, and the bucket is drained for that long;
//! * 401/403: `Auth`; 404: `NotFound`; other 4xx: `Rejected` with the marketplace's code;
//! * 503: `Transient` (the marketplace says it did not process the request);
//! * other 5xx: `Transient` for reads, `Ambiguous` for writes (it may have been applied).

use std::time::Duration;

use channels_core::{
    CallKind, ChannelError, ChannelId, ChannelLimiter, Limit, MappingError, RateLimiter,
    RetryPolicy,
};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::{SandboxConfig, with_margin};

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    limiter: ChannelLimiter,
    retry: RetryPolicy,
    /// Operations whose limits were set explicitly in the configuration: headers do not
    /// override them.
    pinned: Vec<String>,
}

impl Client {
    pub fn new(
        id: &ChannelId,
        config: &SandboxConfig,
        limiter: RateLimiter,
    ) -> Result<Self, ChannelError> {
        let c = &config.connection;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(c.timeout_ms))
            .connect_timeout(Duration::from_millis(c.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("odoo-channels/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::Config(format!("http client: {e}")))?;
        let limiter = limiter.for_channel(id.clone());
        for (op, l) in config.limits() {
            limiter.configure(&op, l);
        }
        Ok(Self {
            http,
            base: c.base_url.trim_end_matches('/').to_string(),
            token: config.token.clone(),
            limiter,
            retry: c.retry.policy(),
            pinned: c.rate_limits.keys().cloned().collect(),
        })
    }

    pub fn limiter(&self) -> &ChannelLimiter {
        &self.limiter
    }

    /// A read: retried on transient errors and 429 per the policy.
    pub async fn get(
        &self,
        op: &'static str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, ChannelError> {
        self.retry
            .run(CallKind::Read, |_| async {
                self.once(CallKind::Read, op, Method::GET, path, query, None)
                    .await
                    .map(|(_, v)| v)
            })
            .await
    }

    /// A write: only retried after a 429 (not processed); everything else goes back to the
    /// caller, `Ambiguous` when the outcome is unknown.
    pub async fn write(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), ChannelError> {
        self.retry
            .run(CallKind::Write, |_| {
                self.once(CallKind::Write, op, method.clone(), path, &[], Some(body))
            })
            .await
    }

    async fn once(
        &self,
        kind: CallKind,
        op: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ChannelError> {
        self.limiter.acquire(op, 1.0).await;
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(self.token.expose_secret());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(network_error(kind, op, &e)),
        };
        let status = resp.status();
        self.adapt(op, resp.headers());
        let retry_after = retry_after(resp.headers());
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(network_error(kind, op, &e)),
        };
        if status.is_success() {
            let v = serde_json::from_slice(&bytes).map_err(|e| {
                ChannelError::Decode(MappingError::new(
                    format!("response to {op}"),
                    "$",
                    format!("not JSON: {e}"),
                ))
            })?;
            return Ok((status, v));
        }
        let (message, code) = error_message(status, &bytes);
        Err(match status.as_u16() {
            429 => {
                let ra = retry_after.unwrap_or(Duration::from_secs(1));
                self.limiter.penalize(op, ra);
                ChannelError::RateLimited {
                    retry_after: Some(ra),
                }
            }
            401 | 403 => ChannelError::Auth { message },
            404 => ChannelError::NotFound {
                what: format!("{path}: {message}"),
            },
            400..=499 => ChannelError::Rejected { message, code },
            503 => ChannelError::Transient { message },
            _ if kind == CallKind::Write => ChannelError::Ambiguous {
                message: format!("{op}: {message}"),
            },
            _ => ChannelError::Transient { message },
        })
    }

    /// Learn the server's limits from its headers (with our safety margin), and never believe
    /// we have more tokens than it says are left.
    fn adapt(&self, op: &str, headers: &HeaderMap) {
        let num = |n: &str| {
            headers
                .get(n)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let Some(bucket) = self.limiter.bucket(op) else {
            return;
        };
        if !self.pinned.iter().any(|p| p == op)
            && let (Some(rate), Some(burst)) = (num("x-ratelimit-rate"), num("x-ratelimit-limit"))
            && rate > 0.0
        {
            let l = with_margin(Limit::new(rate, burst));
            if bucket.limit() != l {
                bucket.set_limit(l);
            }
        }
        if let Some(rem) = num("x-ratelimit-remaining") {
            bucket.observe_available(rem);
        }
    }
}

fn network_error(kind: CallKind, op: &str, e: &reqwest::Error) -> ChannelError {
    // Never include the request itself: only what kind of failure it was.
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

/// `Retry-After` in seconds (integer or decimal). HTTP-date values are not used by this
/// marketplace and are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(86_400.0)))
}

/// The first error of `{"errors": [{code, message, field}]}`, or the status line.
pub fn error_message(status: StatusCode, body: &[u8]) -> (String, Option<String>) {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let first = v.as_ref().and_then(|v| v.get("errors")?.get(0).cloned());
    match first {
        Some(e) => {
            let code = e.get("code").and_then(Value::as_str).map(str::to_string);
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("error");
            let msg = match e.get("field").and_then(Value::as_str) {
                Some(f) => format!("{msg} (field {f})"),
                None => msg.to_string(),
            };
            (format!("{} {}", status.as_u16(), msg), code)
        }
        None => (status.to_string(), None),
    }
}

/// Percent-encodes one path segment (ids and SKUs may hold `/`, spaces, `#`).
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
