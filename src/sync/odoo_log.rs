//! What a person must act on, written where they work: in Odoo.
//!
//! With the `channel_sync` addon installed, sync runs become `channel.sync.run` records and
//! quarantined records `channel.quarantine` entries (with Release/Discard buttons the daemon
//! honours). Without it the daemon still works: a note in the chatter of the record concerned,
//! or an `ir.logging` entry when there is no such record. Writing these is best effort — a
//! monitoring write that fails is logged, never allowed to stop a sync job — but it is never
//! silently skipped.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::odoo::{CallKind, Domain, OdooClient, OdooError};
use crate::odoo::{LogEntry, MessageKind, SearchOpts};

/// A channel that has no `channel.channel` record yet is looked up again after this long (a
/// person may create it while the daemon runs).
const MISSING_CHANNEL_RECHECK: Duration = Duration::from_secs(300);
/// The channel's sync status in Odoo is rewritten at least this often while jobs run (so the
/// addon's "stale" warning means the daemon stopped), and at once when it changes.
const STATUS_HEARTBEAT: Duration = Duration::from_secs(60);
/// Bindings written back per `write` call when their values differ.
const WRITE_BACK_CHUNK: usize = 500;

/// The addon's models, by the names in ARCHITECTURE.md ("The Odoo addon contract").
pub mod model {
    pub const CHANNEL: &str = "channel.channel";
    pub const SYNC_RUN: &str = "channel.sync.run";
    pub const QUARANTINE: &str = "channel.quarantine";
    pub const BINDING: &str = "channel.product.binding";
}

/// How a job run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Done,
    Partial,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Done => "done",
            RunState::Partial => "partial",
            RunState::Failed => "failed",
        }
    }
}

/// One job run, as shown in Odoo.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub channel: String,
    /// `stock`, `orders`, … (the addon's `job` selection).
    pub job: &'static str,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub read: u64,
    pub written: u64,
    pub failed: u64,
    pub errors: Vec<String>,
}

impl RunSummary {
    pub fn state(&self) -> RunState {
        match (self.failed, self.errors.is_empty()) {
            (0, true) => RunState::Done,
            _ if self.written > 0 => RunState::Partial,
            _ => RunState::Failed,
        }
    }

    pub fn error_summary(&self) -> String {
        let mut s = self
            .errors
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        if self.errors.len() > 20 {
            s.push_str(&format!("\n… and {} more", self.errors.len() - 20));
        }
        s
    }
}

/// A record set aside for a person.
#[derive(Debug, Clone)]
pub struct QuarantineNote<'a> {
    /// The daemon's own quarantine id (idempotency key for the Odoo mirror).
    pub daemon_id: i64,
    pub channel: &'a str,
    /// `order`, `stock`, `listing`, … (the addon's `kind` selection).
    pub kind: &'a str,
    pub external_ref: &'a str,
    pub reason: &'a str,
    pub payload: &'a str,
    /// The Odoo record concerned, when there is one (e.g. a held sale order).
    pub record: Option<(&'a str, i64)>,
}

/// Writes monitoring records into Odoo, addon-aware.
pub struct OdooLog {
    odoo: OdooClient,
    addon: bool,
    /// channel code → (record, when looked up).
    channel_ids: Mutex<HashMap<String, (Option<i64>, Instant)>>,
    /// channel code → what was last written on its `channel.channel` record.
    status: Mutex<HashMap<String, ChannelStatus>>,
    /// (model, id, text) of the notes posted by [`OdooLog::note_once`]: a problem that
    /// persists from cycle to cycle is said once per process, not once a minute.
    noted: Mutex<HashSet<(String, i64, String)>>,
}

/// The latest result of each job of a channel, and what was written to Odoo.
#[derive(Debug, Default, Clone)]
struct ChannelStatus {
    /// job → (state, message, finished).
    jobs: HashMap<&'static str, (RunState, String, Timestamp)>,
    written: Option<(String, String, Instant)>,
    /// job → when its `last_*_sync` field was last written.
    job_written: HashMap<&'static str, Instant>,
}

impl OdooLog {
    /// Detects the addon by its models (works even when the technical user may not read
    /// `ir.module.module`).
    pub async fn detect(odoo: &OdooClient) -> Self {
        let addon = match odoo
            .search_count(model::CHANNEL, &Domain::new(), None)
            .await
        {
            Ok(_) => true,
            Err(OdooError::UnknownModel(_)) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether the channel_sync addon is installed; assuming not");
                false
            }
        };
        OdooLog {
            odoo: odoo.clone(),
            addon,
            channel_ids: Mutex::new(HashMap::new()),
            status: Mutex::new(HashMap::new()),
            noted: Mutex::new(HashSet::new()),
        }
    }

    /// The client this log writes with (for jobs that share it).
    pub fn odoo(&self) -> &OdooClient {
        &self.odoo
    }

    /// Whether the `channel_sync` addon's models are available.
    pub fn addon(&self) -> bool {
        self.addon
    }

    /// The `channel.channel` record of a daemon channel id (`code`), cached. `None` when the
    /// addon is absent or nobody created the channel in Odoo yet.
    pub async fn channel_record(&self, channel: &str) -> Option<i64> {
        if !self.addon {
            return None;
        }
        if let Some((v, at)) = self.channel_ids.lock().get(channel)
            && (v.is_some() || at.elapsed() < MISSING_CHANNEL_RECHECK)
        {
            return *v;
        }
        let found = self
            .odoo
            .search(
                model::CHANNEL,
                &Domain::leaf("code", "=", channel),
                &SearchOpts::default().limit(1),
            )
            .await;
        match found {
            Ok(ids) => {
                let id = ids.first().copied();
                if id.is_none() {
                    tracing::warn!(
                        channel,
                        "no channel.channel record with this code: a channel administrator must create it in Odoo (Channels → Channels → New, code = the channel id); until then its runs go to ir.logging and orders are bound by client_order_ref only"
                    );
                }
                self.channel_ids
                    .lock()
                    .insert(channel.to_owned(), (id, Instant::now()));
                id
            }
            Err(e) => {
                tracing::warn!(channel, error = %e, "looking up the channel in Odoo failed");
                None
            }
        }
    }

    /// Record a job run: `channel.sync.run` with the addon, else `ir.logging`.
    pub async fn sync_run(&self, run: &RunSummary) {
        let result = match self.channel_record(&run.channel).await {
            Some(channel_id) => {
                let mut v = Map::new();
                v.insert("channel_id".into(), json!(channel_id));
                v.insert("job".into(), json!(run.job));
                v.insert("started_at".into(), json!(odoo_dt(run.started)));
                v.insert("finished_at".into(), json!(odoo_dt(run.finished)));
                v.insert("count_read".into(), json!(run.read));
                v.insert("count_written".into(), json!(run.written));
                v.insert("count_failed".into(), json!(run.failed));
                v.insert("state".into(), json!(run.state().as_str()));
                let summary = run.error_summary();
                v.insert(
                    "error_summary".into(),
                    if summary.is_empty() {
                        Value::Bool(false)
                    } else {
                        json!(summary)
                    },
                );
                self.odoo.create(model::SYNC_RUN, v, None).await.map(|_| ())
            }
            None => {
                let level = match run.state() {
                    RunState::Done => "INFO",
                    RunState::Partial => "WARNING",
                    RunState::Failed => "ERROR",
                };
                let mut message = format!(
                    "{} {} run {}: read {}, written {}, failed {} ({} ms)",
                    run.channel,
                    run.job,
                    run.state().as_str(),
                    run.read,
                    run.written,
                    run.failed,
                    (run.finished - run.started).get_milliseconds()
                );
                let summary = run.error_summary();
                if !summary.is_empty() {
                    message.push('\n');
                    message.push_str(&summary);
                }
                self.odoo
                    .ir_logging(&LogEntry {
                        name: "odoo-channels".into(),
                        level: level.into(),
                        message,
                        path: format!("odoo-channels/{}", run.channel),
                        func: run.job.into(),
                        line: "0".into(),
                    })
                    .await
                    .map(|_| ())
            }
        };
        if let Err(e) = result {
            tracing::warn!(channel = %run.channel, job = run.job, error = %e, "could not record the sync run in Odoo");
        }
    }

    /// Show a quarantined record in Odoo. Returns where it now lives (`(model, id)`), so the
    /// daemon can remember it and honour a Release/Discard decided there.
    pub async fn quarantine(&self, q: &QuarantineNote<'_>) -> Option<(String, i64)> {
        match self.try_quarantine(q).await {
            Ok(place) => Some(place),
            Err(e) => {
                tracing::warn!(channel = q.channel, external_ref = q.external_ref, error = %e,
                    "could not show the quarantined record in Odoo; it stays held in the daemon");
                None
            }
        }
    }

    async fn try_quarantine(&self, q: &QuarantineNote<'_>) -> Result<(String, i64), OdooError> {
        if let Some(channel_id) = self.channel_record(q.channel).await {
            return self.mirror_quarantine(channel_id, q).await;
        }
        let text = format!(
            "odoo-channels held {} {} from channel {}: {}",
            q.kind, q.external_ref, q.channel, q.reason
        );
        if let Some((model, id)) = q.record {
            self.odoo
                .message_post(model, id, &html_escape(&text), MessageKind::Note)
                .await?;
            return Ok((model.into(), id));
        }
        let id = self
            .odoo
            .ir_logging(&LogEntry {
                name: "odoo-channels".into(),
                level: "WARNING".into(),
                message: format!("{text}\n\npayload:\n{}", truncate(q.payload, 20_000)),
                path: format!("odoo-channels/{}/quarantine", q.channel),
                func: q.kind.into(),
                line: q.external_ref.chars().take(64).collect(),
            })
            .await?;
        Ok(("ir.logging".into(), id))
    }

    /// A note in a record's chatter (best effort).
    pub async fn note(&self, model: &str, id: i64, text: &str) {
        self.post_note(model, id, text).await;
    }

    /// Whether the note was posted (a failure is logged).
    async fn post_note(&self, model: &str, id: i64, text: &str) -> bool {
        match self
            .odoo
            .message_post(model, id, &html_escape(text), MessageKind::Note)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(model, id, error = %e, "could not post a note in Odoo");
                false
            }
        }
    }

    /// [`OdooLog::note`], unless this process already posted the same text on the record
    /// (a failure retried every cycle). Forgotten when posting fails, so it is tried again.
    pub async fn note_once(&self, model: &str, id: i64, text: &str) {
        let key = (model.to_owned(), id, text.to_owned());
        {
            let mut noted = self.noted.lock();
            if noted.len() >= 10_000 {
                noted.clear();
            }
            if !noted.insert(key.clone()) {
                return;
            }
        }
        if !self.post_note(model, id, text).await {
            self.noted.lock().remove(&key);
        }
    }
}

impl OdooLog {
    /// `channel.quarantine`, one record per (channel, kind, external reference):
    ///
    /// * the daemon's own id (`daemon_ref = q<id>`) is searched first, so mirroring twice
    ///   (a retry after an ambiguous create, a restart) finds the record;
    /// * else a record for the same external reference is reused: still held → it gets the
    ///   new reason and daemon id; already released or discarded → the daemon retried (or
    ///   the channel sent a new version) and it failed again, so it is put **on hold again**
    ///   (`action_hold`, as the addon intends) with the new reason, rather than a second
    ///   record appearing beside the first;
    /// * else it is created, with `res_model`/`res_id` when an Odoo record is concerned.
    async fn mirror_quarantine(
        &self,
        channel_id: i64,
        q: &QuarantineNote<'_>,
    ) -> Result<(String, i64), OdooError> {
        let daemon_ref = format!("q{}", q.daemon_id);
        let by_channel = Domain::leaf("channel_id", "=", channel_id);
        let existing = self
            .odoo
            .search(
                model::QUARANTINE,
                &by_channel
                    .clone()
                    .and(Domain::leaf("daemon_ref", "=", daemon_ref.as_str())),
                &SearchOpts::default().limit(1),
            )
            .await?;
        if let Some(id) = existing.first() {
            return Ok((model::QUARANTINE.into(), *id));
        }
        let mut v = Map::new();
        v.insert("reason".into(), json!(q.reason));
        v.insert("payload".into(), json!(truncate(q.payload, 100_000)));
        v.insert("daemon_ref".into(), json!(daemon_ref));
        if let Some((model, id)) = q.record {
            v.insert("res_model".into(), json!(model));
            v.insert("res_id".into(), json!(id));
        }
        if !q.external_ref.is_empty() {
            let same = self
                .odoo
                .search_read(
                    model::QUARANTINE,
                    &by_channel
                        .and(Domain::leaf("kind", "=", q.kind))
                        .and(Domain::leaf("external_ref", "=", q.external_ref)),
                    &["state"],
                    &SearchOpts::default().order("id desc").limit(1),
                )
                .await?;
            if let Some(row) = same.first() {
                let rec =
                    crate::odoo::Record::new(model::QUARANTINE, row).map_err(OdooError::Decode)?;
                let id = rec.id().map_err(OdooError::Decode)?;
                if rec.string("state").map_err(OdooError::Decode)?.as_deref() != Some("held") {
                    self.odoo
                        .call(
                            model::QUARANTINE,
                            "action_hold",
                            Some(&[id]),
                            Map::new(),
                            None,
                            CallKind::Write,
                        )
                        .await?;
                }
                self.odoo.write(model::QUARANTINE, &[id], v, None).await?;
                return Ok((model::QUARANTINE.into(), id));
            }
        }
        v.insert("channel_id".into(), json!(channel_id));
        v.insert("kind".into(), json!(q.kind));
        v.insert("external_ref".into(), json!(q.external_ref));
        let id = self.odoo.create(model::QUARANTINE, v, None).await?;
        Ok((model::QUARANTINE.into(), id))
    }

    /// After every run of a job (whether it did anything or not): a `channel.sync.run` when
    /// it read, wrote or failed something, and the channel's sync status in Odoo
    /// (`last_stock_sync` / `last_order_sync` / `last_price_sync`, `last_sync_state`,
    /// `last_sync_message`). The state is the worst of each job's latest result, so a
    /// healthy stock push does not hide failing order imports. The status is written when it
    /// changes, and otherwise at most once a minute per channel (the heartbeat that keeps the
    /// addon's "stale" warning meaningful).
    pub async fn job_done(&self, run: &RunSummary) {
        if run.read + run.written + run.failed > 0 || !run.errors.is_empty() {
            self.sync_run(run).await;
        }
        self.channel_status(run).await;
    }

    async fn channel_status(&self, run: &RunSummary) {
        if !self.addon {
            return;
        }
        let Some(channel_id) = self.channel_record(&run.channel).await else {
            return;
        };
        let field = match run.job {
            "stock" => Some("last_stock_sync"),
            "orders" => Some("last_order_sync"),
            "prices" | "listings" => Some("last_price_sync"),
            _ => None,
        };
        let (state, message, due) = {
            let mut all = self.status.lock();
            let st = all.entry(run.channel.clone()).or_default();
            let summary = if run.errors.is_empty() {
                String::new()
            } else {
                run.error_summary()
            };
            st.jobs
                .insert(run.job, (run.state(), summary, run.finished));
            let (state, message) = overall(&st.jobs);
            // A job's own timestamp is written on its first run and then at the heartbeat's
            // pace, so every job's `last_*_sync` is set even while the state stays the same.
            let job_due = field.is_some()
                && st
                    .job_written
                    .get(run.job)
                    .is_none_or(|at| at.elapsed() >= STATUS_HEARTBEAT);
            let due = job_due
                || match &st.written {
                    Some((s, m, at)) => {
                        s != state || *m != message || at.elapsed() >= STATUS_HEARTBEAT
                    }
                    None => true,
                };
            (state, message, due)
        };
        if !due {
            return;
        }
        let mut v = Map::new();
        if let Some(f) = field {
            v.insert(f.into(), json!(odoo_dt(run.finished)));
        }
        v.insert("last_sync_state".into(), json!(state));
        v.insert(
            "last_sync_message".into(),
            if message.is_empty() {
                Value::Bool(false)
            } else {
                json!(truncate(&message, 4000))
            },
        );
        match self
            .odoo
            .write(model::CHANNEL, &[channel_id], v, None)
            .await
        {
            Ok(()) => {
                if let Some(st) = self.status.lock().get_mut(&run.channel) {
                    st.written = Some((state.to_owned(), message, Instant::now()));
                    if field.is_some() {
                        st.job_written.insert(run.job, Instant::now());
                    }
                }
            }
            Err(e) => {
                tracing::warn!(channel = %run.channel, error = %e, "could not write the channel's sync status in Odoo")
            }
        }
    }

    /// Write what was pushed back on the channel's bindings (`last_pushed_qty` and
    /// `last_pushed_at`), for the stock job after a push round: `(sku, quantity, applied at)`
    /// per acknowledged SKU. One read of the bindings concerned, then one `write` per distinct
    /// value (quantities repeat a lot: every SKU at 0 is one call). SKUs without a binding
    /// (listed by `default_code`) are skipped. Best effort, like all monitoring: a failure is
    /// logged, never returned.
    pub async fn record_pushes(&self, channel: &str, pushes: &[(String, i64, Timestamp)]) {
        let rows: Vec<(String, Value, Value)> = pushes
            .iter()
            .map(|(sku, qty, at)| (sku.clone(), json!(*qty as f64), json!(odoo_dt(*at))))
            .collect();
        self.write_back(channel, "last_pushed_qty", &rows).await;
    }

    /// As [`Self::record_pushes`], for prices (`last_pushed_price`, `last_pushed_at`).
    pub async fn record_prices(
        &self,
        channel: &str,
        pushes: &[(String, rust_decimal::Decimal, Timestamp)],
    ) {
        let rows: Vec<(String, Value, Value)> = pushes
            .iter()
            .map(|(sku, price, at)| {
                (
                    sku.clone(),
                    crate::sync::listings::decimal_json(*price),
                    json!(odoo_dt(*at)),
                )
            })
            .collect();
        self.write_back(channel, "last_pushed_price", &rows).await;
    }

    async fn write_back(&self, channel: &str, field: &str, rows: &[(String, Value, Value)]) {
        if !self.addon || rows.is_empty() {
            return;
        }
        let Some(channel_id) = self.channel_record(channel).await else {
            return;
        };
        let mut ids: HashMap<String, i64> = HashMap::new();
        for chunk in rows.chunks(WRITE_BACK_CHUNK) {
            let skus: Vec<&str> = chunk.iter().map(|(s, _, _)| s.as_str()).collect();
            match self
                .odoo
                .search_read(
                    model::BINDING,
                    &Domain::leaf("channel_id", "=", channel_id).and(Domain::leaf(
                        "external_sku",
                        "in",
                        skus,
                    )),
                    &["external_sku"],
                    &SearchOpts::default(),
                )
                .await
            {
                Ok(found) => {
                    for row in &found {
                        if let (Some(id), Some(sku)) = (
                            row.get("id").and_then(Value::as_i64),
                            row.get("external_sku").and_then(Value::as_str),
                        ) {
                            ids.insert(sku.to_owned(), id);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(channel, error = %e, "could not read the bindings to record pushes");
                    return;
                }
            }
        }
        let mut groups: HashMap<String, (Value, Value, Vec<i64>)> = HashMap::new();
        for (sku, value, at) in rows {
            if let Some(id) = ids.get(sku) {
                groups
                    .entry(format!("{value}|{at}"))
                    .or_insert_with(|| (value.clone(), at.clone(), Vec::new()))
                    .2
                    .push(*id);
            }
        }
        for (value, at, ids) in groups.into_values() {
            let mut v = Map::new();
            v.insert(field.into(), value);
            v.insert("last_pushed_at".into(), at);
            if let Err(e) = self.odoo.write(model::BINDING, &ids, v, None).await {
                tracing::warn!(channel, field, error = %e, "could not record pushes on the bindings");
            }
        }
    }
}

/// The channel's state from each job's latest result: `error` when every job that ran last
/// failed, `warning` when some failed or partly failed, `ok` otherwise; the message names
/// the jobs that did not end well.
fn overall(jobs: &HashMap<&'static str, (RunState, String, Timestamp)>) -> (&'static str, String) {
    let mut bad: Vec<(&str, RunState, &str)> = jobs
        .iter()
        .filter(|(_, (s, m, _))| *s != RunState::Done || !m.is_empty())
        .map(|(j, (s, m, _))| (*j, *s, m.as_str()))
        .collect();
    bad.sort_by_key(|b| b.0);
    let state = if bad.is_empty() {
        "ok"
    } else if jobs.values().all(|(s, _, _)| *s == RunState::Failed) {
        "error"
    } else {
        "warning"
    };
    let message = bad
        .iter()
        .map(|(j, s, m)| {
            let first = m.lines().next().unwrap_or("");
            format!("{j}: {} {first}", s.as_str()).trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n");
    (state, message)
}

/// Odoo's naive-UTC datetime string.
pub fn odoo_dt(t: Timestamp) -> String {
    odoo_wire::datetime::format_datetime(t)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    &s[..s.floor_char_boundary(max)]
}

/// Plain text as one HTML paragraph (chatter bodies are HTML).
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 7);
    out.push_str("<p>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br/>"),
            _ => out.push(c),
        }
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_state_follows_counts() {
        let mut r = RunSummary {
            channel: "shop".into(),
            job: "stock",
            started: Timestamp::UNIX_EPOCH,
            finished: Timestamp::UNIX_EPOCH,
            read: 5,
            written: 5,
            failed: 0,
            errors: vec![],
        };
        assert_eq!(r.state(), RunState::Done);
        r.failed = 1;
        r.errors.push("SKU-1: rejected".into());
        assert_eq!(r.state(), RunState::Partial);
        r.written = 0;
        assert_eq!(r.state(), RunState::Failed);
    }

    #[test]
    fn the_channel_state_is_the_worst_latest_job_result() {
        let t = Timestamp::UNIX_EPOCH;
        let mut jobs = HashMap::new();
        jobs.insert("stock", (RunState::Done, String::new(), t));
        assert_eq!(overall(&jobs), ("ok", String::new()));
        jobs.insert("orders", (RunState::Failed, "pull: 503\nmore".into(), t));
        let (state, msg) = overall(&jobs);
        assert_eq!(state, "warning", "stock still works");
        assert_eq!(msg, "orders: failed pull: 503");
        jobs.insert("stock", (RunState::Failed, "push: 401".into(), t));
        assert_eq!(overall(&jobs).0, "error");
        jobs.insert("stock", (RunState::Done, String::new(), t));
        jobs.insert("orders", (RunState::Done, String::new(), t));
        assert_eq!(overall(&jobs).0, "ok", "recovered");
    }

    #[test]
    fn notes_are_escaped_html() {
        assert_eq!(
            html_escape("a <b> & \"c\"\nd"),
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br/>d</p>"
        );
    }
}
