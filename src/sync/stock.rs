//! The stock job: Odoo's stock → each channel's offer → the outbox → the channel.
//!
//! Two halves with a persistent outbox between them, so that the pace of each channel is its
//! own and a crash loses nothing:
//!
//! * [`StockJob::recompute`] brings the in-memory stock view up to date (a full read at start
//!   and every `full_reconcile_every`, else only the products whose quants or moves changed:
//!   see `stock_view.rs`), adds what only the daemon knows (orders Odoo has not reserved, sales
//!   velocity), runs the pure allocator for the products that changed, and queues only the
//!   offers that differ from what each channel acknowledged or has queued, all under one new
//!   version, in batched outbox writes. Then reorder points and transfers for those products.
//! * [`StockJob::push`] drains one channel's outbox in batches through its connector and
//!   records each acknowledgement. The outbox's versions guarantee that an older value is
//!   never sent after a newer one, even across restarts.
//!
//! The last value queued or acknowledged per (product, channel) is kept in memory (reloaded
//! from the store on every full read), so an unchanged cycle costs no store query per SKU.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use channels_core::{ChannelValue, StockUpdate};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::outbox::{self, Settled, retry_at};
use super::reorder::{Reorder, ReorderAction};
pub use super::stock_view::Warehouse;
use super::stock_view::{self, Cell, StockView};
use super::transfers::{self, TransferAction, Transfers};
use crate::allocation::transfers::{TransferPolicy, propose, warehouse_needs};
use crate::allocation::{
    Allocator, ChannelRule, Offer, Reason, Scratch, SkuInput, WarehouseStock, buffer_held,
};
use crate::config::{ChannelConfig, InventoryConfig, RuleSet};
use crate::odoo::SearchOpts;
use crate::odoo::{Domain, OdooClient, OdooError, Record};
use crate::store::{EnqueueItem, EnqueueOutcome, FailOutcome, IgnoredReason, PushKind, Store};

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Config(String),
}

impl From<stock_view::PendingError> for StockError {
    fn from(e: stock_view::PendingError) -> Self {
        match e {
            stock_view::PendingError::Odoo(e) => StockError::Odoo(e),
            stock_view::PendingError::Store(e) => StockError::Store(e),
        }
    }
}

impl From<super::reorder::ReorderError> for StockError {
    fn from(e: super::reorder::ReorderError) -> Self {
        match e {
            super::reorder::ReorderError::Odoo(e) => StockError::Odoo(e),
            super::reorder::ReorderError::Store(e) => StockError::Store(e),
        }
    }
}

/// What one recompute did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecomputeReport {
    /// Products in the catalogue.
    pub products: usize,
    /// A full read (else incremental).
    pub full: bool,
    /// Products whose stock was read from Odoo this time.
    pub read: usize,
    /// Products whose offers were computed this time.
    pub recomputed: usize,
    /// The version the changes were queued under (0: nothing changed).
    pub version: i64,
    /// SKUs queued per channel id.
    pub queued: HashMap<String, usize>,
    /// Odoo calls this recompute made (stock reads, pending drafts, velocity, reorders, …).
    pub odoo_calls: u64,
    pub reorders: Vec<ReorderAction>,
    pub transfers: Vec<TransferAction>,
    /// Things a person should know that did not stop the job.
    pub warnings: Vec<String>,
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
    /// (SKU, quantity) the channel acknowledged in this round, for the bindings in Odoo.
    pub acknowledged: Vec<(String, i64)>,
}

/// Largest batch handed to a connector at once (it may split further, e.g. into a feed).
const PUSH_BATCH: u32 = 500;
/// The store cursor that keeps the version counter across restarts.
const VERSION_CURSOR: (&str, &str) = ("_daemon", "stock_version");
/// Sent outbox rows older than this are pruned on full reads (their acks stay).
const PRUNE_SENT_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// `last` value of a (product, channel) never queued nor acknowledged.
const UNKNOWN: i64 = i64::MIN;

/// The stock job. Holds the in-memory view; [`StockJob::recompute`] runs one at a time.
pub struct StockJob {
    warehouses: Vec<Warehouse>,
    allocator: Allocator,
    /// Channel ids in allocator order.
    channel_ids: Vec<String>,
    rules: RuleSet,
    inventory: InventoryConfig,
    /// Warehouse slots that feed at least one enabled channel.
    serving: u64,
    full_requested: AtomicBool,
    state: tokio::sync::Mutex<JobState>,
}

struct JobState {
    view: StockView,
    /// The catalogue the table is indexed by.
    catalog: Option<Arc<Catalog>>,
    /// Per (product position, channel): the value queued or acknowledged, or [`UNKNOWN`].
    last: Vec<i64>,
    last_full: Option<Instant>,
    pending: HashMap<i64, i64>,
    /// Per channel: product id → units sold in the velocity window.
    velocity: Vec<HashMap<i64, u32>>,
    velocity_at: Option<Instant>,
    reorder: Option<Reorder>,
    reorder_at: Option<Instant>,
    transfers: Transfers,
}

/// Per-SKU working memory of the allocation loop.
struct Work {
    scratch: Scratch,
    out: Vec<Offer>,
    ws: Vec<WarehouseStock>,
    fixed: Vec<Option<i64>>,
    velocity: Vec<u32>,
}

/// Offers handed to the store at a time by a recompute (see where it is used).
const ENQUEUE_SLICE: usize = 10_000;

/// One row of `allocate --dry-run`: a SKU on a channel and why it gets what it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    pub product_id: i64,
    /// The product's internal reference.
    pub sku: String,
    pub channel: String,
    /// The SKU the channel lists it under.
    pub channel_sku: String,
    /// Over the warehouses the channel sells from.
    pub on_hand: i64,
    pub reserved: i64,
    /// Open moves leaving those warehouses, reserved or not; per warehouse the larger of
    /// this and `reserved` is what is committed.
    pub outgoing: i64,
    pub incoming: i64,
    /// Warehouse safety stock (those warehouses) plus the product's.
    pub safety: i64,
    /// Orders Odoo has not reserved: those only the daemon knows (staged, held, draft) plus
    /// Odoo's outgoing demand that no warehouse's stock or incoming covers (backorders).
    pub pending: i64,
    /// Available-to-sell for this channel (never below 0).
    pub available: i64,
    /// Units the channel's buffer holds back from it.
    pub buffer: i64,
    pub offered: i64,
    /// Units sold on this channel in the velocity window.
    pub velocity: u32,
    /// The value the channel last acknowledged.
    pub last_pushed: Option<Decimal>,
    pub reason: Reason,
}

impl StockJob {
    /// Resolve warehouses and the channels' rules against Odoo and build the allocator.
    pub async fn new(
        odoo: &OdooClient,
        channels: &[ChannelConfig],
        inventory: &InventoryConfig,
    ) -> Result<Self, StockError> {
        let rows = odoo
            .search_read(
                "stock.warehouse",
                &Domain::new(),
                &["code", "lot_stock_id", "int_type_id"],
                &SearchOpts::default().order("id asc").load_none(),
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
            let m2o = |f: &str| rec.m2o(f).map(|m| m.map(|m| m.id));
            warehouses.push(Warehouse {
                id: rec.id().map_err(OdooError::Decode)?,
                code: rec
                    .string("code")
                    .map_err(OdooError::Decode)?
                    .unwrap_or_default(),
                slot,
                lot_stock_id: m2o("lot_stock_id").map_err(OdooError::Decode)?,
                int_type_id: m2o("int_type_id").map_err(OdooError::Decode)?,
            });
        }
        let mut rules = Vec::with_capacity(channels.len());
        let mut problems = Vec::new();
        for c in channels {
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
                buffer_mode: c.buffer_mode,
                buffer_rounding: inventory.percent_buffer_rounding,
                min_qty: i64::from(c.min_qty),
                max_qty: c.max_qty.map_or(i64::MAX, i64::from),
                keep_last: i64::from(c.keep_last_units),
                enabled: c.enabled,
            });
        }
        let codes: Vec<String> = warehouses.iter().map(|w| w.code.clone()).collect();
        let channel_ids: Vec<String> = channels.iter().map(|c| c.id.clone()).collect();
        let rule_set = match inventory.resolve(&codes, &channel_ids) {
            Ok(r) => r,
            Err(p) => {
                problems.extend(p);
                RuleSet::default()
            }
        };
        if !problems.is_empty() {
            return Err(StockError::Config(problems.join("; ")));
        }
        let serving = rules
            .iter()
            .filter(|r| r.enabled)
            .fold(0u64, |m, r| m | r.warehouses);
        let allocator = Allocator::new(inventory.policy(), rules)
            .map_err(|e| StockError::Config(e.to_string()))?;
        let view = StockView::new(warehouses.clone(), inventory.cursor_overlap);
        Ok(StockJob {
            warehouses,
            allocator,
            channel_ids,
            rules: rule_set,
            inventory: inventory.clone(),
            serving,
            full_requested: AtomicBool::new(false),
            state: tokio::sync::Mutex::new(JobState {
                view,
                catalog: None,
                last: Vec::new(),
                last_full: None,
                pending: HashMap::new(),
                velocity: Vec::new(),
                velocity_at: None,
                reorder: None,
                reorder_at: None,
                transfers: Transfers::default(),
            }),
        })
    }

    pub fn warehouses(&self) -> &[Warehouse] {
        &self.warehouses
    }

    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    pub fn channel_ids(&self) -> &[String] {
        &self.channel_ids
    }

    /// The next recompute reads everything again (e.g. after a person fixed stock in a way
    /// incremental reads cannot see).
    pub fn request_full_reconcile(&self) {
        self.full_requested.store(true, Ordering::SeqCst);
    }

    /// The view's `write_date` cursors (quants, moves), for inspection.
    pub async fn cursors(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        self.state.lock().await.view.cursors()
    }

    fn needs_velocity(&self) -> bool {
        self.inventory.velocity_weighting || self.inventory.propose_transfers
    }

    fn work(&self) -> Work {
        let nc = self.channel_ids.len();
        Work {
            scratch: self.allocator.scratch(),
            out: vec![Offer::default(); nc],
            ws: vec![WarehouseStock::default(); self.warehouses.len()],
            fixed: vec![None; nc],
            velocity: vec![0; nc],
        }
    }

    /// Allocate one product (table position `p`) into `w.out`.
    fn allocate_one(
        &self,
        st: &JobState,
        catalog: &Catalog,
        p: usize,
        w: &mut Work,
    ) -> SkuInputSummary {
        let product = &catalog.products()[p];
        let cells = st.view.cells(p);
        for (slot, c) in cells.iter().enumerate() {
            w.ws[slot] = WarehouseStock {
                on_hand: c.on_hand,
                reserved: c.committed(),
                safety: if self.rules.is_empty() {
                    0
                } else {
                    self.rules.warehouse_safety(&product.sku, slot)
                },
            };
        }
        let has_fixed = self.rules.has_fixed();
        if has_fixed {
            for (c, f) in w.fixed.iter_mut().enumerate() {
                *f = self.rules.fixed(&product.sku, c);
            }
        }
        for (c, v) in w.velocity.iter_mut().enumerate() {
            *v = st
                .velocity
                .get(c)
                .and_then(|m| m.get(&product.id))
                .copied()
                .unwrap_or(0);
        }
        let product_safety = self.rules.product_safety(&product.sku);
        // Demand Odoo accepted but cannot serve from the warehouse it was routed to (a
        // backorder): neither that warehouse's stock nor what arrives there covers it, so it
        // is taken from the pool like an order Odoo has not seen.
        let shortfall: i64 = cells
            .iter()
            .map(|c| (c.committed() - c.on_hand - c.incoming).max(0))
            .sum();
        let pending = st.pending.get(&product.id).copied().unwrap_or(0) + shortfall;
        let input = SkuInput {
            warehouses: &w.ws,
            product_safety,
            pending,
            fixed: if has_fixed { &w.fixed } else { &[] },
            velocity: &w.velocity,
        };
        self.allocator.allocate(&input, &mut w.scratch, &mut w.out);
        SkuInputSummary {
            product_safety,
            pending,
        }
    }

    /// Bring the stock view up to date, allocate the products that changed, queue what
    /// differs from what the channels hold, then reorders and transfers for those products.
    pub async fn recompute(
        &self,
        odoo: &OdooClient,
        store: &Store,
        catalog: &Arc<Catalog>,
        events: &EventBus,
    ) -> Result<RecomputeReport, StockError> {
        let started = Instant::now();
        let calls0 = odoo.call_count();
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        let nc = self.channel_ids.len();
        let products: Vec<i64> = catalog.products().iter().map(|p| p.id).collect();
        let n = products.len();
        let full = self.full_requested.swap(false, Ordering::SeqCst)
            || st
                .last_full
                .is_none_or(|t| t.elapsed() >= self.inventory.full_reconcile_every);
        let mut report = RecomputeReport {
            products: n,
            full,
            ..Default::default()
        };
        let mut dirty = vec![false; n];
        let read_started = Instant::now();
        let read_calls = odoo.call_count();
        if full {
            st.view.full_read(odoo, &products).await?;
            st.last = self.load_last(store, catalog, &st.view).await?;
            st.catalog = Some(catalog.clone());
            st.last_full = Some(Instant::now());
            dirty.fill(true);
            report.read = n;
            if let Err(e) = store.prune_sent(Timestamp::now() - PRUNE_SENT_AFTER).await {
                tracing::warn!(error = %e, "pruning sent outbox rows failed");
            }
        } else {
            let mut to_read: Vec<i64> = Vec::new();
            if st.catalog.as_ref().is_none_or(|c| !Arc::ptr_eq(c, catalog)) {
                let (fresh, renamed) = self.remap(st, catalog);
                to_read.extend(fresh);
                for p in renamed {
                    dirty[p] = true;
                }
                st.catalog = Some(catalog.clone());
            }
            let (changed, _rows) = st.view.changed_products(odoo).await?;
            to_read.extend(changed);
            to_read.sort_unstable();
            to_read.dedup();
            st.view.reread(odoo, &to_read).await?;
            for id in &to_read {
                if let Some(p) = st.view.position(*id) {
                    dirty[p] = true;
                }
            }
            report.read = to_read.len();
        }
        events.emit(SyncEvent::StockRead {
            products: report.read,
            warehouses: self.warehouses.len(),
            odoo_calls: odoo.call_count() - read_calls,
            elapsed: read_started.elapsed(),
        });

        // Reordering rules: on full reads and every `refresh_every` (rules a person adds in
        // Odoo are picked up within minutes).
        if self.inventory.reorder_enabled
            && (full
                || st
                    .reorder_at
                    .is_none_or(|t| t.elapsed() >= self.inventory.refresh_every))
        {
            let slot_of = self
                .warehouses
                .iter()
                .filter(|w| self.serving & (1 << w.slot) != 0)
                .map(|w| (w.id, w.slot))
                .collect();
            match Reorder::load(odoo, store, &slot_of).await {
                Ok(r) => {
                    if !full {
                        // New rules: their products are checked now.
                        for id in r.products() {
                            if st
                                .reorder
                                .as_ref()
                                .is_none_or(|o| o.point(id) != r.point(id))
                                && let Some(p) = st.view.position(id)
                            {
                                dirty[p] = true;
                            }
                        }
                    }
                    st.reorder = Some(r);
                    st.reorder_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading reordering rules failed; keeping the previous ones");
                    report.warnings.push(format!("reordering rules: {e}"));
                }
            }
        }

        // What only the daemon knows: orders Odoo has not reserved, and recent sales.
        let pending = stock_view::pending_units(odoo, store, &self.channel_ids, catalog).await?;
        let keys: HashSet<i64> = pending.keys().chain(st.pending.keys()).copied().collect();
        for id in keys {
            if pending.get(&id) != st.pending.get(&id)
                && let Some(p) = st.view.position(id)
            {
                dirty[p] = true;
            }
        }
        st.pending = pending;
        if self.needs_velocity()
            && (full
                || st
                    .velocity_at
                    .is_none_or(|t| t.elapsed() >= self.inventory.refresh_every))
        {
            let window = SignedDuration::try_from(self.inventory.velocity_window)
                .unwrap_or(SignedDuration::from_hours(24 * 14));
            match stock_view::sales_velocity(odoo, &self.channel_ids, Timestamp::now() - window)
                .await
            {
                Ok(v) => {
                    if self.inventory.velocity_weighting && v != st.velocity {
                        for (c, m) in v.iter().enumerate() {
                            let old = st.velocity.get(c);
                            let ids: HashSet<i64> = m
                                .keys()
                                .chain(old.into_iter().flat_map(|o| o.keys()))
                                .copied()
                                .collect();
                            for id in ids {
                                if m.get(&id) != old.and_then(|o| o.get(&id))
                                    && let Some(p) = st.view.position(id)
                                {
                                    dirty[p] = true;
                                }
                            }
                        }
                    }
                    st.velocity = v;
                    st.velocity_at = Some(Instant::now());
                }
                Err(e) => {
                    // Velocity only weights the split: keep the previous figures.
                    tracing::warn!(error = %e, "reading sales velocity failed; keeping the previous figures");
                    report.warnings.push(format!("sales velocity: {e}"));
                }
            }
        }

        // Allocate what changed; queue what differs.
        let mut work = self.work();
        let mut changes: Vec<(usize, usize, i64)> = Vec::new();
        let mut dirty_list = Vec::new();
        for p in (0..n).filter(|&p| dirty[p]) {
            dirty_list.push(p);
            self.allocate_one(st, catalog, p, &mut work);
            for c in 0..nc {
                let q = work.out[c].qty;
                if st.last[p * nc + c] != q {
                    changes.push((p, c, q));
                }
            }
        }
        report.recomputed = dirty_list.len();
        if !changes.is_empty() {
            let version = next_version(store).await?;
            report.version = version;
            // In slices: a full read of 100,000 SKUs × 8 channels would otherwise hold every
            // item and outcome at once (tens of MB at the daemon's peak); a slice is still
            // many transactions' worth for the store.
            for slice in changes.chunks(ENQUEUE_SLICE) {
                let values: Vec<Decimal> = slice.iter().map(|c| Decimal::from(c.2)).collect();
                let items: Vec<EnqueueItem<'_>> = slice
                    .iter()
                    .zip(&values)
                    .map(|(&(p, c, _), v)| EnqueueItem {
                        channel: &self.channel_ids[c],
                        kind: PushKind::Stock,
                        sku: catalog.sku_for(&self.channel_ids[c], &catalog.products()[p]),
                        value: *v,
                        version,
                    })
                    .collect();
                let outcomes = store.enqueue_many(&items).await?;
                for (&(p, c, q), outcome) in slice.iter().zip(&outcomes) {
                    match outcome {
                        EnqueueOutcome::Queued { .. } => {
                            st.last[p * nc + c] = q;
                            *report
                                .queued
                                .entry(self.channel_ids[c].clone())
                                .or_default() += 1;
                        }
                        EnqueueOutcome::Ignored(IgnoredReason::Unchanged) => {
                            st.last[p * nc + c] = q;
                        }
                        EnqueueOutcome::Ignored(other) => {
                            tracing::warn!(channel = %self.channel_ids[c], product = catalog.products()[p].id, ?other, version, "offer not queued");
                        }
                    }
                }
            }
        }
        for ch in &self.channel_ids {
            let changed = report.queued.get(ch).copied().unwrap_or(0);
            if changed > 0 {
                events.emit(SyncEvent::OffersQueued {
                    channel: ch.clone(),
                    changed,
                    version: report.version,
                });
            }
        }

        // Reorder points and transfers of the products that changed. Their failures are
        // reported, never allowed to stop the offers (already queued).
        if self.inventory.reorder_enabled
            && let Some(reorder) = st.reorder.as_mut()
        {
            for &p in &dirty_list {
                let product = &catalog.products()[p];
                if reorder.orderpoints(product.id).is_none() {
                    continue;
                }
                let position = self.reorder_position(st.view.cells(p), &st.pending, product.id);
                match reorder
                    .check(odoo, store, product.id, &product.sku, position)
                    .await
                {
                    Ok(Some(a)) => report.reorders.push(a),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(sku = %product.sku, error = %e, "reorder check failed; retried next round");
                        report
                            .warnings
                            .push(format!("reorder {}: {e}", product.sku));
                    }
                }
            }
        }
        if self.inventory.propose_transfers {
            let settings = transfers::settings(
                self.inventory.create_draft_transfers,
                self.inventory.transfer_repeat_after,
            );
            let policy = TransferPolicy {
                cover_days: self.inventory.transfer_cover_days,
                window_days: (self.inventory.velocity_window.as_secs() / 86_400).max(1) as u32,
                min_qty: i64::from(self.inventory.transfer_min_qty),
            };
            let mut need = Vec::new();
            let mut proposals = Vec::new();
            let mut available = vec![0i64; self.warehouses.len()];
            for &p in &dirty_list {
                let product = &catalog.products()[p];
                for (c, v) in work.velocity.iter_mut().enumerate() {
                    *v = st
                        .velocity
                        .get(c)
                        .and_then(|m| m.get(&product.id))
                        .copied()
                        .unwrap_or(0);
                }
                if work.velocity.iter().all(|v| *v == 0) {
                    continue;
                }
                warehouse_needs(
                    self.allocator.rules(),
                    &work.velocity,
                    self.warehouses.len(),
                    &policy,
                    &mut need,
                );
                for (w, c) in st.view.cells(p).iter().enumerate() {
                    let safety = self.rules.warehouse_safety(&product.sku, w);
                    available[w] = (c.on_hand - c.committed() - safety).max(0);
                }
                propose(&available, &need, &policy, &mut proposals);
                if proposals.is_empty() {
                    continue;
                }
                match st
                    .transfers
                    .propose(
                        odoo,
                        store,
                        &settings,
                        product.id,
                        &product.sku,
                        &self.warehouses,
                        &proposals,
                    )
                    .await
                {
                    Ok(actions) => report.transfers.extend(actions),
                    Err(e) => report
                        .warnings
                        .push(format!("transfers {}: {e}", product.sku)),
                }
            }
        }
        report.odoo_calls = odoo.call_count() - calls0;
        tracing::debug!(
            full,
            read = report.read,
            recomputed = report.recomputed,
            calls = report.odoo_calls,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stock recomputed"
        );
        Ok(report)
    }

    /// The reorder figure of a product: over the warehouses that feed channels, on hand less
    /// what is committed (reserved, or outgoing when larger) plus incoming, less pending orders.
    fn reorder_position(&self, cells: &[Cell], pending: &HashMap<i64, i64>, product: i64) -> i64 {
        let mut total = 0i64;
        for (w, c) in cells.iter().enumerate() {
            if self.serving & (1 << w) != 0 {
                total += c.on_hand - c.committed() + c.incoming;
            }
        }
        total - pending.get(&product).copied().unwrap_or(0)
    }

    /// Values queued or acknowledged per (product position, channel), from the store.
    async fn load_last(
        &self,
        store: &Store,
        catalog: &Catalog,
        view: &StockView,
    ) -> Result<Vec<i64>, StockError> {
        let nc = self.channel_ids.len();
        let mut last = vec![UNKNOWN; view.products().len() * nc];
        for (c, ch) in self.channel_ids.iter().enumerate() {
            let mut set = |sku: &str, value: Decimal| {
                if let Some(product) = catalog.product_for(ch, sku)
                    && catalog.sku_for(ch, product) == sku
                    && let Some(p) = view.position(product.id)
                {
                    last[p * nc + c] = value.to_i64().unwrap_or(UNKNOWN);
                }
            };
            for a in store.acks(ch, PushKind::Stock).await? {
                set(&a.sku, a.value);
            }
            // Queued values win over acknowledged ones (they are newer).
            for (sku, value) in store.queued_values(ch, PushKind::Stock).await? {
                set(&sku, value);
            }
        }
        Ok(last)
    }

    /// A new catalogue: carry `last` over by product id (a product whose SKU changed on a
    /// channel starts unknown there). Returns the new products (to read) and the positions
    /// whose SKU changed (to recompute).
    fn remap(&self, st: &mut JobState, catalog: &Catalog) -> (Vec<i64>, Vec<usize>) {
        let nc = self.channel_ids.len();
        let ids: Vec<i64> = catalog.products().iter().map(|p| p.id).collect();
        let old_view_pos: HashMap<i64, usize> = st
            .view
            .products()
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut last = vec![UNKNOWN; ids.len() * nc];
        let mut renamed = Vec::new();
        for (p, product) in catalog.products().iter().enumerate() {
            let Some(&old) = old_view_pos.get(&product.id) else {
                continue;
            };
            let old_product = st.catalog.as_ref().and_then(|c| c.product(product.id));
            let mut changed = false;
            for c in 0..nc {
                let ch = &self.channel_ids[c];
                let same = old_product
                    .zip(st.catalog.as_ref())
                    .is_some_and(|(op, oc)| oc.sku_for(ch, op) == catalog.sku_for(ch, product));
                if same {
                    last[p * nc + c] = st.last.get(old * nc + c).copied().unwrap_or(UNKNOWN);
                } else {
                    changed = true;
                }
            }
            if changed {
                renamed.push(p);
            }
        }
        let fresh = st.view.reindex(&ids);
        st.last = last;
        (fresh, renamed)
    }

    /// `allocate --dry-run`: read the stock of `skus` (every product when empty) from Odoo,
    /// allocate them as the daemon would, and explain each (SKU, channel) of `channels`
    /// (every channel when empty). Writes nothing.
    pub async fn explain(
        &self,
        odoo: &OdooClient,
        store: &Store,
        catalog: &Arc<Catalog>,
        skus: &[String],
        channels: &[String],
    ) -> Result<Vec<ExplainRow>, StockError> {
        let selected: Vec<usize> = catalog
            .products()
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                skus.is_empty()
                    || skus.iter().any(|s| {
                        *s == p.sku
                            || self
                                .channel_ids
                                .iter()
                                .any(|ch| catalog.sku_for(ch, p) == s)
                    })
            })
            .map(|(i, _)| i)
            .collect();
        let ids: Vec<i64> = selected.iter().map(|&i| catalog.products()[i].id).collect();
        let mut view = StockView::new(self.warehouses.clone(), self.inventory.cursor_overlap);
        view.full_read(odoo, &ids).await?;
        let pending = stock_view::pending_units(odoo, store, &self.channel_ids, catalog).await?;
        let velocity = if self.needs_velocity() {
            let window = SignedDuration::try_from(self.inventory.velocity_window)
                .unwrap_or(SignedDuration::from_hours(24 * 14));
            stock_view::sales_velocity(odoo, &self.channel_ids, Timestamp::now() - window).await?
        } else {
            vec![HashMap::new(); self.channel_ids.len()]
        };
        // A catalogue of the selected products only, so positions match the view.
        let sub = Catalog::from_products(
            selected
                .iter()
                .map(|&i| catalog.products()[i].clone())
                .collect(),
        );
        let st = JobState {
            view,
            catalog: None,
            last: Vec::new(),
            last_full: None,
            pending,
            velocity,
            velocity_at: None,
            reorder: None,
            reorder_at: None,
            transfers: Transfers::default(),
        };
        let mut work = self.work();
        let mut rows = Vec::new();
        for (p, product) in sub.products().iter().enumerate() {
            let summary = self.allocate_one(&st, &sub, p, &mut work);
            let cells = st.view.cells(p);
            for (c, ch) in self.channel_ids.iter().enumerate() {
                if !channels.is_empty() && !channels.contains(ch) {
                    continue;
                }
                let rule = &self.allocator.rules()[c];
                let mut on_hand = 0;
                let mut reserved = 0;
                let mut outgoing = 0;
                let mut incoming = 0;
                let mut safety = summary.product_safety;
                for (w, cell) in cells.iter().enumerate() {
                    if rule.warehouses & (1 << w) != 0 {
                        on_hand += cell.on_hand;
                        reserved += cell.reserved;
                        outgoing += cell.outgoing;
                        incoming += cell.incoming;
                        safety += work.ws[w].safety;
                    }
                }
                let o = work.out[c];
                let channel_sku = catalog.sku_for(ch, product).to_owned();
                let last_pushed = store
                    .get_ack(ch, PushKind::Stock, &channel_sku)
                    .await?
                    .map(|a| a.value);
                rows.push(ExplainRow {
                    product_id: product.id,
                    sku: product.sku.clone(),
                    channel: ch.clone(),
                    channel_sku,
                    on_hand,
                    reserved,
                    outgoing,
                    incoming,
                    safety,
                    pending: summary.pending,
                    available: o.pool,
                    buffer: if o.pool > 0 && rule.enabled {
                        buffer_held(rule, o.pool - rule.keep_last)
                    } else {
                        0
                    },
                    offered: o.qty,
                    velocity: work.velocity[c],
                    last_pushed,
                    reason: o.reason,
                });
            }
        }
        Ok(rows)
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

struct SkuInputSummary {
    product_safety: i64,
    pending: i64,
}

async fn next_version(store: &Store) -> Result<i64, StockError> {
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
    if let Some(s) = outbox::poll_in_flight(ch, store, PushKind::Stock).await? {
        report.calls += 1;
        count(s, &mut report);
    }
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
        let rows: outbox::SentRows = batch
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
        let mut settled = outbox::settle(id, store, &rows, &outcomes).await?;
        let answered = std::mem::take(&mut settled.answered);
        count(settled, &mut report);
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

/// Fold the answers of one call into the round's report.
fn count(s: Settled, report: &mut PushReport) {
    report.applied += s.applied.len();
    report
        .acknowledged
        .extend(s.applied.into_iter().filter_map(|(sku, v)| match v {
            Some(ChannelValue::Quantity { quantity }) => Some((sku, quantity)),
            _ => None,
        }));
    report.rejected += s.rejected.len();
    report.conflicts += s.conflicts;
    report.pending += s.pending;
    report.errors.extend(s.errors);
}
