//! The scenario: what is simulated (SKUs, warehouses, channels, demand, events, candidate
//! policies), read from TOML in two layers like the daemon's configuration: lenient serde
//! structs, then validation that reports every problem at once with its key path.
//!
//! The built-in scenario is `examples/simulate/seed.toml`, embedded: the file a merchant copies
//! to start their own is the one `odoo-channels simulate` runs with no arguments.
//!
//! Times inside a scenario are whole seconds from its start ([`Secs`]). Marketplaces differ by
//! seconds to minutes, buyers by seconds at most; sub-second precision would only add noise.

use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::allocation::ChannelRule;
use crate::config::{ChannelKind, Config, Schedule, format_duration};

use super::policy::PolicySpec;

mod raw;
#[cfg(test)]
mod tests;

use raw::{
    DEFAULT_ORDER_LATENCY, DEFAULT_PUSH_LATENCY, RawScenario, all_warehouses, percent_to_bp,
    validate,
};
pub use raw::{default_propagation, fmt_range, parse_timestamp};

/// Seconds since the scenario's start.
pub type Secs = u64;

pub const DAY: Secs = 86_400;

/// The scenario `odoo-channels simulate` runs without `--config`.
pub const BUILTIN_TOML: &str = include_str!("../../../examples/simulate/seed.toml");

/// Longest simulation (a year): the event queue has no limit, but a merchant tuning buffers
/// has no use for more, and a typo (`days = 3000`) should not run for minutes.
pub const MAX_DAYS: u32 = 366;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub start: Timestamp,
    /// `start` was written in the file (otherwise a CSV of orders may move it).
    pub start_explicit: bool,
    pub days: u32,
    pub seed: u64,
    pub warehouses: Vec<String>,
    pub skus: Vec<Sku>,
    pub channels: Vec<SimChannel>,
    pub allocation: AllocationSettings,
    pub demand: DemandShape,
    pub flash_sales: Vec<FlashSale>,
    pub restocks: Vec<Restock>,
    /// Named candidate policies from the file (the four built-ins are always available).
    pub policies: Vec<PolicySpec>,
    /// The SKU the chart follows (`None`: the sum over all SKUs, or the only one).
    pub chart_sku: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Sku {
    pub sku: String,
    /// Initial on-hand units per warehouse slot (same order as [`Scenario::warehouses`]).
    pub stock: Vec<i64>,
    pub price: Option<Decimal>,
    /// Relative demand (1 = the channel's `demand_per_day`).
    pub popularity: f64,
}

/// Settings of the `shared` and `strict` policies (the allocator's [`crate::allocation::Policy`]
/// and the product safety stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocationSettings {
    pub scarce_at_or_below: i64,
    pub safety_stock: i64,
    pub velocity_weighting: bool,
}

/// The shape of demand over time, shared by all channels.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandShape {
    /// 0 = flat; 0.5 = ±50 % around the mean over a day.
    pub daily_amplitude: f64,
    /// Hour of the daily peak, UTC (fractional allowed).
    pub peak_hour: f64,
    /// Monday..Sunday, normalised to mean 1.
    pub weekly: [f64; 7],
    /// P(1 unit), P(2 units), …: normalised to sum 1.
    pub order_sizes: Vec<f64>,
}

/// How often a job runs for a channel, in scenario time.
#[derive(Debug, Clone, PartialEq)]
pub enum Cadence {
    /// On every change, after `latency` (webhook delivery, or the push job's reaction time).
    Realtime { latency: Secs },
    /// At `period`, `2 × period`, … after the start (the daemon's `every` schedule).
    Every(Secs),
    /// A cron expression, evaluated exactly (UTC) from the scenario's start instant.
    Cron(Schedule),
}

impl Cadence {
    fn from_schedule(s: &Schedule, latency: Secs) -> Cadence {
        match s {
            Schedule::Realtime => Cadence::Realtime { latency },
            Schedule::Every(d) => Cadence::Every(d.as_secs().max(1)),
            Schedule::Cron(_) => Cadence::Cron(s.clone()),
        }
    }

    /// When a job that is due because of something at `t` runs: `t + latency` for real time,
    /// else the next tick strictly after `t`. `Secs::MAX` if never (a cron with no future match).
    pub fn next_after(&self, t: Secs, start: Timestamp) -> Secs {
        match self {
            Cadence::Realtime { latency } => t.saturating_add(*latency),
            Cadence::Every(p) => (t / p + 1) * p,
            Cadence::Cron(s) => {
                let Ok(at) = start.checked_add(jiff::SignedDuration::from_secs(t as i64)) else {
                    return Secs::MAX;
                };
                match s.next_after(at) {
                    Some(n) => (n.as_second() - start.as_second()).max(t as i64 + 1) as Secs,
                    None => Secs::MAX,
                }
            }
        }
    }

    pub fn is_realtime(&self) -> bool {
        matches!(self, Cadence::Realtime { .. })
    }

    pub fn label(&self) -> String {
        match self {
            Cadence::Realtime { latency } => format!("realtime (+{})", fmt_secs(*latency)),
            Cadence::Every(p) => format!("every {}", fmt_secs(*p)),
            Cadence::Cron(s) => s.to_string(),
        }
    }
}

/// Human form of a number of seconds: `0s`, `90s` → `1m30s`.
pub fn fmt_secs(s: Secs) -> String {
    if s == 0 {
        "0s".into()
    } else {
        format_duration(std::time::Duration::from_secs(s))
    }
}

/// A channel in the simulation: its daemon rules plus how its marketplace behaves.
#[derive(Debug, Clone)]
pub struct SimChannel {
    pub id: String,
    pub kind: ChannelKind,
    /// The allocator's rule (priority, warehouses, buffers, min/max, keep-last).
    pub rule: ChannelRule,
    /// When the daemon pushes stock to this channel.
    pub stock_sync: Cadence,
    /// When an accepted order reaches the daemon (webhook latency, or the next order pull).
    pub order_sync: Cadence,
    /// How long the marketplace takes to show a pushed quantity: uniform in `lo..=hi` seconds.
    pub propagation: (Secs, Secs),
    /// Mean buyers per day for a SKU of popularity 1, over the seasonal cycle.
    pub demand_per_day: f64,
    /// This channel's order sizes (else the scenario's).
    pub order_sizes: Option<Vec<f64>>,
    /// Weight of this channel in the fixed split.
    pub split_weight: u64,
}

/// Demand on one channel multiplied over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashSale {
    pub channel: usize,
    pub from: Secs,
    pub until: Secs,
    pub multiplier: f64,
    /// SKU indices concerned (empty: all).
    pub skus: Vec<u32>,
}

/// Units arriving in a warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct Restock {
    pub at: Secs,
    /// Repeats at this interval until the end.
    pub every: Option<Secs>,
    /// `None`: every SKU.
    pub sku: Option<u32>,
    pub warehouse: usize,
    pub qty: i64,
}

impl Scenario {
    pub fn horizon(&self) -> Secs {
        Secs::from(self.days) * DAY
    }

    /// Every restock within the horizon: (instant, index in [`Scenario::restocks`]), in time
    /// order (file order at the same instant).
    pub fn restock_schedule(&self) -> Vec<(Secs, usize)> {
        let horizon = self.horizon();
        let mut v = Vec::new();
        for (i, r) in self.restocks.iter().enumerate() {
            let mut t = r.at;
            while t < horizon {
                v.push((t, i));
                match r.every {
                    Some(e) if e > 0 => t += e,
                    _ => break,
                }
            }
        }
        v.sort_by_key(|&(t, _)| t);
        v
    }

    pub fn channel_index(&self, id: &str) -> Option<usize> {
        self.channels.iter().position(|c| c.id == id)
    }

    pub fn sku_index(&self, sku: &str) -> Option<usize> {
        self.skus.iter().position(|s| s.sku == sku)
    }

    /// The built-in scenario (the seed's 100 units over six channels).
    pub fn builtin() -> Scenario {
        Scenario::from_toml_str(BUILTIN_TOML).expect("the embedded scenario is valid")
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioErrors {
            source: Some(path.display().to_string()),
            problems: vec![Problem::new("", format!("cannot read the scenario: {e}"))],
        })?;
        Self::from_toml_str(&text).map_err(|mut e| {
            e.source = Some(path.display().to_string());
            e
        })
    }

    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioErrors> {
        let fail = |problems| ScenarioErrors {
            source: None,
            problems,
        };
        // The daemon's file given by mistake (`--config` names the scenario here): say so
        // rather than listing its keys as unknown.
        if let Ok(table) = text.parse::<toml::Table>()
            && ["odoo", "store", "server", "log", "inventory"]
                .iter()
                .any(|k| table.contains_key(*k))
        {
            return Err(fail(vec![Problem::new(
                "",
                "this looks like the daemon's configuration, not a scenario: use \
                 `simulate --from-config PATH` to simulate its channel rules",
            )]));
        }
        let de = toml::Deserializer::parse(text).map_err(|e| {
            fail(vec![Problem::new(
                "",
                format!(
                    "TOML syntax error: {}{}",
                    e.message(),
                    line_hint(text, e.span())
                ),
            )])
        })?;
        let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            fail(vec![Problem::new(
                if key == "." { "" } else { &key },
                format!("{}{}", inner.message(), line_hint(text, inner.span())),
            )])
        })?;
        let mut p = Vec::new();
        let sc = validate(raw, &mut p);
        match sc {
            Some(sc) if p.is_empty() => Ok(sc),
            _ => Err(fail(p)),
        }
    }

    /// Replace the channels' rules and schedules by the daemon's configuration, so that the
    /// merchant tunes their real settings. Channels are matched by id, else by kind (the first
    /// scenario channel of that kind not matched yet), whose demand and propagation they keep;
    /// a configured channel with no match gets its kind's defaults and one buyer per SKU per
    /// day. Scenario channels absent from the configuration are dropped. Returns notes for
    /// the operator.
    pub fn apply_daemon_config(&mut self, cfg: &Config) -> Result<Vec<String>, ScenarioErrors> {
        let mut notes = Vec::new();
        let mut taken = vec![false; self.channels.len()];
        let mut new_channels = Vec::new();
        // old index → new index, for flash sales
        let mut remap: Vec<Option<usize>> = vec![None; self.channels.len()];
        let mut problems = Vec::new();
        for cc in cfg.channels.iter().filter(|c| c.enabled) {
            let matched = self
                .channels
                .iter()
                .position(|c| c.id == cc.id)
                .filter(|&i| !taken[i])
                .or_else(|| {
                    self.channels
                        .iter()
                        .enumerate()
                        .position(|(i, c)| !taken[i] && c.kind == cc.kind)
                });
            let key = format!("channels.{}", cc.id);
            let bp = match percent_to_bp(cc.buffer_percent) {
                Ok(bp) => bp,
                Err(m) => {
                    problems.push(Problem::new(&format!("{key}.buffer_percent"), m));
                    continue;
                }
            };
            let mut mask = 0u64;
            for code in &cc.warehouses {
                match self.warehouses.iter().position(|w| w == code) {
                    Some(i) => mask |= 1 << i,
                    None => notes.push(format!(
                        "channel `{}`: warehouse `{code}` is not in the scenario; ignored",
                        cc.id
                    )),
                }
            }
            if mask == 0 {
                mask = all_warehouses(self.warehouses.len());
            }
            let rule = ChannelRule {
                priority: cc.priority,
                warehouses: mask,
                buffer_bp: bp,
                buffer_units: i64::from(cc.buffer_units),
                buffer_mode: cc.buffer_mode,
                buffer_rounding: cfg.inventory.percent_buffer_rounding,
                min_qty: i64::from(cc.min_qty),
                max_qty: cc.max_qty.map_or(i64::MAX, i64::from),
                keep_last: i64::from(cc.keep_last_units),
                enabled: true,
            };
            let mut ch = match matched {
                Some(i) => {
                    taken[i] = true;
                    remap[i] = Some(new_channels.len());
                    if self.channels[i].id != cc.id {
                        notes.push(format!(
                            "channel `{}` takes the demand and propagation of scenario channel `{}` ({})",
                            cc.id, self.channels[i].id, cc.kind
                        ));
                    }
                    self.channels[i].clone()
                }
                None => {
                    notes.push(format!(
                        "channel `{}` ({}) is not in the scenario: 1 buyer per SKU per day, {} propagation",
                        cc.id,
                        cc.kind,
                        fmt_range(default_propagation(&cc.kind))
                    ));
                    SimChannel {
                        id: cc.id.clone(),
                        kind: cc.kind.clone(),
                        rule: rule.clone(),
                        stock_sync: Cadence::Every(300),
                        order_sync: Cadence::Every(300),
                        propagation: default_propagation(&cc.kind),
                        demand_per_day: 1.0,
                        order_sizes: None,
                        split_weight: 1,
                    }
                }
            };
            let push_latency = match ch.stock_sync {
                Cadence::Realtime { latency } => latency,
                _ => DEFAULT_PUSH_LATENCY,
            };
            let order_latency = match ch.order_sync {
                Cadence::Realtime { latency } => latency,
                _ => DEFAULT_ORDER_LATENCY,
            };
            ch.id = cc.id.clone();
            ch.kind = cc.kind.clone();
            ch.rule = rule;
            ch.stock_sync = Cadence::from_schedule(&cc.stock_schedule, push_latency);
            ch.order_sync = Cadence::from_schedule(&cc.order_schedule, order_latency);
            new_channels.push(ch);
        }
        if !problems.is_empty() {
            return Err(ScenarioErrors {
                source: cfg.source.as_ref().map(|p| p.display().to_string()),
                problems,
            });
        }
        if new_channels.is_empty() {
            return Err(ScenarioErrors {
                source: cfg.source.as_ref().map(|p| p.display().to_string()),
                problems: vec![Problem::new("channels", "no enabled channel to simulate")],
            });
        }
        let dropped: Vec<&str> = self
            .channels
            .iter()
            .zip(&taken)
            .filter(|(_, t)| !**t)
            .map(|(c, _)| c.id.as_str())
            .collect();
        if !dropped.is_empty() {
            notes.push(format!(
                "scenario channels not in the configuration are left out: {}",
                dropped.join(", ")
            ));
        }
        let mut flash = Vec::new();
        for f in std::mem::take(&mut self.flash_sales) {
            match remap[f.channel] {
                Some(c) => flash.push(FlashSale { channel: c, ..f }),
                None => notes.push(format!(
                    "flash sale on `{}` dropped (channel left out)",
                    self.channels[f.channel].id
                )),
            }
        }
        self.flash_sales = flash;
        for spec in &mut self.policies {
            let mut kept = Vec::new();
            for (c, o) in std::mem::take(&mut spec.per_channel) {
                match remap[c] {
                    Some(n) => kept.push((n, o)),
                    None => notes.push(format!(
                        "policy `{}`: overrides for `{}` dropped (channel left out)",
                        spec.name, self.channels[c].id
                    )),
                }
            }
            spec.per_channel = kept;
        }
        self.channels = new_channels;
        if cfg.inventory.default_safety_stock > 0 {
            self.allocation.safety_stock = i64::from(cfg.inventory.default_safety_stock);
        }
        Ok(notes)
    }
}

fn line_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(s) => {
            let end = s.start.min(text.len());
            let line = text.as_bytes()[..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One problem with its key path (`channels[2].propagation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Problem {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Everything wrong with a scenario.
#[derive(Debug, Clone)]
pub struct ScenarioErrors {
    pub source: Option<String>,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{}",
            self.source.as_deref().unwrap_or("scenario"),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}
