//! Logs and metrics, set up once per process.
//!
//! Logs go to journald under systemd (structured fields survive, `journalctl -o verbose`
//! shows them), readable text on a terminal, JSON lines on request. Secrets never reach a log:
//! they are `SecretString`/`SecretRef`, whose `Debug`/`Display` are redacted, and store URLs
//! are logged through `config::redact_url`.

use std::io::IsTerminal;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The format `auto` resolves to in this environment: journald when systemd connected our
/// output to the journal (`$JOURNAL_STREAM`), else text.
pub fn resolve_format(format: LogFormat, journal_stream: bool) -> LogFormat {
    match format {
        LogFormat::Auto if journal_stream => LogFormat::Journald,
        LogFormat::Auto => LogFormat::Text,
        other => other,
    }
}

/// The filter in force: `-v`/`-q` (verbosity > 0 / < 0) win, then `$RUST_LOG`, then the
/// configured level.
pub fn effective_filter(configured: &str, rust_log: Option<&str>, verbosity: i8) -> String {
    match verbosity {
        v if v >= 2 => "trace".into(),
        1 => "debug".into(),
        -1 => "warn".into(),
        v if v <= -2 => "error".into(),
        _ => rust_log
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(configured)
            .to_owned(),
    }
}

/// Install the global subscriber. Errors if one is already installed or journald is asked
/// for and unreachable (then `auto` falls back to text with a warning instead).
pub fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<LogFormat> {
    let filter = EnvFilter::builder()
        .parse(filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter `{filter}`: {e}"))?;
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let resolved = resolve_format(format, journal);
    let registry = tracing_subscriber::registry().with(filter);
    match resolved {
        LogFormat::Journald => match tracing_journald::layer() {
            Ok(layer) => {
                registry
                    .with(layer.with_syslog_identifier("odoo-channels".into()))
                    .try_init()?;
            }
            Err(e) if format == LogFormat::Auto => {
                text_layer(registry)?;
                tracing::warn!("journald unreachable ({e}); logging text to stderr");
                return Ok(LogFormat::Text);
            }
            Err(e) => anyhow::bail!("cannot log to journald: {e}"),
        },
        LogFormat::Json => {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .with_current_span(true)
                        .with_writer(std::io::stderr),
                )
                .try_init()?;
        }
        LogFormat::Text | LogFormat::Auto => text_layer(registry)?,
    }
    Ok(resolved)
}

fn text_layer<S>(registry: S) -> anyhow::Result<()>
where
    S: tracing::Subscriber
        + for<'a> tracing_subscriber::registry::LookupSpan<'a>
        + Send
        + Sync
        + SubscriberInitExt,
{
    registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false),
        )
        .try_init()?;
    Ok(())
}

/// Install the Prometheus recorder (once per process); `/metrics` renders its handle.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    metrics::describe_counter!(
        "odoo_channels_webhooks_total",
        "Webhooks received, by channel and outcome"
    );
    metrics::describe_gauge!("odoo_channels_up", "1 while the daemon runs");
    metrics::describe_gauge!(
        "odoo_channels_ready",
        "1 when Odoo is reachable and the store writable"
    );
    Ok(HANDLE.get_or_init(|| handle).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_format_follows_journal_stream() {
        assert_eq!(resolve_format(LogFormat::Auto, true), LogFormat::Journald);
        assert_eq!(resolve_format(LogFormat::Auto, false), LogFormat::Text);
        assert_eq!(resolve_format(LogFormat::Json, true), LogFormat::Json);
        assert_eq!(resolve_format(LogFormat::Text, true), LogFormat::Text);
    }

    #[test]
    fn filter_precedence() {
        assert_eq!(effective_filter("info", None, 0), "info");
        assert_eq!(
            effective_filter("info", Some("sqlx=debug"), 0),
            "sqlx=debug"
        );
        assert_eq!(effective_filter("info", Some("  "), 0), "info");
        assert_eq!(effective_filter("info", Some("sqlx=debug"), 1), "debug");
        assert_eq!(effective_filter("info", None, 3), "trace");
        assert_eq!(effective_filter("debug", None, -1), "warn");
        assert_eq!(effective_filter("debug", None, -2), "error");
    }
}
