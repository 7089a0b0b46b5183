//! Honouring what a person decided about a quarantined record.
//!
//! A record the daemon could not process is held in the store's quarantine and shown in Odoo
//! (see [`super::odoo_log`]). A person then decides:
//!
//! * **With the `channel_sync` addon**, in Odoo: *Release* or *Discard* on the
//!   `channel.quarantine` record. [`honour`] runs on a schedule, reads the decisions the
//!   daemon has not acted on yet (`state in (released, discarded)`, `resolved = False`), and
//!   * released: puts the held record back through its job — for an order, its staged inbox
//!     row goes back to `new` ([`Store::release_quarantine`]) and the order job imports it
//!     (searching Odoo first, so never twice) — and calls `mark_resolved` with what became of
//!     it (*imported as S00042*) once the job processed it. If it fails again, the mirror
//!     puts the same Odoo record on hold again with the new reason ([`super::odoo_log`]);
//!   * discarded: closes it in the store (the inbox row stays closed) and calls
//!     `mark_resolved`.
//!
//!   Older held versions of the same record (same channel, kind and external reference: a
//!   marketplace that sent the order again with changes) follow the decision as superseded,
//!   so one decision in Odoo settles the record.
//! * **Without the addon**, from the command line: `odoo-channels quarantine list`,
//!   `quarantine release <id>`, `quarantine discard <id>` ([`release`], [`discard`]) act on
//!   the store directly, and the next order round imports what was released.
//!
//! Every step is idempotent: the store's transitions happen once (`held` → `released` /
//! `discarded`), `mark_resolved` and the addon's decisions are idempotent, and an interrupted
//! round is completed by the next one.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::odoo_log::{OdooLog, model};
use crate::odoo::{CallKind, Domain, OdooClient, OdooError, Record, SearchOpts};
use crate::store::{InboxState, QuarantineState, Released, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionReport {
    /// Decisions read from Odoo that the daemon had not acted on.
    pub pending: usize,
    /// Records put back through their job (per channel, to wake its order task).
    pub requeued: HashMap<String, usize>,
    pub discarded: usize,
    /// `mark_resolved` calls made.
    pub resolved: usize,
    /// Released records still waiting for their job to process them.
    pub waiting: usize,
    pub errors: Vec<String>,
}

/// One decision read from Odoo.
#[derive(Debug, Clone)]
struct Decision {
    odoo_id: i64,
    channel: String,
    daemon_ref: Option<String>,
    state: String,
}

/// The daemon's quarantine id in a `daemon_ref` (`q42` → 42).
pub fn parse_daemon_ref(r: &str) -> Option<i64> {
    r.strip_prefix('q')?.parse().ok().filter(|&i| i > 0)
}

/// Read the decisions taken in Odoo for `channels` and act on them (addon installed only).
pub async fn honour(
    odoo: &OdooClient,
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
    channels: &[ChannelHandle],
) -> Result<DecisionReport, QuarantineError> {
    let mut report = DecisionReport::default();
    if !log.addon() {
        return Ok(report);
    }
    let mut code_of: HashMap<i64, String> = HashMap::new();
    for ch in channels {
        if let Some(id) = log.channel_record(&ch.config.id).await {
            code_of.insert(id, ch.config.id.clone());
        }
    }
    if code_of.is_empty() {
        return Ok(report);
    }
    let ids: Vec<i64> = code_of.keys().copied().collect();
    let rows = odoo
        .search_read_all(
            model::QUARANTINE,
            &Domain::leaf("channel_id", "in", ids)
                .and(Domain::leaf("state", "in", vec!["released", "discarded"]))
                .and(Domain::leaf("resolved", "=", false)),
            &["channel_id", "daemon_ref", "state"],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let mut decisions = Vec::with_capacity(rows.len());
    for row in &rows {
        let rec = Record::new(model::QUARANTINE, row).map_err(OdooError::Decode)?;
        let Some(channel) = rec
            .m2o("channel_id")
            .map_err(OdooError::Decode)?
            .and_then(|c| code_of.get(&c.id).cloned())
        else {
            continue;
        };
        decisions.push(Decision {
            odoo_id: rec.id().map_err(OdooError::Decode)?,
            channel,
            daemon_ref: rec.string("daemon_ref").map_err(OdooError::Decode)?,
            state: rec
                .string("state")
                .map_err(OdooError::Decode)?
                .unwrap_or_default(),
        });
    }
    report.pending = decisions.len();
    for d in decisions {
        if let Err(e) = act(odoo, store, events, &d, &mut report).await {
            report
                .errors
                .push(format!("quarantine {} ({}): {e}", d.odoo_id, d.channel));
        }
    }
    Ok(report)
}

async fn act(
    odoo: &OdooClient,
    store: &Store,
    events: &EventBus,
    d: &Decision,
    report: &mut DecisionReport,
) -> Result<(), QuarantineError> {
    let item = match d.daemon_ref.as_deref().and_then(parse_daemon_ref) {
        Some(qid) => store.quarantine_item(qid).await?,
        None => None,
    };
    let Some(item) = item.filter(|i| i.channel == d.channel) else {
        // Not (or no longer) in this daemon's store: nothing to replay or close here.
        let note = "odoo-channels holds no such record (mirrored by another installation, or \
                    its state store was reset): nothing to do; if it comes again it is held again";
        mark_resolved(odoo, d.odoo_id, note).await?;
        report.resolved += 1;
        return Ok(());
    };
    match d.state.as_str() {
        "discarded" => {
            if item.state == QuarantineState::Held {
                store
                    .resolve_quarantine(item.id, QuarantineState::Discarded)
                    .await?;
                supersede(store, &item, QuarantineState::Discarded).await?;
                report.discarded += 1;
                events.emit(SyncEvent::QuarantineDecided {
                    channel: d.channel.clone(),
                    external_ref: item.external_ref.clone(),
                    decision: "discarded".into(),
                });
            }
            let note = match item.state {
                QuarantineState::Released => {
                    "discarded after the daemon had already released it: whatever it became stays in Odoo"
                }
                _ => "discarded: odoo-channels dropped it for good",
            };
            mark_resolved(odoo, d.odoo_id, note).await?;
            report.resolved += 1;
        }
        "released" => {
            if item.state == QuarantineState::Held {
                match store.release_quarantine(item.id).await? {
                    Released::Requeued { inbox_id } => {
                        supersede(store, &item, QuarantineState::Discarded).await?;
                        if inbox_id.is_some() {
                            *report.requeued.entry(d.channel.clone()).or_default() += 1;
                        }
                        events.emit(SyncEvent::QuarantineDecided {
                            channel: d.channel.clone(),
                            external_ref: item.external_ref.clone(),
                            decision: "released".into(),
                        });
                    }
                    Released::AlreadyDecided(_) | Released::NotFound => {}
                }
            }
            match store.inbox_for_quarantine(item.id).await? {
                Some(link) if link.state == InboxState::New => {
                    report.waiting += 1; // the order job has not run yet: next round
                }
                Some(link) if link.state == InboxState::Done => {
                    let note = match (item.kind.as_str(), link.odoo_id) {
                        ("order", Some(id)) => {
                            let name = order_name(odoo, id).await;
                            format!("released: imported as {name} (sale.order #{id})")
                        }
                        (_, Some(id)) => format!("released: processed (Odoo record #{id})"),
                        _ => "released: processed".to_owned(),
                    };
                    mark_resolved(odoo, d.odoo_id, &note).await?;
                    report.resolved += 1;
                }
                Some(_) => {
                    // Quarantined again: the mirror put the Odoo record back on hold.
                }
                None if item.kind == "order" => {
                    // Quarantined again under a newer entry (the inbox row points at it).
                    report.waiting += 1;
                }
                None => {
                    mark_resolved(
                        odoo,
                        d.odoo_id,
                        "released: the job retries it on its next run",
                    )
                    .await?;
                    report.resolved += 1;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Older held entries of the same record (same channel, kind, external reference) follow
/// the decision taken on the newest one.
async fn supersede(
    store: &Store,
    decided: &crate::store::QuarantineItem,
    to: QuarantineState,
) -> Result<(), StoreError> {
    if decided.external_ref.is_empty() {
        return Ok(());
    }
    for older in store
        .quarantined(Some(&decided.channel), QuarantineState::Held)
        .await?
    {
        if older.id != decided.id
            && older.kind == decided.kind
            && older.external_ref == decided.external_ref
        {
            store.resolve_quarantine(older.id, to).await?;
        }
    }
    Ok(())
}

async fn mark_resolved(odoo: &OdooClient, id: i64, note: &str) -> Result<(), OdooError> {
    let mut kw = Map::new();
    kw.insert("note".into(), json!(note));
    odoo.call(
        model::QUARANTINE,
        "mark_resolved",
        Some(&[id]),
        kw,
        None,
        CallKind::Write,
    )
    .await
    .map(drop)
}

async fn order_name(odoo: &OdooClient, id: i64) -> String {
    odoo.read("sale.order", &[id], &["name"], None)
        .await
        .ok()
        .and_then(|rows| {
            rows.first()
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("sale.order #{id}"))
}

// ------------------------------------------------------------------ without the addon (CLI)

/// What a release from the command line did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliOutcome {
    /// Released; the order job imports it on its next round.
    Requeued,
    /// Released; it did not come through the inbox, so its job retries on its own.
    Released,
    Discarded,
    AlreadyDecided(QuarantineState),
    NotFound,
}

/// Release a held record from the command line (no addon, or by an operator).
pub async fn release(store: &Store, id: i64) -> Result<CliOutcome, StoreError> {
    let Some(item) = store.quarantine_item(id).await? else {
        return Ok(CliOutcome::NotFound);
    };
    Ok(match store.release_quarantine(id).await? {
        Released::Requeued { inbox_id } => {
            supersede(store, &item, QuarantineState::Discarded).await?;
            if inbox_id.is_some() {
                CliOutcome::Requeued
            } else {
                CliOutcome::Released
            }
        }
        Released::AlreadyDecided(s) => CliOutcome::AlreadyDecided(s),
        Released::NotFound => CliOutcome::NotFound,
    })
}

/// Discard a held record from the command line.
pub async fn discard(store: &Store, id: i64) -> Result<CliOutcome, StoreError> {
    let Some(item) = store.quarantine_item(id).await? else {
        return Ok(CliOutcome::NotFound);
    };
    if item.state != QuarantineState::Held {
        return Ok(CliOutcome::AlreadyDecided(item.state));
    }
    store
        .resolve_quarantine(id, QuarantineState::Discarded)
        .await?;
    supersede(store, &item, QuarantineState::Discarded).await?;
    Ok(CliOutcome::Discarded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_refs() {
        assert_eq!(parse_daemon_ref("q42"), Some(42));
        assert_eq!(parse_daemon_ref("q-demo-1"), None);
        assert_eq!(parse_daemon_ref("42"), None);
        assert_eq!(parse_daemon_ref("q0"), None);
    }

    #[tokio::test]
    async fn cli_release_and_discard_act_once_and_settle_older_versions() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let store = Store::open(&url).await.unwrap();
        let stage = |payload: &'static str| {
            let store = store.clone();
            async move {
                match store.stage("shop", "order", "1001", payload).await.unwrap() {
                    crate::store::Staged::New(id) => id,
                    other => panic!("{other:?}"),
                }
            }
        };
        let old = stage(r#"{"v": 1}"#).await;
        let q_old = store
            .inbox_quarantine(old, "unknown SKU")
            .await
            .unwrap()
            .unwrap();
        let new = stage(r#"{"v": 2}"#).await;
        let q_new = store
            .inbox_quarantine(new, "unknown SKU")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(release(&store, q_new).await.unwrap(), CliOutcome::Requeued);
        assert_eq!(
            release(&store, q_new).await.unwrap(),
            CliOutcome::AlreadyDecided(QuarantineState::Released)
        );
        let queued = store.inbox_new("shop", "order", 10).await.unwrap();
        assert_eq!(
            queued.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![new],
            "only the newest version goes back"
        );
        assert_eq!(
            store.quarantine_item(q_old).await.unwrap().unwrap().state,
            QuarantineState::Discarded,
            "the older version is settled by the same decision"
        );
        assert_eq!(discard(&store, 999).await.unwrap(), CliOutcome::NotFound);
        let other = match store.stage("shop", "order", "1002", "{}").await.unwrap() {
            crate::store::Staged::New(id) => id,
            s => panic!("{s:?}"),
        };
        let q = store.inbox_quarantine(other, "bad").await.unwrap().unwrap();
        assert_eq!(discard(&store, q).await.unwrap(), CliOutcome::Discarded);
        assert_eq!(
            discard(&store, q).await.unwrap(),
            CliOutcome::AlreadyDecided(QuarantineState::Discarded)
        );
    }
}
