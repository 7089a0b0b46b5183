//! `simulate`: the edge of [`crate::simulate`] — read the scenario, the daemon's configuration
//! and the CSV, run, print the report, write the chart. Everything else is pure and lives in
//! the library.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit::{CliError, Exit};
use crate::config::Config;
use crate::simulate::{self, Input, PolicySpec, Scenario, scenario::BUILTIN_TOML};

#[derive(Debug, Clone, Args)]
#[command(after_long_help = SIMULATE_HELP)]
pub struct SimulateArgs {
    /// Scenario file (TOML). Default: the built-in scenario (see --print-scenario). The global
    /// --config, given on the command line, also names the scenario.
    #[arg(long, value_name = "PATH")]
    pub scenario: Option<PathBuf>,
    /// Take the channels' rules and schedules from the daemon's configuration file, so that
    /// you tune your real settings (demand and propagation stay the scenario's).
    #[arg(long, value_name = "PATH")]
    pub from_config: Option<PathBuf>,
    /// Replay real orders from a CSV (header: timestamp,channel,sku,quantity) instead of
    /// generated demand. The window is the CSV's unless --days is given.
    #[arg(long, value_name = "CSV")]
    pub orders: Option<PathBuf>,
    /// Replay the good rows of a CSV that has bad ones (every bad row is still reported).
    #[arg(long, requires = "orders")]
    pub skip_bad_rows: bool,
    /// Days to simulate (overrides the scenario).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: Option<u32>,
    /// Random seed (overrides the scenario): same seed, same buyers, same report.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Policies to compare, comma-separated (default: everywhere, fixed_split, shared,
    /// strict and the scenario's variants).
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Write an SVG chart of the stock offered over time, one panel per policy.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
    /// The SKU the chart follows (default: the only SKU, or the sum over all).
    #[arg(long, value_name = "SKU")]
    pub sku: Option<String>,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Print the built-in scenario (a commented TOML to start your own from) and exit.
    #[arg(long, conflicts_with_all = ["scenario", "orders", "json", "svg"])]
    pub print_scenario: bool,
}

const SIMULATE_HELP: &str = "\
Replays buyers (generated, or a CSV of real orders) against stock policies side by side and
reports, per policy and channel: oversold units and orders, lost sales (the policy starved the
channel), stock-outs, idle stock and revenue; then recommends the policy with the fewest
oversold orders (ties: fewest lost sales).

Model: a buyer is accepted when the marketplace's displayed quantity covers the order; the
order reaches the daemon after the channel's order delay; Odoo's stock then drops (what it
cannot serve is oversold); the daemon recomputes offers and pushes them on each channel's
schedule; the marketplace shows a pushed quantity after its propagation delay.

Examples:
  odoo-channels simulate
  odoo-channels simulate --config examples/simulate/seed.toml --svg chart.svg
  odoo-channels simulate --orders examples/simulate/orders.csv --policies everywhere,shared
  odoo-channels simulate --from-config /etc/odoo-channels/config.toml --days 30 --json";

/// Whether the global `--config` was typed on this command line (not taken from
/// `$ODOO_CHANNELS_CONFIG` or the default path, which name the daemon's file).
fn config_given_on_command_line() -> bool {
    use clap::CommandFactory;
    use clap::parser::ValueSource;
    super::Cli::command()
        .try_get_matches_from(std::env::args_os())
        .ok()
        .is_some_and(|m| m.value_source("config") == Some(ValueSource::CommandLine))
}

fn config_error(e: impl std::fmt::Display) -> CliError {
    eprintln!("{e}");
    CliError::new(
        Exit::Config,
        anyhow::anyhow!("invalid scenario or configuration"),
    )
}

/// Run `simulate`. `global_config` is the global `--config` value.
pub fn run(global_config: &Path, args: &SimulateArgs) -> Result<(), CliError> {
    if args.print_scenario {
        print!("{BUILTIN_TOML}");
        return Ok(());
    }
    let scenario_path = match (&args.scenario, config_given_on_command_line()) {
        (Some(_), true) => {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("give the scenario once: --scenario or --config, not both"),
            ));
        }
        (Some(p), false) => Some(p.clone()),
        (None, true) => Some(global_config.to_owned()),
        (None, false) => None,
    };
    let mut scenario = match &scenario_path {
        Some(p) => Scenario::load(p).map_err(config_error)?,
        None => Scenario::builtin(),
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(days) = args.days {
        scenario.days = days;
    }
    let mut notes = Vec::new();
    if let Some(path) = &args.from_config {
        let cfg = Config::load(path).map_err(config_error)?;
        notes.extend(
            scenario
                .apply_daemon_config(&cfg)
                .map_err(config_error)?
                .into_iter()
                .map(|n| format!("{}: {n}", path.display())),
        );
    }
    let mut input = match &args.orders {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::new(
                    Exit::Failure,
                    anyhow::anyhow!("cannot read {}: {e}", path.display()),
                )
            })?;
            Input::from_csv(
                scenario,
                &text,
                &path.display().to_string(),
                args.skip_bad_rows,
                args.days.is_some(),
            )
            .map_err(|e| {
                eprintln!("{e}");
                CliError::new(
                    Exit::Failure,
                    anyhow::anyhow!(
                        "{} has {} bad row{}: not simulating",
                        path.display(),
                        e.bad_rows.max(1),
                        if e.bad_rows == 1 { "" } else { "s" }
                    ),
                )
            })?
        }
        None => Input::generated(scenario),
    };
    if args.skip_bad_rows && input.stream.skipped_rows > 0 {
        eprintln!(
            "warning: {} bad CSV row{} skipped (see the report's notes)",
            input.stream.skipped_rows,
            if input.stream.skipped_rows == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    notes.append(&mut input.notes);
    input.notes = notes;

    let specs = PolicySpec::select(&input.scenario, &args.policies)
        .map_err(|e| CliError::new(Exit::Usage, anyhow::anyhow!("--policies: {e}")))?;
    let (target, label) = simulate::chart_target(&input.scenario, args.sku.as_deref())
        .map_err(|e| CliError::new(Exit::Usage, anyhow::anyhow!(e)))?;
    let report = simulate::simulate(&input, &specs, target, &label)
        .map_err(|e| CliError::new(Exit::Config, anyhow::anyhow!(e)))?;

    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::new(Exit::Failure, e))?;
        println!("{text}");
    } else {
        print!("{}", report.to_text());
    }
    if let Some(path) = &args.svg {
        let svg = simulate::svg::render(&report, &input.scenario);
        std::fs::write(path, svg).map_err(|e| {
            CliError::new(
                Exit::Failure,
                anyhow::anyhow!("cannot write {}: {e}", path.display()),
            )
        })?;
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}
