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
    /// The sync engine, once `run_sync` has started it (webhooks wait for it).
    pub engine: Arc<tokio::sync::OnceCell<Arc<crate::sync::Engine>>>,
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

/// The webhook sink the server hands `POST /webhooks/{channel}` to: verified by the channel's
/// connector, deduplicated, turned into wake-ups of the channel's jobs.
pub fn webhook_sink(ctx: &DaemonContext) -> Result<Arc<dyn WebhookSink>, SeamError> {
    Ok(Arc::new(crate::sync::webhooks::ChannelWebhooks::new(
        ctx.engine.clone(),
    )))
}

/// Readiness component of the sync jobs.
const SYNC: &str = "sync";

/// The sync jobs for every enabled channel; runs until `shutdown` resolves.
///
/// Odoo may be down when the daemon starts, or a key expired: the engine is retried every
/// 30 s meanwhile (readiness says why), never a crash loop. A channel that cannot be built
/// (missing secret, unknown kind) is reported and left out; the others run.
pub async fn run_sync(
    ctx: DaemonContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SeamError> {
    let registry = crate::sync::channels::registry();
    let mut handles = Vec::new();
    let mut problems = Vec::new();
    for ch in ctx.config.enabled_channels() {
        match crate::sync::channels::build(ch, &registry) {
            Ok(h) => handles.push(h),
            Err(e) => {
                tracing::error!(channel = %ch.id, error = %e, "channel left out");
                problems.push(format!("channel {}: {e}", ch.id));
            }
        }
    }
    let events = crate::sync::EventBus::new();
    // Shared: awaited while retrying here, then handed whole to the engine.
    let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
    let engine = loop {
        let attempt = async {
            let settings = ctx
                .config
                .odoo
                .client_settings()
                .map_err(|e| e.to_string())?;
            let odoo = crate::odoo::OdooClient::connect(settings.clone())
                .await
                .map_err(|e| crate::odoo::diagnostics::connect_problem(&settings, &e).message)?;
            crate::sync::Engine::start(
                &ctx.config,
                ctx.store.clone(),
                odoo,
                handles.clone(),
                events.clone(),
            )
            .await
            .map_err(|e| e.to_string())
        };
        match attempt.await {
            Ok(engine) => break engine,
            Err(e) => {
                tracing::warn!(error = %e, "sync engine cannot start yet; retrying in 30 s");
                ctx.readiness.set_failed(SYNC, format!("not started: {e}"));
                tokio::select! {
                    _ = shutdown.clone() => return Ok(()),
                    _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                }
            }
        }
    };
    let _ = ctx.engine.set(engine.clone());
    if problems.is_empty() {
        ctx.readiness.set_ok(SYNC);
    } else {
        ctx.readiness.set_failed(SYNC, problems.join("; "));
    }
    tracing::info!(channels = engine.channels.len(), "sync jobs running");
    engine.run(shutdown).await;
    Ok(())
}

/// Extra checks for `check` beyond configuration, store and Odoo: each enabled channel's
/// connector can be built (kind compiled in, secrets resolve, connection table valid).
pub async fn deep_checks(
    ctx: &DaemonContext,
) -> Result<Vec<(String, Result<(), String>)>, SeamError> {
    let registry = crate::sync::channels::registry();
    Ok(ctx
        .config
        .channels
        .iter()
        .filter(|c| c.enabled)
        .map(|c| {
            (
                format!("channel {} ({})", c.id, c.kind),
                crate::sync::channels::build(c, &registry).map(|_| ()),
            )
        })
        .collect())
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
/// `args.channel_port` until `shutdown`, printing their URLs and a ready-to-use configuration.
pub async fn run_sandbox(
    args: &SandboxArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SeamError> {
    let version = odoo_wire::OdooVersion::parse(&args.odoo_version)
        .ok_or_else(|| anyhow::anyhow!("bad Odoo version {}", args.odoo_version))?;
    let emb = crate::embedded::Embedded::start(&crate::embedded::EmbeddedOptions {
        odoo_version: version,
        products: args.catalog as usize,
        odoo_port: args.odoo_port,
        channel_port: args.channel_port,
        daemon_listen: Some(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            args.daemon_port,
        ))),
        ..Default::default()
    })
    .await
    .map_err(anyhow::Error::from)?;
    println!(
        "Odoo {version} sandbox   {}  database {:?}, login {:?}, password {:?}, API key {}",
        emb.odoo.url(),
        emb.odoo.database(),
        emb.odoo.login(),
        emb.odoo.password(),
        emb.odoo.api_key()
    );
    println!(
        "sandbox marketplace    {}  token {}, webhook secret {} (control API under /_sandbox/)",
        emb.market.url(),
        emb.market.token(),
        emb.market.webhook_secret()
    );
    println!("\n# a configuration for the daemon against them:\n");
    println!("{}", emb.config_toml("sqlite://./odoo-channels-sandbox.db"));
    println!("# serving until Ctrl-C");
    shutdown.await;
    emb.shutdown().await;
    Ok(())
}
