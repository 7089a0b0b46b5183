//! `simulate` throughput: the catalogue-sized example (1,000 SKUs × 6 channels × 30 days,
//! ~385,000 buyers, `examples/simulate/large.toml`).
//!
//! Target (simulate issue): a 30-day simulation of 1,000 SKUs × 6 channels in a few seconds in
//! release, all four built-in policies included. Run with `cargo bench --bench simulate`.

use odoo_channels::simulate::{
    BaseKind, ChartTarget, Input, PolicySpec, Scenario, demand, run_policy,
};

fn main() {
    divan::main();
}

fn scenario() -> Scenario {
    Scenario::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/simulate/large.toml"
    )))
    .expect("the example scenario is valid")
}

/// Generating the buyers (Poisson thinning, seasonality, flash sale).
#[divan::bench(sample_count = 5)]
fn generate_buyers(b: divan::Bencher) {
    let sc = scenario();
    b.bench(|| demand::generate(divan::black_box(&sc)).len());
}

/// One policy over the whole stream (the event engine plus the policy).
#[divan::bench(sample_count = 5, args = [BaseKind::Everywhere, BaseKind::FixedSplit, BaseKind::Shared, BaseKind::Strict])]
fn one_policy(b: divan::Bencher, base: BaseKind) {
    let input = Input::generated(scenario());
    let spec = PolicySpec::builtin(base);
    b.bench(|| {
        let mut p = spec.build(&input.scenario).unwrap();
        run_policy(
            &input.scenario,
            &input.orders,
            p.as_mut(),
            ChartTarget::AllSkus,
        )
        .unwrap()
        .total
        .orders
    });
}
