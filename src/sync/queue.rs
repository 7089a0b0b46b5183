//! The fulfilment queue: open deliveries of channel orders, by ship-by deadline, with the ones
//! at risk of missing it flagged. What `odoo-channels queue` prints.
//!
//! Odoo holds the truth: the order job wrote the marketplace's ship-by deadline into each
//! delivery's `scheduled_date` (and `date_deadline`) and raised the priority of urgent ones,
//! so the queue is a read of open outgoing pickings, nothing kept locally. Classification is
//! pure ([`classify`]) and unit-tested; [`load`] is the one Odoo read.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};

use crate::odoo::{Domain, OdooClient, OdooError, SearchOpts};

/// One open delivery of a channel order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
    pub picking_id: i64,
    pub picking: String,
    pub order: String,
    /// The channel id (the part of `client_order_ref` before the colon).
    pub channel: String,
    /// The marketplace order id.
    pub external_id: String,
    /// Ship-by: the delivery's deadline (else its scheduled date).
    pub deadline: Option<Timestamp>,
    pub urgent: bool,
    /// Odoo picking state: `confirmed` (waiting for stock), `assigned` (ready), `waiting`.
    pub state: String,
    pub warehouse: String,
    pub carrier: String,
}

/// Where a delivery stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// The deadline has passed.
    Late,
    /// Closer than the at-risk window, or not even ready (stock missing) with less than twice
    /// that window left.
    AtRisk,
    Ok,
    /// No deadline known.
    NoDeadline,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub row: QueueRow,
    pub risk: Risk,
    /// Seconds until the deadline (negative: late).
    pub seconds_left: Option<i64>,
}

/// Classify and sort: by deadline (none last), urgent first on equal deadlines, then by
/// picking name. Pure.
pub fn classify(rows: Vec<QueueRow>, now: Timestamp, at_risk: Duration) -> Vec<QueueEntry> {
    let window = SignedDuration::try_from(at_risk).unwrap_or(SignedDuration::MAX);
    let mut out: Vec<QueueEntry> = rows
        .into_iter()
        .map(|row| {
            let left = row.deadline.map(|d| d.duration_since(now));
            let risk = match left {
                None => Risk::NoDeadline,
                Some(l) if l.is_negative() => Risk::Late,
                Some(l) if l <= window => Risk::AtRisk,
                Some(l) if row.state != "assigned" && l <= window.saturating_mul(2) => Risk::AtRisk,
                Some(_) => Risk::Ok,
            };
            QueueEntry {
                seconds_left: left.map(|l| l.as_secs()),
                row,
                risk,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.row.deadline.is_none(),
            a.row.deadline,
            !a.row.urgent,
            &a.row.picking,
        )
            .cmp(&(
                b.row.deadline.is_none(),
                b.row.deadline,
                !b.row.urgent,
                &b.row.picking,
            ))
    });
    out
}

fn m2o_name(row: &Value, field: &str) -> String {
    row.get(field)
        .and_then(Value::as_array)
        .and_then(|a| a.get(1))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn m2o_id(row: &Value, field: &str) -> Option<i64> {
    match row.get(field)? {
        Value::Array(a) => a.first()?.as_i64(),
        v => v.as_i64(),
    }
}

/// Odoo writes datetimes as naive UTC `YYYY-MM-DD HH:MM:SS`.
fn odoo_ts(row: &Value, field: &str) -> Option<Timestamp> {
    let s = row.get(field)?.as_str()?;
    format!("{}Z", s.replace(' ', "T")).parse().ok()
}

/// Open outgoing deliveries of orders of `channels` (channel ids; their orders carry
/// `client_order_ref = "<channel>:<order id>"`).
pub async fn load(odoo: &OdooClient, channels: &[String]) -> Result<Vec<QueueRow>, OdooError> {
    let pickings = odoo
        .search_read(
            "stock.picking",
            &Domain::leaf("picking_type_code", "=", "outgoing")
                .and(Domain::leaf(
                    "state",
                    "not in",
                    json!(["draft", "done", "cancel"]),
                ))
                .and(Domain::leaf("sale_id", "!=", false)),
            &[
                "name",
                "sale_id",
                "scheduled_date",
                "date_deadline",
                "priority",
                "state",
                "picking_type_id",
                "carrier_id",
            ],
            &SearchOpts::default(),
        )
        .await?;
    let sale_ids: Vec<i64> = pickings
        .iter()
        .filter_map(|p| m2o_id(p, "sale_id"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if sale_ids.is_empty() {
        return Ok(Vec::new());
    }
    let orders = odoo
        .read(
            "sale.order",
            &sale_ids,
            &["name", "client_order_ref", "warehouse_id"],
            None,
        )
        .await?;
    let by_id: HashMap<i64, &Value> = orders
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_i64()?, o)))
        .collect();
    let mut rows = Vec::new();
    for p in &pickings {
        let Some(order) = m2o_id(p, "sale_id").and_then(|id| by_id.get(&id)) else {
            continue;
        };
        let Some((channel, ext)) = order
            .get("client_order_ref")
            .and_then(Value::as_str)
            .and_then(|r| r.split_once(':'))
        else {
            continue;
        };
        if !channels.iter().any(|c| c == channel) {
            continue;
        }
        rows.push(QueueRow {
            picking_id: p.get("id").and_then(Value::as_i64).unwrap_or(0),
            picking: p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            order: order
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            channel: channel.to_owned(),
            external_id: ext.to_owned(),
            deadline: odoo_ts(p, "date_deadline").or_else(|| odoo_ts(p, "scheduled_date")),
            urgent: p.get("priority").and_then(Value::as_str) == Some("1"),
            state: p
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            warehouse: m2o_name(order, "warehouse_id"),
            carrier: m2o_name(p, "carrier_id"),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(name: &str, deadline: Option<Timestamp>, urgent: bool, state: &str) -> QueueRow {
        QueueRow {
            picking_id: 1,
            picking: name.into(),
            order: "S1".into(),
            channel: "shop".into(),
            external_id: "1".into(),
            deadline,
            urgent,
            state: state.into(),
            warehouse: "WH".into(),
            carrier: String::new(),
        }
    }

    #[test]
    fn late_at_risk_and_ok_by_deadline() {
        let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let h = |n: i64| Some(now + SignedDuration::from_hours(n));
        let four = Duration::from_secs(4 * 3600);
        let q = classify(
            vec![
                row("ok", h(30), false, "assigned"),
                row("none", None, true, "assigned"),
                row("late", h(-1), false, "assigned"),
                row("soon", h(3), false, "assigned"),
                row("short", h(6), false, "confirmed"),
                row("ready", h(6), true, "assigned"),
            ],
            now,
            four,
        );
        let got: Vec<(&str, Risk)> = q.iter().map(|e| (e.row.picking.as_str(), e.risk)).collect();
        assert_eq!(
            got,
            vec![
                ("late", Risk::Late),
                ("soon", Risk::AtRisk),
                ("ready", Risk::Ok),
                ("short", Risk::AtRisk),
                ("ok", Risk::Ok),
                ("none", Risk::NoDeadline),
            ]
        );
        assert_eq!(q[0].seconds_left, Some(-3600));
    }

    proptest! {
        /// Sorted by deadline, deadlines before none; a late entry is exactly one whose
        /// deadline has passed.
        #[test]
        fn sorted_and_late_iff_past(
            hours in proptest::collection::vec(proptest::option::of(-100i64..100), 0..30),
            window in 0u64..50,
        ) {
            let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
            let rows = hours.iter().enumerate().map(|(i, h)| {
                row(&format!("P{i:03}"), h.map(|h| now + SignedDuration::from_hours(h)), i % 3 == 0, "assigned")
            }).collect();
            let q = classify(rows, now, Duration::from_secs(window * 3600));
            for pair in q.windows(2) {
                match (pair[0].row.deadline, pair[1].row.deadline) {
                    (Some(a), Some(b)) => prop_assert!(a <= b),
                    (None, Some(_)) => prop_assert!(false, "no deadline sorted first"),
                    _ => {}
                }
            }
            for e in &q {
                prop_assert_eq!(e.risk == Risk::Late, e.row.deadline.is_some_and(|d| d < now));
            }
        }
    }
}
