//! The stock job: Odoo's stock → each channel's offer → the outbox → the channel.
//!
//! Two halves with a persistent outbox between them, so that the pace of each channel is its
//! own and a crash loses nothing:
//!
//! * [`StockJob::recompute`] reads stock from Odoo (one aggregated call per batch of products),
//!   runs the pure allocator for every SKU, and queues only the offers that differ from what
//!   the channel last acknowledged (or has queued), under a new version number.
//! * [`StockJob::push`] drains one channel's outbox in batches through its connector and
//!   records each acknowledgement. The outbox's versions guarantee that an older value is
//!   never sent after a newer one, even across restarts.

use std::collections::HashMap;
use std::time::Instant;

use channels_core::{PendingHandle, PushOutcome, StockUpdate};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use crate::allocation::{Allocator, ChannelRule, Offer, Policy, SkuInput, WarehouseStock};
use crate::odoo::SearchOpts;
use crate::odoo::{Domain, OdooClient, OdooError, Record};
use crate::store::{EnqueueOutcome, FailOutcome, PushKind, Store};

/// A warehouse as the stock job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    pub id: i64,
    pub code: String,
    /// Bit position in [`ChannelRule::warehouses`].
    pub slot: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Config(String),
}

/// What one recompute did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecomputeReport {
    pub products: usize,
    pub version: i64,
    /// SKUs queued per channel id.
    pub queued: HashMap<String, usize>,
}

/// What one push round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub applied: usize,
    pub rejected: usize,
    pub conflicts: usize,
    pub pending: usize,
    pub calls: usize,
    pub errors: Vec<String>,
}

/// Largest batch handed to a connector at once (it may split further, e.g. into a feed).
const PUSH_BATCH: u32 = 500;
/// The store cursor that keeps the version counter across restarts.
const VERSION_CURSOR: (&str, &str) = ("_daemon", "stock_version");

pub struct StockJob {
    warehouses: Vec<Warehouse>,
    allocator: Allocator,
    /// Channel ids in allocator order.
    channel_ids: Vec<String>,
    default_safety: i64,
}

impl StockJob {
    /// Resolve each channel's warehouse codes against Odoo and build the allocator.
    pub async fn new(
        odoo: &OdooClient,
        channels: &[ChannelHandle],
        policy: Policy,
        default_safety: i64,
    ) -> Result<Self, StockError> {
        let rows = odoo
            .search_read(
                "stock.warehouse",
                &Domain::new(),
                &["code"],
                &SearchOpts::default().order("id asc"),
            )
            .await?;
        let mut warehouses = Vec::new();
        for (slot, row) in rows.iter().enumerate() {
            let rec = Record::new("stock.warehouse", row).map_err(OdooError::Decode)?;
            if slot >= crate::allocation::MAX_WAREHOUSES {
                return Err(StockError::Config(format!(
                    "more than {} warehouses",
                    crate::allocation::MAX_WAREHOUSES
                )));
            }
            warehouses.push(Warehouse {
                id: rec.id().map_err(OdooError::Decode)?,
                code: rec
                    .string("code")
                    .map_err(OdooError::Decode)?
                    .unwrap_or_default(),
                slot,
            });
        }
        let mut rules = Vec::with_capacity(channels.len());
        let mut problems = Vec::new();
        for ch in channels {
            let c = &ch.config;
            let mut mask = 0u64;
            if c.warehouses.is_empty() {
                for w in &warehouses {
                    mask |= 1 << w.slot;
                }
            }
            for code in &c.warehouses {
                match warehouses.iter().find(|w| &w.code == code) {
                    Some(w) => mask |= 1 << w.slot,
                    None => problems.push(format!(
                        "channel {}: warehouse {code:?} does not exist in Odoo",
                        c.id
                    )),
                }
            }
            let bp = (c.buffer_percent * Decimal::from(100))
                .round()
                .to_u32()
                .unwrap_or(0);
            rules.push(ChannelRule {
                priority: c.priority,
                warehouses: mask,
                buffer_bp: bp,
                buffer_units: i64::from(c.buffer_units),
                min_qty: i64::from(c.min_qty),
                max_qty: c.max_qty.map_or(i64::MAX, i64::from),
                keep_last: i64::from(c.keep_last_units),
                enabled: c.enabled,
                ..ChannelRule::default()
            });
        }
        if !problems.is_empty() {
            return Err(StockError::Config(problems.join("; ")));
        }
        let allocator =
            Allocator::new(policy, rules).map_err(|e| StockError::Config(e.to_string()))?;
        Ok(StockJob {
            warehouses,
            allocator,
            channel_ids: channels.iter().map(|c| c.config.id.clone()).collect(),
            default_safety,
        })
    }

    pub fn warehouses(&self) -> &[Warehouse] {
        &self.warehouses
    }

    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// Read stock, allocate, and queue what changed. `pending` holds units per product
    /// accepted on marketplaces that Odoo has not reserved yet.
    pub async fn recompute(
        &self,
        odoo: &OdooClient,
        store: &Store,
        catalog: &Catalog,
        pending: &HashMap<i64, i64>,
        events: &EventBus,
    ) -> Result<RecomputeReport, StockError> {
        let started = Instant::now();
        let nw = self.warehouses.len();
        let product_ids: Vec<i64> = catalog.products().iter().map(|p| p.id).collect();
        let wh_ids: Vec<i64> = self.warehouses.iter().map(|w| w.id).collect();
        let calls_before = odoo.call_count();
        let levels = if product_ids.is_empty() {
            Vec::new()
        } else {
            odoo.stock_levels(Some(&product_ids), &wh_ids).await?
        };
        events.emit(SyncEvent::StockRead {
            products: product_ids.len(),
            warehouses: nw,
            odoo_calls: odoo.call_count() - calls_before,
            elapsed: started.elapsed(),
        });

        // Flat [product][warehouse] table; quantities floored on hand, reservations rounded up,
        // so fractional stock never turns into a listed unit that does not exist.
        let index: HashMap<i64, usize> = product_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let slot_of: HashMap<i64, usize> = self.warehouses.iter().map(|w| (w.id, w.slot)).collect();
        let mut table = vec![
            WarehouseStock {
                safety: 0,
                ..Default::default()
            };
            product_ids.len() * nw
        ];
        for l in &levels {
            if let (Some(&p), Some(&w)) = (index.get(&l.product_id), slot_of.get(&l.warehouse_id)) {
                let cell = &mut table[p * nw + w];
                cell.on_hand += l.on_hand.floor().to_i64().unwrap_or(0);
                cell.reserved += l.reserved.ceil().to_i64().unwrap_or(0);
            }
        }

        // What each channel holds or has queued, to queue only real changes.
        let mut known: Vec<HashMap<String, Decimal>> = Vec::with_capacity(self.channel_ids.len());
        for ch in &self.channel_ids {
            let mut m: HashMap<String, Decimal> = store
                .acks(ch, PushKind::Stock)
                .await?
                .into_iter()
                .map(|a| (a.sku, a.value))
                .collect();
            for row in store.outbox_rows(ch).await? {
                if row.kind == PushKind::Stock
                    && !matches!(row.state, crate::store::OutboxState::Sent)
                {
                    m.insert(row.sku, row.value);
                }
            }
            known.push(m);
        }

        let version = self.next_version(store).await?;
        let mut report = RecomputeReport {
            products: product_ids.len(),
            version,
            ..Default::default()
        };
        let mut scratch = self.allocator.scratch();
        let mut out = vec![Offer::default(); self.channel_ids.len()];
        for (i, product) in catalog.products().iter().enumerate() {
            let sku_in = SkuInput {
                warehouses: &table[i * nw..(i + 1) * nw],
                product_safety: self.default_safety,
                pending: pending.get(&product.id).copied().unwrap_or(0),
                fixed: &[],
                velocity: &[],
            };
            self.allocator.allocate(&sku_in, &mut scratch, &mut out);
            for (c, ch) in self.channel_ids.iter().enumerate() {
                let sku = catalog.sku_for(ch, product);
                let value = Decimal::from(out[c].qty);
                if known[c].get(sku) == Some(&value) {
                    continue;
                }
                match store
                    .enqueue(ch, PushKind::Stock, sku, value, version)
                    .await?
                {
                    EnqueueOutcome::Queued { .. } => {
                        *report.queued.entry(ch.clone()).or_default() += 1;
                    }
                    EnqueueOutcome::Ignored(_) => {}
                }
            }
        }
        for ch in &self.channel_ids {
            let changed = report.queued.get(ch).copied().unwrap_or(0);
            if changed > 0 {
                events.emit(SyncEvent::OffersQueued {
                    channel: ch.clone(),
                    changed,
                    version,
                });
            }
        }
        Ok(report)
    }

    async fn next_version(&self, store: &Store) -> Result<i64, StockError> {
        let current = store
            .get_cursor(VERSION_CURSOR.0, VERSION_CURSOR.1)
            .await?
            .and_then(|c| c.value.parse::<i64>().ok())
            .unwrap_or(0);
        let next = current + 1;
        store
            .set_cursor(VERSION_CURSOR.0, VERSION_CURSOR.1, &next.to_string())
            .await?;
        Ok(next)
    }

    /// Drain `ch`'s stock outbox through its connector.
    pub async fn push(
        &self,
        ch: &ChannelHandle,
        store: &Store,
        events: &EventBus,
    ) -> Result<PushReport, StockError> {
        push_channel(ch, store, events).await
    }
}

/// Drain one channel's stock outbox. Absolute quantities are idempotent to re-send, and the
/// outbox never hands out an older version after a newer one; an outcome the connector could
/// not establish goes back to the queue rather than being assumed. Rows an earlier round left
/// waiting on an asynchronous channel (a feed) are settled first, so that a key whose feed has
/// finished can take its next value in the same round.
pub async fn push_channel(
    ch: &ChannelHandle,
    store: &Store,
    events: &EventBus,
) -> Result<PushReport, StockError> {
    let started = Instant::now();
    let id = ch.config.id.as_str();
    let mut report = PushReport::default();
    poll_in_flight(ch, store, &mut report).await?;
    loop {
        let batch = store
            .claim_batch(id, PushKind::Stock, PUSH_BATCH, Timestamp::now())
            .await?;
        if batch.is_empty() {
            break;
        }
        let updates: Vec<StockUpdate> = batch
            .iter()
            .map(|it| StockUpdate {
                sku: it.sku.clone(),
                quantity: it.value.to_u32().unwrap_or(0),
                version: it.version as u64,
                expected: None,
                location: None,
            })
            .collect();
        let rows: HashMap<(String, u64), (i64, i64)> = batch
            .iter()
            .map(|it| ((it.sku.clone(), it.version as u64), (it.id, it.attempts)))
            .collect();
        report.calls += 1;
        let outcomes = match ch.channel.push_stock(&updates).await {
            Ok(o) => o,
            Err(e) => {
                // Nothing was applied (the connector answers per item when anything was sent).
                let retry = retry_at(e.is_retryable(), batch[0].attempts);
                for it in &batch {
                    store.mark_failed(it.id, &e.to_string(), retry).await?;
                }
                report.errors.push(e.to_string());
                report.rejected += batch.len();
                break;
            }
        };
        let answered = settle(id, store, &rows, &outcomes, &mut report).await?;
        // Rows the connector did not answer for go back to the queue.
        for it in &batch {
            if !answered.contains(&it.id) {
                match store
                    .mark_failed(
                        it.id,
                        "no answer from the connector",
                        retry_at(true, it.attempts),
                    )
                    .await?
                {
                    FailOutcome::Retrying | FailOutcome::Superseded => {}
                    other => tracing::debug!(?other, "unanswered row"),
                }
            }
        }
        if batch.len() < PUSH_BATCH as usize {
            break;
        }
    }
    if report.calls > 0 {
        events.emit(SyncEvent::StockPushed {
            channel: id.to_owned(),
            applied: report.applied,
            rejected: report.rejected,
            conflicts: report.conflicts,
            pending: report.pending,
            calls: report.calls,
            elapsed: started.elapsed(),
        });
    }
    Ok(report)
}

/// How long a row accepted for asynchronous processing stays in flight before it is sent
/// again: Amazon processes a listings feed in minutes, rarely more than a quarter of an hour.
const PENDING_LEASE: SignedDuration = SignedDuration::from_hours(1);

/// Ask the channel about the rows it accepted earlier; settle those it has finished. A
/// channel that cannot be polled, or fails to answer, leaves them in flight until the lease.
async fn poll_in_flight(
    ch: &ChannelHandle,
    store: &Store,
    report: &mut PushReport,
) -> Result<(), StockError> {
    let id = ch.config.id.as_str();
    let waiting = store.in_flight(id, PushKind::Stock).await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let handles: Vec<PendingHandle> = waiting
        .iter()
        .map(|w| PendingHandle(w.handle.clone()))
        .collect();
    report.calls += 1;
    let outcomes = match ch.channel.poll_pending(&handles).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(channel = id, error = %e, waiting = waiting.len(), "could not poll accepted pushes; they stay in flight");
            report.errors.push(format!("poll: {e}"));
            return Ok(());
        }
    };
    let rows: HashMap<(String, u64), (i64, i64)> = waiting
        .iter()
        .map(|w| ((w.sku.clone(), w.version as u64), (w.id, w.attempts)))
        .collect();
    settle(id, store, &rows, &outcomes, report).await?;
    Ok(())
}

/// Apply a connector's per-item answers to the outbox rows they belong to (by SKU and
/// version); returns the rows answered for. `Pending` keeps a row in flight with its handle.
async fn settle(
    channel: &str,
    store: &Store,
    rows: &HashMap<(String, u64), (i64, i64)>,
    outcomes: &[PushOutcome],
    report: &mut PushReport,
) -> Result<std::collections::HashSet<i64>, StockError> {
    let mut answered = std::collections::HashSet::new();
    let mut sent = Vec::new();
    for outcome in outcomes {
        let key = (outcome.sku().to_owned(), outcome.version());
        let Some(&(row, attempts)) = rows.get(&key) else {
            tracing::warn!(channel, sku = %key.0, "connector answered for a SKU it was not sent");
            continue;
        };
        answered.insert(row);
        match outcome {
            PushOutcome::Applied { .. } => {
                sent.push(row);
                report.applied += 1;
            }
            PushOutcome::Rejected {
                reason, retryable, ..
            } => {
                report.rejected += 1;
                report.errors.push(format!("{}: {reason}", key.0));
                store
                    .mark_failed(row, reason, retry_at(*retryable, attempts))
                    .await?;
            }
            PushOutcome::Conflict { .. } => {
                // The channel changed underneath (a sale): recompute before sending again.
                report.conflicts += 1;
                store
                    .mark_failed(row, "compare-and-set conflict", retry_at(true, attempts))
                    .await?;
            }
            PushOutcome::Unknown { reason, .. } => {
                report
                    .errors
                    .push(format!("{}: outcome unknown: {reason}", key.0));
                store
                    .mark_failed(row, reason, retry_at(true, attempts))
                    .await?;
            }
            PushOutcome::Pending { handle, .. } => {
                // Accepted for asynchronous processing: in flight, with the handle to poll,
                // until the channel settles it (see ARCHITECTURE.md, "Stock push").
                report.pending += 1;
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
    Ok(answered)
}

/// When to try a failed row again: soon for transient trouble (backing off with attempts),
/// never for a validation refusal (it waits in `failed` for a newer value or a person).
fn retry_at(retryable: bool, attempts: i64) -> Option<Timestamp> {
    retryable.then(|| {
        let secs = (5i64 << attempts.clamp(0, 8)).min(900);
        Timestamp::now() + SignedDuration::from_secs(secs)
    })
}
