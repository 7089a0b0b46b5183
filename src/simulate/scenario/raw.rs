//! The scenario file as written (lenient serde structs, where every default lives once) and
//! its validation, which reports every problem at once with its key path.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::allocation::{BufferMode, ChannelRule, MAX_CHANNELS, MAX_WAREHOUSES};
use crate::config::{
    ChannelKind, KNOWN_KINDS, Schedule, default_order_schedule, default_stock_schedule,
    parse_duration, parse_kind,
};

use super::super::policy::{BaseKind, PolicySpec, RuleOverrides};
use super::super::rng::SplitMix64;
use super::{
    AllocationSettings, Cadence, DemandShape, FlashSale, MAX_DAYS, Problem, Restock, Scenario,
    Secs, SimChannel, Sku, fmt_secs,
};

// ---------------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    simulation: RawSimulation,
    allocation: RawAllocation,
    demand: RawDemand,
    warehouses: Vec<RawWarehouse>,
    skus: Vec<RawSku>,
    catalog: Option<RawCatalog>,
    channels: Vec<RawChannel>,
    events: Vec<RawEvent>,
    policies: Vec<RawPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSimulation {
    start: Option<String>,
    days: i64,
    seed: u64,
    chart_sku: Option<String>,
}

impl Default for RawSimulation {
    fn default() -> Self {
        RawSimulation {
            start: None,
            days: 14,
            seed: 42,
            chart_sku: None,
        }
    }
}

/// 2025-11-03 is a Monday: the weekly cycle starts on day 0.
const DEFAULT_START: &str = "2025-11-03T00:00:00Z";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAllocation {
    scarce_at_or_below: i64,
    safety_stock: i64,
    velocity_weighting: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDemand {
    daily_amplitude: f64,
    peak_hour: f64,
    weekly: Vec<f64>,
    order_sizes: Vec<f64>,
}

impl Default for RawDemand {
    fn default() -> Self {
        RawDemand {
            daily_amplitude: 0.5,
            peak_hour: 20.0,
            weekly: vec![1.0; 7],
            order_sizes: vec![0.85, 0.10, 0.05],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWarehouse {
    code: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawStock {
    Units(i64),
    PerWarehouse(BTreeMap<String, i64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSku {
    sku: String,
    stock: RawStock,
    price: Option<Decimal>,
    #[serde(default = "one")]
    popularity: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRange<T> {
    One(T),
    Two([T; 2]),
}

impl<T: Copy> RawRange<T> {
    fn bounds(&self) -> (T, T) {
        match self {
            RawRange::One(v) => (*v, *v),
            RawRange::Two([a, b]) => (*a, *b),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    count: i64,
    #[serde(default = "default_prefix")]
    prefix: String,
    stock: RawRange<i64>,
    price: Option<Decimal>,
    #[serde(default = "default_popularity")]
    popularity: RawRange<f64>,
    /// Warehouse the generated stock goes to (default: the first).
    warehouse: Option<String>,
}

fn default_prefix() -> String {
    "SKU-".into()
}

fn default_popularity() -> RawRange<f64> {
    RawRange::One(1.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawChannel {
    id: Option<String>,
    kind: Option<String>,
    priority: i64,
    warehouses: Vec<String>,
    buffer_percent: Decimal,
    buffer_units: i64,
    buffer_mode: String,
    min_qty: i64,
    max_qty: Option<i64>,
    keep_last_units: i64,
    stock_schedule: Option<String>,
    order_schedule: Option<String>,
    push_latency: String,
    order_latency: String,
    propagation: Option<RawRange<StringOrInt>>,
    demand_per_day: f64,
    order_sizes: Option<Vec<f64>>,
    split_weight: i64,
}

/// A duration written as `"5m"` or as a bare number of seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StringOrInt {
    S(String),
    I(i64),
}

impl Default for RawChannel {
    fn default() -> Self {
        RawChannel {
            id: None,
            kind: None,
            priority: 0,
            warehouses: Vec::new(),
            buffer_percent: Decimal::ZERO,
            buffer_units: 0,
            buffer_mode: "max".into(),
            min_qty: 0,
            max_qty: None,
            keep_last_units: 0,
            stock_schedule: None,
            order_schedule: None,
            push_latency: "5s".into(),
            order_latency: "3s".into(),
            propagation: None,
            demand_per_day: 1.0,
            order_sizes: None,
            split_weight: 1,
        }
    }
}

pub(super) const DEFAULT_PUSH_LATENCY: Secs = 5;
pub(super) const DEFAULT_ORDER_LATENCY: Secs = 3;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawEvent {
    kind: Option<String>,
    at: Option<String>,
    // flash_sale
    channel: Option<String>,
    duration: Option<String>,
    multiplier: Option<f64>,
    skus: Vec<String>,
    // restock
    sku: Option<String>,
    warehouse: Option<String>,
    qty: Option<i64>,
    every: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPolicy {
    name: Option<String>,
    base: Option<String>,
    description: Option<String>,
    scarce_at_or_below: Option<i64>,
    safety_stock: Option<i64>,
    velocity_weighting: Option<bool>,
    priority: Option<i64>,
    buffer_percent: Option<Decimal>,
    buffer_units: Option<i64>,
    buffer_mode: Option<String>,
    min_qty: Option<i64>,
    max_qty: Option<i64>,
    keep_last_units: Option<i64>,
    split_weight: Option<i64>,
    channels: BTreeMap<String, RawOverrides>,
}

impl RawPolicy {
    fn rules(&self) -> RawOverrides {
        RawOverrides {
            priority: self.priority,
            buffer_percent: self.buffer_percent,
            buffer_units: self.buffer_units,
            buffer_mode: self.buffer_mode.clone(),
            min_qty: self.min_qty,
            max_qty: self.max_qty,
            keep_last_units: self.keep_last_units,
            split_weight: self.split_weight,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOverrides {
    priority: Option<i64>,
    buffer_percent: Option<Decimal>,
    buffer_units: Option<i64>,
    buffer_mode: Option<String>,
    min_qty: Option<i64>,
    max_qty: Option<i64>,
    keep_last_units: Option<i64>,
    split_weight: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn err(p: &mut Vec<Problem>, key: impl AsRef<str>, message: impl Into<String>) {
    p.push(Problem::new(key.as_ref(), message));
}

/// Channel ids, SKUs and warehouse codes: what a CSV row or a report column shows.
fn check_name(p: &mut Vec<Problem>, key: &str, v: &str) -> bool {
    if v.trim().is_empty() || v.trim() != v || v.chars().any(|c| c.is_control() || c == ',') {
        err(
            p,
            key,
            format!(
                "`{v}`: must be non-empty, without surrounding spaces, commas or control characters"
            ),
        );
        false
    } else {
        true
    }
}

/// Per-kind propagation (how long a marketplace takes to show a pushed quantity). Amazon's is
/// documented by sellers (5–15 min, shared/briefs/prior-art.md); the others are assumptions to
/// be replaced by the merchant's own observations.
pub fn default_propagation(kind: &ChannelKind) -> (Secs, Secs) {
    match kind {
        ChannelKind::Sandbox | ChannelKind::Shopify => (1, 5),
        ChannelKind::Amazon => (300, 900),
        ChannelKind::Walmart => (300, 900),
        ChannelKind::Ebay | ChannelKind::Etsy | ChannelKind::TikTok => (60, 300),
        ChannelKind::Other(_) => (300, 1800),
    }
}

pub fn fmt_range((lo, hi): (Secs, Secs)) -> String {
    if lo == hi {
        fmt_secs(lo)
    } else {
        format!("{}–{}", fmt_secs(lo), fmt_secs(hi))
    }
}

pub(super) fn all_warehouses(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// `"5m"`, `"90s"`, `"0s"`, `"0"` or a bare integer of seconds.
fn parse_span(v: &StringOrInt) -> Result<Secs, String> {
    match v {
        StringOrInt::I(n) if *n >= 0 => Ok(*n as Secs),
        StringOrInt::I(n) => Err(format!("must not be negative (got {n})")),
        StringOrInt::S(s) => parse_span_str(s),
    }
}

pub(super) fn parse_span_str(s: &str) -> Result<Secs, String> {
    let t = s.trim();
    if t == "0" || t == "0s" {
        return Ok(0);
    }
    parse_duration(t).map(|d| d.as_secs())
}

/// An instant in the scenario: an offset (`"3d18h"`, `"0"`) or a timestamp (RFC 3339 or
/// Odoo's `YYYY-MM-DD HH:MM:SS`, UTC) not before the start.
pub(super) fn parse_at(s: &str, start: Timestamp) -> Result<Secs, String> {
    if let Ok(d) = parse_span_str(s) {
        return Ok(d);
    }
    let ts = parse_timestamp(s).ok_or_else(|| {
        format!(
            "`{s}` is neither an offset from the start (\"3d18h\") nor a timestamp \
             (\"2025-11-06T18:00:00Z\" or \"2025-11-06 18:00:00\")"
        )
    })?;
    let d = ts.as_second() - start.as_second();
    if d < 0 {
        return Err(format!("`{s}` is before the simulation start ({start})"));
    }
    Ok(d as Secs)
}

/// RFC 3339 (with offset) or Odoo's naive-UTC `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let t = s.trim();
    t.parse::<Timestamp>()
        .ok()
        .or_else(|| odoo_wire::datetime::parse_datetime(t))
}

pub(super) fn percent_to_bp(pct: Decimal) -> Result<u32, String> {
    if pct < Decimal::ZERO || pct > Decimal::ONE_HUNDRED {
        return Err(format!(
            "must be between 0 and 100 (got {})",
            pct.normalize()
        ));
    }
    let bp = pct * Decimal::ONE_HUNDRED;
    if bp.fract() != Decimal::ZERO {
        return Err(format!(
            "at most two decimals (basis points), got {}",
            pct.normalize()
        ));
    }
    use rust_decimal::prelude::ToPrimitive;
    Ok(bp.to_u32().unwrap_or(10_000))
}

fn parse_mode(s: &str) -> Option<BufferMode> {
    match s {
        "max" => Some(BufferMode::Max),
        "sum" => Some(BufferMode::Sum),
        _ => None,
    }
}

fn normalise(p: &mut Vec<Problem>, key: &str, v: &[f64], len: Option<usize>) -> Option<Vec<f64>> {
    if v.is_empty() || len.is_some_and(|l| v.len() != l) {
        err(
            p,
            key,
            match len {
                Some(l) => format!("needs exactly {l} numbers (got {})", v.len()),
                None => "needs at least one number".to_owned(),
            },
        );
        return None;
    }
    if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
        err(p, key, "numbers must be finite and not negative");
        return None;
    }
    let sum: f64 = v.iter().sum();
    if sum <= 0.0 {
        err(p, key, "at least one number must be positive");
        return None;
    }
    Some(v.to_vec())
}

pub(super) fn validate(raw: RawScenario, p: &mut Vec<Problem>) -> Option<Scenario> {
    let start_explicit = raw.simulation.start.is_some();
    let start = match &raw.simulation.start {
        Some(s) => match parse_timestamp(s) {
            Some(t) => t,
            None => {
                err(
                    p,
                    "simulation.start",
                    format!(
                        "`{s}` is not a timestamp (\"2025-11-03T00:00:00Z\" or \"2025-11-03 00:00:00\")"
                    ),
                );
                DEFAULT_START.parse().expect("valid constant")
            }
        },
        None => DEFAULT_START.parse().expect("valid constant"),
    };
    if raw.simulation.days < 1 || raw.simulation.days > i64::from(MAX_DAYS) {
        err(
            p,
            "simulation.days",
            format!(
                "must be between 1 and {MAX_DAYS} (got {})",
                raw.simulation.days
            ),
        );
    }
    let days = raw.simulation.days.clamp(1, i64::from(MAX_DAYS)) as u32;

    // Allocation settings.
    let a = &raw.allocation;
    if a.scarce_at_or_below < 0 {
        err(p, "allocation.scarce_at_or_below", "must not be negative");
    }
    if a.safety_stock < 0 {
        err(p, "allocation.safety_stock", "must not be negative");
    }
    let allocation = AllocationSettings {
        scarce_at_or_below: a.scarce_at_or_below.max(0),
        safety_stock: a.safety_stock.max(0),
        velocity_weighting: a.velocity_weighting,
    };

    // Demand shape.
    let d = &raw.demand;
    if !(0.0..=1.0).contains(&d.daily_amplitude) {
        err(p, "demand.daily_amplitude", "must be between 0 and 1");
    }
    if !(0.0..24.0).contains(&d.peak_hour) {
        err(p, "demand.peak_hour", "must be in 0..24 (UTC)");
    }
    let weekly = normalise(p, "demand.weekly", &d.weekly, Some(7)).map(|w| {
        let mean = w.iter().sum::<f64>() / 7.0;
        let mut a = [0.0; 7];
        for (x, y) in a.iter_mut().zip(&w) {
            *x = y / mean;
        }
        a
    });
    let order_sizes = normalise(p, "demand.order_sizes", &d.order_sizes, None);
    let demand = DemandShape {
        daily_amplitude: d.daily_amplitude.clamp(0.0, 1.0),
        peak_hour: d.peak_hour,
        weekly: weekly.unwrap_or([1.0; 7]),
        order_sizes: order_sizes.unwrap_or_else(|| vec![1.0]),
    };

    // Warehouses.
    let mut warehouses: Vec<String> = Vec::new();
    for (i, w) in raw.warehouses.iter().enumerate() {
        let key = format!("warehouses[{i}].code");
        if check_name(p, &key, &w.code) {
            if warehouses.contains(&w.code) {
                err(p, &key, format!("warehouse `{}` is listed twice", w.code));
            }
            warehouses.push(w.code.clone());
        }
    }
    if warehouses.is_empty() {
        warehouses.push("WH".into());
    }
    if warehouses.len() > MAX_WAREHOUSES {
        err(
            p,
            "warehouses",
            format!("at most {MAX_WAREHOUSES} warehouses"),
        );
        warehouses.truncate(MAX_WAREHOUSES);
    }

    // SKUs.
    let mut skus: Vec<Sku> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, s) in raw.skus.iter().enumerate() {
        let key = format!("skus[{i}]");
        if !check_name(p, &format!("{key}.sku"), &s.sku) {
            continue;
        }
        if !seen.insert(s.sku.clone()) {
            err(
                p,
                format!("{key}.sku"),
                format!("SKU `{}` is listed twice", s.sku),
            );
        }
        let mut stock = vec![0i64; warehouses.len()];
        match &s.stock {
            RawStock::Units(n) => stock[0] = *n,
            RawStock::PerWarehouse(m) => {
                for (code, n) in m {
                    match warehouses.iter().position(|w| w == code) {
                        Some(w) => stock[w] = *n,
                        None => err(
                            p,
                            format!("{key}.stock.{code}"),
                            format!(
                                "unknown warehouse `{code}` (known: {})",
                                warehouses.join(", ")
                            ),
                        ),
                    }
                }
            }
        }
        if stock.iter().any(|&n| n < 0) {
            err(p, format!("{key}.stock"), "must not be negative");
        }
        if s.price.is_some_and(|x| x < Decimal::ZERO) {
            err(p, format!("{key}.price"), "must not be negative");
        }
        if !s.popularity.is_finite() || s.popularity < 0.0 {
            err(
                p,
                format!("{key}.popularity"),
                "must be a finite number ≥ 0",
            );
        }
        skus.push(Sku {
            sku: s.sku.clone(),
            stock: stock.into_iter().map(|n| n.max(0)).collect(),
            price: s.price,
            popularity: if s.popularity.is_finite() {
                s.popularity.max(0.0)
            } else {
                0.0
            },
        });
    }
    if let Some(c) = &raw.catalog {
        generate_catalog(c, raw.simulation.seed, &warehouses, &mut skus, &mut seen, p);
    }
    if skus.is_empty() {
        err(
            p,
            "skus",
            "the scenario needs at least one SKU ([[skus]] or [catalog])",
        );
    }
    if skus.len() > u32::MAX as usize / 2 {
        err(p, "skus", "too many SKUs");
    }

    // Channels.
    let mut channels: Vec<SimChannel> = Vec::new();
    for (i, c) in raw.channels.iter().enumerate() {
        if let Some(ch) = validate_channel(i, c, &warehouses, p) {
            if channels.iter().any(|o| o.id == ch.id) {
                err(
                    p,
                    format!("channels[{i}].id"),
                    format!("channel `{}` is listed twice", ch.id),
                );
            }
            channels.push(ch);
        }
    }
    if raw.channels.is_empty() {
        err(p, "channels", "the scenario needs at least one channel");
    }
    if channels.len() > MAX_CHANNELS.min(u16::MAX as usize) {
        err(p, "channels", format!("at most {MAX_CHANNELS} channels"));
    }

    // Events.
    let mut flash_sales = Vec::new();
    let mut restocks = Vec::new();
    for (i, e) in raw.events.iter().enumerate() {
        validate_event(
            i,
            e,
            start,
            &channels,
            &skus,
            &warehouses,
            &mut flash_sales,
            &mut restocks,
            p,
        );
    }

    // Candidate policies.
    let mut policies: Vec<PolicySpec> = Vec::new();
    for (i, rp) in raw.policies.iter().enumerate() {
        if let Some(spec) = validate_policy(i, rp, &channels, p) {
            if policies.iter().any(|o| o.name == spec.name)
                || BaseKind::ALL.iter().any(|b| b.name() == spec.name)
            {
                err(
                    p,
                    format!("policies[{i}].name"),
                    format!("`{}` is already a policy name", spec.name),
                );
            }
            policies.push(spec);
        }
    }

    if let Some(cs) = &raw.simulation.chart_sku
        && !skus.iter().any(|s| &s.sku == cs)
    {
        err(p, "simulation.chart_sku", format!("unknown SKU `{cs}`"));
    }

    if !p.is_empty() {
        return None;
    }
    Some(Scenario {
        name: raw.name.unwrap_or_else(|| "scenario".into()),
        description: raw.description,
        start,
        start_explicit,
        days,
        seed: raw.simulation.seed,
        warehouses,
        skus,
        channels,
        allocation,
        demand,
        flash_sales,
        restocks,
        policies,
        chart_sku: raw.simulation.chart_sku,
    })
}

fn generate_catalog(
    c: &RawCatalog,
    seed: u64,
    warehouses: &[String],
    skus: &mut Vec<Sku>,
    seen: &mut std::collections::HashSet<String>,
    p: &mut Vec<Problem>,
) {
    const MAX_GENERATED: i64 = 1_000_000;
    if c.count < 0 || c.count > MAX_GENERATED {
        err(
            p,
            "catalog.count",
            format!("must be between 0 and {MAX_GENERATED}"),
        );
        return;
    }
    let (lo, hi) = c.stock.bounds();
    if lo < 0 || hi < lo {
        err(p, "catalog.stock", "needs 0 ≤ min ≤ max");
        return;
    }
    let (plo, phi) = c.popularity.bounds();
    if !(plo.is_finite() && phi.is_finite()) || plo < 0.0 || phi < plo {
        err(p, "catalog.popularity", "needs 0 ≤ min ≤ max");
        return;
    }
    if c.price.is_some_and(|x| x < Decimal::ZERO) {
        err(p, "catalog.price", "must not be negative");
    }
    let w = match &c.warehouse {
        Some(code) => match warehouses.iter().position(|w| w == code) {
            Some(w) => w,
            None => {
                err(
                    p,
                    "catalog.warehouse",
                    format!("unknown warehouse `{code}`"),
                );
                return;
            }
        },
        None => 0,
    };
    let mut rng = SplitMix64::new(seed ^ 0xC47A_1060);
    let width = c.count.to_string().len().max(4);
    for i in 0..c.count {
        let name = format!("{}{:0width$}", c.prefix, i + 1);
        if !seen.insert(name.clone()) {
            err(
                p,
                "catalog.prefix",
                format!("generated SKU `{name}` is also listed in [[skus]]"),
            );
            return;
        }
        let mut stock = vec![0; warehouses.len()];
        stock[w] = lo + (rng.next_u64() % ((hi - lo) as u64 + 1)) as i64;
        let popularity = plo + (phi - plo) * rng.next_f64();
        skus.push(Sku {
            sku: name,
            stock,
            price: c.price,
            popularity,
        });
    }
}

fn validate_channel(
    i: usize,
    c: &RawChannel,
    warehouses: &[String],
    p: &mut Vec<Problem>,
) -> Option<SimChannel> {
    let key = |f: &str| format!("channels[{i}].{f}");
    let before = p.len();
    let id = match &c.id {
        Some(id) => {
            check_name(p, &key("id"), id);
            id.clone()
        }
        None => {
            err(p, key("id"), "required");
            String::new()
        }
    };
    let kind = match &c.kind {
        Some(k) => match parse_kind(k) {
            Some(k) => Some(k),
            None => {
                err(
                    p,
                    key("kind"),
                    format!("unknown kind `{k}` (known: {})", KNOWN_KINDS.join(", ")),
                );
                None
            }
        },
        None => {
            err(p, key("kind"), "required");
            None
        }
    };
    if c.priority < 0 || c.priority > i64::from(u32::MAX) {
        err(p, key("priority"), "must be between 0 and 4294967295");
    }
    let bp = percent_to_bp(c.buffer_percent).unwrap_or_else(|m| {
        err(p, key("buffer_percent"), m);
        0
    });
    for (f, v) in [
        ("buffer_units", c.buffer_units),
        ("min_qty", c.min_qty),
        ("keep_last_units", c.keep_last_units),
        ("max_qty", c.max_qty.unwrap_or(0)),
    ] {
        if v < 0 {
            err(p, key(f), "must not be negative");
        }
    }
    if let Some(m) = c.max_qty
        && m < c.min_qty
    {
        err(
            p,
            key("max_qty"),
            format!("must be at least min_qty ({})", c.min_qty),
        );
    }
    let buffer_mode = parse_mode(&c.buffer_mode).unwrap_or_else(|| {
        err(p, key("buffer_mode"), "must be `max` or `sum`");
        BufferMode::Max
    });
    let mut mask = 0u64;
    for (j, code) in c.warehouses.iter().enumerate() {
        match warehouses.iter().position(|w| w == code) {
            Some(w) => mask |= 1 << w,
            None => err(
                p,
                format!("channels[{i}].warehouses[{j}]"),
                format!(
                    "unknown warehouse `{code}` (known: {})",
                    warehouses.join(", ")
                ),
            ),
        }
    }
    if mask == 0 {
        mask = all_warehouses(warehouses.len());
    }
    let mut latency = |f: &str, v: &str| {
        parse_span_str(v).unwrap_or_else(|m| {
            err(p, key(f), m);
            0
        })
    };
    let push_latency = latency("push_latency", &c.push_latency);
    let order_latency = latency("order_latency", &c.order_latency);
    let mut schedule =
        |f: &str, text: &Option<String>, default: fn(&ChannelKind) -> Schedule, lat| {
            let s = match text {
                Some(t) => match t.parse::<Schedule>() {
                    Ok(s) => s,
                    Err(e) => {
                        err(p, key(f), e.to_string());
                        return None;
                    }
                },
                None => default(kind.as_ref()?),
            };
            Some(Cadence::from_schedule(&s, lat))
        };
    let stock_sync = schedule(
        "stock_schedule",
        &c.stock_schedule,
        default_stock_schedule,
        push_latency,
    );
    let order_sync = schedule(
        "order_schedule",
        &c.order_schedule,
        default_order_schedule,
        order_latency,
    );
    let propagation = match &c.propagation {
        None => kind.as_ref().map(default_propagation).unwrap_or((0, 0)),
        Some(r) => {
            let (a, b) = match r {
                RawRange::One(v) => (v.clone(), v.clone()),
                RawRange::Two([a, b]) => (a.clone(), b.clone()),
            };
            match (parse_span(&a), parse_span(&b)) {
                (Ok(lo), Ok(hi)) if lo <= hi => (lo, hi),
                (Ok(_), Ok(_)) => {
                    err(
                        p,
                        key("propagation"),
                        "the range must be [shortest, longest]",
                    );
                    (0, 0)
                }
                (Err(m), _) | (_, Err(m)) => {
                    err(p, key("propagation"), m);
                    (0, 0)
                }
            }
        }
    };
    if !c.demand_per_day.is_finite() || c.demand_per_day < 0.0 {
        err(p, key("demand_per_day"), "must be a finite number ≥ 0");
    }
    let order_sizes = c
        .order_sizes
        .as_ref()
        .and_then(|v| normalise(p, &key("order_sizes"), v, None));
    if c.split_weight < 0 || c.split_weight > 1_000_000 {
        err(p, key("split_weight"), "must be between 0 and 1000000");
    }
    if p.len() > before {
        return None;
    }
    Some(SimChannel {
        id,
        kind: kind?,
        rule: ChannelRule {
            priority: c.priority as u32,
            warehouses: mask,
            buffer_bp: bp,
            buffer_units: c.buffer_units,
            buffer_mode,
            buffer_rounding: crate::allocation::BufferRounding::Up,
            min_qty: c.min_qty,
            max_qty: c.max_qty.unwrap_or(i64::MAX),
            keep_last: c.keep_last_units,
            enabled: true,
        },
        stock_sync: stock_sync?,
        order_sync: order_sync?,
        propagation,
        demand_per_day: c.demand_per_day,
        order_sizes,
        split_weight: c.split_weight as u64,
    })
}

#[allow(clippy::too_many_arguments)]
fn validate_event(
    i: usize,
    e: &RawEvent,
    start: Timestamp,
    channels: &[SimChannel],
    skus: &[Sku],
    warehouses: &[String],
    flash_sales: &mut Vec<FlashSale>,
    restocks: &mut Vec<Restock>,
    p: &mut Vec<Problem>,
) {
    let key = |f: &str| format!("events[{i}].{f}");
    let before = p.len();
    let at = match &e.at {
        Some(a) => parse_at(a, start).unwrap_or_else(|m| {
            err(p, key("at"), m);
            0
        }),
        None => {
            err(p, key("at"), "required");
            0
        }
    };
    let sku_index = |p: &mut Vec<Problem>, k: String, s: &str| -> Option<u32> {
        match skus.iter().position(|x| x.sku == s) {
            Some(i) => Some(i as u32),
            None => {
                err(p, k, format!("unknown SKU `{s}`"));
                None
            }
        }
    };
    let not_for = |p: &mut Vec<Problem>, kind: &str, fields: &[(&str, bool)]| {
        for (f, present) in fields {
            if *present {
                err(p, key(f), format!("not used by a `{kind}` event"));
            }
        }
    };
    match e.kind.as_deref() {
        Some("flash_sale") => {
            not_for(
                p,
                "flash_sale",
                &[
                    ("sku", e.sku.is_some()),
                    ("warehouse", e.warehouse.is_some()),
                    ("qty", e.qty.is_some()),
                    ("every", e.every.is_some()),
                ],
            );
            let channel = match &e.channel {
                Some(c) => match channels.iter().position(|x| &x.id == c) {
                    Some(c) => Some(c),
                    None => {
                        err(p, key("channel"), format!("unknown channel `{c}`"));
                        None
                    }
                },
                None => {
                    err(p, key("channel"), "required");
                    None
                }
            };
            let duration = match &e.duration {
                Some(d) => parse_duration(d).map(|d| d.as_secs()).unwrap_or_else(|m| {
                    err(p, key("duration"), m);
                    0
                }),
                None => {
                    err(p, key("duration"), "required");
                    0
                }
            };
            let multiplier = e.multiplier.unwrap_or(1.0);
            if !multiplier.is_finite() || !(1.0..=1000.0).contains(&multiplier) {
                err(p, key("multiplier"), "must be between 1 and 1000");
            }
            let mut list = Vec::new();
            for (j, s) in e.skus.iter().enumerate() {
                if let Some(x) = sku_index(p, format!("events[{i}].skus[{j}]"), s) {
                    list.push(x);
                }
            }
            if p.len() == before
                && let Some(channel) = channel
            {
                flash_sales.push(FlashSale {
                    channel,
                    from: at,
                    until: at.saturating_add(duration),
                    multiplier,
                    skus: list,
                });
            }
        }
        Some("restock") => {
            not_for(
                p,
                "restock",
                &[
                    ("channel", e.channel.is_some()),
                    ("duration", e.duration.is_some()),
                    ("multiplier", e.multiplier.is_some()),
                    ("skus", !e.skus.is_empty()),
                ],
            );
            let sku = e.sku.as_ref().and_then(|s| sku_index(p, key("sku"), s));
            let warehouse = match &e.warehouse {
                Some(w) => warehouses.iter().position(|x| x == w).unwrap_or_else(|| {
                    err(p, key("warehouse"), format!("unknown warehouse `{w}`"));
                    0
                }),
                None => 0,
            };
            let qty = match e.qty {
                Some(q) if q > 0 => q,
                Some(q) => {
                    err(p, key("qty"), format!("must be positive (got {q})"));
                    0
                }
                None => {
                    err(p, key("qty"), "required");
                    0
                }
            };
            let every = match &e.every {
                Some(s) => match parse_duration(s) {
                    Ok(d) if d.as_secs() >= 3600 => Some(d.as_secs()),
                    Ok(_) => {
                        err(p, key("every"), "at least 1h");
                        None
                    }
                    Err(m) => {
                        err(p, key("every"), m);
                        None
                    }
                },
                None => None,
            };
            if p.len() == before {
                restocks.push(Restock {
                    at,
                    every,
                    sku,
                    warehouse,
                    qty,
                });
            }
        }
        Some(other) => err(
            p,
            key("kind"),
            format!("unknown event kind `{other}` (known: flash_sale, restock)"),
        ),
        None => err(p, key("kind"), "required (flash_sale or restock)"),
    }
}

fn validate_overrides(key: &str, r: &RawOverrides, p: &mut Vec<Problem>) -> RuleOverrides {
    let k = |f: &str| format!("{key}.{f}");
    let non_neg = |p: &mut Vec<Problem>, f: &str, v: Option<i64>| {
        if let Some(x) = v
            && x < 0
        {
            err(p, k(f), "must not be negative");
        }
        v.map(|x| x.max(0))
    };
    let buffer_bp = r.buffer_percent.and_then(|x| match percent_to_bp(x) {
        Ok(bp) => Some(bp),
        Err(m) => {
            err(p, k("buffer_percent"), m);
            None
        }
    });
    let buffer_mode = r.buffer_mode.as_deref().and_then(|m| {
        parse_mode(m).or_else(|| {
            err(p, k("buffer_mode"), "must be `max` or `sum`");
            None
        })
    });
    let priority = r.priority.and_then(|x| {
        if (0..=i64::from(u32::MAX)).contains(&x) {
            Some(x as u32)
        } else {
            err(p, k("priority"), "must be between 0 and 4294967295");
            None
        }
    });
    RuleOverrides {
        priority,
        buffer_bp,
        buffer_units: non_neg(p, "buffer_units", r.buffer_units),
        buffer_mode,
        min_qty: non_neg(p, "min_qty", r.min_qty),
        max_qty: non_neg(p, "max_qty", r.max_qty),
        keep_last: non_neg(p, "keep_last_units", r.keep_last_units),
        split_weight: non_neg(p, "split_weight", r.split_weight).map(|x| x as u64),
    }
}

fn validate_policy(
    i: usize,
    r: &RawPolicy,
    channels: &[SimChannel],
    p: &mut Vec<Problem>,
) -> Option<PolicySpec> {
    let key = format!("policies[{i}]");
    let before = p.len();
    let name = match &r.name {
        Some(n) => {
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                err(
                    p,
                    format!("{key}.name"),
                    format!("`{n}`: use letters, digits, `-`, `_`, `.`"),
                );
            }
            n.clone()
        }
        None => {
            err(p, format!("{key}.name"), "required");
            String::new()
        }
    };
    let base = match r.base.as_deref() {
        Some(b) => BaseKind::parse(b).or_else(|| {
            let known: Vec<&str> = BaseKind::ALL.iter().map(|b| b.name()).collect();
            err(
                p,
                format!("{key}.base"),
                format!("unknown base `{b}` (known: {})", known.join(", ")),
            );
            None
        }),
        None => {
            err(
                p,
                format!("{key}.base"),
                "required (everywhere, fixed_split, shared or strict)",
            );
            None
        }
    };
    for (f, v) in [
        ("scarce_at_or_below", r.scarce_at_or_below),
        ("safety_stock", r.safety_stock),
    ] {
        if v.is_some_and(|x| x < 0) {
            err(p, format!("{key}.{f}"), "must not be negative");
        }
    }
    let all = validate_overrides(&key, &r.rules(), p);
    let mut per_channel = Vec::new();
    for (id, o) in &r.channels {
        let k = format!("{key}.channels.{id}");
        match channels.iter().position(|c| &c.id == id) {
            Some(c) => per_channel.push((c, validate_overrides(&k, o, p))),
            None => err(p, k, format!("unknown channel `{id}`")),
        }
    }
    if p.len() > before {
        return None;
    }
    Some(PolicySpec {
        name,
        base: base?,
        description: r.description.clone(),
        scarce_at_or_below: r.scarce_at_or_below,
        safety_stock: r.safety_stock,
        velocity_weighting: r.velocity_weighting,
        all,
        per_channel,
    })
}
