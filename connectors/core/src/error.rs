//! Errors a connector can return, and the "mapped or malformed" wrapper for pulled records.
//!
//! The taxonomy is about **what the caller may do next**, not about HTTP: a `Transient` read may
//! be retried; an `Ambiguous` write must be re-checked (read back) before anything is sent again;
//! `Rejected` will fail the same way until the data changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A pulled record that could not be mapped, naming the record and the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{record}: field {field}: {message}")]
pub struct MappingError {
    /// Which record, for a person: e.g. `order 1234`, `settlement S-9 line 3`.
    pub record: String,
    /// Path of the offending field in the marketplace payload, e.g. `line_items[2].price`.
    pub field: String,
    pub message: String,
}

impl MappingError {
    pub fn new(
        record: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One pulled record: either mapped, or kept whole with the reason it could not be mapped.
///
/// A malformed record is never dropped and never a panic: the sync job stages `raw` and
/// quarantines it, so a person can see it in Odoo and replay it after a fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Pulled<T> {
    Ok(T),
    Malformed {
        /// The marketplace id, when it could be read at all.
        external_id: Option<String>,
        raw: serde_json::Value,
        error: MappingError,
    },
}

impl<T> Pulled<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Pulled::Ok(t) => Some(t),
            Pulled::Malformed { .. } => None,
        }
    }

    pub fn into_ok(self) -> Option<T> {
        match self {
            Pulled::Ok(t) => Some(t),
            Pulled::Malformed { .. } => None,
        }
    }

    pub fn is_malformed(&self) -> bool {
        matches!(self, Pulled::Malformed { .. })
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Pulled<U> {
        match self {
            Pulled::Ok(t) => Pulled::Ok(f(t)),
            Pulled::Malformed {
                external_id,
                raw,
                error,
            } => Pulled::Malformed {
                external_id,
                raw,
                error,
            },
        }
    }
}

/// What went wrong talking to a channel.
///
/// Messages never contain secrets: connectors build them from status codes and the
/// marketplace's error bodies, never from request headers.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// 401/403: credentials rejected. The connector refreshes once (OAuth) and then returns this;
    /// the daemon alerts a person and stops the channel's jobs.
    #[error("authentication failed: {message}")]
    Auth { message: String },
    /// 429 or a quota error. `retry_after` is the channel's own hint when it gave one.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, or a network failure before any response. Safe to retry for reads. For a write this
    /// means the channel said it did *not* apply it (e.g. 503, connection refused).
    #[error("transient failure: {message}")]
    Transient { message: String },
    /// A write whose outcome is unknown (timeout or connection lost after sending, 500/502/504):
    /// it may or may not have been applied. Re-read, then act.
    #[error("ambiguous write outcome: {message}")]
    Ambiguous { message: String },
    /// 4xx validation: the same request will fail again until the data changes.
    #[error("rejected by the channel: {message}")]
    Rejected {
        message: String,
        /// The channel's own error code, e.g. `INVALID_QUANTITY`.
        code: Option<String>,
    },
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The connector does not implement this operation (see `Capabilities`).
    #[error("operation not supported by this channel: {0}")]
    Unsupported(&'static str),
    /// A response (not a pulled record: those come back as `Pulled::Malformed`) did not decode.
    #[error("cannot decode the channel's response: {0}")]
    Decode(MappingError),
    #[error("connector configuration: {0}")]
    Config(String),
}

impl ChannelError {
    /// Whether the *same read* may simply be sent again after a delay.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelError::RateLimited { .. } | ChannelError::Transient { .. }
        )
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        ChannelError::Rejected {
            message: message.into(),
            code: None,
        }
    }

    /// A short stable label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            ChannelError::Auth { .. } => "auth",
            ChannelError::RateLimited { .. } => "rate_limited",
            ChannelError::Transient { .. } => "transient",
            ChannelError::Ambiguous { .. } => "ambiguous",
            ChannelError::Rejected { .. } => "rejected",
            ChannelError::NotFound { .. } => "not_found",
            ChannelError::Unsupported(_) => "unsupported",
            ChannelError::Decode(_) => "decode",
            ChannelError::Config(_) => "config",
        }
    }
}

/// Why an incoming webhook was refused. The server answers 401 for signature problems and
/// 413 for size; it never says which check failed beyond that.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("invalid header {0}")]
    InvalidHeader(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("body of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("timestamp outside the replay window ({age_secs}s old)")]
    Stale { age_secs: i64 },
    #[error("malformed webhook payload: {0}")]
    Malformed(String),
    #[error("webhooks are not supported by this channel")]
    Unsupported,
    /// Authentic, but already received (the marketplace retries a delivery whose answer it
    /// did not see). Answer 2xx and do nothing: a refusal would make the marketplace retry
    /// again and, as Shopify does after repeated failures, drop the subscription.
    #[error("delivery {0} already received")]
    Duplicate(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        assert!(
            ChannelError::Transient {
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(ChannelError::RateLimited { retry_after: None }.is_retryable());
        assert!(
            !ChannelError::Ambiguous {
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(!ChannelError::rejected("x").is_retryable());
        assert!(
            !ChannelError::Auth {
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(!ChannelError::Unsupported("push_stock").is_retryable());
    }

    #[test]
    fn pulled_serialises_with_state_tag() {
        let p: Pulled<u32> = Pulled::Malformed {
            external_id: Some("7".into()),
            raw: serde_json::json!({"id": 7}),
            error: MappingError::new("order 7", "total", "not a number"),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["state"], "malformed");
        assert_eq!(v["error"]["field"], "total");
        assert_eq!(serde_json::from_value::<Pulled<u32>>(v).unwrap(), p);
    }
}
