//! What the order job asks of the inbox and the quarantine beyond the generic API: paging
//! past orders that wait (marketplace `Pending`), the versions already applied to Odoo, the
//! recent orders for duplicate detection, and one quarantine entry per order however many
//! payloads of it could not be imported.

use super::{Backend, InboxItem, Pool, Result, Store, on_pool, parse_ts, pick, ts};

impl Store {
    /// Staged payloads still `new` with an id above `after_id`, oldest first (so a round can
    /// page past payloads it leaves waiting).
    pub async fn inbox_new_after(
        &self,
        channel: &str,
        kind: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<InboxItem>> {
        let rows: Vec<super::InboxRow> = on_pool!(self, p => {
            sqlx::query_as(pick(
                p,
                "SELECT id, channel, kind, external_id, payload, payload_hash, received_at, odoo_id FROM inbox \
                 WHERE channel = $1 AND kind = $2 AND state = 'new' AND id > $3 ORDER BY id LIMIT $4",
                "SELECT id, channel, kind, external_id, payload::text, payload_hash, received_at, odoo_id FROM inbox \
                 WHERE channel = $1 AND kind = $2 AND state = 'new' AND id > $3 ORDER BY id LIMIT $4",
            ))
            .bind(channel)
            .bind(kind)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(
                |(id, channel, kind, external_id, payload, payload_hash, received_at, odoo_id)| {
                    Ok(InboxItem {
                        id,
                        channel,
                        kind,
                        external_id,
                        payload,
                        payload_hash,
                        received_at: parse_ts("inbox.received_at", &received_at)?,
                        odoo_id,
                    })
                },
            )
            .collect()
    }

    /// Payloads of one record that were applied to Odoo (`done` with an Odoo id), newest
    /// first, with that id: what the job compares a later payload against.
    pub async fn inbox_applied(
        &self,
        channel: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => {
            sqlx::query_as(pick(
                p,
                "SELECT payload, odoo_id FROM inbox WHERE channel = $1 AND kind = $2 AND external_id = $3 \
                 AND state = 'done' AND odoo_id IS NOT NULL ORDER BY id DESC LIMIT 20",
                "SELECT payload::text, odoo_id FROM inbox WHERE channel = $1 AND kind = $2 AND external_id = $3 \
                 AND state = 'done' AND odoo_id IS NOT NULL ORDER BY id DESC LIMIT 20",
            ))
            .bind(channel)
            .bind(kind)
            .bind(external_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Payloads (external id, payload) of `channel`/`kind` received since `since`, waiting or
    /// processed (not quarantined), oldest first: the recent orders a new one may duplicate.
    pub async fn inbox_recent(
        &self,
        channel: &str,
        kind: &str,
        since: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        let since = ts(since);
        let rows: Vec<(String, String)> = on_pool!(self, p => {
            sqlx::query_as(pick(
                p,
                "SELECT external_id, payload FROM inbox WHERE channel = $1 AND kind = $2 \
                 AND received_at >= $3 AND state IN ('new', 'done') ORDER BY id LIMIT $4",
                "SELECT external_id, payload::text FROM inbox WHERE channel = $1 AND kind = $2 \
                 AND received_at >= $3 AND state IN ('new', 'done') ORDER BY id LIMIT $4",
            ))
            .bind(channel)
            .bind(kind)
            .bind(&since)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Quarantine a staged payload, **one held entry per record**: if `(channel, kind,
    /// external id)` already has a held entry, that entry takes the newer payload and reason
    /// and the inbox row points at it. Returns `(quarantine id, newly created)`, or `None` if
    /// the payload was not `new`. One transaction.
    pub async fn inbox_quarantine_merged(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<Option<(i64, bool)>> {
        let now = ts(self.now());
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(String, String, String, String)> = sqlx::query_as(pick(
                p,
                "SELECT channel, kind, external_id, payload FROM inbox WHERE id = $1 AND state = 'new'",
                "SELECT channel, kind, external_id, payload::text FROM inbox WHERE id = $1 AND state = 'new' FOR UPDATE",
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((channel, kind, external_id, payload)) = row else {
                return Ok(None);
            };
            let held: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM quarantine WHERE channel = $1 AND kind = $2 AND external_ref = $3 \
                 AND state = 'held' ORDER BY id LIMIT 1",
            )
            .bind(&channel)
            .bind(&kind)
            .bind(&external_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (qid, created) = match held {
                Some((qid,)) => {
                    sqlx::query("UPDATE quarantine SET reason = $2, payload = $3 WHERE id = $1")
                        .bind(qid)
                        .bind(reason)
                        .bind(&payload)
                        .execute(&mut *tx)
                        .await?;
                    (qid, false)
                }
                None => {
                    let (qid,): (i64,) = sqlx::query_as(
                        "INSERT INTO quarantine (channel, kind, external_ref, reason, payload, state, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'held', $6) RETURNING id",
                    )
                    .bind(&channel)
                    .bind(&kind)
                    .bind(&external_id)
                    .bind(reason)
                    .bind(&payload)
                    .bind(&now)
                    .fetch_one(&mut *tx)
                    .await?;
                    (qid, true)
                }
            };
            sqlx::query("UPDATE inbox SET state = 'quarantined', quarantine_id = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(qid)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some((qid, created)))
        })
    }

    /// Release every held quarantine entry of a record that has now been processed (a later
    /// payload of it imported). Returns the ids released.
    pub async fn release_held(
        &self,
        channel: &str,
        kind: &str,
        external_ref: &str,
    ) -> Result<Vec<i64>> {
        let now = ts(self.now());
        let ids: Vec<(i64,)> = on_pool!(self, p => {
            sqlx::query_as(
                "UPDATE quarantine SET state = 'released', resolved_at = $4 \
                 WHERE channel = $1 AND kind = $2 AND external_ref = $3 AND state = 'held' RETURNING id",
            )
            .bind(channel)
            .bind(kind)
            .bind(external_ref)
            .bind(&now)
            .fetch_all(p)
            .await?
        });
        Ok(ids.into_iter().map(|(i,)| i).collect())
    }
}
