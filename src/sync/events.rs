//! What the sync jobs did, as a stream of events.
//!
//! Three readers want the same facts: journald (through `tracing`), the `demo` command's live
//! view, and tests that wait for "the order reached Odoo" instead of sleeping. Jobs emit each
//! fact once here; [`EventBus::emit`] logs it and broadcasts it.

use std::time::Duration;

use tokio::sync::broadcast;

/// One thing a job did or found.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// Stock was read from Odoo.
    StockRead {
        products: usize,
        warehouses: usize,
        odoo_calls: u64,
        elapsed: Duration,
    },
    /// Offers were recomputed; `changed` SKUs were queued for `channel`.
    OffersQueued {
        channel: String,
        changed: usize,
        version: i64,
    },
    /// A push round to a channel finished.
    StockPushed {
        channel: String,
        applied: usize,
        rejected: usize,
        conflicts: usize,
        pending: usize,
        calls: usize,
        elapsed: Duration,
    },
    /// Orders were pulled from a channel and staged.
    OrdersPulled {
        channel: String,
        staged: usize,
        unchanged: usize,
        malformed: usize,
    },
    /// An order was created in Odoo.
    OrderImported {
        channel: String,
        external_id: String,
        odoo_id: i64,
        odoo_name: String,
        lines: usize,
        total: String,
    },
    /// An order was already in Odoo (a repeated pull, a webhook, a restart after a crash).
    OrderAlreadyImported {
        channel: String,
        external_id: String,
        odoo_id: i64,
    },
    /// A record was set aside for a person (and shown in Odoo).
    Quarantined {
        channel: String,
        kind: String,
        external_ref: String,
        reason: String,
    },
    /// After the sale, between Odoo and a channel: a shipment confirmed, a cancellation
    /// applied either way, a return received, or something held for a person.
    AfterSale {
        channel: String,
        /// `shipment`, `cancelled_in_odoo`, `cancelled_on_channel`, `return`, `held`, `alert`.
        kind: &'static str,
        /// The marketplace order (or return) id.
        external_id: String,
        detail: String,
    },
    /// A decision taken in Odoo (or from the CLI) on a quarantined record was applied:
    /// `released` (put back through its job) or `discarded`.
    QuarantineDecided {
        channel: String,
        external_ref: String,
        decision: String,
    },
    /// A listings and prices round on a channel finished.
    ListingsPushed {
        channel: String,
        /// Listings created or updated on the channel.
        upserted: usize,
        rejected: usize,
        /// Prices the channel acknowledged / refused.
        prices_applied: usize,
        prices_rejected: usize,
    },
    /// Progress of long work (`done` of `total`).
    Progress {
        channel: String,
        job: &'static str,
        done: usize,
        total: usize,
    },
    /// A job failed; it will run again on its schedule.
    JobFailed {
        channel: String,
        job: &'static str,
        error: String,
    },
}

/// Broadcasts [`SyncEvent`]s; slow subscribers lose old events rather than slowing the jobs.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SyncEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        EventBus { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.tx.subscribe()
    }

    /// Log the event and hand it to every subscriber.
    pub fn emit(&self, event: SyncEvent) {
        match &event {
            SyncEvent::JobFailed {
                channel,
                job,
                error,
            } => tracing::warn!(channel, job, error, "job failed"),
            SyncEvent::Quarantined {
                channel,
                kind,
                external_ref,
                reason,
            } => tracing::warn!(channel, kind, external_ref, reason, "quarantined"),
            SyncEvent::Progress { .. } => tracing::debug!(?event),
            other => tracing::info!(event = ?other),
        }
        let _ = self.tx.send(event);
    }
}
