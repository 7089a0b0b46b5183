//! `odoo-channels simulate`: replay buyers against candidate stock policies before going live.
//!
//! The seed's problem in numbers: with 100 units on six marketplaces, listing everything
//! everywhere oversells, a fixed split starves the hot channel, and a shared pool with buffers
//! and fast sync is the answer — but *which* buffers? This module lets a merchant try theirs on
//! a generated or real order stream and see oversold orders, lost sales and idle stock per
//! channel, before a marketplace penalises them.
//!
//! # The model
//!
//! A pure discrete-event simulation (no I/O, deterministic for a seed; files are read and
//! written by the CLI):
//!
//! * **True stock** per SKU and warehouse, as Odoo sees it: it drops only when an order
//!   *reaches the daemon*.
//! * Per channel, a **displayed** quantity: what the marketplace shows buyers. A buyer for `q`
//!   units is accepted when the display is at least `q`, and the marketplace decrements its own
//!   display at once. Otherwise the sale is **lost** if the channel's warehouses physically held
//!   `q` free units (the policy starved the channel), else it is a **stock-out**.
//! * An accepted order reaches the daemon after the channel's **order delay**: a webhook's
//!   latency for real-time channels, else the next order pull of its schedule (deterministic:
//!   half the interval on average). Odoo's stock then drops; what it cannot serve is
//!   **oversold** (units short, orders affected).
//! * The daemon recomputes every channel's offer with the **policy** and pushes changed
//!   quantities on each channel's **stock schedule** (real time: on every change, after a small
//!   latency; `every 5m`; cron expressions exactly). A pushed quantity lands on the marketplace
//!   after its **propagation delay** (Amazon 5–15 min; uniform in the configured range, the
//!   same draw for every policy) and *overwrites* the display, including units sold there in
//!   the meantime. A sale on one channel thus reaches the others only after order delay + next
//!   push + propagation: that window is where oversells come from.
//! * **Idle stock**: time-average of units physically available that no channel lists (beyond
//!   the largest display). **Hidden** (per channel): units available that this channel does not
//!   show.
//! * Restocks add units to a warehouse; flash sales multiply one channel's demand for a window.
//!
//! Every policy replays the same buyers; only what it decides differs. The engine is in
//! [`engine`], the policies in [`policy`], buyers in [`demand`] and [`csv`], the scenario in
//! [`scenario`], the report in [`report`], the chart in [`svg`]. ARCHITECTURE.md ("Simulate")
//! has the map.

pub mod csv;
pub mod demand;
pub mod engine;
pub mod policy;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod svg;
#[cfg(test)]
mod tests;

use std::fmt;

pub use demand::BuyerOrder;
pub use engine::{ChartTarget, Trace, run_policy, run_policy_traced};
pub use policy::{BaseKind, Policy, PolicySpec, SkuView};
pub use report::{ChannelStats, PolicyResult, Recommendation, Report, StreamInfo};
pub use scenario::{Scenario, ScenarioErrors, Secs};

use report::ChannelInfo;
use scenario::{DAY, fmt_range, fmt_secs};

/// A scenario with its buyers: what every policy replays.
#[derive(Debug, Clone)]
pub struct Input {
    pub scenario: Scenario,
    pub orders: Vec<BuyerOrder>,
    pub stream: StreamInfo,
    pub notes: Vec<String>,
}

/// A CSV of orders that cannot be replayed as it is.
#[derive(Debug, Clone)]
pub struct CsvRejected {
    pub source: String,
    pub rows: usize,
    pub bad_rows: usize,
    pub errors: Vec<csv::RowError>,
    /// Whether skipping the bad rows would leave something to replay.
    pub skippable: bool,
}

/// How many row errors an error message lists before summarising.
pub const SHOWN_ROW_ERRORS: usize = 50;

impl fmt::Display for CsvRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} bad row{} of {} ({} problem{})",
            self.source,
            self.bad_rows,
            if self.bad_rows == 1 { "" } else { "s" },
            self.rows,
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" },
        )?;
        for e in self.errors.iter().take(SHOWN_ROW_ERRORS) {
            write!(f, "\n  {e}")?;
        }
        if self.errors.len() > SHOWN_ROW_ERRORS {
            write!(f, "\n  … and {} more", self.errors.len() - SHOWN_ROW_ERRORS)?;
        }
        if self.skippable {
            write!(
                f,
                "\nfix them, or pass --skip-bad-rows to replay the good rows only"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for CsvRejected {}

impl Input {
    /// Buyers generated from the scenario's demand.
    pub fn generated(scenario: Scenario) -> Input {
        let orders = demand::generate(&scenario);
        let mut parts = vec!["generated: Poisson demand".to_owned()];
        if scenario.demand.daily_amplitude > 0.0 || scenario.demand.weekly.iter().any(|w| *w != 1.0)
        {
            parts.push("daily/weekly seasonality".into());
        }
        for f in &scenario.flash_sales {
            parts.push(format!("flash sale on {}", scenario.channels[f.channel].id));
        }
        Input {
            stream: StreamInfo {
                source: parts.join(", "),
                buyers: orders.len(),
                skipped_rows: 0,
                outside_window: 0,
            },
            orders,
            scenario,
            notes: Vec::new(),
        }
    }

    /// Buyers replayed from a CSV of real orders (`source` names it in messages). Refuses any
    /// bad row unless `skip_bad_rows`; `days_fixed` keeps the scenario's length.
    pub fn from_csv(
        mut scenario: Scenario,
        text: &str,
        source: &str,
        skip_bad_rows: bool,
        days_fixed: bool,
    ) -> Result<Input, CsvRejected> {
        let parsed = csv::parse_orders_csv(text, &scenario);
        let header_broken = parsed.errors.iter().any(|e| e.line == 1) || parsed.orders.is_empty();
        if !parsed.errors.is_empty() && (!skip_bad_rows || header_broken) {
            return Err(CsvRejected {
                source: source.to_owned(),
                rows: parsed.rows,
                bad_rows: parsed.bad_rows,
                errors: parsed.errors,
                skippable: !header_broken,
            });
        }
        let replay = csv::replay_window(&parsed, &mut scenario, days_fixed);
        let mut notes = Vec::new();
        if !parsed.ignored_columns.is_empty() {
            notes.push(format!(
                "CSV columns not used: {}",
                parsed.ignored_columns.join(", ")
            ));
        }
        if parsed.bad_rows > 0 {
            let lines: Vec<String> = parsed
                .errors
                .iter()
                .map(|e| e.line.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .take(20)
                .collect();
            notes.push(format!(
                "skipped {} bad CSV row{} (lines {}{})",
                parsed.bad_rows,
                if parsed.bad_rows == 1 { "" } else { "s" },
                lines.join(", "),
                if parsed.bad_rows > 20 { ", …" } else { "" }
            ));
        }
        if replay.before_start > 0 {
            notes.push(format!(
                "{} CSV orders before the scenario start were not replayed",
                replay.before_start
            ));
        }
        if !scenario.flash_sales.is_empty() {
            notes.push(
                "flash sales shape generated demand only; the CSV is replayed as it is".into(),
            );
        }
        Ok(Input {
            stream: StreamInfo {
                source: format!("replayed from {source}"),
                buyers: replay.orders.len(),
                skipped_rows: parsed.bad_rows,
                outside_window: replay.before_start + replay.after_end,
            },
            orders: replay.orders,
            scenario,
            notes,
        })
    }
}

/// What the chart follows: `sku` if given (else the scenario's `chart_sku`), else the only
/// SKU, else the sum over all SKUs. Returns the target and its label.
pub fn chart_target(sc: &Scenario, sku: Option<&str>) -> Result<(ChartTarget, String), String> {
    match sku.or(sc.chart_sku.as_deref()) {
        Some(name) => match sc.sku_index(name) {
            Some(i) => Ok((ChartTarget::Sku(i), format!("SKU {name}"))),
            None => Err(format!("--sku: unknown SKU `{name}`")),
        },
        None if sc.skus.len() == 1 => Ok((ChartTarget::Sku(0), format!("SKU {}", sc.skus[0].sku))),
        None => Ok((
            ChartTarget::AllSkus,
            format!("sum over {} SKUs", sc.skus.len()),
        )),
    }
}

/// Run policies side by side on the same buyers, in parallel (each run is independent and
/// deterministic, so the results do not depend on the thread count).
pub fn run_policies(
    sc: &Scenario,
    orders: &[BuyerOrder],
    policies: Vec<Box<dyn Policy>>,
    chart: ChartTarget,
) -> Result<Vec<PolicyResult>, String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(policies.len())
        .max(1);
    let mut slots: Vec<Option<Box<dyn Policy>>> = policies.into_iter().map(Some).collect();
    let n = slots.len();
    let mut results: Vec<Option<Result<PolicyResult, String>>> = (0..n).map(|_| None).collect();
    // Round-robin the policies over the workers; each worker owns its policies.
    let mut work: Vec<Vec<(usize, Box<dyn Policy>)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        if let Some(p) = slot.take() {
            work[i % threads].push((i, p));
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|batch| {
                scope.spawn(move || {
                    batch
                        .into_iter()
                        .map(|(i, mut p)| (i, run_policy(sc, orders, p.as_mut(), chart)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (i, r) in done {
                        results[i] = Some(r);
                    }
                }
                Err(_) => {
                    for r in results.iter_mut().filter(|r| r.is_none()) {
                        *r = Some(Err("a simulation thread panicked".into()));
                    }
                }
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("a policy did not run".into())))
        .collect()
}

/// Simulate `specs` on `input` and assemble the report.
pub fn simulate(
    input: &Input,
    specs: &[PolicySpec],
    chart: ChartTarget,
    chart_label: &str,
) -> Result<Report, String> {
    let sc = &input.scenario;
    let generated = input.stream.source.starts_with("generated");
    let policies = specs
        .iter()
        .map(|s| s.build(sc))
        .collect::<Result<Vec<_>, _>>()?;
    let results = run_policies(sc, &input.orders, policies, chart)?;
    let recommendation = report::recommend(&results);
    Ok(Report {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        start: sc.start.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        days: sc.days,
        seed: sc.seed,
        skus: sc.skus.len(),
        warehouses: sc.warehouses.len(),
        initial_stock: sc.skus.iter().flat_map(|s| s.stock.iter()).sum(),
        channels: sc
            .channels
            .iter()
            .map(|c| ChannelInfo {
                id: c.id.clone(),
                kind: c.kind.to_string(),
                priority: c.rule.priority,
                stock_sync: c.stock_sync.label(),
                order_sync: c.order_sync.label(),
                propagation: fmt_range(c.propagation),
                demand_per_day: generated.then_some(c.demand_per_day),
            })
            .collect(),
        events: describe_events(sc, generated),
        stream: input.stream.clone(),
        chart_of: chart_label.to_owned(),
        policies: results,
        recommendation,
        notes: input.notes.clone(),
    })
}

fn at_label(t: Secs) -> String {
    let d = t / DAY;
    let rest = t % DAY;
    match (d, rest) {
        (0, r) => fmt_secs(r),
        (d, 0) => format!("day {d}"),
        (d, r) => format!("day {d} +{}", fmt_secs(r)),
    }
}

fn describe_events(sc: &Scenario, generated: bool) -> Vec<String> {
    let mut v = Vec::new();
    let horizon = sc.horizon();
    for f in sc
        .flash_sales
        .iter()
        .filter(|f| generated && f.from < horizon)
    {
        let skus = if f.skus.is_empty() {
            "every SKU".to_owned()
        } else {
            f.skus
                .iter()
                .map(|&s| sc.skus[s as usize].sku.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        v.push(format!(
            "flash sale on {} ×{} from {} for {} ({skus})",
            sc.channels[f.channel].id,
            f.multiplier,
            at_label(f.from),
            fmt_secs(f.until - f.from),
        ));
    }
    for r in sc.restocks.iter().filter(|r| r.at < horizon) {
        let what = match r.sku {
            Some(s) => sc.skus[s as usize].sku.clone(),
            None => "every SKU".into(),
        };
        let repeat = match r.every {
            Some(e) if r.at + e < horizon => format!(", then every {}", fmt_secs(e)),
            _ => String::new(),
        };
        v.push(format!(
            "restock +{} of {what} into {} at {}{repeat}",
            r.qty,
            sc.warehouses[r.warehouse],
            at_label(r.at)
        ));
    }
    v
}
