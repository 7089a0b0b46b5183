//! The channel interface every marketplace connector implements.
//!
//! * [`Channel`]: the async, object-safe trait (`Arc<dyn Channel>`), with [`Capabilities`].
//! * Normalised records ([`Order`], [`StockUpdate`], [`Settlement`], …) and [`Money`].
//! * [`Pulled`]: a pulled record is either mapped or kept whole as `Malformed` with a
//!   [`MappingError`] naming record and field. Never dropped, never a panic.
//! * [`ChannelError`]: what the caller may do next (retry a read, re-check a write, alert).
//! * [`ratelimit`]: per (channel, operation) token buckets and Shopify-style cost buckets.
//! * [`retry`]: reads retried with backoff; writes never retried blindly.
//! * [`webhook`]: HMAC verification in constant time, size cap, replay window, dedupe.
//! * [`auth`]: expiring access tokens, refreshed ahead of time and once after a 401.
//! * [`registry`]: build a channel from (id, kind, connection table, secrets).
//!
//! See ARCHITECTURE.md, "Channels".

pub mod auth;
pub mod channel;
pub mod error;
pub mod id;
pub mod json;
pub mod money;
pub mod ratelimit;
pub mod registry;
pub mod retry;
pub mod secret;
pub mod types;
pub mod webhook;

pub use auth::{AccessToken, TokenCache, TokenSource};
pub use channel::{
    Capabilities, Channel, Operation, OrderPage, OrderQuery, Page, PageQuery, PageToken,
    WebhookEvent, WebhookEventKind,
};
pub use error::{ChannelError, MappingError, Pulled, WebhookError};
pub use id::{ChannelId, ChannelKind, InvalidChannelId};
pub use money::{Currency, CurrencyMismatch, InvalidCurrency, Money};
pub use ratelimit::{ChannelLimiter, CostBucket, Limit, RateLimiter, TokenBucket};
pub use registry::{BuildFn, ConnectorFactory, ConnectorSecrets, Registry};
pub use retry::{CallKind, RetryPolicy};
pub use types::*;
