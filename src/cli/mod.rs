//! The command line: `run`, `check`, `demo`, `sandbox`, `version`, `config validate`.
//!
//! Every command ends with an exit code from [`exit::Exit`] (the table is in `--help`).
//! Components other work is building (Odoo client, sandboxes, connectors, sync jobs) are
//! reached through [`seams`], the integrator's checklist.

pub mod allocate;
mod check;
mod demo;
pub mod exit;
pub mod notify;
pub mod queue;
mod run;
pub mod seams;
pub mod simulate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigErrors, DEFAULT_CONFIG_PATH, LogFormat};
use exit::{CliError, Exit, ExitWith};

const LONG_ABOUT: &str = "odoo-channels runs beside Odoo and makes it the hub of a multichannel \
shop: stock and prices out to every marketplace at each one's pace, orders in exactly once, \
settlements into accounting. It is configured by one TOML file (see config.example.toml) and \
runs as a systemd service (see systemd/odoo-channels.service).";

#[derive(Debug, Parser)]
#[command(
    name = "odoo-channels",
    version,
    about = "Make Odoo the hub of a multichannel shop",
    long_about = LONG_ABOUT,
    after_long_help = exit::help_text(),
)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "ODOO_CHANNELS_CONFIG",
        default_value = DEFAULT_CONFIG_PATH,
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Log format (overrides [log] format).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// More logs (-v debug, -vv trace); overrides [log] level and $RUST_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Fewer logs (-q warnings, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Auto,
    Journald,
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(a: LogFormatArg) -> Self {
        match a {
            LogFormatArg::Auto => LogFormat::Auto,
            LogFormatArg::Journald => LogFormat::Journald,
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (what the systemd unit starts).
    Run,
    /// Check configuration, state store, Odoo and channels, then exit (5 if problems).
    Check,
    /// Run the main job on embedded sandboxes (no Odoo or marketplace needed).
    Demo(DemoArgs),
    /// Serve the Odoo sandbox and a sandbox marketplace for manual testing.
    Sandbox(SandboxArgs),
    /// Print version, build and supported Odoo versions.
    Version,
    /// Compare stock policies on a simulated or real order stream (no Odoo needed).
    Simulate(simulate::SimulateArgs),
    /// Show what each channel would be offered now and why (--dry-run), from the live Odoo.
    Allocate(allocate::AllocateArgs),
    /// List open deliveries of channel orders by ship-by deadline, flagging those at risk.
    Queue(queue::QueueArgs),
    /// Work with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the file; print every problem (exit 3 if any).
    Validate,
}

/// Odoo versions the sandbox can impersonate.
const ODOO_VERSIONS: [&str; 4] = ["16", "17", "18", "19"];

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Odoo version the embedded sandbox behaves as.
    #[arg(long, default_value = "19", value_parser = ODOO_VERSIONS)]
    pub odoo_version: String,
    /// Number of products in the generated catalog.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub catalog: u32,
    /// How long buyers keep ordering.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub seconds: u64,
    /// Time between two marketplace orders.
    #[arg(long, default_value_t = 400, value_name = "MS")]
    pub order_interval_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Port of the Odoo sandbox (on 127.0.0.1).
    #[arg(long, default_value_t = 8069)]
    pub odoo_port: u16,
    /// Port of the sandbox marketplace (on 127.0.0.1).
    #[arg(long, default_value_t = 8070)]
    pub channel_port: u16,
    /// Port the daemon will listen on (the printed configuration uses it, and the
    /// marketplace delivers its webhooks there).
    #[arg(long, default_value_t = 8787)]
    pub daemon_port: u16,
    /// Odoo version the sandbox behaves as.
    #[arg(long, default_value = "19", value_parser = ODOO_VERSIONS)]
    pub odoo_version: String,
    /// Number of products in the generated catalog.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub catalog: u32,
}

impl Cli {
    fn verbosity(&self) -> i8 {
        self.verbose as i8 - self.quiet as i8
    }
}

/// The process entry point: parse, run, return the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    {
                        Exit::Usage.code()
                    } else {
                        Exit::Ok.code()
                    }
                }
                _ => Exit::Usage.code(),
            };
        }
    };
    match dispatch(cli) {
        Ok(()) => Exit::Ok.code(),
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("odoo-channels: {e}");
            e.exit.code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Version => {
            print!("{}", version_text());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Validate,
        } => config_validate(&cli),
        Command::Run => {
            let config = load_config(&cli)?;
            init_logging(&cli, Some(&config))?;
            runtime()?.block_on(run::run(config))
        }
        Command::Check => {
            let config = load_config(&cli)?;
            init_logging(&cli, Some(&config))?;
            runtime()?.block_on(check::check(config))
        }
        Command::Demo(args) => {
            init_logging_at(&cli, None, "error")?;
            runtime()?
                .block_on(seams::run_demo(args))
                .map_err(seam_error)
        }
        Command::Simulate(args) => simulate::run(&cli.config, args),
        Command::Allocate(args) => {
            let config = load_config(&cli)?;
            init_logging_at(&cli, Some(&config), "warn")?;
            runtime()?.block_on(allocate::run(config, args))
        }
        Command::Queue(args) => {
            let config = load_config(&cli)?;
            init_logging_at(&cli, Some(&config), "warn")?;
            runtime()?.block_on(queue::run(config, args))
        }
        Command::Sandbox(args) => {
            init_logging(&cli, None)?;
            let args = args.clone();
            runtime()?.block_on(async move {
                seams::run_sandbox(&args, run::shutdown_signal())
                    .await
                    .map_err(seam_error)
            })
        }
    }
}

fn seam_error(e: seams::SeamError) -> CliError {
    match e {
        seams::SeamError::Odoo(_) => CliError::new(Exit::Odoo, e),
        _ => CliError::new(Exit::Failure, e),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("odoo-channels")
        .build()
        .exit_with(Exit::Failure)
}

/// `version`: crate version, build hash when the packager set it, supported Odoo versions.
pub fn version_text() -> String {
    let mut s = format!("odoo-channels {}", env!("CARGO_PKG_VERSION"));
    if let Some(hash) = option_env!("ODOO_CHANNELS_GIT_HASH") {
        s.push_str(&format!(" ({hash})"));
    }
    s.push('\n');
    let versions: Vec<String> = odoo_wire::versions::OdooVersion::SUPPORTED
        .iter()
        .map(|v| v.to_string())
        .collect();
    s.push_str(&format!(
        "supported Odoo versions: {}\n",
        versions.join(", ")
    ));
    s.push_str("Odoo protocols: JSON-2 (19+), JSON-RPC, XML-RPC\n");
    s.push_str("state stores: SQLite, PostgreSQL\n");
    s
}

fn print_config_errors(e: &ConfigErrors) {
    eprintln!("{e}");
}

fn print_warnings(config: &Config) {
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
}

fn load_config(cli: &Cli) -> Result<Config, CliError> {
    Config::load(&cli.config).map_err(|e| {
        print_config_errors(&e);
        CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "invalid configuration ({} problem{})",
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            ),
        )
    })
}

fn init_logging(cli: &Cli, config: Option<&Config>) -> Result<(), CliError> {
    init_logging_at(cli, config, "info")
}

/// `default_level` applies without a config file: `demo` prints its own live view, so its
/// logs default to errors only.
fn init_logging_at(
    cli: &Cli,
    config: Option<&Config>,
    default_level: &str,
) -> Result<(), CliError> {
    let format = cli
        .log_format
        .map(LogFormat::from)
        .or(config.map(|c| c.log.format))
        .unwrap_or(LogFormat::Auto);
    let level = config
        .map(|c| c.log.level.as_str())
        .unwrap_or(default_level);
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = crate::telemetry::effective_filter(level, rust_log.as_deref(), cli.verbosity());
    crate::telemetry::init_logging(format, &filter).exit_with(Exit::Failure)?;
    if let Some(c) = config {
        for w in &c.warnings {
            tracing::warn!(key = %w.key, line = ?w.line, "configuration: {}", w.message);
        }
    }
    Ok(())
}

fn config_validate(cli: &Cli) -> Result<(), CliError> {
    let config = load_config(cli)?;
    print_warnings(&config);
    let enabled = config.enabled_channels().len();
    println!(
        "{}: ok ({} channel{}, {} enabled; store {}; Odoo {})",
        cli.config.display(),
        config.channels.len(),
        if config.channels.len() == 1 { "" } else { "s" },
        enabled,
        crate::config::redact_url(&config.store.url),
        config.odoo.url,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_commands_and_globals() {
        let cli = Cli::try_parse_from([
            "odoo-channels",
            "sandbox",
            "--odoo-port",
            "9069",
            "--odoo-version",
            "17",
            "--catalog",
            "50",
            "--config",
            "/tmp/x.toml",
            "-vv",
        ])
        .unwrap();
        assert_eq!(cli.config, PathBuf::from("/tmp/x.toml"));
        assert_eq!(cli.verbosity(), 2);
        let Command::Sandbox(a) = cli.command else {
            panic!()
        };
        assert_eq!(
            (
                a.odoo_port,
                a.channel_port,
                a.odoo_version.as_str(),
                a.catalog
            ),
            (9069, 8070, "17", 50)
        );

        let cli = Cli::try_parse_from(["odoo-channels", "-q", "config", "validate"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Config {
                command: ConfigCommand::Validate
            }
        ));
        assert_eq!(cli.verbosity(), -1);

        let cli = Cli::try_parse_from(["odoo-channels", "run", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, Some(LogFormatArg::Json));

        assert!(Cli::try_parse_from(["odoo-channels", "sandbox", "--odoo-version", "15"]).is_err());
        assert!(Cli::try_parse_from(["odoo-channels", "run", "-v", "-q"]).is_err());
        assert!(Cli::try_parse_from(["odoo-channels"]).is_err());
    }

    #[test]
    fn long_help_lists_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(
            help.contains("3  configuration missing or invalid"),
            "{help}"
        );
    }

    /// The unit keeps the directives the daemon relies on (notify, watchdog, credentials,
    /// state directory) and its hardening.
    #[test]
    fn systemd_unit_has_required_directives() {
        let unit = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/systemd/odoo-channels.service"
        ))
        .unwrap();
        let lines: Vec<&str> = unit.lines().map(str::trim).collect();
        for d in [
            "Type=notify",
            "NotifyAccess=main",
            "WatchdogSec=30",
            "Restart=on-failure",
            "RestartSec=5",
            "ExecStart=/usr/bin/odoo-channels run --config /etc/odoo-channels/config.toml",
            "LoadCredential=odoo_api_key:/etc/odoo-channels/credentials/odoo_api_key",
            "DynamicUser=yes",
            "StateDirectory=odoo-channels",
            "ConfigurationDirectory=odoo-channels",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "NoNewPrivileges=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "RestrictNamespaces=yes",
            "LockPersonality=yes",
            "MemoryDenyWriteExecute=yes",
            "SystemCallFilter=@system-service",
            "SystemCallArchitectures=native",
            "CapabilityBoundingSet=",
            "UMask=0077",
        ] {
            assert!(lines.contains(&d), "missing `{d}` in the unit");
        }
        // the example config references the credential the unit loads
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
                .unwrap();
        assert!(example.contains("api_key = { credential = \"odoo_api_key\" }"));
    }

    #[test]
    fn version_lists_supported_odoo() {
        let v = version_text();
        assert!(v.starts_with(&format!("odoo-channels {}", env!("CARGO_PKG_VERSION"))));
        assert!(v.contains("16.0, 17.0, 18.0, 19.0"), "{v}");
    }
}
