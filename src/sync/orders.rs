//! The order job: every channel's orders into Odoo, each exactly once.
//!
//! Two steps with the state store's inbox between them:
//!
//! * [`pull`] pages through the channel's orders from its cursor (less an overlap, because
//!   marketplaces stamp updates late) and **stages every raw payload** before anything is
//!   written to Odoo, so an order can always be replayed; the cursor advances only after the
//!   page is staged. A payload that cannot be mapped is quarantined with record and field named.
//! * [`import`] turns staged orders into `sale.order`s. The binding key is
//!   `client_order_ref = "<channel>:<order id>"` (plus the addon's unique
//!   `(channel_id, channel_order_ref)` when installed): searched before every create, and
//!   searched again after a write whose outcome is unknown. A crash at any instant therefore
//!   leaves one order after restart: before the create nothing exists and the inbox still holds
//!   the order; after it the search finds it and the inbox is closed.
//!
//! Lines are matched by the channel's SKU binding or the product's `default_code`; an unknown
//! SKU quarantines the order. There are no dummy products.

use std::collections::HashMap;

use channels_core::{FulfilledBy, Order, PageQuery, Pulled};
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::odoo_log::{OdooLog, QuarantineNote, odoo_dt};
use crate::odoo::{CallKind, Domain, OdooClient, OdooError};
use crate::odoo::{MessageKind, SearchOpts};
use crate::store::{Staged, Store};

/// Marketplaces stamp `updated_at` when their transaction started; pull a little behind the
/// cursor and let the inbox drop what was already staged.
pub const CURSOR_OVERLAP: SignedDuration = SignedDuration::from_secs(10 * 60);
const STREAM: &str = "orders";
const KIND: &str = "order";
/// Staged orders imported per round.
const IMPORT_BATCH: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("channel: {0}")]
    Channel(#[from] channels_core::ChannelError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub staged: usize,
    pub unchanged: usize,
    pub malformed: usize,
    pub pages: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    pub already: usize,
    pub quarantined: usize,
    pub failed: usize,
    pub errors: Vec<String>,
}

/// How one staged order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported { odoo_id: i64, name: String },
    AlreadyImported { odoo_id: i64 },
    Quarantined { reason: String },
}

/// Page through `ch`'s orders and stage them.
pub async fn pull(
    ch: &ChannelHandle,
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
) -> Result<PullReport, OrderError> {
    let id = ch.config.id.as_str();
    let cursor = store
        .get_cursor(id, STREAM)
        .await?
        .and_then(|c| c.value.parse::<Timestamp>().ok());
    let updated_after = cursor.map(|c| c - CURSOR_OVERLAP);
    let mut report = PullReport::default();
    let mut high_water = cursor;
    let mut page = None;
    loop {
        let q = PageQuery {
            updated_after,
            page: page.clone(),
            page_size: None,
        };
        let p = ch.channel.pull_orders(&q).await?;
        report.pages += 1;
        for item in &p.items {
            match item {
                Pulled::Ok(order) => {
                    let payload = serde_json::to_string(order).map_err(|e| {
                        OrderError::Channel(channels_core::ChannelError::Config(e.to_string()))
                    })?;
                    match store.stage(id, KIND, &order.external_id, &payload).await? {
                        Staged::New(_) => report.staged += 1,
                        Staged::Duplicate { .. } => report.unchanged += 1,
                    }
                }
                Pulled::Malformed {
                    external_id,
                    raw,
                    error,
                } => {
                    let payload = raw.to_string();
                    let ext = external_id.clone().unwrap_or_else(|| {
                        format!(
                            "unidentified-{}",
                            &crate::store::payload_hash(&payload)[..12]
                        )
                    });
                    match store.stage(id, KIND, &ext, &payload).await? {
                        Staged::New(inbox_id) => {
                            report.malformed += 1;
                            let reason = format!("cannot read the order: {error}");
                            quarantine(
                                store, log, events, inbox_id, id, &ext, &reason, &payload, None,
                            )
                            .await?;
                        }
                        Staged::Duplicate { .. } => report.unchanged += 1,
                    }
                }
            }
        }
        if let Some(h) = p.high_water_mark {
            high_water = Some(high_water.map_or(h, |c| c.max(h)));
        }
        match p.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    // Only now: everything up to the high-water mark is safely staged.
    if let Some(h) = high_water
        && Some(h) != cursor
    {
        store.set_cursor(id, STREAM, &h.to_string()).await?;
    }
    events.emit(SyncEvent::OrdersPulled {
        channel: id.to_owned(),
        staged: report.staged,
        unchanged: report.unchanged,
        malformed: report.malformed,
    });
    Ok(report)
}

/// Quarantine a staged inbox row (the store records it in the same transaction that closes
/// the row) and show it in Odoo.
#[allow(clippy::too_many_arguments)]
async fn quarantine(
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
    inbox_id: i64,
    channel: &str,
    external_ref: &str,
    reason: &str,
    payload: &str,
    record: Option<(&str, i64)>,
) -> Result<(), OrderError> {
    let Some(qid) = store.inbox_quarantine(inbox_id, reason).await? else {
        return Ok(()); // Already handled by an earlier round.
    };
    if let Some((model, odoo_id)) = log
        .quarantine(&QuarantineNote {
            daemon_id: qid,
            channel,
            kind: KIND,
            external_ref,
            reason,
            payload,
            record,
        })
        .await
    {
        store.set_quarantine_odoo(qid, &model, odoo_id).await?;
    }
    events.emit(SyncEvent::Quarantined {
        channel: channel.to_owned(),
        kind: KIND.to_owned(),
        external_ref: external_ref.to_owned(),
        reason: reason.to_owned(),
    });
    Ok(())
}

/// Imports staged orders of one channel into Odoo.
pub struct Importer<'a> {
    pub odoo: &'a OdooClient,
    pub store: &'a Store,
    pub log: &'a OdooLog,
    pub events: &'a EventBus,
    pub catalog: &'a Catalog,
    pub countries: &'a CountryCache,
}

/// Country ids by ISO code, read once.
#[derive(Default)]
pub struct CountryCache(Mutex<HashMap<String, Option<i64>>>);

impl CountryCache {
    async fn id(&self, odoo: &OdooClient, code: &str) -> Result<Option<i64>, OdooError> {
        let code = code.trim().to_ascii_uppercase();
        if let Some(v) = self.0.lock().get(&code) {
            return Ok(*v);
        }
        let ids = odoo
            .search(
                "res.country",
                &Domain::leaf("code", "=", code.as_str()),
                &SearchOpts::default().limit(1),
            )
            .await?;
        let id = ids.first().copied();
        self.0.lock().insert(code, id);
        Ok(id)
    }
}

impl Importer<'_> {
    /// Import up to one batch of `ch`'s staged orders.
    pub async fn import(&self, ch: &ChannelHandle) -> Result<ImportReport, OrderError> {
        let id = ch.config.id.as_str();
        let mut report = ImportReport::default();
        let items = self.store.inbox_new(id, KIND, IMPORT_BATCH).await?;
        let total = items.len();
        for (n, item) in items.into_iter().enumerate() {
            let order: Order = match serde_json::from_str(&item.payload) {
                Ok(o) => o,
                Err(e) => {
                    let reason = format!("staged payload is not a normalised order: {e}");
                    quarantine(
                        self.store,
                        self.log,
                        self.events,
                        item.id,
                        id,
                        &item.external_id,
                        &reason,
                        &item.payload,
                        None,
                    )
                    .await?;
                    report.quarantined += 1;
                    continue;
                }
            };
            match self.import_one(ch, &order).await {
                Ok(ImportOutcome::Imported { odoo_id, name }) => {
                    self.store.inbox_done(item.id, Some(odoo_id)).await?;
                    report.imported += 1;
                    self.events.emit(SyncEvent::OrderImported {
                        channel: id.to_owned(),
                        external_id: order.external_id.clone(),
                        odoo_id,
                        odoo_name: name,
                        lines: order.lines.len(),
                        total: format!(
                            "{} {}",
                            order.order_total.amount, order.order_total.currency
                        ),
                    });
                }
                Ok(ImportOutcome::AlreadyImported { odoo_id }) => {
                    self.store.inbox_done(item.id, Some(odoo_id)).await?;
                    report.already += 1;
                    self.events.emit(SyncEvent::OrderAlreadyImported {
                        channel: id.to_owned(),
                        external_id: order.external_id.clone(),
                        odoo_id,
                    });
                }
                Ok(ImportOutcome::Quarantined { reason }) => {
                    quarantine(
                        self.store,
                        self.log,
                        self.events,
                        item.id,
                        id,
                        &order.external_id,
                        &reason,
                        &item.payload,
                        None,
                    )
                    .await?;
                    report.quarantined += 1;
                }
                Err(e) => {
                    // Left in the inbox: the next round searches before creating again.
                    report.failed += 1;
                    report
                        .errors
                        .push(format!("order {}: {e}", order.external_id));
                }
            }
            if total >= 50 && (n + 1) % 25 == 0 {
                self.events.emit(SyncEvent::Progress {
                    channel: id.to_owned(),
                    job: "orders",
                    done: n + 1,
                    total,
                });
            }
        }
        Ok(report)
    }

    /// The `sale.order` already bound to this marketplace order, if any.
    async fn find(&self, ch: &ChannelHandle, order: &Order) -> Result<Option<i64>, OdooError> {
        let key = order.binding_key();
        let mut domain = Domain::leaf("client_order_ref", "=", key.as_str());
        if let Some(channel_id) = self.log.channel_record(&ch.config.id).await {
            domain = domain.or(
                Domain::leaf("channel_id", "=", channel_id).and(Domain::leaf(
                    "channel_order_ref",
                    "=",
                    order.external_id.as_str(),
                )),
            );
        }
        // Cancelled orders count too: a marketplace order is imported once, whatever became of it.
        let ids = self
            .odoo
            .search(
                "sale.order",
                &domain,
                &SearchOpts::default().limit(1).context(active_test_off()),
            )
            .await?;
        Ok(ids.first().copied())
    }

    /// Import one order (search, resolve, create, confirm).
    pub async fn import_one(
        &self,
        ch: &ChannelHandle,
        order: &Order,
    ) -> Result<ImportOutcome, OdooError> {
        if let Some(odoo_id) = self.find(ch, order).await? {
            return Ok(ImportOutcome::AlreadyImported { odoo_id });
        }
        let channel = ch.config.id.as_str();
        let mut lines = Vec::with_capacity(order.lines.len());
        for (i, line) in order.lines.iter().enumerate() {
            let Some(sku) = line.sku.as_deref().filter(|s| !s.trim().is_empty()) else {
                return Ok(ImportOutcome::Quarantined {
                    reason: format!(
                        "order {}: line {} ({}) has no SKU",
                        order.external_id,
                        i + 1,
                        line.title.as_deref().unwrap_or(&line.external_line_id)
                    ),
                });
            };
            let Some(product) = self.catalog.product_for(channel, sku) else {
                return Ok(ImportOutcome::Quarantined {
                    reason: format!(
                        "order {}: line {} has unknown SKU {sku:?}: no storable product has this internal reference and no binding maps it",
                        order.external_id,
                        i + 1
                    ),
                });
            };
            let qty = line.quantity.to_f64().unwrap_or(0.0);
            if qty <= 0.0 {
                return Ok(ImportOutcome::Quarantined {
                    reason: format!(
                        "order {}: line {} ({sku}) has quantity {}",
                        order.external_id,
                        i + 1,
                        line.quantity
                    ),
                });
            }
            // What the buyer paid per unit, after the marketplace's discounts.
            let unit = if line.quantity.is_zero() {
                line.unit_price.amount
            } else {
                (line.line_total.amount / line.quantity).round_dp(6)
            };
            lines.push(json!([0, 0, {
                "product_id": product.id,
                "product_uom_qty": qty,
                "price_unit": unit.to_f64().unwrap_or(0.0),
                "name": line.title.clone().unwrap_or_else(|| product.name.clone()),
            }]));
        }
        if lines.is_empty() {
            return Ok(ImportOutcome::Quarantined {
                reason: format!("order {} has no lines", order.external_id),
            });
        }
        let partner_id = self.partner(channel, order).await?;
        let mut vals = Map::new();
        vals.insert("partner_id".into(), json!(partner_id));
        vals.insert("client_order_ref".into(), json!(order.binding_key()));
        vals.insert(
            "origin".into(),
            json!(format!(
                "{channel}#{}",
                order
                    .external_number
                    .as_deref()
                    .unwrap_or(&order.external_id)
            )),
        );
        vals.insert("order_line".into(), Value::Array(lines));
        if let Some(channel_id) = self.log.channel_record(channel).await {
            vals.insert("channel_id".into(), json!(channel_id));
            vals.insert("channel_order_ref".into(), json!(order.external_id));
            if let Some(t) = order.ship_by {
                vals.insert("channel_ship_by".into(), json!(odoo_dt(t)));
            }
            if let Some(t) = order.deliver_by {
                vals.insert("channel_deliver_by".into(), json!(odoo_dt(t)));
            }
            vals.insert(
                "channel_fulfilled_by".into(),
                json!(match order.fulfilled_by {
                    FulfilledBy::Merchant => "merchant",
                    FulfilledBy::Marketplace { .. } => "marketplace",
                }),
            );
        }
        let odoo_id = match self.odoo.create("sale.order", vals, None).await {
            Ok(id) => id,
            // The create may have committed (ambiguous), or a concurrent importer won the
            // unique constraint: either way, look again before anything else.
            Err(e) if e.is_ambiguous() || matches!(e, OdooError::ValidationError(_)) => {
                match self.find(ch, order).await? {
                    Some(id) => return Ok(ImportOutcome::AlreadyImported { odoo_id: id }),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let name = self
            .odoo
            .read("sale.order", &[odoo_id], &["name"], None)
            .await
            .ok()
            .and_then(|rows| {
                rows.first()
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| format!("sale.order #{odoo_id}"));
        let confirmed = self
            .odoo
            .call(
                "sale.order",
                "action_confirm",
                Some(&[odoo_id]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await;
        let note = match &confirmed {
            Ok(_) => format!(
                "Imported by odoo-channels from channel {channel}, order {} ({}), and confirmed.",
                order
                    .external_number
                    .as_deref()
                    .unwrap_or(&order.external_id),
                order.external_id
            ),
            Err(e) => format!(
                "Imported by odoo-channels from channel {channel}, order {}, but confirming failed: {e}. Confirm it here once the cause is fixed.",
                order.external_id
            ),
        };
        if let Err(e) = &confirmed {
            tracing::warn!(channel, order = %order.external_id, error = %e, "order imported but not confirmed");
        }
        if let Err(e) = self
            .odoo
            .message_post(
                "sale.order",
                odoo_id,
                &super::odoo_log::html_escape(&note),
                MessageKind::Note,
            )
            .await
        {
            tracing::warn!(error = %e, "could not post the import note");
        }
        Ok(ImportOutcome::Imported { odoo_id, name })
    }

    /// The buyer's partner: found by email, else by the channel's buyer id, else created.
    async fn partner(&self, channel: &str, order: &Order) -> Result<i64, OdooError> {
        let buyer = &order.buyer;
        let ship = order.shipping_address.as_ref();
        let buyer_ref = buyer
            .external_id
            .as_deref()
            .map(|b| format!("{channel}:{b}"));
        let mut domains = Vec::new();
        if let Some(email) = buyer.email.as_deref().filter(|e| e.contains('@')) {
            domains.push(Domain::leaf("email", "=ilike", email.trim()));
        }
        if let Some(r) = &buyer_ref {
            domains.push(Domain::leaf("ref", "=", r.as_str()));
        }
        for d in domains {
            let ids = self
                .odoo
                .search(
                    "res.partner",
                    &d,
                    &SearchOpts::default().limit(1).order("id asc"),
                )
                .await?;
            if let Some(id) = ids.first() {
                return Ok(*id);
            }
        }
        let name = buyer
            .name
            .clone()
            .or_else(|| ship.and_then(|a| a.name.clone()))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{channel} buyer {}", order.external_id));
        let mut vals = Map::new();
        vals.insert("name".into(), json!(name));
        vals.insert("customer_rank".into(), json!(1));
        if let Some(e) = &buyer.email {
            vals.insert("email".into(), json!(e));
        }
        if let Some(p) = buyer.phone.as_ref().or(ship.and_then(|a| a.phone.as_ref())) {
            vals.insert("phone".into(), json!(p));
        }
        if let Some(r) = buyer_ref {
            vals.insert("ref".into(), json!(r));
        }
        if let Some(a) = ship {
            for (field, v) in [
                ("street", &a.street),
                ("street2", &a.street2),
                ("city", &a.city),
                ("zip", &a.zip),
            ] {
                if let Some(v) = v {
                    vals.insert(field.into(), json!(v));
                }
            }
            if let Some(code) = &a.country_code
                && let Some(cid) = self.countries.id(self.odoo, code).await?
            {
                vals.insert("country_id".into(), json!(cid));
            }
        }
        self.odoo.create("res.partner", vals, None).await
    }
}

fn active_test_off() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active_test".into(), json!(false));
    m
}

/// Units per product in orders staged but not yet in Odoo (so not yet reserved there): the
/// allocator's `pending`.
pub async fn pending_units(
    store: &Store,
    channels: &[ChannelHandle],
    catalog: &Catalog,
) -> Result<HashMap<i64, i64>, crate::store::StoreError> {
    let mut pending: HashMap<i64, i64> = HashMap::new();
    for ch in channels {
        let id = ch.config.id.as_str();
        for item in store.inbox_new(id, KIND, 10_000).await? {
            let Ok(order) = serde_json::from_str::<Order>(&item.payload) else {
                continue;
            };
            if !order.status.is_open() || order.fulfilled_by != FulfilledBy::Merchant {
                continue;
            }
            for line in &order.lines {
                if let Some(p) = line.sku.as_deref().and_then(|s| catalog.product_for(id, s)) {
                    *pending.entry(p.id).or_default() += line.quantity.ceil().to_i64().unwrap_or(0);
                }
            }
        }
    }
    Ok(pending)
}
