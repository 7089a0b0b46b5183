//! What a person must act on, written where they work: in Odoo.
//!
//! With the `channel_sync` addon installed, sync runs become `channel.sync.run` records and
//! quarantined records `channel.quarantine` entries (with Release/Discard buttons the daemon
//! honours). Without it the daemon still works: a note in the chatter of the record concerned,
//! or an `ir.logging` entry when there is no such record. Writing these is best effort — a
//! monitoring write that fails is logged, never allowed to stop a sync job — but it is never
//! silently skipped.

use std::collections::HashMap;

use jiff::Timestamp;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::odoo::{Domain, OdooClient, OdooError};
use crate::odoo::{LogEntry, MessageKind, SearchOpts};

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

    fn error_summary(&self) -> String {
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
    channel_ids: Mutex<HashMap<String, Option<i64>>>,
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
        }
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
        if let Some(v) = self.channel_ids.lock().get(channel) {
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
                        "no channel.channel record with this code: create it in Odoo (Channels → Channels) to see its sync runs there"
                    );
                }
                self.channel_ids.lock().insert(channel.to_owned(), id);
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
            let daemon_ref = format!("q{}", q.daemon_id);
            // Search first: the mirror is idempotent on (channel, daemon_ref).
            let existing = self
                .odoo
                .search(
                    model::QUARANTINE,
                    &Domain::leaf("channel_id", "=", channel_id).and(Domain::leaf(
                        "daemon_ref",
                        "=",
                        daemon_ref.as_str(),
                    )),
                    &SearchOpts::default().limit(1),
                )
                .await?;
            if let Some(id) = existing.first() {
                return Ok((model::QUARANTINE.into(), *id));
            }
            let mut v = Map::new();
            v.insert("channel_id".into(), json!(channel_id));
            v.insert("kind".into(), json!(q.kind));
            v.insert("external_ref".into(), json!(q.external_ref));
            v.insert("reason".into(), json!(q.reason));
            v.insert("payload".into(), json!(truncate(q.payload, 100_000)));
            v.insert("daemon_ref".into(), json!(daemon_ref));
            if let Some((model, id)) = q.record {
                v.insert("res_model".into(), json!(model));
                v.insert("res_id".into(), json!(id));
            }
            let id = self.odoo.create(model::QUARANTINE, v, None).await?;
            return Ok((model::QUARANTINE.into(), id));
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
        if let Err(e) = self
            .odoo
            .message_post(model, id, &html_escape(text), MessageKind::Note)
            .await
        {
            tracing::warn!(model, id, error = %e, "could not post a note in Odoo");
        }
    }
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
    fn notes_are_escaped_html() {
        assert_eq!(
            html_escape("a <b> & \"c\"\nd"),
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br/>d</p>"
        );
    }
}
