//! Webhooks into the daemon: verified by the channel's connector, deduplicated, and turned
//! into wake-ups of the right job. Never into writes: the cursor stays the source of truth, so
//! a lost, repeated or out-of-order webhook costs at most one extra pull.

use std::sync::Arc;

use async_trait::async_trait;
use channels_core::webhook::DedupeSet;
use channels_core::{WebhookError as ChannelWebhookError, WebhookEventKind};
use tokio::sync::OnceCell;

use super::Engine;
use crate::server::{WebhookError, WebhookReply, WebhookRequest, WebhookSink};

/// Event ids remembered for dedupe (per process; duplicates beyond it only cost a pull).
const DEDUPE_CAPACITY: usize = 50_000;

/// The webhook sink over the engine's channels. The engine is set once it has started; until
/// then webhooks are answered 503 so the marketplace re-sends them.
pub struct ChannelWebhooks {
    engine: Arc<OnceCell<Arc<Engine>>>,
    seen: DedupeSet,
}

impl ChannelWebhooks {
    pub fn new(engine: Arc<OnceCell<Arc<Engine>>>) -> Self {
        ChannelWebhooks {
            engine,
            seen: DedupeSet::new(DEDUPE_CAPACITY),
        }
    }
}

#[async_trait]
impl WebhookSink for ChannelWebhooks {
    async fn deliver(&self, req: WebhookRequest) -> Result<WebhookReply, WebhookError> {
        let Some(engine) = self.engine.get() else {
            return Err(WebhookError::Unavailable("the daemon is starting".into()));
        };
        let Some(ch) = engine.channel(&req.channel) else {
            return Err(WebhookError::UnknownChannel(req.channel));
        };
        match ch.channel.verify_webhook(&req.headers, &req.body) {
            // Authentic and already handled: say so, or the marketplace keeps retrying.
            Err(ChannelWebhookError::Duplicate(id)) => {
                tracing::debug!(channel = %req.channel, delivery = %id, "duplicate webhook delivery");
                return Ok(WebhookReply::accepted());
            }
            r => r,
        }
        .map_err(|e| match e {
                ChannelWebhookError::Malformed(m) => WebhookError::BadRequest(m),
                ChannelWebhookError::Unsupported => {
                    WebhookError::UnknownChannel(format!("{} (takes no webhooks)", req.channel))
                }
                other => WebhookError::Unauthorized(other.to_string()),
            })?;
        let events = ch
            .channel
            .parse_webhook(&req.headers, &req.body)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        for ev in events {
            if !self
                .seen
                .insert_new(&format!("{}:{}", req.channel, ev.event_id))
            {
                tracing::debug!(channel = %req.channel, event = %ev.event_id, "duplicate webhook");
                continue;
            }
            match ev.kind {
                WebhookEventKind::InventoryChanged { .. }
                | WebhookEventKind::ListingChanged { .. } => engine.wake_stock(),
                WebhookEventKind::Uninstalled => tracing::error!(
                    channel = %req.channel,
                    "the marketplace says the app was uninstalled or access revoked: re-authorise the channel"
                ),
                WebhookEventKind::Other => {}
                _ => engine.wake_orders(&req.channel),
            }
        }
        Ok(WebhookReply::accepted())
    }
}
