//! `run`: the daemon's runtime around its components.
//!
//! Order of events: open the store (exit 6 if it cannot), bind the HTTP listener (exit 1),
//! start the server, tell systemd `READY=1`, start the watchdog and the sync jobs, then loop:
//! beat the heartbeat, re-check the store and Odoo for `/readyz`, report `STATUS=`. On
//! SIGTERM/SIGINT: `STOPPING=1`, stop the jobs, drain the server, close the store, exit 0.
//!
//! Odoo being down (or an expired API key) never stops the daemon: it shows in `/readyz`, in
//! `STATUS=` and in the logs, and is re-checked on the next round (no crash loop).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::exit::{CliError, Exit, ExitWith};
use super::notify::{Heartbeat, Notifier};
use super::seams::{self, DaemonContext, SeamError};
use crate::config::{Config, redact_url};
use crate::server::{self, AppState, NoWebhooks, Readiness};
use crate::store::Store;

/// How often the main loop beats and re-checks the store.
const TICK: Duration = Duration::from_secs(5);
/// How often Odoo reachability is re-probed.
const ODOO_PROBE_EVERY: Duration = Duration::from_secs(30);
/// Readiness component for the sync jobs.
const SYNC: &str = "sync";

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGTERM: {e}");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
}

/// A shutdown broadcast: `wait()` futures for each component.
#[derive(Clone)]
struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

pub async fn run(config: Config) -> Result<(), CliError> {
    let notifier = Notifier::from_env();
    let config = Arc::new(config);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = ?config.source,
        channels = config.channels.len(),
        "starting"
    );
    notifier.status("opening the state store");

    let metrics = crate::telemetry::install_metrics().exit_with(Exit::Failure)?;
    let store = Store::open_with(&config.store.url, &(&config.store).into())
        .await
        .map_err(|e| CliError::new(Exit::Store, e))?;
    tracing::info!(store = %redact_url(&config.store.url), backend = ?store.backend(), "state store open");

    let readiness = Readiness::new(&[server::ODOO, server::STORE, SYNC]);
    let ctx = DaemonContext {
        config: config.clone(),
        store: store.clone(),
        readiness: readiness.clone(),
        engine: Default::default(),
    };
    let webhooks: Arc<dyn server::WebhookSink> = match seams::webhook_sink(&ctx) {
        Ok(sink) => sink,
        Err(e) => {
            tracing::warn!("webhooks refused until wired: {e}");
            Arc::new(NoWebhooks)
        }
    };

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| {
            CliError::new(
                Exit::Failure,
                anyhow::anyhow!("cannot listen on {}: {e}", config.server.listen),
            )
        })?;
    let bound = listener.local_addr().exit_with(Exit::Failure)?;
    tracing::info!(%bound, "HTTP server listening (webhooks, /healthz, /readyz, /metrics)");

    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown = Shutdown(stop_rx);
    let router = server::router(
        AppState {
            readiness: readiness.clone(),
            metrics,
            webhooks,
        },
        &config.server,
    );
    let server_task = tokio::spawn(server::serve(
        listener,
        router,
        shutdown.wait(),
        Duration::from_secs(10),
    ));

    // First checks before READY, so /readyz is meaningful at once.
    let heartbeat = Heartbeat::new();
    heartbeat.beat();
    check_store(&store, &readiness).await;
    probe_odoo(&config, &readiness).await;

    metrics::gauge!("odoo_channels_up").set(1.0);
    notifier.ready();
    let watchdog = notifier.spawn_watchdog(heartbeat.clone());
    if let Some(period) = notifier.watchdog_period() {
        tracing::info!(?period, "systemd watchdog enabled");
    }

    let mut sync_task = tokio::spawn(seams::run_sync(ctx.clone(), shutdown.wait()));
    let mut sync_running = true;
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_probe = tokio::time::Instant::now();
    let mut result: Result<(), CliError> = Ok(());

    loop {
        tokio::select! {
            _ = &mut signal => break,
            _ = tick.tick() => {
                heartbeat.beat();
                check_store(&store, &readiness).await;
                if last_probe.elapsed() >= ODOO_PROBE_EVERY {
                    last_probe = tokio::time::Instant::now();
                    probe_odoo(&config, &readiness).await;
                }
                let ready = readiness.is_ready();
                metrics::gauge!("odoo_channels_ready").set(if ready { 1.0 } else { 0.0 });
                notifier.status(&status_line(&readiness));
            }
            r = &mut sync_task, if sync_running => {
                sync_running = false;
                match r {
                    Ok(Ok(())) => {
                        tracing::info!("sync jobs ended");
                        readiness.set_failed(SYNC, "sync jobs ended");
                    }
                    Ok(Err(SeamError::NotWired(what))) => {
                        tracing::error!("sync jobs not wired yet ({what}); serving health and metrics only");
                        readiness.set_failed(SYNC, format!("not wired yet: {what}"));
                    }
                    Ok(Err(e)) => {
                        tracing::error!("sync jobs failed: {e}");
                        result = Err(CliError::new(Exit::Failure, anyhow::anyhow!("sync jobs failed: {e}")));
                        break;
                    }
                    Err(join) => {
                        tracing::error!("sync jobs panicked: {join}");
                        result = Err(CliError::new(Exit::Failure, anyhow::anyhow!("sync jobs panicked: {join}")));
                        break;
                    }
                }
            }
        }
    }

    notifier.stopping();
    notifier.status("stopping");
    let _ = stop_tx.send(true);
    if let Some(w) = watchdog {
        w.abort();
    }
    if sync_running
        && tokio::time::timeout(Duration::from_secs(20), &mut sync_task)
            .await
            .is_err()
    {
        tracing::warn!("sync jobs did not stop within 20s; abandoning them");
        sync_task.abort();
    }
    match tokio::time::timeout(Duration::from_secs(15), server_task).await {
        Ok(Ok(Err(e))) => tracing::warn!("HTTP server ended with an error: {e}"),
        Err(_) => tracing::warn!("HTTP server did not stop in time"),
        _ => {}
    }
    store.close().await;
    metrics::gauge!("odoo_channels_up").set(0.0);
    tracing::info!("stopped");
    result
}

async fn check_store(store: &Store, readiness: &Readiness) {
    match tokio::time::timeout(Duration::from_secs(10), store.check_writable()).await {
        Ok(Ok(())) => readiness.set_ok(server::STORE),
        Ok(Err(e)) => {
            tracing::warn!("state store not writable: {e}");
            readiness.set_failed(server::STORE, e.to_string());
        }
        Err(_) => readiness.set_failed(server::STORE, "write timed out after 10s"),
    }
}

async fn probe_odoo(config: &Config, readiness: &Readiness) {
    let limit = config.odoo.timeout + Duration::from_secs(5);
    match tokio::time::timeout(limit, seams::probe_odoo(config)).await {
        Ok(Ok(desc)) => {
            tracing::debug!("Odoo reachable: {desc}");
            readiness.set_ok(server::ODOO);
        }
        Ok(Err(e)) => {
            tracing::warn!("Odoo not usable: {e}");
            readiness.set_failed(server::ODOO, e.to_string());
        }
        Err(_) => readiness.set_failed(server::ODOO, format!("no answer within {limit:?}")),
    }
}

fn status_line(readiness: &Readiness) -> String {
    let snapshot = readiness.snapshot();
    let failing: Vec<String> = snapshot
        .iter()
        .filter_map(|(k, r)| r.as_ref().err().map(|e| format!("{k}: {e}")))
        .collect();
    if failing.is_empty() {
        "ready".into()
    } else {
        format!("not ready: {}", failing.join("; "))
    }
}
