//! **Seams for the integrator.** Each function here is where a component that other work is
//! building right now (the Odoo client in `src/odoo`, the Odoo sandbox, the channel
//! connectors and the sync jobs) plugs into the command-line runtime. Everything around them
//! (configuration, logging, store, server, signals, systemd) is done; each body below returns
//! [`SeamError::NotWired`] until the integrator fills it, and the runtime already handles
//! that answer honestly (readiness shows it, `check` reports it, `demo` fails with it).

use std::future::Future;
use std::sync::Arc;

use crate::config::Config;
use crate::server::WebhookSink;
use crate::store::Store;

use super::{DemoArgs, SandboxArgs};

/// What a seam can answer.
#[derive(Debug, thiserror::Error)]
pub enum SeamError {
    /// The component is not plugged in yet.
    #[error("not wired yet: {0}")]
    NotWired(&'static str),
    /// Odoo is unreachable or refused the credentials (exit code 4).
    #[error("Odoo: {0}")]
    Odoo(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What the daemon's components share at run time.
#[derive(Clone)]
pub struct DaemonContext {
    pub config: Arc<Config>,
    pub store: Store,
    pub readiness: Arc<crate::server::Readiness>,
}

/// A one-line description of the Odoo server when reachable and the credentials work
/// (e.g. "Odoo 19.0 at https://…, database prod, uid 7, JSON-2").
///
/// The secret is resolved here, at call time, so a rotated key needs no restart.
pub async fn probe_odoo(config: &Config) -> Result<String, SeamError> {
    let settings = config
        .odoo
        .client_settings()
        .map_err(|e| SeamError::Odoo(e.to_string()))?;
    match crate::odoo::OdooClient::connect(settings.clone()).await {
        Ok(c) => Ok(format!(
            "Odoo {} at {}, database {}, uid {}, {}",
            c.server_version(),
            c.url(),
            c.database(),
            c.uid(),
            c.protocol()
        )),
        Err(e) => Err(SeamError::Odoo(
            crate::odoo::diagnostics::connect_problem(&settings, &e).message,
        )),
    }
}

/// The webhook sink the server hands `POST /webhooks/{channel}` to.
///
/// INTEGRATOR: a sink over the configured channels: find the channel by id, verify with its
/// connector's `verify_webhook`, stage the raw payload with `Store::stage`, wake the
/// channel's job, answer 2xx.
pub fn webhook_sink(_ctx: &DaemonContext) -> Result<Arc<dyn WebhookSink>, SeamError> {
    Err(SeamError::NotWired("channel connectors: webhook_sink"))
}

/// The sync jobs (stock push, order import, …) for every enabled channel; runs until
/// `shutdown` resolves. Call `heartbeat.beat()` from the jobs' scheduler loop if it should
/// count for the systemd watchdog (the runtime's own loop beats too).
///
/// INTEGRATOR: construct the connectors from `ctx.config.channels[*].connection`, the Odoo
/// client, and run `src/sync` with `ctx.store`.
pub async fn run_sync(
    _ctx: DaemonContext,
    _shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SeamError> {
    Err(SeamError::NotWired(
        "sync jobs (src/sync) and connectors: run_sync",
    ))
}

/// Extra checks for `check` beyond configuration, store and Odoo reachability: the Odoo
/// addon's models and fields, warehouses named in the config, each channel's credentials.
/// Returns `(what, Ok | Err(problem))` lines.
///
/// INTEGRATOR: fill with the Odoo client (fields_get on the addon models, warehouse codes)
/// and each connector's own credential check.
pub async fn deep_checks(
    _ctx: &DaemonContext,
) -> Result<Vec<(String, Result<(), String>)>, SeamError> {
    Err(SeamError::NotWired(
        "addon, warehouse and channel credential checks: deep_checks",
    ))
}

/// `demo`: start the embedded Odoo sandbox and sandbox marketplaces, run the main job
/// against them, print what happened.
///
/// INTEGRATOR: `odoo-sandbox` + `channel-sandbox` seeded with `args.catalog` products on
/// `args.odoo_version`, a temporary store, then the sync jobs once.
pub async fn run_demo(args: &DemoArgs) -> Result<(), SeamError> {
    super::demo::run(args).await
}

/// `sandbox`: serve the Odoo sandbox on `args.odoo_port` and a sandbox marketplace on
/// `args.channel_port` until `shutdown`.
///
/// INTEGRATOR: start `odoo-sandbox` and `channel-sandbox` servers.
pub async fn run_sandbox(
    _args: &SandboxArgs,
    _shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SeamError> {
    Err(SeamError::NotWired(
        "Odoo sandbox and sandbox marketplace: run_sandbox",
    ))
}
