//! Reorders: when the stock over all channels falls to a product's reorder point, ask Odoo to
//! replenish it — once per crossing — and say so on the product.
//!
//! The reorder point is Odoo's own: the `product_min_qty` of the product's
//! `stock.warehouse.orderpoint`s in the warehouses that feed channels (summed). The daemon's
//! figure is what it knows better than Odoo: on hand less reserved plus incoming over those
//! warehouses, **less the units sold on marketplaces that Odoo has not reserved yet**. When it
//! reaches the point, the daemon calls `action_replenish` on those orderpoints (scenario 06:
//! Odoo then creates or extends a draft RFQ from the product's vendor and returns a
//! notification with a link to it), and posts a note in the product's chatter; if its user
//! may not post there, an `ir.logging` entry instead (and the report says so).
//!
//! **Once per crossing**, persisted in the state store (`cursors`, channel `_reorder`, one
//! stream per product): `above` → (falls to the point) → `firing <time>` → (Odoo answered)
//! → `below` → (rises above the point) → `above`. `action_replenish` is a write whose outcome
//! can be unknown (a dropped connection): a product left in `firing` is re-checked before
//! anything else — an open RFQ line of its orderpoints created since the firing time means it
//! was done — and only then replenished again. A product the daemon sees for the first time
//! counts as `above`, so one already below its point is replenished once.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::Map;

use crate::odoo::SearchOpts;
use crate::odoo::{CallKind, Domain, LogEntry, MessageKind, OdooClient, OdooError, Record};
use crate::store::Store;

/// The store "channel" holding crossing states.
const STATE_CHANNEL: &str = "_reorder";

/// One reordering rule, as the daemon needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Orderpoint {
    pub id: i64,
    pub name: String,
    pub warehouse_slot: usize,
    pub min_qty: i64,
}

/// Where a product stands against its reorder point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    Above,
    /// `action_replenish` was called (or is being called) at this instant; not confirmed.
    Firing(Timestamp),
    Below,
}

impl Crossing {
    fn encode(self) -> String {
        match self {
            Crossing::Above => "above".into(),
            Crossing::Below => "below".into(),
            Crossing::Firing(t) => format!("firing {t}"),
        }
    }

    fn decode(s: &str) -> Crossing {
        match s.split_once(' ') {
            Some(("firing", t)) => t
                .parse()
                .map(Crossing::Firing)
                .unwrap_or(Crossing::Firing(Timestamp::UNIX_EPOCH)),
            _ if s == "below" => Crossing::Below,
            _ => Crossing::Above,
        }
    }
}

/// What the decision says to do for one product (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Fell to the point: replenish.
    Fire,
    /// A firing of unknown outcome: re-check in Odoo before replenishing again.
    Recheck(Timestamp),
    /// Rose above the point: ready for the next crossing.
    Rearm,
}

/// The crossing rule (pure): `position` = the daemon's stock figure, `point` = the reorder
/// point.
pub fn step(state: Crossing, position: i64, point: i64) -> Step {
    let low = position <= point;
    match (state, low) {
        (Crossing::Above, true) => Step::Fire,
        (Crossing::Below, false) => Step::Rearm,
        (Crossing::Firing(t), _) => Step::Recheck(t),
        _ => Step::Nothing,
    }
}

/// A replenishment the daemon triggered (for the report, logs and tests).
#[derive(Debug, Clone, PartialEq)]
pub struct ReorderAction {
    pub product_id: i64,
    pub sku: String,
    pub position: i64,
    pub point: i64,
    /// Open RFQs of the product's orderpoints after the call (`P00013`), with units.
    pub rfqs: Vec<(String, rust_decimal::Decimal)>,
    /// Where the note went: `product.template #7` or `ir.logging #12`.
    pub noted: String,
    /// Odoo refused (e.g. no vendor): its message. The crossing still counts.
    pub error: Option<String>,
}

/// Orderpoints and crossing states of the catalogue's products.
#[derive(Debug, Default)]
pub struct Reorder {
    points: HashMap<i64, Vec<Orderpoint>>,
    state: HashMap<i64, Crossing>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReorderError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl Reorder {
    /// Read every reordering rule in the warehouses that feed channels (`slot_of`: warehouse
    /// id → slot), and the crossing states of their products.
    pub async fn load(
        odoo: &OdooClient,
        store: &Store,
        slot_of: &HashMap<i64, usize>,
    ) -> Result<Reorder, ReorderError> {
        let rows = odoo
            .search_read_all(
                "stock.warehouse.orderpoint",
                &Domain::is_in("warehouse_id", slot_of.keys().copied().collect::<Vec<_>>()),
                &["name", "product_id", "warehouse_id", "product_min_qty"],
                &SearchOpts::default().load_none(),
            )
            .await?;
        let mut points: HashMap<i64, Vec<Orderpoint>> = HashMap::new();
        for row in &rows {
            let rec = Record::new("stock.warehouse.orderpoint", row).map_err(OdooError::Decode)?;
            let (Some(product), Some(wh)) = (
                rec.m2o("product_id").map_err(OdooError::Decode)?,
                rec.m2o("warehouse_id").map_err(OdooError::Decode)?,
            ) else {
                continue;
            };
            let Some(&slot) = slot_of.get(&wh.id) else {
                continue;
            };
            let min = rec.quantity("product_min_qty").map_err(OdooError::Decode)?;
            points.entry(product.id).or_default().push(Orderpoint {
                id: rec.id().map_err(OdooError::Decode)?,
                name: rec
                    .string("name")
                    .map_err(OdooError::Decode)?
                    .unwrap_or_default(),
                warehouse_slot: slot,
                // A fractional minimum: the point is reached at its floor.
                min_qty: rust_decimal::prelude::ToPrimitive::to_i64(&min.floor()).unwrap_or(0),
            });
        }
        let mut state = HashMap::with_capacity(points.len());
        for product in points.keys() {
            if let Some(c) = store
                .get_cursor(STATE_CHANNEL, &product.to_string())
                .await?
            {
                state.insert(*product, Crossing::decode(&c.value));
            }
        }
        Ok(Reorder { points, state })
    }

    /// Products that have reordering rules.
    pub fn products(&self) -> impl Iterator<Item = i64> + '_ {
        self.points.keys().copied()
    }

    pub fn orderpoints(&self, product: i64) -> Option<&[Orderpoint]> {
        self.points.get(&product).map(Vec::as_slice)
    }

    pub fn state(&self, product: i64) -> Crossing {
        self.state.get(&product).copied().unwrap_or(Crossing::Above)
    }

    /// The reorder point of a product: its orderpoints' minimums summed.
    pub fn point(&self, product: i64) -> Option<i64> {
        self.points
            .get(&product)
            .map(|ps| ps.iter().map(|p| p.min_qty).sum())
    }

    async fn set(&mut self, store: &Store, product: i64, c: Crossing) -> Result<(), ReorderError> {
        store
            .set_cursor(STATE_CHANNEL, &product.to_string(), &c.encode())
            .await?;
        self.state.insert(product, c);
        Ok(())
    }

    /// Apply the crossing rule to one product whose stock figure is `position`.
    pub async fn check(
        &mut self,
        odoo: &OdooClient,
        store: &Store,
        product: i64,
        sku: &str,
        position: i64,
    ) -> Result<Option<ReorderAction>, ReorderError> {
        let Some(point) = self.point(product) else {
            return Ok(None);
        };
        let ids: Vec<i64> = self.points[&product].iter().map(|p| p.id).collect();
        match step(self.state(product), position, point) {
            Step::Nothing => Ok(None),
            Step::Rearm => {
                self.set(store, product, Crossing::Above).await?;
                Ok(None)
            }
            Step::Recheck(since) => {
                if !open_rfq_lines(odoo, &ids, Some(since)).await?.is_empty() {
                    // The earlier call went through: this crossing is done.
                    self.set(store, product, Crossing::Below).await?;
                    return Ok(None);
                }
                if position > point {
                    // It went back up meanwhile: nothing to order after all.
                    self.set(store, product, Crossing::Above).await?;
                    return Ok(None);
                }
                self.fire(odoo, store, product, sku, position, point, &ids)
                    .await
                    .map(Some)
            }
            Step::Fire => self
                .fire(odoo, store, product, sku, position, point, &ids)
                .await
                .map(Some),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn fire(
        &mut self,
        odoo: &OdooClient,
        store: &Store,
        product: i64,
        sku: &str,
        position: i64,
        point: i64,
        ids: &[i64],
    ) -> Result<ReorderAction, ReorderError> {
        // Whole seconds: Odoo's create_date of what this call creates is not earlier.
        let now = Timestamp::now() - SignedDuration::from_secs(1);
        self.set(store, product, Crossing::Firing(now)).await?;
        let called = odoo
            .call(
                "stock.warehouse.orderpoint",
                "action_replenish",
                Some(ids),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await;
        let error = match called {
            Ok(_) => None,
            // Unknown outcome: stay in `firing`; the next round re-checks before acting.
            Err(e) if e.is_ambiguous() || e.is_retryable() => return Err(e.into()),
            Err(e) => Some(e.to_string()),
        };
        self.set(store, product, Crossing::Below).await?;
        let rfqs = open_rfq_lines(odoo, ids, None).await.unwrap_or_default();
        let names: Vec<String> = self.points[&product]
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let mut text = format!(
            "odoo-channels: the stock of {sku} over all channels ({position}: on hand less reserved, plus incoming, less orders the marketplaces took that Odoo has not reserved yet) reached its reorder point ({point}, rules {}).",
            names.join(", ")
        );
        match (&error, rfqs.is_empty()) {
            (Some(e), _) => text.push_str(&format!(
                " Replenishment was requested, but Odoo refused: {e}"
            )),
            (None, true) => text.push_str(
                " Replenishment was requested; Odoo ordered nothing (its forecast already covers the rule)."
            ),
            (None, false) => {
                let list: Vec<String> = rfqs
                    .iter()
                    .map(|(n, q)| format!("{n} ({} units)", q.normalize()))
                    .collect();
                text.push_str(&format!(
                    " Replenishment was requested: open request for quotation {}.",
                    list.join(", ")
                ));
            }
        }
        let noted = note_on_product(odoo, product, &text, "odoo-channels/reorder").await;
        tracing::info!(product, sku, position, point, ?rfqs, error = ?error, noted = %noted, "reorder point reached");
        Ok(ReorderAction {
            product_id: product,
            sku: sku.to_owned(),
            position,
            point,
            rfqs,
            noted,
            error,
        })
    }
}

/// Open RFQ lines (draft, sent, to approve) of these orderpoints, created since `since` when
/// given: `(order name, units)`.
async fn open_rfq_lines(
    odoo: &OdooClient,
    orderpoints: &[i64],
    since: Option<Timestamp>,
) -> Result<Vec<(String, rust_decimal::Decimal)>, OdooError> {
    let mut d = Domain::is_in("orderpoint_id", orderpoints.to_vec()).and(Domain::leaf(
        "order_id.state",
        "in",
        vec!["draft", "sent", "to approve"],
    ));
    if let Some(t) = since {
        d = d.and(Domain::leaf("create_date", ">=", t));
    }
    let rows = odoo
        .search_read(
            "purchase.order.line",
            &d,
            &["order_id", "product_qty"],
            &SearchOpts::default().order("id asc"),
        )
        .await?;
    let mut out: Vec<(String, rust_decimal::Decimal)> = Vec::new();
    for row in &rows {
        let rec = Record::new("purchase.order.line", row)?;
        let name = rec
            .m2o("order_id")?
            .map(|o| {
                o.name
                    .unwrap_or_else(|| format!("purchase.order #{}", o.id))
            })
            .unwrap_or_default();
        let q = rec.quantity("product_qty")?;
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += q,
            None => out.push((name, q)),
        }
    }
    Ok(out)
}

/// A note on a product, where a person looks: the product form's chatter
/// (`product.template`), else — when the daemon's user may not post there — an `ir.logging`
/// entry under `path`. Returns where it went (`product.template #7`, `ir.logging #12`,
/// or `nowhere: …`). Never fails the job.
pub async fn note_on_product(odoo: &OdooClient, product: i64, text: &str, path: &str) -> String {
    let template = odoo
        .read("product.product", &[product], &["product_tmpl_id"], None)
        .await
        .ok()
        .and_then(|rows| {
            rows.first()
                .and_then(|r| Record::new("product.product", r).ok())
                .and_then(|r| r.m2o("product_tmpl_id").ok().flatten())
                .map(|m| m.id)
        });
    let posted = match template {
        Some(t) => odoo
            .message_post(
                "product.template",
                t,
                &super::odoo_log::html_escape(text),
                MessageKind::Note,
            )
            .await
            .map(|_| format!("product.template #{t}")),
        None => Err(OdooError::InvalidCall(format!(
            "product.product #{product} has no template the daemon can read"
        ))),
    };
    let why = match posted {
        Ok(place) => return place,
        Err(e) => e,
    };
    if matches!(why, OdooError::AccessError(_) | OdooError::AccessDenied(_)) {
        tracing::warn!(product, error = %why, "the daemon's Odoo user may not post on products: notes go to ir.logging (grant it chatter access on products to see them on the product)");
    }
    match odoo
        .ir_logging(&LogEntry {
            name: "odoo-channels".into(),
            level: "INFO".into(),
            message: format!("{text}\n(not posted on the product: {why})"),
            path: path.into(),
            func: format!("product.product:{product}"),
            line: "0".into(),
        })
        .await
    {
        Ok(id) => format!("ir.logging #{id}"),
        Err(e) => {
            tracing::warn!(product, error = %e, note = text, "could not leave the note in Odoo");
            format!("nowhere: {e}")
        }
    }
}

/// Accessor used by `allocate --dry-run`: the crossing state as text.
pub fn describe(c: Crossing) -> &'static str {
    match c {
        Crossing::Above => "above its reorder point",
        Crossing::Firing(_) => "replenishment requested, not confirmed",
        Crossing::Below => "at or below its reorder point (replenishment requested)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_crossing() {
        // Above → falls to the point: fire. Stays low: nothing. Rises: re-arm. Falls: fire.
        assert_eq!(step(Crossing::Above, 20, 5), Step::Nothing);
        assert_eq!(step(Crossing::Above, 5, 5), Step::Fire);
        assert_eq!(step(Crossing::Below, 3, 5), Step::Nothing);
        assert_eq!(step(Crossing::Below, 0, 5), Step::Nothing);
        assert_eq!(step(Crossing::Below, 6, 5), Step::Rearm);
        let t = Timestamp::UNIX_EPOCH;
        assert_eq!(step(Crossing::Firing(t), 3, 5), Step::Recheck(t));
        assert_eq!(step(Crossing::Firing(t), 30, 5), Step::Recheck(t));
    }

    #[test]
    fn states_survive_the_store() {
        let t: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        for c in [Crossing::Above, Crossing::Below, Crossing::Firing(t)] {
            assert_eq!(Crossing::decode(&c.encode()), c);
        }
        // Anything unreadable counts as above (at worst one more replenishment request,
        // which Odoo answers with nothing when an RFQ already covers the rule).
        assert_eq!(Crossing::decode("garbage"), Crossing::Above);
    }
}
