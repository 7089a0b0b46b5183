//! The daemon's own state: what Odoo cannot hold safely.
//!
//! Cursors per channel and stream, the last value each channel acknowledged, the outbox of
//! pending pushes, raw payloads staged before anything is written to Odoo, quarantine, and
//! idempotency markers for two-phase writes. Odoo stays the source of truth for everything
//! else.
//!
//! ## Two backends, one enum
//!
//! SQLite (a file, the default) or PostgreSQL (by URL, for several instances). The store is an
//! enum over the two concrete pools rather than `sqlx::Any`, because:
//! * `Any` cannot carry backend connection options: SQLite needs WAL, `synchronous=NORMAL`,
//!   `busy_timeout` and foreign keys set per connection, and `BEGIN IMMEDIATE` for write
//!   transactions (a deferred transaction that reads then writes can fail with `SQLITE_BUSY`
//!   however long the busy timeout);
//! * PostgreSQL wants what SQLite lacks: `FOR UPDATE SKIP LOCKED` when claiming outbox rows,
//!   advisory locks, `json` casts; an enum lets those few statements differ while the rest is
//!   written once (`$N` placeholders work on both) and type-checked against both drivers by
//!   the `on_pool!` macro;
//! * migrations differ by type (`migrations/sqlite`, `migrations/postgres`) and are embedded
//!   per backend with `sqlx::migrate!`.
//!
//! ## Representation
//!
//! Timestamps are UTC text of fixed width (`2025-01-02T03:04:05.123456Z`, so text order is
//! time order, identical on both backends and exact to the microsecond); quantities and prices
//! are decimal text. Every multi-row change is one transaction: the daemon may be killed at
//! any instant and the file stays consistent (see the crash test).

mod orders;
mod outbox;
mod pending;
mod release;
mod scan;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sha2::Digest;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use crate::config::StoreBackend;
pub use outbox::{
    ClaimedItem, EnqueueItem, EnqueueOutcome, FailOutcome, IgnoredReason, MarkSent, OutboxCounts,
    OutboxRow, OutboxState,
};
pub use pending::InFlight;
pub use release::{InboxLink, Released};
pub use scan::InboxEntry;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown store URL scheme in `{0}` (use sqlite:///path/state.db or postgres://…)")]
    UnknownScheme(String),
    #[error("cannot open the state store at {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create the state directory {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("migrating the state store failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("state store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("state store holds an invalid value in {what}: {value:?}")]
    Corrupt { what: &'static str, value: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Pool and behaviour settings (from `[store]`).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// How long a claimed outbox row stays with its sender.
    pub outbox_lease: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            outbox_lease: Duration::from_secs(120),
        }
    }
}

impl From<&crate::config::StoreConfig> for StoreOptions {
    fn from(c: &crate::config::StoreConfig) -> Self {
        StoreOptions {
            max_connections: c.max_connections,
            busy_timeout: c.busy_timeout,
            outbox_lease: c.outbox_lease,
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The state store. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    lease: Duration,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("lease", &self.lease)
            .finish()
    }
}

/// Run `$body` with `$p` bound to the concrete pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// What differs between the two pools' transactions.
pub(crate) trait Backend {
    type Db: sqlx::Database;
    const KIND: StoreBackend;
    /// A transaction that will write: `BEGIN IMMEDIATE` on SQLite (take the write lock now,
    /// waiting up to busy_timeout, instead of failing on upgrade), plain `BEGIN` on PostgreSQL.
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>>;
    fn pick(sqlite: &'static str, postgres: &'static str) -> &'static str {
        match Self::KIND {
            StoreBackend::Sqlite => sqlite,
            StoreBackend::Postgres => postgres,
        }
    }
}

impl Backend for SqlitePool {
    type Db = Sqlite;
    const KIND: StoreBackend = StoreBackend::Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl Backend for PgPool {
    type Db = Postgres;
    const KIND: StoreBackend = StoreBackend::Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.begin().await?)
    }
}

/// Which `Backend` a pool reference is, usable inside `on_pool!` bodies.
pub(crate) fn pick<B: Backend>(
    _pool: &B,
    sqlite: &'static str,
    postgres: &'static str,
) -> &'static str {
    B::pick(sqlite, postgres)
}

/// A timestamp as stored: UTC, fixed width, microseconds.
pub(crate) fn ts(t: Timestamp) -> String {
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1000
    )
}

pub(crate) fn parse_ts(what: &'static str, s: &str) -> Result<Timestamp> {
    Timestamp::from_str(s).map_err(|_| StoreError::Corrupt {
        what,
        value: s.to_owned(),
    })
}

fn parse_ts_opt(what: &'static str, s: Option<String>) -> Result<Option<Timestamp>> {
    s.map(|s| parse_ts(what, &s)).transpose()
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

impl Store {
    /// Open (creating if needed) and migrate the store at `url` with default options.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, &StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, opts: &StoreOptions) -> Result<Store> {
        let redacted = crate::config::redact_url(url);
        let open_err = |source| StoreError::Open {
            url: redacted.clone(),
            source,
        };
        let pool = match StoreBackend::from_url(url) {
            Some(StoreBackend::Sqlite) => {
                if let Some(path) = sqlite_path(url)
                    && let Some(dir) = Path::new(path).parent()
                    && !dir.as_os_str().is_empty()
                    && !dir.exists()
                {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(open_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(opts.busy_timeout)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections)
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Pool::Sqlite(pool)
            }
            Some(StoreBackend::Postgres) => {
                let options = PgConnectOptions::from_str(url).map_err(open_err)?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Pool::Postgres(pool)
            }
            None => return Err(StoreError::UnknownScheme(redacted)),
        };
        Ok(Store {
            pool,
            lease: opts.outbox_lease,
            clock: Arc::new(Timestamp::now),
        })
    }

    /// Replace the clock used for `created_at`/`updated_at`-style stamps (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn backend(&self) -> StoreBackend {
        match self.pool {
            Pool::Sqlite(_) => StoreBackend::Sqlite,
            Pool::Postgres(_) => StoreBackend::Postgres,
        }
    }

    /// The outbox lease (see [`Store::claim_batch`]).
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// Prove the store accepts a write (readiness): upsert a heartbeat row.
    pub async fn check_writable(&self) -> Result<()> {
        let now = ts(self.now());
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO meta (key, value, updated_at) VALUES ('heartbeat', $1, $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(&now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    // --- cursors --------------------------------------------------------------------------

    /// The cursor of `(channel, stream)`, if one was ever set.
    pub async fn get_cursor(&self, channel: &str, stream: &str) -> Result<Option<Cursor>> {
        let row: Option<(String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT value, updated_at FROM cursors WHERE channel = $1 AND stream = $2")
                .bind(channel)
                .bind(stream)
                .fetch_optional(p)
                .await?
        });
        row.map(|(value, at)| {
            Ok(Cursor {
                value,
                updated_at: parse_ts("cursors.updated_at", &at)?,
            })
        })
        .transpose()
    }

    /// Set the cursor of `(channel, stream)`. Call it in the same breath as the work it
    /// records is committed (per page), so a crash replays at most one page.
    pub async fn set_cursor(&self, channel: &str, stream: &str, value: &str) -> Result<()> {
        let now = ts(self.now());
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO cursors (channel, stream, value, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (channel, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(channel)
            .bind(stream)
            .bind(value)
            .bind(&now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    // --- inbox ----------------------------------------------------------------------------

    /// Stage a raw payload before anything is written to Odoo. Idempotent on
    /// `(channel, kind, external_id, payload hash)`: the same payload twice (a re-sent webhook,
    /// a page pulled again) is one row; a changed payload for the same id is a new row.
    /// `payload` must be JSON text; it is kept byte for byte.
    pub async fn stage(
        &self,
        channel: &str,
        kind: &str,
        external_id: &str,
        payload: &str,
    ) -> Result<Staged> {
        if serde_json::from_str::<serde::de::IgnoredAny>(payload).is_err() {
            return Err(StoreError::Invalid(format!(
                "inbox payload for {channel}/{kind}/{external_id} is not JSON (quarantine it instead)"
            )));
        }
        let hash = payload_hash(payload);
        let now = ts(self.now());
        let inserted: Option<(i64,)> = on_pool!(self, p => {
            sqlx::query_as(pick(
                p,
                "INSERT INTO inbox (channel, kind, external_id, payload, payload_hash, received_at, state, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'new', $6) \
                 ON CONFLICT (channel, kind, external_id, payload_hash) DO NOTHING RETURNING id",
                "INSERT INTO inbox (channel, kind, external_id, payload, payload_hash, received_at, state, updated_at) \
                 VALUES ($1, $2, $3, $4::json, $5, $6, 'new', $6) \
                 ON CONFLICT (channel, kind, external_id, payload_hash) DO NOTHING RETURNING id",
            ))
            .bind(channel)
            .bind(kind)
            .bind(external_id)
            .bind(payload)
            .bind(&hash)
            .bind(&now)
            .fetch_optional(p)
            .await?
        });
        if let Some((id,)) = inserted {
            return Ok(Staged::New(id));
        }
        let (id, state): (i64, String) = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, state FROM inbox WHERE channel = $1 AND kind = $2 AND external_id = $3 AND payload_hash = $4",
            )
            .bind(channel)
            .bind(kind)
            .bind(external_id)
            .bind(&hash)
            .fetch_one(p)
            .await?
        });
        Ok(Staged::Duplicate {
            id,
            state: InboxState::parse(&state)?,
        })
    }

    /// Staged payloads not yet processed, oldest first.
    pub async fn inbox_new(&self, channel: &str, kind: &str, limit: u32) -> Result<Vec<InboxItem>> {
        // Row ids start at 1 on both backends.
        self.inbox_new_after(channel, kind, 0, limit).await
    }

    /// Mark a staged payload processed, with the Odoo record it became (if any).
    pub async fn inbox_done(&self, id: i64, odoo_id: Option<i64>) -> Result<bool> {
        let now = ts(self.now());
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE inbox SET state = 'done', odoo_id = $2, updated_at = $3 WHERE id = $1 AND state = 'new'")
                .bind(id)
                .bind(odoo_id)
                .bind(&now)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Move a staged payload to quarantine with `reason`, in one transaction. Returns the
    /// quarantine id, or `None` if the payload was not in state `new`.
    pub async fn inbox_quarantine(&self, id: i64, reason: &str) -> Result<Option<i64>> {
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
            sqlx::query("UPDATE inbox SET state = 'quarantined', quarantine_id = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(qid)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(qid))
        })
    }

    // --- quarantine -----------------------------------------------------------------------

    /// Hold a record that could not be processed. `payload` is kept as given (any text: a
    /// payload that is not even JSON is exactly what ends up here).
    pub async fn quarantine(&self, q: &NewQuarantine<'_>) -> Result<i64> {
        let now = ts(self.now());
        let (id,): (i64,) = on_pool!(self, p => {
            sqlx::query_as(
                "INSERT INTO quarantine (channel, kind, external_ref, reason, payload, state, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'held', $6) RETURNING id",
            )
            .bind(q.channel)
            .bind(q.kind)
            .bind(q.external_ref)
            .bind(q.reason)
            .bind(q.payload)
            .bind(&now)
            .fetch_one(p)
            .await?
        });
        Ok(id)
    }

    /// Quarantined records in `state`, optionally of one channel, oldest first.
    pub async fn quarantined(
        &self,
        channel: Option<&str>,
        state: QuarantineState,
    ) -> Result<Vec<QuarantineItem>> {
        let rows: Vec<QuarantineRow> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, kind, external_ref, reason, payload, state, odoo_model, odoo_id, created_at, resolved_at \
                 FROM quarantine WHERE state = $1 AND ($2 IS NULL OR channel = $2) ORDER BY id",
            )
            .bind(state.as_str())
            .bind(channel)
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(quarantine_item).collect()
    }

    /// Remember the Odoo record mirroring a quarantine entry (`channel.quarantine` or the
    /// record whose chatter carries the note).
    pub async fn set_quarantine_odoo(&self, id: i64, model: &str, odoo_id: i64) -> Result<bool> {
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE quarantine SET odoo_model = $2, odoo_id = $3 WHERE id = $1")
                .bind(id)
                .bind(model)
                .bind(odoo_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Release or discard a held record (what the Release/Discard buttons in Odoo ask for).
    /// Returns false if it was not held.
    pub async fn resolve_quarantine(&self, id: i64, to: QuarantineState) -> Result<bool> {
        if to == QuarantineState::Held {
            return Err(StoreError::Invalid(
                "resolve to released or discarded".into(),
            ));
        }
        let now = ts(self.now());
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE quarantine SET state = $2, resolved_at = $3 WHERE id = $1 AND state = 'held'")
                .bind(id)
                .bind(to.as_str())
                .bind(&now)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // --- idempotency ----------------------------------------------------------------------

    /// Start a two-phase write identified by `key` (e.g. `odoo:sale.order:shop:1001`).
    ///
    /// * [`Begin::Fresh`]: no one started it; the marker is now `pending`: act, then
    ///   [`Store::finish`].
    /// * [`Begin::Pending`]: an earlier attempt started and never finished (crash, ambiguous
    ///   write): **re-check the remote side** by the binding key before acting again.
    /// * [`Begin::Done`]: already done; here is the remote id.
    pub async fn begin(&self, key: &str) -> Result<Begin> {
        let now = ts(self.now());
        let inserted = on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO idempotency (key, state, created_at) VALUES ($1, 'pending', $2) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(&now)
            .execute(p)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(Begin::Fresh);
        }
        let (state, remote_id, created_at): (String, Option<String>, String) = on_pool!(self, p => {
            sqlx::query_as("SELECT state, remote_id, created_at FROM idempotency WHERE key = $1")
                .bind(key)
                .fetch_one(p)
                .await?
        });
        match state.as_str() {
            "pending" => Ok(Begin::Pending {
                since: parse_ts("idempotency.created_at", &created_at)?,
            }),
            "done" => Ok(Begin::Done {
                remote_id: remote_id.unwrap_or_default(),
            }),
            _ => Err(StoreError::Corrupt {
                what: "idempotency.state",
                value: state,
            }),
        }
    }

    /// Record that the write of `key` is done and produced `remote_id`. Idempotent; also
    /// records a key that was never begun (a re-check found the remote record).
    pub async fn finish(&self, key: &str, remote_id: &str) -> Result<()> {
        let now = ts(self.now());
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO idempotency (key, state, remote_id, created_at, done_at) VALUES ($1, 'done', $2, $3, $3) \
                 ON CONFLICT (key) DO UPDATE SET state = 'done', remote_id = excluded.remote_id, done_at = excluded.done_at",
            )
            .bind(key)
            .bind(remote_id)
            .bind(&now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Drop a `pending` marker after a re-check proved nothing was written remotely, so the
    /// next `begin` is `Fresh`. A `done` marker is never dropped.
    pub async fn forget(&self, key: &str) -> Result<bool> {
        let n = on_pool!(self, p => {
            sqlx::query("DELETE FROM idempotency WHERE key = $1 AND state = 'pending'")
                .bind(key)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

/// A `quarantine` row as selected by every query that returns whole entries (`id, channel,
/// kind, external_ref, reason, payload, state, odoo_model, odoo_id, created_at, resolved_at`).
type QuarantineRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
);

fn quarantine_item(r: QuarantineRow) -> Result<QuarantineItem> {
    Ok(QuarantineItem {
        id: r.0,
        channel: r.1,
        kind: r.2,
        external_ref: r.3,
        reason: r.4,
        payload: r.5,
        state: QuarantineState::parse(&r.6)?,
        odoo_model: r.7,
        odoo_id: r.8,
        created_at: parse_ts("quarantine.created_at", &r.9)?,
        resolved_at: parse_ts_opt("quarantine.resolved_at", r.10)?,
    })
}

type InboxRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
);

/// Hex SHA-256 of a payload, the inbox's dedup key.
pub fn payload_hash(payload: &str) -> String {
    let digest = sha2::Sha256::digest(payload.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub value: String,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    New(i64),
    Duplicate { id: i64, state: InboxState },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxState {
    New,
    Done,
    Quarantined,
}

impl InboxState {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "new" => Self::New,
            "done" => Self::Done,
            "quarantined" => Self::Quarantined,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "inbox.state",
                    value: s.into(),
                });
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub external_id: String,
    pub payload: String,
    pub payload_hash: String,
    pub received_at: Timestamp,
    pub odoo_id: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewQuarantine<'a> {
    pub channel: &'a str,
    pub kind: &'a str,
    pub external_ref: &'a str,
    pub reason: &'a str,
    pub payload: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineState {
    Held,
    Released,
    Discarded,
}

impl QuarantineState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Discarded => "discarded",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "held" => Self::Held,
            "released" => Self::Released,
            "discarded" => Self::Discarded,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "quarantine.state",
                    value: s.into(),
                });
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineItem {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub external_ref: String,
    pub reason: String,
    pub payload: String,
    pub state: QuarantineState,
    pub odoo_model: Option<String>,
    pub odoo_id: Option<i64>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// The answer of [`Store::begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    Fresh,
    Pending { since: Timestamp },
    Done { remote_id: String },
}

/// What an outbox row pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PushKind {
    Stock,
    Price,
}

impl PushKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Price => "price",
        }
    }
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "stock" => Self::Stock,
            "price" => Self::Price,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "kind",
                    value: s.into(),
                });
            }
        })
    }
}

impl std::fmt::Display for PushKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last value a channel acknowledged for a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub channel: String,
    pub kind: PushKind,
    pub sku: String,
    pub value: rust_decimal::Decimal,
    pub version: i64,
    pub acked_at: Timestamp,
}
