//! Transfers between warehouses: the I/O around `allocation::transfers`.
//!
//! For a product whose stock changed, the stock job computes each warehouse's need (days of
//! cover of the channels it feeds, from their recent sales) and the transfers that would meet
//! it from warehouses with a surplus. Each proposal is logged and noted on the product (its
//! chatter, else `ir.logging`); with `create_draft_transfers` it also becomes a **draft**
//! internal transfer in Odoo (`stock.picking` of the destination warehouse's internal
//! operation type, from the source warehouse's stock location to the destination's) for a
//! person to check and confirm. The daemon never confirms or validates it.
//!
//! The same (product, from, to) is proposed at most once per `transfer_repeat_after`
//! (remembered in the state store, channel `_transfer`). Before creating a draft transfer the
//! daemon searches for an open move of that product between those two locations — one it
//! created earlier whose answer was lost, or one a person made — and creates nothing if there
//! is one: re-check, then act.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, json};

use super::reorder::note_on_product;
use super::stock_view::Warehouse;
use crate::allocation::transfers::Transfer;
use crate::odoo::{Domain, OdooClient, OdooError, Record, SearchOpts};
use crate::store::Store;

const STATE_CHANNEL: &str = "_transfer";

/// A transfer the daemon proposed (for the report, logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferAction {
    pub product_id: i64,
    pub sku: String,
    /// Warehouse codes.
    pub from: String,
    pub to: String,
    pub qty: i64,
    /// The draft internal transfer, when one was created or already open: (id, name).
    pub picking: Option<(i64, String)>,
    pub noted: String,
    pub error: Option<String>,
}

/// Settings from `[inventory]`.
#[derive(Debug, Clone, Copy)]
pub struct TransferSettings {
    pub create_drafts: bool,
    pub repeat_after: SignedDuration,
}

/// When each (product, from, to) was last proposed.
#[derive(Debug, Default)]
pub struct Transfers {
    last: HashMap<(i64, i64, i64), Option<Timestamp>>,
}

impl Transfers {
    /// Propose `proposals` for one product (warehouse slots index `warehouses`).
    #[allow(clippy::too_many_arguments)]
    pub async fn propose(
        &mut self,
        odoo: &OdooClient,
        store: &Store,
        settings: &TransferSettings,
        product: i64,
        sku: &str,
        warehouses: &[Warehouse],
        proposals: &[Transfer],
    ) -> Result<Vec<TransferAction>, crate::store::StoreError> {
        let mut done = Vec::new();
        for t in proposals {
            let (Some(from), Some(to)) = (warehouses.get(t.from), warehouses.get(t.to)) else {
                continue;
            };
            let key = (product, from.id, to.id);
            let stream = format!("{product}:{}:{}", from.id, to.id);
            if let std::collections::hash_map::Entry::Vacant(e) = self.last.entry(key) {
                let at = store
                    .get_cursor(STATE_CHANNEL, &stream)
                    .await?
                    .and_then(|c| c.value.parse::<Timestamp>().ok());
                e.insert(at);
            }
            let now = Timestamp::now();
            if let Some(Some(at)) = self.last.get(&key)
                && now.duration_since(*at) < settings.repeat_after
            {
                continue;
            }
            let mut action = TransferAction {
                product_id: product,
                sku: sku.to_owned(),
                from: from.code.clone(),
                to: to.code.clone(),
                qty: t.qty,
                picking: None,
                noted: String::new(),
                error: None,
            };
            if settings.create_drafts {
                match draft_transfer(odoo, product, from, to, t.qty).await {
                    Ok(p) => action.picking = Some(p),
                    Err(e) => {
                        tracing::warn!(product, sku, error = %e, "could not create the draft transfer");
                        action.error = Some(e.to_string());
                    }
                }
            }
            let mut text = format!(
                "odoo-channels proposes moving {} units of {sku} from {} to {}: {} feeds channels that sell it and holds less than their recent sales need, {} holds more than its own channels need.",
                t.qty, from.code, to.code, to.code, from.code
            );
            match (&action.picking, &action.error) {
                (Some((_, name)), _) => text.push_str(&format!(
                    " Draft internal transfer {name}: check and confirm it."
                )),
                (None, Some(e)) => {
                    text.push_str(&format!(" Creating the draft transfer failed: {e}"))
                }
                (None, None) => {}
            }
            action.noted = note_on_product(odoo, product, &text, "odoo-channels/transfers").await;
            tracing::info!(
                product,
                sku,
                from = %from.code,
                to = %to.code,
                qty = t.qty,
                picking = ?action.picking,
                "transfer between warehouses proposed"
            );
            store
                .set_cursor(STATE_CHANNEL, &stream, &now.to_string())
                .await?;
            self.last.insert(key, Some(now));
            done.push(action);
        }
        Ok(done)
    }
}

/// The open internal move of `product` from `from`'s stock to `to`'s, or a new draft
/// internal transfer carrying it: `(picking id, name)`.
async fn draft_transfer(
    odoo: &OdooClient,
    product: i64,
    from: &Warehouse,
    to: &Warehouse,
    qty: i64,
) -> Result<(i64, String), OdooError> {
    let (Some(src), Some(dst), Some(kind)) = (from.lot_stock_id, to.lot_stock_id, to.int_type_id)
    else {
        return Err(OdooError::InvalidCall(format!(
            "warehouse {} or {} has no stock location or internal operation type",
            from.code, to.code
        )));
    };
    let existing = odoo
        .search_read(
            "stock.move",
            &Domain::leaf("product_id", "=", product)
                .and(Domain::leaf("location_id", "=", src))
                .and(Domain::leaf("location_dest_id", "=", dst))
                .and(Domain::leaf("state", "not in", vec!["done", "cancel"]))
                .and(Domain::leaf("picking_id", "!=", false)),
            &["picking_id"],
            &SearchOpts::default().limit(1),
        )
        .await?;
    if let Some(row) = existing.first()
        && let Some(p) = Record::new("stock.move", row)?.m2o("picking_id")?
    {
        let name = p.name.unwrap_or_else(|| format!("stock.picking #{}", p.id));
        return Ok((p.id, name));
    }
    let uom = odoo
        .read("product.product", &[product], &["uom_id"], None)
        .await?
        .first()
        .map(|r| Record::new("product.product", r).and_then(|r| r.m2o("uom_id")))
        .transpose()?
        .flatten()
        .map(|m| m.id);
    let mut mv = Map::new();
    mv.insert("product_id".into(), json!(product));
    mv.insert("product_uom_qty".into(), json!(qty));
    mv.insert("location_id".into(), json!(src));
    mv.insert("location_dest_id".into(), json!(dst));
    if let Some(u) = uom {
        mv.insert("product_uom".into(), json!(u));
    }
    if odoo.version().major < 19 {
        // `stock.move.name` is required up to 18 and gone in 19 (belongs in the version map).
        mv.insert("name".into(), json!("odoo-channels transfer"));
    }
    let mut vals = Map::new();
    vals.insert("picking_type_id".into(), json!(kind));
    vals.insert("location_id".into(), json!(src));
    vals.insert("location_dest_id".into(), json!(dst));
    vals.insert(
        "origin".into(),
        json!(format!("odoo-channels: {} → {}", from.code, to.code)),
    );
    vals.insert("move_ids".into(), json!([[0, 0, mv]]));
    // An ambiguous answer: the transfer may exist now; the next proposal of this pair (after
    // transfer_repeat_after) searches before creating, so it is never created twice.
    let id = odoo.create("stock.picking", vals, None).await?;
    let name = odoo
        .read("stock.picking", &[id], &["name"], None)
        .await
        .ok()
        .and_then(|rows| {
            rows.first()
                .and_then(|r| r.get("name"))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("stock.picking #{id}"));
    Ok((id, name))
}

/// `transfer_repeat_after` as a signed duration.
pub fn settings(create_drafts: bool, repeat_after: std::time::Duration) -> TransferSettings {
    TransferSettings {
        create_drafts,
        repeat_after: SignedDuration::try_from(repeat_after)
            .unwrap_or(SignedDuration::from_hours(24)),
    }
}
