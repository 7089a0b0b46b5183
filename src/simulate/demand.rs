//! Generated buyers: a Poisson process per channel, shaped by daily and weekly cycles, with
//! flash sales layered on top.
//!
//! Each channel's buyers form one non-homogeneous Poisson process of rate
//! `demand_per_day × Σ popularity × season(t)`, sampled by thinning (Lewis & Shedler): draw
//! candidates at the peak rate, keep each with probability `season(t) / peak`. The SKU of a
//! kept buyer is drawn by popularity, the quantity from the order-size distribution. A flash
//! sale adds a second process of rate `(multiplier − 1) ×` the base over its window and SKUs,
//! so the sale multiplies demand without disturbing the buyers the base process already drew:
//! the same seed with and without a flash sale gives the same ordinary buyers.
//!
//! `season(t) = (1 + a·cos(2π(h − peak)/24)) × weekly[weekday]` with `h` the UTC hour and the
//! weekly factors normalised to mean 1, so `demand_per_day` is the mean over a week.

use super::rng::{SplitMix64, mix};
use super::scenario::{DAY, DemandShape, Scenario, Secs};

/// One buyer arriving on a marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BuyerOrder {
    pub at: Secs,
    pub channel: u16,
    pub sku: u32,
    pub qty: u32,
}

/// The demand multiplier at `t` seconds after the start (`start_epoch`: the start in Unix
/// seconds).
pub fn season(shape: &DemandShape, start_epoch: i64, t: f64) -> f64 {
    let abs = start_epoch as f64 + t;
    let hour = abs.rem_euclid(DAY as f64) / 3600.0;
    let daily = 1.0
        + shape.daily_amplitude * (std::f64::consts::TAU * (hour - shape.peak_hour) / 24.0).cos();
    // 1970-01-01 was a Thursday: index 3 when Monday is 0.
    let weekday = ((abs / DAY as f64).floor() as i64 + 3).rem_euclid(7) as usize;
    daily * shape.weekly[weekday]
}

fn season_peak(shape: &DemandShape) -> f64 {
    (1.0 + shape.daily_amplitude) * shape.weekly.iter().copied().fold(0.0, f64::max)
}

/// Cumulative weights for drawing by `u ∈ [0, 1)`.
struct Picker {
    cumulative: Vec<f64>,
    total: f64,
}

impl Picker {
    fn new(weights: impl Iterator<Item = f64>) -> Picker {
        let mut acc = 0.0;
        let cumulative: Vec<f64> = weights
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        Picker {
            cumulative,
            total: acc,
        }
    }

    fn pick(&self, u: f64) -> usize {
        let x = u * self.total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

struct Layer<'a> {
    channel: usize,
    from: Secs,
    until: Secs,
    /// Buyers per second at season 1.
    rate: f64,
    /// SKU indices the layer draws from, and their popularity picker.
    skus: Option<&'a [u32]>,
    picker: Picker,
    key: u64,
}

/// Every buyer of the scenario's horizon, sorted by time (then channel).
pub fn generate(sc: &Scenario) -> Vec<BuyerOrder> {
    let horizon = sc.horizon();
    let start_epoch = sc.start.as_second();
    let mut layers: Vec<Layer<'_>> = Vec::new();
    for (c, ch) in sc.channels.iter().enumerate() {
        if ch.demand_per_day > 0.0 {
            let picker = Picker::new(sc.skus.iter().map(|s| s.popularity));
            layers.push(Layer {
                channel: c,
                from: 0,
                until: horizon,
                rate: ch.demand_per_day / DAY as f64 * picker.total,
                skus: None,
                picker,
                key: c as u64,
            });
        }
    }
    for (i, f) in sc.flash_sales.iter().enumerate() {
        let ch = &sc.channels[f.channel];
        let extra = f.multiplier - 1.0;
        if extra <= 0.0 || ch.demand_per_day <= 0.0 {
            continue;
        }
        let (skus, picker) = if f.skus.is_empty() {
            (None, Picker::new(sc.skus.iter().map(|s| s.popularity)))
        } else {
            (
                Some(f.skus.as_slice()),
                Picker::new(f.skus.iter().map(|&s| sc.skus[s as usize].popularity)),
            )
        };
        layers.push(Layer {
            channel: f.channel,
            from: f.from.min(horizon),
            until: f.until.min(horizon),
            rate: extra * ch.demand_per_day / DAY as f64 * picker.total,
            skus,
            picker,
            key: 0x1_0000 + i as u64,
        });
    }

    let peak = season_peak(&sc.demand);
    let mut orders = Vec::new();
    for layer in &layers {
        if layer.rate <= 0.0 || layer.picker.total <= 0.0 || layer.from >= layer.until {
            continue;
        }
        let ch = &sc.channels[layer.channel];
        let sizes = Picker::new(
            ch.order_sizes
                .as_deref()
                .unwrap_or(&sc.demand.order_sizes)
                .iter()
                .copied(),
        );
        let mut rng = SplitMix64::new(mix(&[sc.seed, layer.key]));
        let max_rate = layer.rate * peak;
        let mut t = layer.from as f64;
        loop {
            t += rng.exponential(max_rate);
            if t >= layer.until as f64 {
                break;
            }
            // Always draw the three numbers, so that a change in one does not shift the rest.
            let keep = rng.next_f64() * peak < season(&sc.demand, start_epoch, t);
            let which = layer.picker.pick(rng.next_f64());
            let size = sizes.pick(rng.next_f64());
            if keep {
                let sku = match layer.skus {
                    Some(list) => list[which],
                    None => which as u32,
                };
                orders.push(BuyerOrder {
                    at: t as Secs,
                    channel: layer.channel as u16,
                    sku,
                    qty: size as u32 + 1,
                });
            }
        }
    }
    orders.sort_by_key(|o| (o.at, o.channel));
    orders
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        Scenario::from_toml_str(&format!(
            r#"
[simulation]
days = 28
[demand]
daily_amplitude = 0.8
peak_hour = 20
weekly = [1, 1, 1, 1, 1, 2, 2]
order_sizes = [0.5, 0.5]
[[skus]]
sku = "A"
stock = 10
popularity = 3
[[skus]]
sku = "B"
stock = 10
[[channels]]
id = "a"
kind = "amazon"
demand_per_day = 10
[[channels]]
id = "b"
kind = "ebay"
demand_per_day = 0
{extra}
"#
        ))
        .unwrap()
    }

    #[test]
    fn rates_popularity_sizes_and_cycles() {
        let sc = scenario("");
        let o = generate(&sc);
        // 10 per day per unit of popularity, 4 units of popularity, 28 days.
        let expected = 10.0 * 4.0 * 28.0;
        let n = o.len() as f64;
        assert!(
            (n - expected).abs() < 4.0 * expected.sqrt(),
            "{n} vs {expected}"
        );
        assert!(o.iter().all(|x| x.channel == 0), "b has no demand");
        let a = o.iter().filter(|x| x.sku == 0).count() as f64;
        assert!((a / n - 0.75).abs() < 0.05, "popularity 3:1 → {}", a / n);
        let two = o.iter().filter(|x| x.qty == 2).count() as f64;
        assert!((two / n - 0.5).abs() < 0.05);
        assert!(o.windows(2).all(|w| w[0].at <= w[1].at));
        // Evening (18–22 h) busier than early morning (6–10 h): cos peak at 20 h.
        let hour = |x: &BuyerOrder| (x.at % DAY) / 3600;
        let evening = o.iter().filter(|x| (18..22).contains(&hour(x))).count();
        let morning = o.iter().filter(|x| (6..10).contains(&hour(x))).count();
        assert!(evening > 3 * morning, "{evening} vs {morning}");
        // Weekend days (start is a Monday: days 5, 6) have twice the weekday demand.
        let weekend = o.iter().filter(|x| (x.at / DAY) % 7 >= 5).count() as f64;
        assert!((weekend / n - 4.0 / 9.0).abs() < 0.05, "{}", weekend / n);
    }

    #[test]
    fn flash_sale_adds_demand_inside_its_window_only() {
        let base = generate(&scenario(""));
        let sale = generate(&scenario(
            "[[events]]\nkind = \"flash_sale\"\nchannel = \"a\"\nat = \"3d\"\nduration = \"1d\"\nmultiplier = 5\nskus = [\"B\"]\n",
        ));
        let inside = |o: &[BuyerOrder], sku| {
            o.iter()
                .filter(|x| x.sku == sku && (3 * DAY..4 * DAY).contains(&x.at))
                .count()
        };
        let (b0, b1) = (inside(&base, 1), inside(&sale, 1));
        assert!(b1 > 3 * b0, "B in the window: {b0} → {b1}");
        assert_eq!(inside(&base, 0), inside(&sale, 0), "A untouched");
        // Outside the window the stream is identical: the sale is a separate layer.
        let outside = |o: &[BuyerOrder]| -> Vec<BuyerOrder> {
            o.iter()
                .filter(|x| !(3 * DAY..4 * DAY).contains(&x.at))
                .copied()
                .collect()
        };
        assert_eq!(outside(&base), outside(&sale));
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a = generate(&scenario(""));
        assert_eq!(a, generate(&scenario("")));
        let mut sc = scenario("");
        sc.seed = 7;
        assert_ne!(a, generate(&sc));
    }
}
