//! What a channel answered for the outbox rows it was sent, for every kind of push.
//!
//! Why one place: stock and prices leave through the same outbox, and a channel answers both
//! the same way, per item: applied, refused, conflicting, unknown, or accepted for later
//! processing (`Pending`, an Amazon feed). Each answer moves its row the same way whatever
//! the kind. The price push once had its own copy of this, which ignored `Pending`: a price
//! sent in a feed then stayed in flight until its lease ran out and was sent again.

use std::collections::{HashMap, HashSet};

use channels_core::{ChannelValue, PendingHandle, PushOutcome};
use jiff::{SignedDuration, Timestamp};

use super::channels::ChannelHandle;
use crate::store::{PushKind, Store, StoreError};

/// The rows sent, by (SKU, version): (row id, attempts so far).
pub(crate) type SentRows = HashMap<(String, u64), (i64, i64)>;

/// How long a row accepted for asynchronous processing stays in flight before it is sent
/// again: Amazon processes a listings feed in minutes, rarely more than a quarter of an hour.
const PENDING_LEASE: SignedDuration = SignedDuration::from_hours(1);

/// The answers of one call, sorted for the caller's report.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// Rows the channel answered for (the others go back to the queue).
    pub answered: HashSet<i64>,
    /// (SKU, the value the channel acknowledged, when it said).
    pub applied: Vec<(String, Option<ChannelValue>)>,
    /// (SKU, the channel's reason).
    pub rejected: Vec<(String, String)>,
    pub conflicts: usize,
    pub pending: usize,
    pub errors: Vec<String>,
}

/// Apply a connector's per-item answers to the outbox rows they belong to (by SKU and
/// version). `Pending` keeps a row in flight with its handle.
pub(crate) async fn settle(
    channel: &str,
    store: &Store,
    rows: &SentRows,
    outcomes: &[PushOutcome],
) -> Result<Settled, StoreError> {
    let mut s = Settled::default();
    let mut sent = Vec::new();
    for outcome in outcomes {
        let key = (outcome.sku().to_owned(), outcome.version());
        let Some(&(row, attempts)) = rows.get(&key) else {
            tracing::warn!(channel, sku = %key.0, "connector answered for a SKU it was not sent");
            continue;
        };
        s.answered.insert(row);
        match outcome {
            PushOutcome::Applied { channel_value, .. } => {
                sent.push(row);
                s.applied.push((key.0, Some(channel_value.clone())));
            }
            PushOutcome::Rejected {
                reason, retryable, ..
            } => {
                s.errors.push(format!("{}: {reason}", key.0));
                s.rejected.push((key.0, reason.clone()));
                store
                    .mark_failed(row, reason, retry_at(*retryable, attempts))
                    .await?;
            }
            PushOutcome::Conflict { .. } => {
                // The channel changed underneath (a sale): recompute before sending again.
                s.conflicts += 1;
                store
                    .mark_failed(row, "compare-and-set conflict", retry_at(true, attempts))
                    .await?;
            }
            PushOutcome::Unknown { reason, .. } => {
                s.errors
                    .push(format!("{}: outcome unknown: {reason}", key.0));
                store
                    .mark_failed(row, reason, retry_at(true, attempts))
                    .await?;
            }
            PushOutcome::Pending { handle, .. } => {
                // Accepted for asynchronous processing: in flight, with the handle to poll,
                // until the channel settles it (see ARCHITECTURE.md, "Stock push").
                s.pending += 1;
                let until = Timestamp::now()
                    .checked_add(PENDING_LEASE)
                    .unwrap_or_else(|_| Timestamp::now());
                store.mark_pending(row, &handle.0, until).await?;
            }
        }
    }
    if !sent.is_empty() {
        store.mark_sent(&sent).await?;
    }
    Ok(s)
}

/// Ask the channel about the rows of `kind` it accepted earlier, and settle those it has
/// finished. `None` when nothing was waiting (no call made). A channel that fails to answer
/// leaves them in flight until the lease; the error is in the result.
pub(crate) async fn poll_in_flight(
    ch: &ChannelHandle,
    store: &Store,
    kind: PushKind,
) -> Result<Option<Settled>, StoreError> {
    let id = ch.config.id.as_str();
    let waiting = store.in_flight(id, kind).await?;
    if waiting.is_empty() {
        return Ok(None);
    }
    let handles: Vec<PendingHandle> = waiting
        .iter()
        .map(|w| PendingHandle(w.handle.clone()))
        .collect();
    let outcomes = match ch.channel.poll_pending(&handles).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(channel = id, error = %e, waiting = waiting.len(), kind = kind.as_str(), "could not poll accepted pushes; they stay in flight");
            return Ok(Some(Settled {
                errors: vec![format!("poll: {e}")],
                ..Settled::default()
            }));
        }
    };
    let rows: SentRows = waiting
        .iter()
        .map(|w| ((w.sku.clone(), w.version as u64), (w.id, w.attempts)))
        .collect();
    settle(id, store, &rows, &outcomes).await.map(Some)
}

/// When to try a failed row again: soon for transient trouble (backing off with attempts),
/// never for a validation refusal (it waits in `failed` for a newer value or a person).
pub(crate) fn retry_at(retryable: bool, attempts: i64) -> Option<Timestamp> {
    retryable.then(|| {
        let secs = (5i64 << attempts.clamp(0, 8)).min(900);
        Timestamp::now() + SignedDuration::from_secs(secs)
    })
}
