//! What a simulation found, per policy and channel; the text table and the recommendation.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use super::scenario::{Secs, fmt_range};

/// Counters for one channel under one policy (or their sum over channels).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChannelStats {
    pub channel: String,
    /// Buyers who came to the channel.
    pub buyers: u64,
    /// Orders the marketplace accepted (the display covered them) and their units.
    pub orders: u64,
    pub units: u64,
    /// Accepted units Odoo could not serve when the order reached the daemon, and the orders
    /// concerned (each must be cancelled: the marketplace's oversell penalty).
    pub oversold_units: u64,
    pub oversold_orders: u64,
    /// Buyers turned away although the stock could have served them: the policy starved the
    /// channel (policy-caused lost sales).
    pub lost_units: u64,
    pub lost_orders: u64,
    /// Buyers turned away because the stock was truly gone.
    pub stockout_units: u64,
    pub stockout_orders: u64,
    /// Time-average of units physically available in the channel's warehouses that the
    /// channel did not show (buffers, shares, stale displays), summed over SKUs.
    pub hidden_avg: f64,
    /// Quantity updates sent to the marketplace.
    pub pushes: u64,
    /// Served units × price (`None` when the scenario has no prices).
    pub revenue: Option<Decimal>,
    /// Lost (policy-caused) units × price.
    pub lost_revenue: Option<Decimal>,
}

impl ChannelStats {
    fn add(&mut self, o: &ChannelStats) {
        self.buyers += o.buyers;
        self.orders += o.orders;
        self.units += o.units;
        self.oversold_units += o.oversold_units;
        self.oversold_orders += o.oversold_orders;
        self.lost_units += o.lost_units;
        self.lost_orders += o.lost_orders;
        self.stockout_units += o.stockout_units;
        self.stockout_orders += o.stockout_orders;
        self.hidden_avg += o.hidden_avg;
        self.pushes += o.pushes;
        self.revenue = add_money(self.revenue, o.revenue);
        self.lost_revenue = add_money(self.lost_revenue, o.lost_revenue);
    }
}

fn add_money(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
    }
}

/// The chart's data for one policy: `series[0]` is the true stock (Odoo's on hand), then one
/// series per channel (its displayed quantity), sampled at the end of each bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartData {
    pub bucket_secs: Secs,
    pub series: Vec<Vec<i64>>,
    /// When oversold orders reached the daemon (capped).
    pub oversold_at: Vec<Secs>,
}

/// One policy's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyResult {
    pub policy: String,
    pub description: String,
    pub channels: Vec<ChannelStats>,
    pub total: ChannelStats,
    /// Time-average of units physically available that no channel listed (stock beyond the
    /// largest display: held back by every buffer, or fragmented by a split), summed over SKUs.
    pub idle_avg: f64,
    #[serde(skip)]
    pub chart: ChartData,
}

impl PolicyResult {
    pub fn new(
        policy: String,
        description: String,
        channels: Vec<ChannelStats>,
        idle_avg: f64,
        chart: ChartData,
    ) -> Self {
        let mut total = ChannelStats {
            channel: "total".into(),
            hidden_avg: 0.0,
            ..ChannelStats::default()
        };
        for c in &channels {
            total.add(c);
        }
        PolicyResult {
            policy,
            description,
            channels,
            total,
            idle_avg,
            chart,
        }
    }
}

/// A channel as the report describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelInfo {
    pub id: String,
    pub kind: String,
    pub priority: u32,
    pub stock_sync: String,
    pub order_sync: String,
    pub propagation: String,
    /// Generated demand (`None` when a CSV is replayed).
    pub demand_per_day: Option<f64>,
}

/// Where the buyers came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamInfo {
    /// `generated` or the CSV path.
    pub source: String,
    pub buyers: usize,
    /// CSV rows skipped as malformed (with `--skip-bad-rows`).
    pub skipped_rows: usize,
    /// CSV orders outside the simulated window.
    pub outside_window: usize,
}

/// The recommendation: fewest oversold orders, ties broken by lost sales.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub policy: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    pub description: Option<String>,
    pub start: String,
    pub days: u32,
    pub seed: u64,
    pub skus: usize,
    pub warehouses: usize,
    pub initial_stock: i64,
    pub channels: Vec<ChannelInfo>,
    pub events: Vec<String>,
    pub stream: StreamInfo,
    pub chart_of: String,
    pub policies: Vec<PolicyResult>,
    pub recommendation: Option<Recommendation>,
    pub notes: Vec<String>,
}

/// The policy with the fewest oversold orders; ties go to fewer lost (policy-caused) units,
/// then fewer lost orders, then the order given.
pub fn recommend(results: &[PolicyResult]) -> Option<Recommendation> {
    let best = results.iter().min_by_key(|r| {
        (
            r.total.oversold_orders,
            r.total.lost_units,
            r.total.lost_orders,
        )
    })?;
    let tied: Vec<&str> = results
        .iter()
        .filter(|r| {
            r.policy != best.policy && r.total.oversold_orders == best.total.oversold_orders
        })
        .map(|r| r.policy.as_str())
        .collect();
    let mut reason = format!("fewest oversold orders ({})", best.total.oversold_orders);
    if !tied.is_empty() {
        let _ = write!(
            reason,
            ", tied with {}; fewest lost sales among them ({} units in {} orders)",
            tied.join(", "),
            best.total.lost_units,
            best.total.lost_orders
        );
    } else {
        let _ = write!(
            reason,
            "; {} units in {} orders lost to the policy",
            best.total.lost_units, best.total.lost_orders
        );
    }
    // The rule puts oversells first; say what it costs when another policy sells more.
    if let Some(alt) = results
        .iter()
        .filter(|r| r.total.lost_units < best.total.lost_units)
        .min_by_key(|r| (r.total.oversold_orders, r.total.lost_units))
    {
        let _ = write!(
            reason,
            "; trade-off: {} oversold {} order{} but lost {} fewer units",
            alt.policy,
            alt.total.oversold_orders,
            if alt.total.oversold_orders == 1 {
                ""
            } else {
                "s"
            },
            best.total.lost_units - alt.total.lost_units
        );
    }
    Some(Recommendation {
        policy: best.policy.clone(),
        reason,
    })
}

fn money(m: Option<Decimal>) -> String {
    m.map(|d| d.round_dp(2).to_string())
        .unwrap_or_else(|| "-".into())
}

fn pair(u: u64, o: u64) -> String {
    format!("{u}/{o}")
}

/// A left-aligned first column and right-aligned others.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; n];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::from(indent);
        for (i, c) in r.iter().enumerate() {
            let pad = width[i] - c.chars().count();
            if i == 0 {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

impl Report {
    /// The readable report: scenario, one table per policy, the comparison, the
    /// recommendation.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "odoo-channels simulate: {} — {} day{} from {}, seed {}",
            self.scenario,
            self.days,
            if self.days == 1 { "" } else { "s" },
            self.start,
            self.seed
        );
        if let Some(d) = &self.description {
            let _ = writeln!(s, "  {d}");
        }
        let _ = writeln!(
            s,
            "  {} SKU{}, {} warehouse{}, {} units at start; {} buyers ({})",
            self.skus,
            if self.skus == 1 { "" } else { "s" },
            self.warehouses,
            if self.warehouses == 1 { "" } else { "s" },
            self.initial_stock,
            self.stream.buyers,
            self.stream.source,
        );
        if self.stream.skipped_rows > 0 {
            let _ = writeln!(
                s,
                "  {} malformed CSV rows skipped",
                self.stream.skipped_rows
            );
        }
        if self.stream.outside_window > 0 {
            let _ = writeln!(
                s,
                "  {} CSV orders outside the simulated window were not replayed",
                self.stream.outside_window
            );
        }
        for e in &self.events {
            let _ = writeln!(s, "  event: {e}");
        }
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        s.push('\n');
        let mut rows = vec![vec![
            "channel".into(),
            "kind".into(),
            "priority".into(),
            "stock push".into(),
            "orders in".into(),
            "propagation".into(),
            "buyers/SKU/day".into(),
        ]];
        for c in &self.channels {
            rows.push(vec![
                c.id.clone(),
                c.kind.clone(),
                c.priority.to_string(),
                c.stock_sync.clone(),
                c.order_sync.clone(),
                c.propagation.clone(),
                c.demand_per_day
                    .map_or_else(|| "(csv)".to_owned(), |d| format!("{d:.2}")),
            ]);
        }
        table(&mut s, "  ", &rows);
        s.push_str(
            "\n  oversold: accepted orders Odoo could not serve when they reached the daemon (u/o = units/orders)\n  \
             lost: buyers refused although the stock could have served them (the policy starved the channel)\n  \
             stock-out: buyers refused because the stock was gone\n  \
             hidden: average units available that the channel did not show; idle: listed on no channel\n",
        );

        for p in &self.policies {
            let _ = writeln!(s, "\npolicy {}: {}", p.policy, p.description);
            let mut rows = vec![vec![
                "channel".into(),
                "buyers".into(),
                "orders".into(),
                "units".into(),
                "oversold u/o".into(),
                "lost u/o".into(),
                "stock-out u/o".into(),
                "hidden".into(),
                "pushes".into(),
                "revenue".into(),
            ]];
            for c in p.channels.iter().chain(std::iter::once(&p.total)) {
                rows.push(vec![
                    c.channel.clone(),
                    c.buyers.to_string(),
                    c.orders.to_string(),
                    c.units.to_string(),
                    pair(c.oversold_units, c.oversold_orders),
                    pair(c.lost_units, c.lost_orders),
                    pair(c.stockout_units, c.stockout_orders),
                    format!("{:.1}", c.hidden_avg),
                    c.pushes.to_string(),
                    money(c.revenue),
                ]);
            }
            table(&mut s, "  ", &rows);
            let _ = writeln!(
                s,
                "  idle stock (available, listed on no channel): {:.1} units on average",
                p.idle_avg
            );
        }

        let _ = writeln!(s, "\ncomparison (totals)");
        let mut rows = vec![vec![
            "policy".into(),
            "oversold orders".into(),
            "oversold units".into(),
            "lost orders".into(),
            "lost units".into(),
            "stock-out orders".into(),
            "idle".into(),
            "revenue".into(),
            "lost revenue".into(),
        ]];
        for p in &self.policies {
            rows.push(vec![
                p.policy.clone(),
                p.total.oversold_orders.to_string(),
                p.total.oversold_units.to_string(),
                p.total.lost_orders.to_string(),
                p.total.lost_units.to_string(),
                p.total.stockout_orders.to_string(),
                format!("{:.1}", p.idle_avg),
                money(p.total.revenue),
                money(p.total.lost_revenue),
            ]);
        }
        table(&mut s, "  ", &rows);
        s.push('\n');
        match &self.recommendation {
            Some(r) => {
                let _ = writeln!(s, "recommendation: {} — {}", r.policy, r.reason);
            }
            None => s.push_str("recommendation: none (no policy ran)\n"),
        }
        s
    }
}

/// `"5m–15m"` for a propagation range (re-exported for the CLI's channel table).
pub fn propagation_label(range: (Secs, Secs)) -> String {
    fmt_range(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, oversold: u64, lost: u64) -> PolicyResult {
        let c = ChannelStats {
            channel: "a".into(),
            oversold_orders: oversold,
            lost_units: lost,
            lost_orders: lost,
            revenue: Some(Decimal::new(1050, 2)),
            ..ChannelStats::default()
        };
        PolicyResult::new(
            name.into(),
            String::new(),
            vec![c.clone(), c],
            0.0,
            ChartData {
                bucket_secs: 1,
                series: vec![],
                oversold_at: vec![],
            },
        )
    }

    #[test]
    fn totals_add_channels() {
        let r = result("x", 2, 3);
        assert_eq!(r.total.oversold_orders, 4);
        assert_eq!(r.total.lost_units, 6);
        assert_eq!(r.total.revenue, Some(Decimal::new(2100, 2)));
    }

    #[test]
    fn recommendation_fewest_oversold_then_lost() {
        let rs = [
            result("everywhere", 5, 0),
            result("strict", 0, 9),
            result("shared", 0, 2),
        ];
        let r = recommend(&rs).unwrap();
        assert_eq!(r.policy, "shared");
        assert!(r.reason.contains("tied with strict"), "{}", r.reason);
        let rs = [result("everywhere", 5, 0), result("strict", 1, 9)];
        let r = recommend(&rs).unwrap();
        assert_eq!(r.policy, "strict");
        assert!(
            r.reason
                .contains("trade-off: everywhere oversold 10 orders but lost 18 fewer units"),
            "{}",
            r.reason
        );
        assert!(recommend(&[]).is_none());
    }
}
