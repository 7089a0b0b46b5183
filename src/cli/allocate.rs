//! `allocate --dry-run [--sku …] [--channel …]`: what each channel would be offered now, and
//! why, from the live Odoo of the configuration.
//!
//! The same computation as the daemon's stock job (`StockJob::explain`): stock read from
//! Odoo, pending orders from the state store and Odoo's draft quotations, velocities from
//! Odoo, the channels' rules and `[inventory]`; plus what each channel last acknowledged
//! (from the store). Nothing is written anywhere.

use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::exit::{CliError, Exit};
use crate::config::Config;
use crate::odoo::OdooClient;
use crate::store::Store;
use crate::sync::catalog::Catalog;
use crate::sync::odoo_log::OdooLog;
use crate::sync::stock::{ExplainRow, StockJob};

#[derive(Debug, Clone, Args)]
pub struct AllocateArgs {
    /// Compute and show; change nothing (required: the daemon itself allocates in `run`).
    #[arg(long)]
    pub dry_run: bool,
    /// Only this SKU (internal reference, or a channel's SKU); repeatable. Default: all.
    #[arg(long = "sku", value_name = "SKU")]
    pub skus: Vec<String>,
    /// Only this channel id; repeatable. Default: every enabled channel.
    #[arg(long = "channel", value_name = "ID")]
    pub channels: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// The command: print the table (or JSON) on stdout.
pub async fn run(config: Config, args: &AllocateArgs) -> Result<(), CliError> {
    let out = dry_run(&config, args).await?;
    print!("{out}");
    Ok(())
}

/// Compute and render; the text `run` prints (public for tests).
pub async fn dry_run(config: &Config, args: &AllocateArgs) -> Result<String, CliError> {
    if !args.dry_run {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "allocate only computes and shows (--dry-run); the daemon itself allocates and pushes in `run`"
            ),
        ));
    }
    let enabled: Vec<_> = config.enabled_channels();
    for c in &args.channels {
        if !enabled.iter().any(|e| &e.id == c) {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("no enabled channel has id `{c}`"),
            ));
        }
    }
    let settings = config
        .odoo
        .client_settings()
        .map_err(|e| CliError::new(Exit::Config, anyhow::anyhow!("odoo credentials: {e}")))?;
    let odoo = OdooClient::connect(settings)
        .await
        .map_err(|e| CliError::new(Exit::Odoo, e))?;
    let store = Store::open_with(&config.store.url, &(&config.store).into())
        .await
        .map_err(|e| CliError::new(Exit::Store, e))?;
    let addon = OdooLog::detect(&odoo).await.addon();
    let catalog = Arc::new(
        Catalog::load(&odoo, addon)
            .await
            .map_err(|e| CliError::new(Exit::Odoo, e))?,
    );
    let configs: Vec<_> = enabled.iter().map(|c| (*c).clone()).collect();
    let job = StockJob::new(&odoo, &configs, &config.inventory)
        .await
        .map_err(|e| CliError::new(Exit::Failure, e))?;
    let rows = job
        .explain(&odoo, &store, &catalog, &args.skus, &args.channels)
        .await
        .map_err(|e| CliError::new(Exit::Failure, e))?;
    store.close().await;
    let mut missing: Vec<&String> = args
        .skus
        .iter()
        .filter(|s| !rows.iter().any(|r| &r.sku == *s || &r.channel_sku == *s))
        .collect();
    missing.dedup();
    let mut out = match args.format {
        Format::Json => json(&rows),
        Format::Table => {
            let inv = &config.inventory;
            let mut t = format!(
                "# dry run against Odoo {} at {} ({} warehouses, {} products): mode {}, scarce at or below {}, velocity weighting {}, percentage buffers round {}\n",
                odoo.server_version(),
                odoo.url(),
                job.warehouses().len(),
                catalog.len(),
                match inv.mode {
                    crate::allocation::Mode::Shared => "shared",
                    crate::allocation::Mode::Strict => "strict",
                },
                inv.scarce_at_or_below,
                if inv.velocity_weighting { "on" } else { "off" },
                match inv.percent_buffer_rounding {
                    crate::allocation::BufferRounding::Up => "up",
                    crate::allocation::BufferRounding::Down => "down",
                },
            );
            t.push_str(&table(&rows));
            t
        }
    };
    for s in missing {
        out.push_str(&format!(
            "# {s}: no storable product with this internal reference or channel SKU\n"
        ));
    }
    Ok(out)
}

/// The rows as an aligned text table.
pub fn table(rows: &[ExplainRow]) -> String {
    let header = [
        "SKU",
        "CHANNEL",
        "ON HAND",
        "RESERVED",
        "OUTGOING",
        "INCOMING",
        "SAFETY",
        "PENDING",
        "AVAILABLE",
        "BUFFER",
        "OFFERED",
        "LAST PUSHED",
        "WHY",
    ];
    let mut cells: Vec<[String; 13]> = vec![header.map(str::to_owned)];
    for r in rows {
        let sku = if r.channel_sku == r.sku {
            r.sku.clone()
        } else {
            format!("{} ({})", r.sku, r.channel_sku)
        };
        cells.push([
            sku,
            r.channel.clone(),
            r.on_hand.to_string(),
            r.reserved.to_string(),
            r.outgoing.to_string(),
            r.incoming.to_string(),
            r.safety.to_string(),
            r.pending.to_string(),
            r.available.to_string(),
            r.buffer.to_string(),
            r.offered.to_string(),
            r.last_pushed
                .map(|v| v.normalize().to_string())
                .unwrap_or_else(|| "-".into()),
            r.reason.describe().to_owned(),
        ]);
    }
    let mut width = [0usize; 13];
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(width).enumerate() {
            let pad = w - c.chars().count();
            // Text left, numbers right.
            if i < 2 || i == 12 {
                line.push_str(c);
                if i < 12 {
                    line.push_str(&" ".repeat(pad));
                }
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
            if i < 12 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn json(rows: &[ExplainRow]) -> String {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "sku": r.sku,
                "channel": r.channel,
                "channel_sku": r.channel_sku,
                "on_hand": r.on_hand,
                "reserved": r.reserved,
                "outgoing": r.outgoing,
                "incoming": r.incoming,
                "safety": r.safety,
                "pending": r.pending,
                "available": r.available,
                "buffer": r.buffer,
                "offered": r.offered,
                "velocity": r.velocity,
                "last_pushed": r.last_pushed.map(|v| v.normalize().to_string()),
                "reason": r.reason,
                "why": r.reason.describe(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocation::Reason;

    #[test]
    fn table_aligns_columns_and_says_why() {
        let row = ExplainRow {
            product_id: 1,
            sku: "SKU-1".into(),
            channel: "amz".into(),
            channel_sku: "SKU-1".into(),
            on_hand: 100,
            reserved: 0,
            outgoing: 0,
            incoming: 0,
            safety: 0,
            pending: 0,
            available: 100,
            buffer: 10,
            offered: 90,
            velocity: 0,
            last_pushed: None,
            reason: Reason::Buffered,
        };
        let t = table(&[
            row.clone(),
            ExplainRow {
                channel: "shopify".into(),
                buffer: 5,
                offered: 95,
                last_pushed: Some(rust_decimal::Decimal::from(95)),
                ..row
            },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("SKU    CHANNEL  ON HAND"), "{t}");
        assert!(
            lines[1].contains("  90  ") && lines[1].ends_with("available less buffer"),
            "{t}"
        );
        assert!(
            lines[2].contains("shopify") && lines[2].contains("  95  "),
            "{t}"
        );
        // Every row has the same column positions.
        let col = |l: &str| l.find("available less buffer");
        assert_eq!(col(lines[1]), col(lines[2]));
    }
}
