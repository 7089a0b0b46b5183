//! Read-only views the outbound jobs need (shipments, cancellations, returns back to the
//! channels): staged payloads in arrival order whatever became of them, and an idempotency
//! marker looked at without taking it.
//!
//! Kept apart from the import path's own queries so that reading never changes the inbox:
//! the order importer owns the `new → done | quarantined` transitions, the outbound jobs only
//! follow them (a cancellation staged by a pull is acted on once the order it cancels is in
//! Odoo).

use super::{Begin, InboxState, Pool, Result, Store, on_pool, parse_ts, pick};

/// One staged payload, in any state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub id: i64,
    pub external_id: String,
    pub payload: String,
    pub state: InboxState,
    /// The Odoo record it became, once imported.
    pub odoo_id: Option<i64>,
}

impl Store {
    /// Staged payloads of `(channel, kind)` with an id above `after_id`, oldest first.
    pub async fn inbox_since(
        &self,
        channel: &str,
        kind: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<InboxEntry>> {
        let rows: Vec<(i64, String, String, String, Option<i64>)> = on_pool!(self, p => {
            sqlx::query_as(pick(
                p,
                "SELECT id, external_id, payload, state, odoo_id FROM inbox \
                 WHERE channel = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4",
                "SELECT id, external_id, payload::text, state, odoo_id FROM inbox \
                 WHERE channel = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4",
            ))
            .bind(channel)
            .bind(kind)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(id, external_id, payload, state, odoo_id)| {
                Ok(InboxEntry {
                    id,
                    external_id,
                    payload,
                    state: InboxState::parse(&state)?,
                    odoo_id,
                })
            })
            .collect()
    }

    /// The marker of `key` without creating it: `None` when no one began it.
    pub async fn peek(&self, key: &str) -> Result<Option<Begin>> {
        let row: Option<(String, Option<String>, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT state, remote_id, created_at FROM idempotency WHERE key = $1")
                .bind(key)
                .fetch_optional(p)
                .await?
        });
        row.map(|(state, remote_id, created_at)| match state.as_str() {
            "pending" => Ok(Begin::Pending {
                since: parse_ts("idempotency.created_at", &created_at)?,
            }),
            "done" => Ok(Begin::Done {
                remote_id: remote_id.unwrap_or_default(),
            }),
            _ => Err(super::StoreError::Corrupt {
                what: "idempotency.state",
                value: state,
            }),
        })
        .transpose()
    }
}
