//! The engine: the jobs, each at its own pace, plus the events that cut across them.
//!
//! * Per channel, an **order task** at the channel's `order_schedule` (a realtime channel waits
//!   for a webhook and reconciles every minute anyway, because webhooks are only hints).
//! * One **stock task** recomputes offers whenever an order arrived anywhere (so a sale on one
//!   channel lowers the quantity on the others at once) and periodically otherwise (stock also
//!   changes in Odoo: receipts, adjustments).
//! * Per channel, a **push task** at the channel's `stock_schedule`: a realtime channel is
//!   pushed right after each recompute, within its rate limit; the others on their interval or
//!   cron.
//! * Per channel, an **outbound task** (`[fulfilment].every`, and woken when an order pull
//!   staged something): shipments, cancellations and returns back and forth
//!   (`fulfilment.rs`, `cancellations.rs`, `returns.rs`).
//!
//! [`Engine::cycle`] runs each job once in order; `demo` and tests use it to step the daemon
//! deterministically.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Notify, RwLock};

use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::fulfilment::{Outbound, OutboundReport};
use super::listings::{self, ListingsReport};
use super::odoo_log::{OdooLog, RunSummary};
use super::orders::{self, CountryCache, ImportReport, Importer, PullReport, SetupCache};
use super::quarantine::{self, DecisionReport};
use super::stock::{PushReport, RecomputeReport, StockJob};
use crate::config::{Config, OrdersConfig, Schedule};
use crate::odoo::{OdooClient, OdooError};
use crate::store::Store;

/// After an order woke the stock task, it waits this long for others of the same burst.
pub const STOCK_BURST: Duration = Duration::from_millis(50);
/// Realtime channels are reconciled (pulled) at least this often: webhooks can be lost.
pub const REALTIME_RECONCILE: Duration = Duration::from_secs(60);
/// The catalogue (products, SKUs, bindings) is re-read this often.
pub const CATALOG_REFRESH: Duration = Duration::from_secs(10 * 60);
/// Release / Discard decisions taken in Odoo are looked for this often (addon only).
pub const QUARANTINE_POLL: Duration = Duration::from_secs(30);
/// Listings and prices from the addon's bindings are published this often (addon only).
pub const LISTINGS_EVERY: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("stock: {0}")]
    Stock(#[from] super::stock::StockError),
}

/// Everything one [`Engine::cycle`] did.
#[derive(Debug, Default)]
pub struct CycleReport {
    pub pulled: HashMap<String, PullReport>,
    pub imported: HashMap<String, ImportReport>,
    pub recompute: Option<RecomputeReport>,
    pub pushed: HashMap<String, PushReport>,
    pub outbound: HashMap<String, OutboundReport>,
    /// Listings and prices (addon only).
    pub listings: HashMap<String, ListingsReport>,
    /// Quarantine decisions taken in Odoo, acted on before and after the order rounds.
    pub decisions: Vec<DecisionReport>,
    pub errors: Vec<String>,
}

pub struct Engine {
    pub odoo: OdooClient,
    pub store: Store,
    pub channels: Vec<ChannelHandle>,
    pub events: EventBus,
    pub log: OdooLog,
    pub(crate) outbound: Outbound,
    stock: StockJob,
    /// Odoo's stock is re-read at least this often (`[inventory] poll_every`).
    stock_poll: Duration,
    catalog: RwLock<Arc<Catalog>>,
    countries: CountryCache,
    /// `[orders]` and the Odoo records the order job resolved from it.
    orders: OrdersConfig,
    order_setup: SetupCache,
    recompute_now: Notify,
    pull_now: HashMap<String, Arc<Notify>>,
    /// One order round per channel at a time: search-before-create is only exactly-once if
    /// no other round of the same channel creates between the search and the create.
    order_locks: HashMap<String, tokio::sync::Mutex<()>>,
    push_now: HashMap<String, Arc<Notify>>,
}

impl Engine {
    /// Detect the addon, resolve warehouses, read the catalogue.
    pub async fn start(
        config: &Config,
        store: Store,
        odoo: OdooClient,
        channels: Vec<ChannelHandle>,
        events: EventBus,
    ) -> Result<Arc<Engine>, EngineError> {
        let log = OdooLog::detect(&odoo).await;
        let configs: Vec<_> = channels.iter().map(|c| c.config.clone()).collect();
        let stock = StockJob::new(&odoo, &configs, &config.inventory).await?;
        let catalog = Catalog::load(&odoo, log.addon()).await?;
        for sku in &catalog.ambiguous {
            tracing::warn!(
                sku,
                "several storable products share this internal reference: it is not synced until only one has it"
            );
        }
        let pull_now = channels
            .iter()
            .map(|c| (c.config.id.clone(), Arc::new(Notify::new())))
            .collect();
        let push_now = channels
            .iter()
            .map(|c| (c.config.id.clone(), Arc::new(Notify::new())))
            .collect();
        let outbound = Outbound::new(&config.fulfilment, &channels);
        let order_locks = channels
            .iter()
            .map(|c| (c.config.id.clone(), tokio::sync::Mutex::new(())))
            .collect();
        Ok(Arc::new(Engine {
            odoo,
            store,
            channels,
            events,
            log,
            outbound,
            stock,
            stock_poll: config.inventory.poll_every,
            catalog: RwLock::new(Arc::new(catalog)),
            countries: CountryCache::default(),
            orders: config.orders.clone(),
            order_setup: SetupCache::default(),
            recompute_now: Notify::new(),
            pull_now,
            push_now,
            order_locks,
        }))
    }

    pub async fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().await.clone()
    }

    pub fn stock_job(&self) -> &StockJob {
        &self.stock
    }

    pub async fn reload_catalog(&self) -> Result<(), OdooError> {
        let c = Catalog::load(&self.odoo, self.log.addon()).await?;
        *self.catalog.write().await = Arc::new(c);
        Ok(())
    }

    pub fn channel(&self, id: &str) -> Option<&ChannelHandle> {
        self.channels.iter().find(|c| c.config.id == id)
    }

    /// Pull and import one channel's orders; records the run in Odoo when it did anything.
    pub async fn orders_round(
        &self,
        ch: &ChannelHandle,
    ) -> Result<(PullReport, ImportReport), String> {
        let _round = match self.order_locks.get(&ch.config.id) {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        let started = Timestamp::now();
        let id = ch.config.id.clone();
        let pulled = orders::pull(ch, &self.store, &self.log, &self.events).await;
        let catalog = self.catalog().await;
        let importer = Importer {
            odoo: &self.odoo,
            store: &self.store,
            log: &self.log,
            events: &self.events,
            catalog: &catalog,
            countries: &self.countries,
            config: &self.orders,
            setup: &self.order_setup,
        };
        // Import what is staged even if this pull failed: earlier pulls may have staged orders.
        let imported = importer.import(ch).await;
        let mut summary = RunSummary {
            channel: id.clone(),
            job: "orders",
            started,
            finished: Timestamp::now(),
            read: 0,
            written: 0,
            failed: 0,
            errors: Vec::new(),
        };
        if let Ok(p) = &pulled {
            summary.read = (p.staged + p.malformed) as u64;
        }
        if let Err(e) = &pulled {
            summary.errors.push(format!("pull: {e}"));
            summary.failed += 1;
        }
        match &imported {
            Ok(i) => {
                summary.written = i.imported as u64;
                summary.failed += (i.quarantined + i.failed) as u64;
                summary.errors.extend(i.errors.iter().cloned());
            }
            Err(e) => {
                // No Odoo record exists for these orders yet: the run record is where a person
                // sees which ones wait (each is retried next round, nothing is lost).
                let waiting = match self.store.inbox_new(&id, "order", 21).await {
                    Ok(items) if !items.is_empty() => {
                        let mut ids: Vec<String> = items
                            .iter()
                            .take(20)
                            .map(|i| i.external_id.clone())
                            .collect();
                        if items.len() > 20 {
                            ids.push("…".into());
                        }
                        format!("; orders waiting to be imported: {}", ids.join(", "))
                    }
                    _ => String::new(),
                };
                summary.errors.push(format!("import: {e}{waiting}"));
                summary.failed += 1;
            }
        }
        self.log.job_done(&summary).await;
        let pulled = pulled.map_err(|e| {
            let msg = e.to_string();
            self.events.emit(SyncEvent::JobFailed {
                channel: id.clone(),
                job: "orders",
                error: msg.clone(),
            });
            msg
        })?;
        let imported = imported.map_err(|e| {
            let msg = e.to_string();
            self.events.emit(SyncEvent::JobFailed {
                channel: id.clone(),
                job: "orders",
                error: msg.clone(),
            });
            msg
        })?;
        if imported.imported > 0 || pulled.staged > 0 {
            self.recompute_now.notify_one();
            self.outbound.wake(&id);
        }
        Ok((pulled, imported))
    }

    /// Recompute every offer and queue what changed; wakes realtime channels' pushers.
    pub async fn stock_round(&self) -> Result<RecomputeReport, String> {
        let catalog = self.catalog().await;
        let report = self
            .stock
            .recompute(&self.odoo, &self.store, &catalog, &self.events)
            .await
            .map_err(|e| {
                let msg = e.to_string();
                self.events.emit(SyncEvent::JobFailed {
                    channel: "*".into(),
                    job: "stock",
                    error: msg.clone(),
                });
                msg
            })?;
        for ch in &self.channels {
            if ch.config.stock_schedule.is_realtime()
                && report.queued.get(&ch.config.id).copied().unwrap_or(0) > 0
                && let Some(n) = self.push_now.get(&ch.config.id)
            {
                n.notify_one();
            }
        }
        Ok(report)
    }

    /// Push one channel's queued stock; records the run in Odoo when it sent anything.
    pub async fn push_round(&self, ch: &ChannelHandle) -> Result<PushReport, String> {
        let started = Timestamp::now();
        let r = self
            .stock
            .push(ch, &self.store, &self.events)
            .await
            .map_err(|e| e.to_string());
        if let Ok(p) = &r
            && !p.acknowledged.is_empty()
        {
            // The quantity each binding last showed on the channel (addon only; a no-op else).
            let at = Timestamp::now();
            let rows: Vec<(String, i64, Timestamp)> = p
                .acknowledged
                .iter()
                .map(|(sku, qty)| (sku.clone(), *qty, at))
                .collect();
            self.log.record_pushes(&ch.config.id, &rows).await;
        }
        let summary = match &r {
            Ok(p) => RunSummary {
                channel: ch.config.id.clone(),
                job: "stock",
                started,
                finished: Timestamp::now(),
                read: (p.applied + p.rejected + p.conflicts + p.pending) as u64,
                written: p.applied as u64,
                failed: (p.rejected + p.conflicts) as u64,
                errors: p.errors.clone(),
            },
            Err(e) => RunSummary {
                channel: ch.config.id.clone(),
                job: "stock",
                started,
                finished: Timestamp::now(),
                read: 0,
                written: 0,
                failed: 1,
                errors: vec![e.clone()],
            },
        };
        self.log.job_done(&summary).await;
        if let Err(e) = &r {
            self.events.emit(SyncEvent::JobFailed {
                channel: ch.config.id.clone(),
                job: "stock",
                error: e.clone(),
            });
        }
        r
    }

    /// Act on the Release / Discard decisions taken in Odoo (addon only); wakes the order
    /// task of each channel that got records back.
    pub async fn quarantine_round(&self) -> Result<DecisionReport, String> {
        let r = quarantine::honour(
            &self.odoo,
            &self.store,
            &self.log,
            &self.events,
            &self.channels,
        )
        .await
        .map_err(|e| e.to_string())?;
        for (channel, n) in &r.requeued {
            if *n > 0 {
                self.wake_orders(channel);
            }
        }
        for e in &r.errors {
            tracing::warn!(error = %e, "quarantine decision not applied yet");
        }
        Ok(r)
    }

    /// Publish one channel's listings and prices from the addon's bindings; records the run
    /// in Odoo (job `prices`, which sets `last_price_sync`).
    pub async fn listings_round(&self, ch: &ChannelHandle) -> Result<ListingsReport, String> {
        let started = Timestamp::now();
        let r = listings::round(&self.odoo, &self.store, &self.log, &self.events, ch)
            .await
            .map_err(|e| e.to_string());
        if !self.log.addon() {
            return r;
        }
        let mut summary = RunSummary {
            channel: ch.config.id.clone(),
            job: "prices",
            started,
            finished: Timestamp::now(),
            read: 0,
            written: 0,
            failed: 0,
            errors: Vec::new(),
        };
        match &r {
            Ok(l) => {
                summary.read = l.bindings as u64;
                summary.written = (l.upserted + l.prices_applied) as u64;
                summary.failed = (l.rejected + l.prices_rejected) as u64;
                summary.errors = l.errors.clone();
            }
            Err(e) => {
                summary.failed = 1;
                summary.errors.push(e.clone());
                self.events.emit(SyncEvent::JobFailed {
                    channel: ch.config.id.clone(),
                    job: "prices",
                    error: e.clone(),
                });
            }
        }
        self.log.job_done(&summary).await;
        r
    }

    /// Every job once: quarantine decisions, orders of every channel, each channel's
    /// outbound round (shipments, cancellations, returns), stock, every channel's push,
    /// listings and prices, and the decisions again (so a record released in Odoo is imported
    /// and reported back within one cycle).
    pub async fn cycle(&self) -> CycleReport {
        let mut report = CycleReport::default();
        match self.quarantine_round().await {
            Ok(d) => report.decisions.push(d),
            Err(e) => report.errors.push(format!("quarantine: {e}")),
        }
        for ch in &self.channels {
            match self.orders_round(ch).await {
                Ok((p, i)) => {
                    report.pulled.insert(ch.config.id.clone(), p);
                    report.imported.insert(ch.config.id.clone(), i);
                }
                Err(e) => report.errors.push(format!("{}: orders: {e}", ch.config.id)),
            }
        }
        for ch in &self.channels {
            match self.outbound_round(ch).await {
                Ok(o) => {
                    report.outbound.insert(ch.config.id.clone(), o);
                }
                Err(e) => report
                    .errors
                    .push(format!("{}: fulfilment: {e}", ch.config.id)),
            }
        }
        match self.stock_round().await {
            Ok(r) => report.recompute = Some(r),
            Err(e) => report.errors.push(format!("stock: {e}")),
        }
        for ch in &self.channels {
            match self.push_round(ch).await {
                Ok(p) => {
                    report.pushed.insert(ch.config.id.clone(), p);
                }
                Err(e) => report.errors.push(format!("{}: push: {e}", ch.config.id)),
            }
        }
        if self.log.addon() {
            for ch in &self.channels {
                match self.listings_round(ch).await {
                    Ok(l) => {
                        report.listings.insert(ch.config.id.clone(), l);
                    }
                    Err(e) => report
                        .errors
                        .push(format!("{}: listings: {e}", ch.config.id)),
                }
            }
            match self.quarantine_round().await {
                Ok(d) => report.decisions.push(d),
                Err(e) => report.errors.push(format!("quarantine: {e}")),
            }
        }
        report
    }

    /// Wake a channel's order task (a webhook said something changed).
    pub fn wake_orders(&self, channel: &str) {
        if let Some(n) = self.pull_now.get(channel) {
            n.notify_one();
        }
    }

    /// Wake the stock task (something changed stock).
    pub fn wake_stock(&self) {
        self.recompute_now.notify_one();
    }

    /// Run every task until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = tokio::task::JoinSet::new();
        for ch in self.channels.clone() {
            let me = self.clone();
            let wake = self.pull_now[&ch.config.id].clone();
            let orders_ch = ch.clone();
            tasks.spawn(async move {
                let ch = orders_ch;
                loop {
                    let _ = me.orders_round(&ch).await;
                    wait(&ch.config.order_schedule, &wake, REALTIME_RECONCILE).await;
                }
            });
            let me = self.clone();
            let wake = self.outbound.waker(&ch.config.id);
            let outbound_ch = ch.clone();
            tasks.spawn(async move {
                let ch = outbound_ch;
                loop {
                    let _ = me.outbound_round(&ch).await;
                    let every = me.outbound.config.every;
                    match &wake {
                        Some(w) => tokio::select! {
                            _ = w.notified() => {}
                            _ = tokio::time::sleep(every) => {}
                        },
                        None => tokio::time::sleep(every).await,
                    }
                }
            });
            let me = self.clone();
            let wake = self.push_now[&ch.config.id].clone();
            tasks.spawn(async move {
                loop {
                    let _ = me.push_round(&ch).await;
                    wait(&ch.config.stock_schedule, &wake, REALTIME_RECONCILE).await;
                }
            });
        }
        let me = self.clone();
        tasks.spawn(async move {
            loop {
                let _ = me.stock_round().await;
                tokio::select! {
                    _ = me.recompute_now.notified() => {
                        // Let a burst of orders land before reading stock again (short: a
                        // sale on one channel should reach the others within a second).
                        tokio::time::sleep(STOCK_BURST).await;
                    }
                    _ = tokio::time::sleep(me.stock_poll) => {}
                }
            }
        });
        if self.log.addon() {
            let me = self.clone();
            tasks.spawn(async move {
                loop {
                    let _ = me.quarantine_round().await;
                    tokio::time::sleep(QUARANTINE_POLL).await;
                }
            });
            for ch in self.channels.clone() {
                let me = self.clone();
                tasks.spawn(async move {
                    loop {
                        let _ = me.listings_round(&ch).await;
                        tokio::time::sleep(LISTINGS_EVERY).await;
                    }
                });
            }
        }
        let me = self.clone();
        tasks.spawn(async move {
            loop {
                tokio::time::sleep(CATALOG_REFRESH).await;
                if let Err(e) = me.reload_catalog().await {
                    tracing::warn!(error = %e, "catalogue refresh failed; keeping the previous one");
                }
            }
        });
        shutdown.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// Wait for the next run of `schedule`: a wake-up for realtime (or the reconcile interval),
/// the interval, or the next cron instant.
async fn wait(schedule: &Schedule, wake: &Notify, reconcile: Duration) {
    match schedule {
        Schedule::Realtime => {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(reconcile) => {}
            }
        }
        other => {
            let now = Timestamp::now();
            let next = other.next_after(now).unwrap_or(now + reconcile);
            let d = next.duration_since(now).unsigned_abs();
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(d) => {}
            }
        }
    }
}
