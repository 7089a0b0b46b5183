//! `odoo-channels queue`: the fulfilment queue by ship-by deadline, orders at risk flagged.
//!
//! A read of Odoo only (see `sync::queue`): it can run beside the daemon at any time.

use clap::Args;

use crate::config::Config;
use crate::odoo::OdooClient;
use crate::sync::queue::{self, QueueEntry, Risk};

use super::exit::{CliError, Exit, ExitWith};

#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// Only this channel (repeatable; default: every configured channel).
    #[arg(long, value_name = "ID")]
    pub channel: Vec<String>,
    /// Only late and at-risk deliveries.
    #[arg(long)]
    pub at_risk: bool,
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// At most this many lines.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

pub async fn run(config: Config, args: &QueueArgs) -> Result<(), CliError> {
    let settings = config
        .odoo
        .client_settings()
        .map_err(|e| CliError::new(Exit::Config, anyhow::anyhow!("{e}")))?;
    let odoo = OdooClient::connect(settings).await.exit_with(Exit::Odoo)?;
    let channels: Vec<String> = if args.channel.is_empty() {
        config.channels.iter().map(|c| c.id.clone()).collect()
    } else {
        args.channel.clone()
    };
    let rows = queue::load(&odoo, &channels).await.exit_with(Exit::Odoo)?;
    let mut entries = queue::classify(rows, jiff::Timestamp::now(), config.orders.at_risk);
    if args.at_risk {
        entries.retain(|e| matches!(e.risk, Risk::Late | Risk::AtRisk));
    }
    if let Some(n) = args.limit {
        entries.truncate(n);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).exit_with(Exit::Failure)?
        );
    } else {
        print!("{}", table(&entries));
    }
    Ok(())
}

fn left(secs: Option<i64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) => {
            let (sign, s) = if s < 0 { ("-", -s) } else { ("", s) };
            format!("{sign}{}h{:02}m", s / 3600, (s % 3600) / 60)
        }
    }
}

/// The human table (one line per delivery, a summary line at the end).
pub fn table(entries: &[QueueEntry]) -> String {
    let mut out = format!(
        "{:<8} {:<20} {:>8} {:<3} {:<16} {:<12} {:<10} {:<10} {:<20} {}\n",
        "RISK",
        "SHIP BY (UTC)",
        "LEFT",
        "URG",
        "DELIVERY",
        "ORDER",
        "CHANNEL",
        "WAREHOUSE",
        "CARRIER",
        "STATE"
    );
    for e in entries {
        let r = &e.row;
        out.push_str(&format!(
            "{:<8} {:<20} {:>8} {:<3} {:<16} {:<12} {:<10} {:<10} {:<20} {}\n",
            match e.risk {
                Risk::Late => "LATE",
                Risk::AtRisk => "AT-RISK",
                Risk::Ok => "ok",
                Risk::NoDeadline => "-",
            },
            r.deadline
                .map(|d| d.strftime("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "-".into()),
            left(e.seconds_left),
            if r.urgent { "!" } else { "" },
            r.picking,
            r.order,
            r.channel,
            r.warehouse,
            r.carrier,
            r.state,
        ));
    }
    let late = entries.iter().filter(|e| e.risk == Risk::Late).count();
    let risk = entries.iter().filter(|e| e.risk == Risk::AtRisk).count();
    out.push_str(&format!(
        "{} deliveries open, {late} late, {risk} at risk\n",
        entries.len()
    ));
    out
}
