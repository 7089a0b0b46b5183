//! The outbox: versioned stock and price pushes, and the acknowledgements that close the loop.
//!
//! The rule the whole module serves: **a channel never receives an older value after a newer
//! one** for the same `(channel, kind, sku)`. Versions come from the caller (a monotonic
//! change counter, or the Odoo write stamp) and may arrive out of order; the outbox sorts it
//! out:
//!
//! * `enqueue` ignores a version not newer than the last acknowledged one, or than one already
//!   queued (pending, in flight, or failed for good); a newer version **supersedes** an unsent
//!   older one (the older row is deleted; a new row with a new id is written, so a late
//!   `mark_sent` for the old id cannot touch it). A value equal to the acknowledged one with
//!   nothing queued is not queued either (push only changes).
//! * At most one row per key is `pending` and at most one `sending` (unique partial indexes).
//!   `claim_batch` never hands out a key that has a row in flight, so two versions of a key
//!   are never on the wire together.
//! * A claimed row carries a lease. If its sender crashes, the row comes back after the lease:
//!   to `pending` if nothing newer is queued, else it is deleted (the newer row goes instead).
//!   **A sender must not start or continue a push after its lease has expired** (keep the
//!   lease above the marketplace request timeout): that is the one thing the store cannot
//!   enforce.
//! * `mark_sent` records the acknowledgement in `acks` in the same transaction, and only moves
//!   an ack forward (`version` strictly greater).

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::{Ack, Backend, Pool, PushKind, Result, Store, StoreError, on_pool, parse_ts, pick, ts};

/// State of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => Self::Pending,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "outbox.state",
                    value: s.into(),
                });
            }
        })
    }
}

/// The result of [`Store::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// Queued as row `id`; `superseded` is the version of the unsent row it replaced.
    Queued {
        id: i64,
        superseded: Option<i64>,
    },
    Ignored(IgnoredReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReason {
    /// The channel already acknowledged this version or a newer one.
    NotNewerThanAck { acked: i64 },
    /// This version or a newer one is already queued (pending, in flight or failed).
    NotNewerThanQueued { queued: i64 },
    /// Same value as acknowledged and nothing queued: nothing to push.
    Unchanged,
    /// [`Store::enqueue_many`]: a later item of the same call for the same key, with a newer
    /// version, replaced this one before it was written (enqueued one by one, this one would
    /// have been queued and then superseded: the outbox ends up the same).
    SupersededInBatch { by: i64 },
}

/// One value for [`Store::enqueue_many`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnqueueItem<'a> {
    pub channel: &'a str,
    pub kind: PushKind,
    pub sku: &'a str,
    pub value: Decimal,
    pub version: i64,
}

/// Items written per transaction by [`Store::enqueue_many`] (and SKUs per `IN` list).
const ENQUEUE_CHUNK: usize = 500;

/// A row handed to a sender by [`Store::claim_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedItem {
    pub id: i64,
    pub channel: String,
    pub kind: PushKind,
    pub sku: String,
    pub value: Decimal,
    pub version: i64,
    /// Attempts including this one.
    pub attempts: i64,
    /// Do not send after this instant (see the module documentation).
    pub lease_until: Timestamp,
}

/// The result of [`Store::mark_sent`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarkSent {
    /// Rows moved to `sent`.
    pub sent: u64,
    /// Acks moved forward.
    pub acks_advanced: u64,
}

/// The result of [`Store::mark_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending, due at the given instant.
    Retrying,
    /// Given up: state `failed`, kept for an operator; a newer version supersedes it.
    GaveUp,
    /// A newer version was waiting: this row was dropped in its favour.
    Superseded,
    /// No such row in flight (already sent, superseded, or unknown id).
    NotInFlight,
}

/// A row as stored, for inspection (`queue` command, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub kind: PushKind,
    pub sku: String,
    pub value: Decimal,
    pub version: i64,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// Row counts per state for one channel (metrics, `check`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
}

const MAX_ERROR_LEN: usize = 2000;

fn parse_decimal(what: &'static str, s: &str) -> Result<Decimal> {
    s.parse::<Decimal>().map_err(|_| StoreError::Corrupt {
        what,
        value: s.into(),
    })
}

fn truncate(s: &str) -> &str {
    if s.len() <= MAX_ERROR_LEN {
        return s;
    }
    let mut end = MAX_ERROR_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// PostgreSQL: serialise writers of one key (SQLite's `BEGIN IMMEDIATE` already serialises
/// all writers). Both statements are valid SQL for the pool they run on.
const KEY_LOCK_PG: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2 || chr(31) || $3, 0))";
const KEY_LOCK_SQLITE: &str = "SELECT $1, $2, $3";

impl Store {
    /// Queue `value` (version `version`) for `(channel, kind, sku)`. See the module
    /// documentation for the supersede and ignore rules.
    pub async fn enqueue(
        &self,
        channel: &str,
        kind: PushKind,
        sku: &str,
        value: Decimal,
        version: i64,
    ) -> Result<EnqueueOutcome> {
        let now = ts(self.now());
        let value_text = value.normalize().to_string();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(pick(p, KEY_LOCK_SQLITE, KEY_LOCK_PG))
                .bind(channel)
                .bind(kind.as_str())
                .bind(sku)
                .execute(&mut *tx)
                .await?;
            let ack: Option<(String, i64)> = sqlx::query_as(
                "SELECT value, version FROM acks WHERE channel = $1 AND kind = $2 AND sku = $3",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(sku)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((_, acked)) = &ack
                && *acked >= version
            {
                return Ok(EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanAck { acked: *acked }));
            }
            let queued: Vec<(i64, i64, String)> = sqlx::query_as(
                "SELECT id, version, state FROM outbox \
                 WHERE channel = $1 AND kind = $2 AND sku = $3 AND state IN ('pending', 'sending', 'failed')",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(sku)
            .fetch_all(&mut *tx)
            .await?;
            if let Some(max) = queued.iter().map(|q| q.1).max()
                && max >= version
            {
                return Ok(EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanQueued { queued: max }));
            }
            if queued.is_empty()
                && let Some((acked_value, _)) = &ack
                && parse_decimal("acks.value", acked_value)? == value
            {
                return Ok(EnqueueOutcome::Ignored(IgnoredReason::Unchanged));
            }
            // Unsent older rows (waiting, or failed for good) give way to the new version.
            let mut superseded = None;
            for (id, v, state) in &queued {
                if state != "sending" {
                    sqlx::query("DELETE FROM outbox WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if state == "pending" {
                        superseded = Some(*v);
                    }
                }
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO outbox (channel, kind, sku, value, version, state, attempts, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) RETURNING id",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(sku)
            .bind(&value_text)
            .bind(version)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(EnqueueOutcome::Queued { id, superseded })
        })
    }

    /// [`Store::enqueue`] for many values at once, with exactly its rules per item (items for
    /// the same key are taken in order; see [`IgnoredReason::SupersededInBatch`]), but
    /// [`ENQUEUE_CHUNK`] items per transaction and a handful of statements per chunk instead
    /// of four per item: a first full sync of a large catalogue writes hundreds of thousands
    /// of rows. Each chunk commits on its own (every row stands alone, so a crash between
    /// chunks loses nothing: the caller enqueues again with a newer version). One outcome per
    /// item, in order.
    pub async fn enqueue_many(&self, items: &[EnqueueItem<'_>]) -> Result<Vec<EnqueueOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(ENQUEUE_CHUNK) {
            out.extend(self.enqueue_chunk(chunk).await?);
        }
        Ok(out)
    }

    async fn enqueue_chunk(&self, items: &[EnqueueItem<'_>]) -> Result<Vec<EnqueueOutcome>> {
        use std::collections::{BTreeSet, HashMap};

        #[derive(Clone, Copy)]
        enum RowRef {
            Existing(i64),
            New(usize),
        }
        struct KeyState {
            ack: Option<(Decimal, i64)>,
            /// (row, version, state) of rows pending, sending or failed.
            queued: Vec<(RowRef, i64, OutboxState)>,
        }

        let now = ts(self.now());
        // Groups of (channel, kind), in first-seen order, with their distinct SKUs.
        let mut groups: Vec<(&str, PushKind, Vec<&str>)> = Vec::new();
        for it in items {
            let g = match groups
                .iter()
                .position(|(c, k, _)| *c == it.channel && *k == it.kind)
            {
                Some(g) => g,
                None => {
                    groups.push((it.channel, it.kind, Vec::new()));
                    groups.len() - 1
                }
            };
            groups[g].2.push(it.sku);
        }
        for g in &mut groups {
            g.2.sort_unstable();
            g.2.dedup();
        }
        let placeholders = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if self.backend() == super::StoreBackend::Postgres {
                // Per-key locks in one global order (no deadlock between two batches).
                let keys: BTreeSet<(&str, &str, &str)> = items
                    .iter()
                    .map(|i| (i.channel, i.kind.as_str(), i.sku))
                    .collect();
                for (c, k, sku) in keys {
                    sqlx::query(KEY_LOCK_PG).bind(c).bind(k).bind(sku).execute(&mut *tx).await?;
                }
            }
            let mut state: HashMap<(&str, PushKind, &str), KeyState> = HashMap::new();
            for (channel, kind, skus) in &groups {
                for &sku in skus {
                    state.insert((*channel, *kind, sku), KeyState { ack: None, queued: Vec::new() });
                }
                let sql = format!(
                    "SELECT sku, value, version FROM acks WHERE channel = $1 AND kind = $2 AND sku IN ({})",
                    placeholders(3, skus.len())
                );
                let mut q = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql))
                    .bind(*channel)
                    .bind(kind.as_str());
                for sku in skus {
                    q = q.bind(*sku);
                }
                for (sku, value, version) in q.fetch_all(&mut *tx).await? {
                    let Ok(at) = skus.binary_search(&sku.as_str()) else { continue };
                    if let Some(st) = state.get_mut(&(*channel, *kind, skus[at])) {
                        st.ack = Some((parse_decimal("acks.value", &value)?, version));
                    }
                }
                let sql = format!(
                    "SELECT id, sku, version, state FROM outbox WHERE channel = $1 AND kind = $2 \
                     AND state IN ('pending', 'sending', 'failed') AND sku IN ({})",
                    placeholders(3, skus.len())
                );
                let mut q = sqlx::query_as::<_, (i64, String, i64, String)>(sqlx::AssertSqlSafe(sql))
                    .bind(*channel)
                    .bind(kind.as_str());
                for sku in skus {
                    q = q.bind(*sku);
                }
                for (id, sku, version, st) in q.fetch_all(&mut *tx).await? {
                    let Ok(at) = skus.binary_search(&sku.as_str()) else { continue };
                    if let Some(ks) = state.get_mut(&(*channel, *kind, skus[at])) {
                        ks.queued.push((RowRef::Existing(id), version, OutboxState::parse(&st)?));
                    }
                }
            }

            // The same decisions as `enqueue`, item by item, on the in-memory picture.
            let mut out: Vec<EnqueueOutcome> = Vec::with_capacity(items.len());
            let mut delete: Vec<i64> = Vec::new();
            let mut insert: Vec<Option<usize>> = Vec::new(); // by item index; None = withdrawn
            let mut insert_slot: HashMap<usize, usize> = HashMap::new();
            for (i, it) in items.iter().enumerate() {
                let ks = state
                    .get_mut(&(it.channel, it.kind, it.sku))
                    .expect("every key was loaded");
                if let Some((_, acked)) = ks.ack
                    && acked >= it.version
                {
                    out.push(EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanAck { acked }));
                    continue;
                }
                if let Some(max) = ks.queued.iter().map(|q| q.1).max()
                    && max >= it.version
                {
                    out.push(EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanQueued { queued: max }));
                    continue;
                }
                if ks.queued.is_empty()
                    && let Some((acked_value, _)) = ks.ack
                    && acked_value == it.value
                {
                    out.push(EnqueueOutcome::Ignored(IgnoredReason::Unchanged));
                    continue;
                }
                let mut superseded = None;
                let mut keep = Vec::new();
                for (row, v, st) in ks.queued.drain(..) {
                    if st == OutboxState::Sending {
                        keep.push((row, v, st));
                        continue;
                    }
                    if st == OutboxState::Pending {
                        superseded = Some(v);
                    }
                    match row {
                        RowRef::Existing(id) => delete.push(id),
                        RowRef::New(j) => {
                            out[j] = EnqueueOutcome::Ignored(IgnoredReason::SupersededInBatch { by: it.version });
                            if let Some(slot) = insert_slot.remove(&j) {
                                insert[slot] = None;
                            }
                        }
                    }
                }
                keep.push((RowRef::New(i), it.version, OutboxState::Pending));
                ks.queued = keep;
                insert_slot.insert(i, insert.len());
                insert.push(Some(i));
                out.push(EnqueueOutcome::Queued { id: 0, superseded });
            }

            for ids in delete.chunks(ENQUEUE_CHUNK) {
                let sql = format!("DELETE FROM outbox WHERE id IN ({})", placeholders(1, ids.len()));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in ids {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
            // Inserted rows per (channel, kind): their SKUs are distinct (one pending row per
            // key), so the returned (id, sku) pairs say which item got which id.
            let rows: Vec<usize> = insert.iter().flatten().copied().collect();
            for (channel, kind, _) in &groups {
                let mine: Vec<usize> = rows
                    .iter()
                    .copied()
                    .filter(|&i| items[i].channel == *channel && items[i].kind == *kind)
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let values: Vec<String> = (0..mine.len())
                    .map(|k| {
                        let b = 4 + 3 * k;
                        format!("($1, $2, ${b}, ${}, ${}, 'pending', 0, $3, $3, $3)", b + 1, b + 2)
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO outbox (channel, kind, sku, value, version, state, attempts, next_attempt_at, created_at, updated_at) \
                     VALUES {} RETURNING id, sku",
                    values.join(", ")
                );
                let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql))
                    .bind(*channel)
                    .bind(kind.as_str())
                    .bind(&now);
                for &i in &mine {
                    q = q
                        .bind(items[i].sku)
                        .bind(items[i].value.normalize().to_string())
                        .bind(items[i].version);
                }
                let returned: HashMap<String, i64> = q.fetch_all(&mut *tx).await?.into_iter().map(|(id, sku)| (sku, id)).collect();
                for &i in &mine {
                    let Some(&id) = returned.get(items[i].sku) else {
                        return Err(StoreError::Invalid(format!(
                            "enqueue_many: no row id returned for {}/{}/{}",
                            channel, kind, items[i].sku
                        )));
                    };
                    if let EnqueueOutcome::Queued { id: slot, .. } = &mut out[i] {
                        *slot = id;
                    }
                }
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Hand up to `limit` due rows of `(channel, kind)` to a sender: `pending` → `sending`
    /// with a lease until `now + lease`. First, rows whose lease expired come back (or are
    /// dropped if a newer version waits), and rows no newer than the ack are dropped. Never
    /// returns a key that already has a row in flight.
    pub async fn claim_batch(
        &self,
        channel: &str,
        kind: PushKind,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<ClaimedItem>> {
        let now_s = ts(now);
        let lease_until = now
            .checked_add(self.lease)
            .map_err(|e| StoreError::Invalid(format!("lease overflows: {e}")))?;
        let lease_s = ts(lease_until);
        let rows: Vec<(i64, String, String, i64, i64)> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // 1. Expired leases whose key has a newer version waiting: the newer one goes.
            sqlx::query(
                "DELETE FROM outbox WHERE channel = $1 AND kind = $2 AND state = 'sending' AND lease_until <= $3 \
                 AND EXISTS (SELECT 1 FROM outbox n WHERE n.channel = outbox.channel AND n.kind = outbox.kind \
                             AND n.sku = outbox.sku AND n.state = 'pending')",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(&now_s)
            .execute(&mut *tx)
            .await?;
            // 2. Other expired leases: back to pending, due now.
            sqlx::query(
                "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = $3, updated_at = $3, \
                 last_error = 'lease expired: the sender did not report back' \
                 WHERE channel = $1 AND kind = $2 AND state = 'sending' AND lease_until <= $3",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(&now_s)
            .execute(&mut *tx)
            .await?;
            // 3. Waiting rows the channel already acknowledged (or newer): nothing to send.
            sqlx::query(
                "DELETE FROM outbox WHERE channel = $1 AND kind = $2 AND state = 'pending' \
                 AND EXISTS (SELECT 1 FROM acks a WHERE a.channel = outbox.channel AND a.kind = outbox.kind \
                             AND a.sku = outbox.sku AND a.version >= outbox.version)",
            )
            .bind(channel)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
            // 4. Claim due rows of keys with nothing in flight.
            let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(pick(
                p,
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = $4, updated_at = $3 \
                 WHERE id IN (SELECT o.id FROM outbox o WHERE o.channel = $1 AND o.kind = $2 AND o.state = 'pending' \
                   AND o.next_attempt_at <= $3 \
                   AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.channel = o.channel AND s.kind = o.kind \
                                   AND s.sku = o.sku AND s.state = 'sending') \
                   ORDER BY o.next_attempt_at, o.id LIMIT $5) \
                 RETURNING id, sku, value, version, attempts",
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = $4, updated_at = $3 \
                 WHERE id IN (SELECT o.id FROM outbox o WHERE o.channel = $1 AND o.kind = $2 AND o.state = 'pending' \
                   AND o.next_attempt_at <= $3 \
                   AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.channel = o.channel AND s.kind = o.kind \
                                   AND s.sku = o.sku AND s.state = 'sending') \
                   ORDER BY o.next_attempt_at, o.id LIMIT $5 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, sku, value, version, attempts",
            ))
            .bind(channel)
            .bind(kind.as_str())
            .bind(&now_s)
            .bind(&lease_s)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows
        });
        let mut items = rows
            .into_iter()
            .map(|(id, sku, value, version, attempts)| {
                Ok(ClaimedItem {
                    id,
                    channel: channel.to_owned(),
                    kind,
                    sku,
                    value: parse_decimal("outbox.value", &value)?,
                    version,
                    attempts,
                    lease_until,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    /// The channel acknowledged the rows `ids` (the values they carried): mark them `sent`
    /// and move each key's ack forward, in one transaction. Ids no longer in flight (already
    /// sent, superseded) are skipped.
    pub async fn mark_sent(&self, ids: &[i64]) -> Result<MarkSent> {
        let now = ts(self.now());
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut out = MarkSent::default();
            for id in &ids {
                let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
                    "UPDATE outbox SET state = 'sent', lease_until = NULL, updated_at = $2, last_error = NULL \
                     WHERE id = $1 AND state IN ('sending', 'pending') \
                     RETURNING channel, kind, sku, value, version",
                )
                .bind(id)
                .bind(&now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((channel, kind, sku, value, version)) = row else { continue };
                out.sent += 1;
                out.acks_advanced += sqlx::query(
                    "INSERT INTO acks (channel, kind, sku, value, version, acked_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (channel, kind, sku) DO UPDATE SET value = excluded.value, \
                       version = excluded.version, acked_at = excluded.acked_at \
                     WHERE acks.version < excluded.version",
                )
                .bind(&channel)
                .bind(&kind)
                .bind(&sku)
                .bind(&value)
                .bind(version)
                .bind(&now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// The push of row `id` failed with `error`. With `retry_at`, the row waits until then
    /// (unless a newer version is already waiting, which then replaces it); without, it is
    /// given up (`failed`, kept for an operator).
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<FailOutcome> {
        let now = ts(self.now());
        let error = truncate(error);
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(String, String, String)> = sqlx::query_as(pick(
                p,
                "SELECT channel, kind, sku FROM outbox WHERE id = $1 AND state = 'sending'",
                "SELECT channel, kind, sku FROM outbox WHERE id = $1 AND state = 'sending' FOR UPDATE",
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((channel, kind, sku)) = row else {
                return Ok(FailOutcome::NotInFlight);
            };
            let newer: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM outbox WHERE channel = $1 AND kind = $2 AND sku = $3 AND state = 'pending'",
            )
            .bind(&channel)
            .bind(&kind)
            .bind(&sku)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = if newer.is_some() {
                sqlx::query("DELETE FROM outbox WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                FailOutcome::Superseded
            } else if let Some(at) = retry_at {
                sqlx::query(
                    "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = $2, \
                     updated_at = $3, last_error = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(ts(at))
                .bind(&now)
                .bind(error)
                .execute(&mut *tx)
                .await?;
                FailOutcome::Retrying
            } else {
                sqlx::query(
                    "UPDATE outbox SET state = 'failed', lease_until = NULL, updated_at = $2, last_error = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(&now)
                .bind(error)
                .execute(&mut *tx)
                .await?;
                FailOutcome::GaveUp
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// The last acknowledged value of `(channel, kind, sku)`.
    pub async fn get_ack(&self, channel: &str, kind: PushKind, sku: &str) -> Result<Option<Ack>> {
        let row: Option<(String, String, String, String, i64, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT channel, kind, sku, value, version, acked_at FROM acks WHERE channel = $1 AND kind = $2 AND sku = $3",
            )
            .bind(channel)
            .bind(kind.as_str())
            .bind(sku)
            .fetch_optional(p)
            .await?
        });
        row.map(ack_from_row).transpose()
    }

    /// Every acknowledged value of `(channel, kind)`, by SKU (to compute what changed).
    pub async fn acks(&self, channel: &str, kind: PushKind) -> Result<Vec<Ack>> {
        let rows: Vec<(String, String, String, String, i64, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT channel, kind, sku, value, version, acked_at FROM acks WHERE channel = $1 AND kind = $2 ORDER BY sku",
            )
            .bind(channel)
            .bind(kind.as_str())
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(ack_from_row).collect()
    }

    /// The newest unsent value per SKU of `(channel, kind)` (pending, in flight or failed for
    /// good): with the acks, what the channel holds or will hold.
    pub async fn queued_values(
        &self,
        channel: &str,
        kind: PushKind,
    ) -> Result<Vec<(String, Decimal)>> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT sku, value, version FROM outbox WHERE channel = $1 AND kind = $2 \
                 AND state IN ('pending', 'sending', 'failed') ORDER BY sku, version",
            )
            .bind(channel)
            .bind(kind.as_str())
            .fetch_all(p)
            .await?
        });
        let mut out: Vec<(String, Decimal)> = Vec::with_capacity(rows.len());
        for (sku, value, _) in rows {
            let v = parse_decimal("outbox.value", &value)?;
            match out.last_mut() {
                Some(last) if last.0 == sku => last.1 = v,
                _ => out.push((sku, v)),
            }
        }
        Ok(out)
    }

    /// Outbox rows of a channel (every state), by id.
    pub async fn outbox_rows(&self, channel: &str) -> Result<Vec<OutboxRow>> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            i64,
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, kind, sku, value, version, state, attempts, next_attempt_at, lease_until, last_error \
                 FROM outbox WHERE channel = $1 ORDER BY id",
            )
            .bind(channel)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.0,
                    channel: r.1,
                    kind: PushKind::parse(&r.2)?,
                    sku: r.3,
                    value: parse_decimal("outbox.value", &r.4)?,
                    version: r.5,
                    state: OutboxState::parse(&r.6)?,
                    attempts: r.7,
                    next_attempt_at: parse_ts("outbox.next_attempt_at", &r.8)?,
                    lease_until: r
                        .9
                        .map(|s| parse_ts("outbox.lease_until", &s))
                        .transpose()?,
                    last_error: r.10,
                })
            })
            .collect()
    }

    /// Row counts per state for a channel.
    pub async fn outbox_counts(&self, channel: &str) -> Result<OutboxCounts> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => {
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox WHERE channel = $1 GROUP BY state")
                .bind(channel)
                .fetch_all(p)
                .await?
        });
        let mut c = OutboxCounts::default();
        for (state, n) in rows {
            let n = n.max(0) as u64;
            match OutboxState::parse(&state)? {
                OutboxState::Pending => c.pending = n,
                OutboxState::Sending => c.sending = n,
                OutboxState::Sent => c.sent = n,
                OutboxState::Failed => c.failed = n,
            }
        }
        Ok(c)
    }

    /// Delete `sent` rows last updated before `before` (their acks stay). Returns the count.
    pub async fn prune_sent(&self, before: Timestamp) -> Result<u64> {
        let before = ts(before);
        Ok(on_pool!(self, p => {
            sqlx::query("DELETE FROM outbox WHERE state = 'sent' AND updated_at < $1")
                .bind(&before)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}

fn ack_from_row(r: (String, String, String, String, i64, String)) -> Result<Ack> {
    Ok(Ack {
        channel: r.0,
        kind: PushKind::parse(&r.1)?,
        sku: r.2,
        value: parse_decimal("acks.value", &r.3)?,
        version: r.4,
        acked_at: parse_ts("acks.acked_at", &r.5)?,
    })
}
