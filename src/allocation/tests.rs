use super::*;
use proptest::prelude::*;

fn rule(priority: u32, buffer_pct: u32) -> ChannelRule {
    ChannelRule {
        priority,
        buffer_bp: buffer_pct * 100,
        ..ChannelRule::default()
    }
}

fn one_warehouse(on_hand: i64) -> [WarehouseStock; 1] {
    [WarehouseStock {
        on_hand,
        reserved: 0,
        safety: 0,
    }]
}

fn run(policy: Policy, rules: Vec<ChannelRule>, sku: SkuInput<'_>) -> Vec<Offer> {
    let a = Allocator::new(policy, rules).unwrap();
    let mut out = vec![Offer::default(); a.rules().len()];
    a.allocate(&sku, &mut a.scratch(), &mut out);
    out
}

fn sku(w: &[WarehouseStock]) -> SkuInput<'_> {
    SkuInput {
        warehouses: w,
        product_safety: 0,
        pending: 0,
        fixed: &[],
        velocity: &[],
    }
}

fn qty(o: &[Offer]) -> Vec<i64> {
    o.iter().map(|o| o.qty).collect()
}

// ---- The seed's worked example: 100 units, Amazon 10 % buffer, Shopify 5 % buffer ----

#[test]
fn seed_example_shared_pool_less_each_buffer() {
    let w = one_warehouse(100);
    let out = run(Policy::default(), vec![rule(2, 10), rule(1, 5)], sku(&w));
    assert_eq!(qty(&out), vec![90, 95]);
    assert_eq!(out[0].reason, Reason::Buffered);
    assert_eq!(out[0].pool, 100);
}

#[test]
fn seed_example_strict_goes_by_priority() {
    let w = one_warehouse(100);
    let strict = Policy {
        mode: Mode::Strict,
        ..Policy::default()
    };
    let out = run(strict, vec![rule(2, 10), rule(1, 5)], sku(&w));
    assert_eq!(qty(&out), vec![90, 10]);
    assert_eq!(out[1].reason, Reason::StrictShare);
    // Equal priority: D'Hondt splits evenly.
    let out = run(strict, vec![rule(1, 10), rule(1, 5)], sku(&w));
    assert_eq!(qty(&out), vec![50, 50]);
}

#[test]
fn seed_example_naive_and_fixed_split_fail_where_the_pool_does_not() {
    // Listing 100 everywhere: 3 channels could sell 300 of 100 units. The shared pool with
    // buffers offers less everywhere, and strict mode never more than the 100 there are.
    let w = one_warehouse(100);
    let rules = vec![rule(3, 10), rule(2, 5), rule(1, 0)];
    let shared = run(Policy::default(), rules.clone(), sku(&w));
    assert!(shared.iter().all(|o| o.qty <= 100));
    let strict = run(
        Policy {
            mode: Mode::Strict,
            ..Policy::default()
        },
        rules,
        sku(&w),
    );
    assert_eq!(strict.iter().map(|o| o.qty).sum::<i64>(), 100);
}

// ---- Single rules ----

#[test]
fn available_is_on_hand_less_reserved_safety_and_pending() {
    let w = [
        WarehouseStock {
            on_hand: 50,
            reserved: 10,
            safety: 5,
        },
        WarehouseStock {
            on_hand: 3,
            reserved: 7,
            safety: 0,
        }, // over-reserved: counts 0, not −4
    ];
    let s = SkuInput {
        product_safety: 2,
        pending: 3,
        ..sku(&w)
    };
    let out = run(Policy::default(), vec![rule(0, 0)], s);
    assert_eq!(out[0].pool, 35 - 2 - 3);
}

#[test]
fn floor_rounding_min_max_keep_last_and_fixed() {
    let w = one_warehouse(19);
    // 19 × 0.9 = 17.1 → 17
    assert_eq!(
        qty(&run(Policy::default(), vec![rule(0, 10)], sku(&w))),
        vec![17]
    );
    let min = ChannelRule {
        min_qty: 20,
        ..ChannelRule::default()
    };
    let out = run(Policy::default(), vec![min], sku(&w));
    assert_eq!((out[0].qty, out[0].reason), (0, Reason::BelowMinimum));
    let max = ChannelRule {
        max_qty: 5,
        ..ChannelRule::default()
    };
    let out = run(Policy::default(), vec![max], sku(&w));
    assert_eq!((out[0].qty, out[0].reason), (5, Reason::Maximum));
    let keep = ChannelRule {
        keep_last: 19,
        ..ChannelRule::default()
    };
    let out = run(Policy::default(), vec![keep], sku(&w));
    assert_eq!((out[0].qty, out[0].reason), (0, Reason::KeepLast));
    let s = SkuInput {
        fixed: &[Some(50)],
        ..sku(&w)
    };
    let out = run(Policy::default(), vec![ChannelRule::default()], s);
    assert_eq!((out[0].qty, out[0].reason), (19, Reason::FixedCappedAtPool));
}

#[test]
fn percent_or_units_buffer_takes_the_larger_by_default() {
    let w = one_warehouse(40);
    let r = ChannelRule {
        buffer_bp: 500,
        buffer_units: 5,
        ..ChannelRule::default()
    };
    // 5 % of 40 = 2 < 5 units → hold 5.
    assert_eq!(
        qty(&run(Policy::default(), vec![r.clone()], sku(&w))),
        vec![35]
    );
    let sum = ChannelRule {
        buffer_mode: BufferMode::Sum,
        ..r
    };
    assert_eq!(qty(&run(Policy::default(), vec![sum], sku(&w))), vec![33]);
}

/// The simulator's finding: with the held part rounded up, a percentage buffer hides the last
/// unit on every channel that has one. Rounding it down keeps it listed (and scarcity then
/// decides who shows it).
#[test]
fn percent_buffer_rounding_decides_whether_the_last_unit_shows() {
    let up = rule(0, 10);
    let down = ChannelRule {
        buffer_rounding: BufferRounding::Down,
        ..rule(0, 10)
    };
    let at = |r: &ChannelRule, u| {
        qty(&run(
            Policy::default(),
            vec![r.clone()],
            sku(&one_warehouse(u)),
        ))
    };
    assert_eq!(at(&up, 1), vec![0]);
    assert_eq!(at(&down, 1), vec![1]);
    assert_eq!(at(&up, 19), vec![17]);
    assert_eq!(at(&down, 19), vec![18]);
    assert_eq!(at(&up, 100), vec![90]);
    assert_eq!(at(&down, 100), vec![90]);
    // With a scarcity threshold only the top channel shows the last unit.
    let scarce = Policy {
        scarce_at_or_below: 5,
        ..Policy::default()
    };
    let rules = vec![
        ChannelRule {
            priority: 2,
            ..down.clone()
        },
        ChannelRule {
            priority: 1,
            ..down.clone()
        },
    ];
    assert_eq!(qty(&run(scarce, rules, sku(&one_warehouse(1)))), vec![1, 0]);
    assert_eq!(buffer_held(&up, 19), 2);
    assert_eq!(buffer_held(&down, 19), 1);
}

#[test]
fn scarce_stock_drops_lower_priorities_first() {
    let policy = Policy {
        scarce_at_or_below: 10,
        ..Policy::default()
    };
    let rules = vec![rule(1, 0), rule(3, 0), rule(2, 0)];
    // 3 units of a 10-unit threshold over 3 channels: ceil(0.9) = 1 channel lists.
    let w = one_warehouse(3);
    let out = run(policy, rules.clone(), sku(&w));
    assert_eq!(qty(&out), vec![0, 3, 0]);
    assert_eq!(out[0].reason, Reason::ScarceLowerPriority);
    // 5 units: ceil(1.5) = 2 channels.
    let w = one_warehouse(5);
    assert_eq!(qty(&run(policy, rules.clone(), sku(&w))), vec![0, 5, 5]);
    // Above the threshold nothing is dropped.
    let w = one_warehouse(11);
    assert_eq!(qty(&run(policy, rules, sku(&w))), vec![11, 11, 11]);
}

#[test]
fn velocity_weights_the_split_within_a_tier() {
    let policy = Policy {
        mode: Mode::Strict,
        velocity_weighting: true,
        ..Policy::default()
    };
    let w = one_warehouse(40);
    let s = SkuInput {
        velocity: &[29, 9], // weights 30 and 10
        ..sku(&w)
    };
    assert_eq!(
        qty(&run(policy, vec![rule(1, 0), rule(1, 0)], s)),
        vec![30, 10]
    );
}

#[test]
fn strict_draws_from_each_channels_own_warehouses() {
    // Channel 0 sells from W0 only (5 units); channel 1 from W0 and W1 (5 + 10).
    let w = [
        WarehouseStock {
            on_hand: 5,
            ..Default::default()
        },
        WarehouseStock {
            on_hand: 10,
            ..Default::default()
        },
    ];
    let rules = vec![
        ChannelRule {
            priority: 1,
            warehouses: 0b01,
            ..ChannelRule::default()
        },
        ChannelRule {
            priority: 1,
            warehouses: 0b11,
            ..ChannelRule::default()
        },
    ];
    let strict = Policy {
        mode: Mode::Strict,
        ..Policy::default()
    };
    let out = run(strict, rules, sku(&w));
    // Both can be satisfied only if channel 1 takes W1 first: 5 + 10 = 15.
    assert_eq!(qty(&out), vec![5, 10]);
}

/// Why strict mode cannot be monotone for lower tiers: two top channels holding back 60 %
/// each step up together, so the remainder for the lower tier dips although stock rose.
#[test]
fn strict_lower_tier_can_dip_when_stock_rises() {
    let strict = Policy {
        mode: Mode::Strict,
        ..Policy::default()
    };
    let rules = vec![rule(2, 60), rule(2, 60), rule(1, 0)];
    let at = |u| qty(&run(strict, rules.clone(), sku(&one_warehouse(u))));
    assert_eq!(at(12), vec![4, 4, 4]);
    assert_eq!(at(13), vec![5, 5, 3]);
    // Any allocation that serves the top tier's rules first must do the same.
}

#[test]
fn bad_rules_are_refused() {
    let bad = ChannelRule {
        buffer_bp: 10_001,
        ..ChannelRule::default()
    };
    assert!(matches!(
        Allocator::new(Policy::default(), vec![ChannelRule::default(), bad]),
        Err(AllocError::BadRule { index: 1, .. })
    ));
}

// ---- Properties ----

fn arb_rule(warehouses: usize) -> impl Strategy<Value = ChannelRule> {
    let mask_max = (1u64 << warehouses) - 1;
    (
        0u32..4,
        1u64..=mask_max,
        0u32..=3000,
        0i64..6,
        any::<bool>(),
        0i64..5,
        prop::option::of(5i64..60),
        0i64..4,
        prop::bool::weighted(0.9),
        any::<bool>(),
    )
        .prop_map(
            |(
                priority,
                warehouses,
                buffer_bp,
                buffer_units,
                sum,
                min_qty,
                max,
                keep_last,
                en,
                down,
            )| {
                ChannelRule {
                    priority,
                    warehouses,
                    buffer_bp,
                    buffer_units,
                    buffer_mode: if sum {
                        BufferMode::Sum
                    } else {
                        BufferMode::Max
                    },
                    buffer_rounding: if down {
                        BufferRounding::Down
                    } else {
                        BufferRounding::Up
                    },
                    min_qty,
                    max_qty: max.unwrap_or(i64::MAX).max(min_qty),
                    keep_last,
                    enabled: en,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    policy: Policy,
    rules: Vec<ChannelRule>,
    stock: Vec<WarehouseStock>,
    product_safety: i64,
    pending: i64,
    fixed: Vec<Option<i64>>,
    velocity: Vec<u32>,
}

fn arb_case(same_warehouses: bool) -> impl Strategy<Value = Case> {
    (1usize..=3, 1usize..=5).prop_flat_map(move |(nw, nc)| {
        let rules = prop::collection::vec(arb_rule(nw), nc).prop_map(move |mut rs| {
            if same_warehouses {
                for r in &mut rs {
                    r.warehouses = (1u64 << nw) - 1;
                }
            }
            rs
        });
        let stock = prop::collection::vec(
            (0i64..80, 0i64..20, 0i64..5).prop_map(|(on_hand, reserved, safety)| WarehouseStock {
                on_hand,
                reserved,
                safety,
            }),
            nw,
        );
        (
            any::<bool>(),
            prop::option::of(1i64..40),
            any::<bool>(),
            rules,
            stock,
            0i64..5,
            0i64..5,
            prop::collection::vec(prop::option::weighted(0.15, 0i64..40), nc),
            prop::collection::vec(0u32..20, nc),
        )
            .prop_map(
                |(strict, scarce, vel, rules, stock, product_safety, pending, fixed, velocity)| {
                    Case {
                        policy: Policy {
                            mode: if strict { Mode::Strict } else { Mode::Shared },
                            scarce_at_or_below: scarce.unwrap_or(0),
                            velocity_weighting: vel,
                        },
                        rules,
                        stock,
                        product_safety,
                        pending,
                        fixed,
                        velocity,
                    }
                },
            )
    })
}

fn alloc(case: &Case, stock: &[WarehouseStock]) -> Vec<Offer> {
    let s = SkuInput {
        warehouses: stock,
        product_safety: case.product_safety,
        pending: case.pending,
        fixed: &case.fixed,
        velocity: &case.velocity,
    };
    run(case.policy, case.rules.clone(), s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fast_divisor_method_equals_its_definition(
        total in 0i64..300,
        spec in prop::collection::vec((0i64..120, 0u64..12), 1..8),
    ) {
        let caps: Vec<i64> = spec.iter().map(|s| s.0).collect();
        let weights: Vec<u64> = spec.iter().map(|s| s.1).collect();
        let mut fast = vec![0; caps.len()];
        let mut naive = vec![0; caps.len()];
        divide_capped(total, &caps, &weights, &mut fast);
        divide_capped_naive(total, &caps, &weights, &mut naive);
        prop_assert_eq!(fast, naive);
    }

    #[test]
    fn strict_never_offers_more_than_can_be_fulfilled(case in arb_case(false)) {
        let mut case = case;
        case.policy.mode = Mode::Strict;
        let out = alloc(&case, &case.stock);
        let deduct = case.product_safety + case.pending;
        // Hall's condition: every set of channels can be served together from the
        // warehouses they sell from.
        let n = case.rules.len();
        for subset in 1u32..(1 << n) {
            let mut union = 0u64;
            let mut offered = 0i64;
            for (c, (o, r)) in out.iter().zip(&case.rules).enumerate() {
                if subset & (1 << c) != 0 {
                    union |= r.warehouses;
                    offered += o.qty;
                }
            }
            let supply: i64 = case.stock.iter().enumerate()
                .filter(|(w, _)| union & (1 << w) != 0)
                .map(|(_, s)| s.available()).sum();
            prop_assert!(offered <= (supply - deduct).max(0),
                "channels {:b} offered {} > {} available: {:?}", subset, offered, supply - deduct, out);
        }
    }

    /// Shared mode (the default): every channel's offer is monotone in stock, whatever the
    /// warehouses, buffers, minimums or scarcity threshold.
    #[test]
    fn shared_offers_are_monotone_in_stock(
        case in arb_case(false), w in 0usize..3, more in 1i64..30,
    ) {
        let mut case = case;
        case.policy.mode = Mode::Shared;
        let w = w % case.stock.len();
        let before = alloc(&case, &case.stock);
        let mut stock = case.stock.clone();
        stock[w].on_hand += more;
        let after = alloc(&case, &stock);
        for c in 0..before.len() {
            prop_assert!(after[c].qty >= before[c].qty,
                "channel {} went from {} to {} when warehouse {} gained {}: {:?} -> {:?}",
                c, before[c].qty, after[c].qty, w, more, before, after);
        }
    }

    /// Strict mode: the total offered is monotone in stock. (Single channels cannot be when
    /// buffers grow with stock: see ARCHITECTURE.md, "Allocation", and the example below.)
    #[test]
    fn strict_totals_are_monotone_in_stock(
        case in arb_case(true), w in 0usize..3, more in 1i64..30,
    ) {
        let mut case = case;
        case.policy.mode = Mode::Strict;
        for r in &mut case.rules { r.min_qty = 0; }
        let w = w % case.stock.len();
        let before = alloc(&case, &case.stock);
        let mut stock = case.stock.clone();
        stock[w].on_hand += more;
        let after = alloc(&case, &stock);
        let total = |o: &[Offer]| o.iter().map(|o| o.qty).sum::<i64>();
        prop_assert!(total(&after) >= total(&before), "{:?} -> {:?}", before, after);
    }

    /// One rule's offer is monotone in its pool.
    #[test]
    fn desired_offer_is_monotone_in_pool(r in arb_rule(1), pool in 0i64..200, fixed in prop::option::of(0i64..50)) {
        let (a, _) = desired_offer(&r, pool, fixed);
        let (b, _) = desired_offer(&r, pool + 1, fixed);
        prop_assert!(b >= a);
    }

    #[test]
    fn rules_always_hold(case in arb_case(false)) {
        let out = alloc(&case, &case.stock);
        for (c, (o, r)) in out.iter().zip(&case.rules).enumerate() {
            prop_assert!(o.qty >= 0 && o.qty <= o.desired && o.desired <= o.pool.max(0));
            if !r.enabled { prop_assert_eq!(o.qty, 0); }
            if case.fixed[c].is_none() && o.qty > 0 {
                prop_assert!(o.qty >= r.min_qty, "below minimum: {:?} {:?}", o, r);
                prop_assert!(o.qty <= r.max_qty);
                prop_assert!(o.qty <= o.pool - r.keep_last);
                // The buffer: at most the pool less the percentage (the offer rounded down,
                // or up when the held part rounds down), and less the units.
                let base = o.pool - r.keep_last;
                let keep = base * i64::from(10_000 - r.buffer_bp);
                match r.buffer_rounding {
                    BufferRounding::Up => prop_assert!(o.qty * 10_000 <= keep),
                    BufferRounding::Down => prop_assert!(o.qty * 10_000 < keep + 10_000),
                }
                prop_assert!(o.qty <= base - r.buffer_units);
            }
        }
    }

    #[test]
    fn priority_order_holds(case in arb_case(true)) {
        let out = alloc(&case, &case.stock);
        for (lo, o_lo) in out.iter().enumerate() {
            if o_lo.qty == 0 { continue; }
            for (hi, o_hi) in out.iter().enumerate() {
                let (r_hi, r_lo) = (&case.rules[hi], &case.rules[lo]);
                if r_hi.enabled && r_hi.priority > r_lo.priority {
                    // A lower-priority channel lists: the higher one was not cut.
                    prop_assert!(
                        o_hi.reason != Reason::ScarceLowerPriority
                            && o_hi.reason != Reason::StrictNoneLeft
                            && o_hi.reason != Reason::StrictShare,
                        "channel {} (prio {}) lists {} while {} (prio {}) was cut: {:?}",
                        lo, r_lo.priority, o_lo.qty, hi, r_hi.priority, out);
                }
            }
        }
    }
}

/// The worked example in ARCHITECTURE.md ("Allocation"), row by row.
#[test]
fn architecture_worked_example() {
    let amazon = rule(3, 10);
    let shopify = rule(2, 5);
    let ebay = ChannelRule {
        priority: 1,
        min_qty: 5,
        ..ChannelRule::default()
    };
    let rules = vec![amazon, shopify, ebay];
    let strict = Policy {
        mode: Mode::Strict,
        ..Policy::default()
    };
    let hundred = one_warehouse(100);
    assert_eq!(
        qty(&run(Policy::default(), rules.clone(), sku(&hundred))),
        vec![90, 95, 100]
    );
    let out = run(strict, rules.clone(), sku(&hundred));
    assert_eq!(qty(&out), vec![90, 10, 0]);
    assert_eq!(out[2].reason, Reason::StrictNoneLeft);
    let scarce = Policy {
        scarce_at_or_below: 20,
        ..Policy::default()
    };
    assert_eq!(
        qty(&run(scarce, rules.clone(), sku(&one_warehouse(12)))),
        vec![10, 11, 0]
    );
    let equal: Vec<ChannelRule> = rules
        .into_iter()
        .map(|r| ChannelRule { priority: 1, ..r })
        .collect();
    assert_eq!(qty(&run(strict, equal, sku(&hundred))), vec![34, 33, 33]);
}
