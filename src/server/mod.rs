//! The daemon's HTTP face: webhooks in, health, readiness and metrics out.
//!
//! One listener (`[server] listen`) serves everything; Prometheus scrapes `/metrics` here
//! rather than on a second port. Body-size limits and timeouts are tower layers, so every
//! route has them and no handler can forget.
//!
//! Webhooks are only the fast path (marketplaces re-send, drop and reorder them): the route
//! hands the raw request to a [`WebhookSink`] and answers fast; verification, dedup (the inbox)
//! and the actual work belong to the sink and the sync jobs, with periodic reconciliation
//! behind.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use parking_lot::RwLock;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnFailure, TraceLayer};

use crate::config::ServerConfig;

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// A webhook as received: nothing parsed, nothing trusted.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The `{channel}` path segment, as given (may name no configured channel).
    pub channel: String,
    pub headers: HeaderMap,
    /// The raw query string, if any (some marketplaces sign or challenge through it).
    pub query: Option<String>,
    /// The raw body, byte for byte, as signatures are computed over it.
    pub body: Bytes,
}

/// What the sink tells the marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

impl WebhookReply {
    /// Accepted (2xx fast; the work happens later).
    pub fn accepted() -> Self {
        WebhookReply {
            status: StatusCode::OK,
            content_type: "text/plain; charset=utf-8",
            body: "ok\n".into(),
        }
    }
}

/// Why a webhook was not accepted. The status tells the marketplace whether to re-send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No such channel (404: do not retry).
    #[error("unknown channel `{0}`")]
    UnknownChannel(String),
    /// Signature missing or wrong (401).
    #[error("webhook signature rejected: {0}")]
    Unauthorized(String),
    /// Unparseable or not for this channel (400).
    #[error("bad webhook: {0}")]
    BadRequest(String),
    /// Could not stage it now, e.g. the store is down (503: the marketplace retries).
    #[error("cannot accept webhooks right now: {0}")]
    Unavailable(String),
}

impl WebhookError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownChannel(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::UnknownChannel(_) => "unknown_channel",
            Self::Unauthorized(_) => "unauthorized",
            Self::BadRequest(_) => "bad_request",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// Where webhooks go. The integrator implements it over the configured channels: look up the
/// channel, verify with its connector's `verify_webhook`, stage the payload in the inbox, wake
/// the channel's job, and return quickly.
#[async_trait::async_trait]
pub trait WebhookSink: Send + Sync + 'static {
    async fn deliver(&self, request: WebhookRequest) -> Result<WebhookReply, WebhookError>;
}

/// A sink for when no channel takes webhooks (and the default until the integrator wires
/// one): every webhook is refused as for an unknown channel.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoWebhooks;

#[async_trait::async_trait]
impl WebhookSink for NoWebhooks {
    async fn deliver(&self, request: WebhookRequest) -> Result<WebhookReply, WebhookError> {
        Err(WebhookError::UnknownChannel(request.channel))
    }
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

/// Whether the daemon can do its work, per component (`odoo`, `store`, …), updated by the
/// daemon as it runs and read by `/readyz`. A component starts "not checked yet" (not ready).
#[derive(Debug, Default)]
pub struct Readiness {
    checks: RwLock<BTreeMap<String, Result<(), String>>>,
}

pub const ODOO: &str = "odoo";
pub const STORE: &str = "store";

impl Readiness {
    /// Readiness over `components`, none of them checked yet.
    pub fn new(components: &[&str]) -> Arc<Self> {
        let r = Readiness::default();
        {
            let mut c = r.checks.write();
            for name in components {
                c.insert((*name).to_owned(), Err("not checked yet".into()));
            }
        }
        Arc::new(r)
    }

    pub fn set_ok(&self, component: &str) {
        self.checks.write().insert(component.to_owned(), Ok(()));
    }

    pub fn set_failed(&self, component: &str, reason: impl Into<String>) {
        self.checks
            .write()
            .insert(component.to_owned(), Err(reason.into()));
    }

    pub fn set(&self, component: &str, result: Result<(), String>) {
        self.checks.write().insert(component.to_owned(), result);
    }

    pub fn is_ready(&self) -> bool {
        self.checks.read().values().all(|r| r.is_ok())
    }

    /// Every component with its reason when not ready.
    pub fn snapshot(&self) -> BTreeMap<String, Result<(), String>> {
        self.checks.read().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub readiness: Arc<Readiness>,
    pub metrics: PrometheusHandle,
    pub webhooks: Arc<dyn WebhookSink>,
}

/// The whole HTTP surface, with its limits.
pub fn router(state: AppState, cfg: &ServerConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/webhooks/{channel}", post(webhook))
        .with_state(state)
        // axum's own 2 MB default would hide ours; the tower-http limit answers 413.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(cfg.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            cfg.request_timeout,
        ))
        // Request spans and outcomes at debug: a 503 from /readyz is an answer, not an error.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::DEBUG))
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let snapshot = state.readiness.snapshot();
    let ready = snapshot.values().all(|r| r.is_ok());
    let checks: serde_json::Map<String, serde_json::Value> = snapshot
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => serde_json::json!({ "ok": true }),
                Err(reason) => serde_json::json!({ "ok": false, "reason": reason }),
            };
            (name, v)
        })
        .collect();
    let body = serde_json::json!({ "ready": ready, "checks": checks });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn webhook(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = WebhookRequest {
        channel: channel.clone(),
        headers,
        query,
        body,
    };
    match state.webhooks.deliver(request).await {
        Ok(reply) => {
            metrics::counter!("odoo_channels_webhooks_total", "channel" => channel, "outcome" => "accepted")
                .increment(1);
            (
                reply.status,
                [(header::CONTENT_TYPE, reply.content_type)],
                reply.body,
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(channel = %channel, error = %e, "webhook refused");
            // Label cardinality: an unknown channel is attacker-chosen text; do not use it.
            let label = if matches!(e, WebhookError::UnknownChannel(_)) {
                "unknown".to_owned()
            } else {
                channel
            };
            metrics::counter!("odoo_channels_webhooks_total", "channel" => label, "outcome" => e.outcome())
                .increment(1);
            (e.status(), format!("{e}\n")).into_response()
        }
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then finish in-flight requests
/// (at most `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        r = server => r,
        _ = async {
            let _ = rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("HTTP server did not drain within {grace:?}; closing");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
