//! Allocation throughput: 100,000 SKUs × 8 channels × 3 warehouses per iteration.
//!
//! Target (issue 3): at least 10 million SKU-channel allocations per second on one core, i.e.
//! one iteration (800,000 SKU-channel allocations) in under 80 ms. Run with `cargo bench --bench
//! allocation`; the figure goes into the README.

use odoo_channels::allocation::{
    Allocator, ChannelRule, Mode, Offer, Policy, SkuInput, WarehouseStock,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

const SKUS: usize = 100_000;
const CHANNELS: usize = 8;
const WAREHOUSES: usize = 3;

fn main() {
    divan::main();
}

struct Catalogue {
    stock: Vec<[WarehouseStock; WAREHOUSES]>,
    pending: Vec<i64>,
    velocity: Vec<[u32; CHANNELS]>,
}

fn catalogue() -> Catalogue {
    let mut rng = StdRng::seed_from_u64(7);
    let mut stock = Vec::with_capacity(SKUS);
    let mut pending = Vec::with_capacity(SKUS);
    let mut velocity = Vec::with_capacity(SKUS);
    for _ in 0..SKUS {
        // A realistic mix: many SKUs with little stock (where scarcity and strict sharing do
        // real work), some with plenty.
        let big = rng.random_bool(0.3);
        let mut w = [WarehouseStock::default(); WAREHOUSES];
        for s in &mut w {
            let on_hand = if big {
                rng.random_range(50..2000)
            } else {
                rng.random_range(0..25)
            };
            *s = WarehouseStock {
                on_hand,
                reserved: rng.random_range(0..=on_hand / 4 + 1),
                safety: rng.random_range(0..3),
            };
        }
        stock.push(w);
        pending.push(rng.random_range(0..3));
        let mut v = [0u32; CHANNELS];
        for x in &mut v {
            *x = rng.random_range(0..40);
        }
        velocity.push(v);
    }
    Catalogue {
        stock,
        pending,
        velocity,
    }
}

fn rules() -> Vec<ChannelRule> {
    (0..CHANNELS)
        .map(|c| ChannelRule {
            priority: (CHANNELS - c) as u32 / 2,
            warehouses: if c % 3 == 0 { 0b011 } else { 0b111 },
            buffer_bp: 500 + 250 * c as u32,
            buffer_units: (c % 3) as i64,
            min_qty: (c % 2) as i64 * 2,
            max_qty: if c == 7 { 100 } else { i64::MAX },
            keep_last: (c % 4 == 3) as i64 * 2,
            ..ChannelRule::default()
        })
        .collect()
}

fn run(bencher: divan::Bencher, policy: Policy) {
    let cat = catalogue();
    let alloc = Allocator::new(policy, rules()).expect("valid rules");
    let mut scratch = alloc.scratch();
    let mut out = vec![Offer::default(); CHANNELS];
    bencher
        .counter(divan::counter::ItemsCount::new(SKUS * CHANNELS))
        .bench_local(|| {
            let mut listed = 0i64;
            for i in 0..SKUS {
                let sku = SkuInput {
                    warehouses: &cat.stock[i],
                    product_safety: 1,
                    pending: cat.pending[i],
                    fixed: &[],
                    velocity: &cat.velocity[i],
                };
                alloc.allocate(&sku, &mut scratch, &mut out);
                listed += out.iter().map(|o| o.qty).sum::<i64>();
            }
            divan::black_box(listed)
        });
}

#[divan::bench(sample_count = 10)]
fn shared_100k_skus_x_8_channels(bencher: divan::Bencher) {
    run(
        bencher,
        Policy {
            mode: Mode::Shared,
            scarce_at_or_below: 10,
            velocity_weighting: true,
        },
    );
}

#[divan::bench(sample_count = 10)]
fn strict_100k_skus_x_8_channels(bencher: divan::Bencher) {
    run(
        bencher,
        Policy {
            mode: Mode::Strict,
            scarce_at_or_below: 10,
            velocity_weighting: true,
        },
    );
}
