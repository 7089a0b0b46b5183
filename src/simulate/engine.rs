//! The discrete-event engine: one policy, one stream of buyers, one run.
//!
//! State, for every SKU `s` and channel `c`:
//!
//! * `on_hand[s][w]`: Odoo's stock, which only orders that *reached the daemon* decrement;
//! * `in_flight[s]`: units accepted on marketplaces whose orders have not reached it yet;
//! * `display[c][s]`: what the marketplace shows; it decrements at once when it accepts a buyer,
//!   and is overwritten when a pushed quantity lands;
//! * `desired[c][s]` (what the policy wants listed now) and `pushed[c][s]` (the last quantity
//!   sent, the daemon's acknowledgement): a channel is *dirty* while they differ.
//!
//! Events, in time order (same second: displays updated, then orders reaching the daemon,
//! restocks, pushes; then buyers; otherwise the order they were scheduled):
//!
//! * **buyer** (from the stream) on `c` for `q` units of `s`: accepted when `display ≥ q`,
//!   which then drops by `q`, and an **arrival** is scheduled after the channel's order delay;
//!   otherwise a *lost sale* when the channel's warehouses physically hold `q` free units
//!   (on hand less in-flight) not already wanted by earlier refused buyers, else a
//!   *stock-out*.
//! * **arrival**: the order reaches the daemon; Odoo's stock drops by what it can serve from
//!   the channel's warehouses, the rest is *oversold*; the policy recomputes the SKU's offers.
//! * **push** of channel `c` (its schedule's tick, or a real-time push after its latency): every
//!   dirty SKU's desired quantity is sent, and lands after the channel's propagation delay
//!   (FIFO per SKU: a quantity never overtakes an earlier one).
//! * **apply**: the marketplace's display becomes the pushed quantity.
//! * **restock**: units arrive in a warehouse; the policy recomputes.
//!
//! Idle and hidden stock are integrated exactly (unit-seconds in integers) between events. The
//! queue holds only what is pending — buyers stream from a sorted slice, ticks reschedule
//! themselves — so a month of a thousand SKUs is a few hundred thousand events, not a loop
//! over every SKU every minute.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rust_decimal::Decimal;

use crate::allocation::WarehouseStock;

use super::demand::BuyerOrder;
use super::policy::{Policy, SkuView};
use super::report::{ChannelStats, ChartData, PolicyResult};
use super::rng::uniform_keyed;
use super::scenario::{Scenario, Secs};

/// What the chart follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartTarget {
    Sku(usize),
    AllSkus,
}

/// One thing that happened (from [`run_policy_traced`]: tests and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    Accepted {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
    },
    Lost {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
    },
    StockOut {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
    },
    /// An order reached the daemon; `short` units of it were oversold.
    Arrived {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
        short: i64,
    },
    Pushed {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
    },
    Applied {
        at: Secs,
        c: usize,
        s: usize,
        q: i64,
    },
    Restocked {
        at: Secs,
        s: usize,
        q: i64,
    },
}

/// Samples of the chart over the horizon (the SVG is ~1000 px wide).
pub const CHART_BUCKETS: u64 = 1200;
const MAX_OVERSOLD_MARKS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive { c: u16, s: u32, q: u32 },
    Push { c: u16 },
    Apply { c: u16, s: u32, q: i64 },
    Restock { r: u32 },
}

/// Queue order: time, then kind (what the marketplaces show first, then orders reaching the
/// daemon, restocks, and pushes last, so that a push at an instant includes the orders pulled
/// at that instant, as a daemon that pulls orders before pushing stock would), then FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Secs,
    rank: u8,
    seq: u64,
    ev: Ev,
}

fn rank(ev: &Ev) -> u8 {
    match ev {
        Ev::Apply { .. } => 0,
        Ev::Arrive { .. } => 1,
        Ev::Restock { .. } => 2,
        Ev::Push { .. } => 3,
    }
}

struct Counters {
    buyers: u64,
    orders: u64,
    units: u64,
    oversold_units: u64,
    oversold_orders: u64,
    lost_units: u64,
    lost_orders: u64,
    stockout_units: u64,
    stockout_orders: u64,
    pushes: u64,
}

struct Engine<'a> {
    sc: &'a Scenario,
    policy: &'a mut dyn Policy,
    ns: usize,
    nc: usize,
    nw: usize,
    horizon: Secs,
    masks: Vec<u64>,
    /// Warehouse slots in the order orders are served from: fewest channels selling from it
    /// first (like the allocator's strict draw), so shared stock stays for those without an
    /// alternative.
    draw_order: Vec<usize>,

    on_hand: Vec<WarehouseStock>, // s × nw
    in_flight: Vec<i64>,          // s
    /// Units refused to buyers although free (policy-caused lost sales) that are still free: a
    /// later refused buyer counts as lost only for units beyond these, so that fifty buyers
    /// refused for one hidden unit are one lost sale and forty-nine stock-outs.
    claims: Vec<i64>, // s
    display: Vec<i64>,            // c × ns
    desired: Vec<i64>,            // c × ns
    pushed: Vec<i64>,             // c × ns
    last_apply: Vec<Secs>,        // c × ns
    dirty: Vec<Vec<u32>>,         // c → SKUs
    is_dirty: Vec<bool>,          // c × ns
    push_pending: Vec<bool>,      // c (real time)
    sold: Vec<u32>,               // s × nc
    buf: Vec<i64>,

    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,

    counters: Vec<Counters>,
    served: Vec<i64>, // c × ns
    lost: Vec<i64>,   // c × ns

    integrated_to: Secs,
    idle_rate: i64,
    hidden_rate: Vec<i64>,
    idle_int: i128,
    hidden_int: Vec<i128>,

    chart_target: ChartTarget,
    agg: Vec<i64>, // [true stock, display per channel]
    bucket: Secs,
    samples: Vec<i64>, // bucket × (1 + nc)
    sampled: Vec<bool>,
    oversold_at: Vec<Secs>,
    trace: Option<Vec<Trace>>,
}

/// Run one policy over the stream (sorted by time, as generated or replayed).
pub fn run_policy(
    sc: &Scenario,
    orders: &[BuyerOrder],
    policy: &mut dyn Policy,
    chart: ChartTarget,
) -> Result<PolicyResult, String> {
    run(sc, orders, policy, chart, false).map(|(r, _)| r)
}

/// [`run_policy`], also returning everything that happened, in order.
pub fn run_policy_traced(
    sc: &Scenario,
    orders: &[BuyerOrder],
    policy: &mut dyn Policy,
    chart: ChartTarget,
) -> Result<(PolicyResult, Vec<Trace>), String> {
    run(sc, orders, policy, chart, true)
}

fn run(
    sc: &Scenario,
    orders: &[BuyerOrder],
    policy: &mut dyn Policy,
    chart: ChartTarget,
    traced: bool,
) -> Result<(PolicyResult, Vec<Trace>), String> {
    policy.start(sc)?;
    if orders
        .iter()
        .any(|o| usize::from(o.channel) >= sc.channels.len() || o.sku as usize >= sc.skus.len())
    {
        return Err("an order names a channel or SKU outside the scenario".into());
    }
    let ns = sc.skus.len();
    let nc = sc.channels.len();
    let nw = sc.warehouses.len();
    let horizon = sc.horizon();
    let bucket = horizon.div_ceil(CHART_BUCKETS.min(horizon)).max(1);
    let buckets = horizon.div_ceil(bucket) as usize;
    let mut on_hand = Vec::with_capacity(ns * nw);
    for s in &sc.skus {
        for &n in &s.stock {
            on_hand.push(WarehouseStock {
                on_hand: n,
                reserved: 0,
                safety: 0,
            });
        }
    }
    let mut e = Engine {
        sc,
        policy,
        ns,
        nc,
        nw,
        horizon,
        masks: sc.channels.iter().map(|c| c.rule.warehouses).collect(),
        draw_order: {
            let mut order: Vec<usize> = (0..nw).collect();
            let sharers = |w: usize| {
                sc.channels
                    .iter()
                    .filter(|c| c.rule.warehouses & (1u64 << w) != 0)
                    .count()
            };
            order.sort_by_key(|&w| (sharers(w), w));
            order
        },
        on_hand,
        in_flight: vec![0; ns],
        claims: vec![0; ns],
        display: vec![0; nc * ns],
        desired: vec![0; nc * ns],
        pushed: vec![0; nc * ns],
        last_apply: vec![0; nc * ns],
        dirty: vec![Vec::new(); nc],
        is_dirty: vec![false; nc * ns],
        push_pending: vec![false; nc],
        sold: vec![0; ns * nc],
        buf: vec![0; nc],
        heap: BinaryHeap::new(),
        seq: 0,
        counters: (0..nc)
            .map(|_| Counters {
                buyers: 0,
                orders: 0,
                units: 0,
                oversold_units: 0,
                oversold_orders: 0,
                lost_units: 0,
                lost_orders: 0,
                stockout_units: 0,
                stockout_orders: 0,
                pushes: 0,
            })
            .collect(),
        served: vec![0; nc * ns],
        lost: vec![0; nc * ns],
        integrated_to: 0,
        idle_rate: 0,
        hidden_rate: vec![0; nc],
        idle_int: 0,
        hidden_int: vec![0; nc],
        chart_target: chart,
        agg: vec![0; nc + 1],
        bucket,
        samples: vec![0; buckets * (nc + 1)],
        sampled: vec![false; buckets],
        oversold_at: Vec::new(),
        trace: traced.then(Vec::new),
    };
    e.initialise();
    e.run(orders);
    let trace = e.trace.take().unwrap_or_default();
    Ok((e.finish(), trace))
}

impl Engine<'_> {
    fn log(&mut self, t: Trace) {
        if let Some(v) = &mut self.trace {
            v.push(t);
        }
    }

    fn schedule(&mut self, at: Secs, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            rank: rank(&ev),
            seq: self.seq,
            ev,
        }));
    }

    fn tracked(&self, s: usize) -> bool {
        match self.chart_target {
            ChartTarget::AllSkus => true,
            ChartTarget::Sku(t) => t == s,
        }
    }

    /// Units of `s` physically free in the warehouses of `mask`: on hand less in-flight orders.
    fn free(&self, s: usize, mask: u64) -> i64 {
        let row = &self.on_hand[s * self.nw..(s + 1) * self.nw];
        let mut n = 0;
        for (w, st) in row.iter().enumerate() {
            if mask & (1u64 << w) != 0 {
                n += st.on_hand;
            }
        }
        (n - self.in_flight[s]).max(0)
    }

    fn total_on_hand(&self, s: usize) -> i64 {
        self.on_hand[s * self.nw..(s + 1) * self.nw]
            .iter()
            .map(|w| w.on_hand)
            .sum()
    }

    /// Integrate the idle and hidden rates up to `t` (never past the horizon).
    fn advance(&mut self, t: Secs) {
        let t = t.min(self.horizon);
        if t > self.integrated_to {
            let dt = i128::from(t - self.integrated_to);
            self.idle_int += i128::from(self.idle_rate) * dt;
            for (acc, &r) in self.hidden_int.iter_mut().zip(&self.hidden_rate) {
                *acc += i128::from(r) * dt;
            }
            self.integrated_to = t;
        }
    }

    /// Add (`sign = 1`) or remove (`-1`) SKU `s`'s contribution to the rates and the chart;
    /// every change to `s` is bracketed by the two.
    fn account(&mut self, s: usize, sign: i64) {
        let all = u64::MAX;
        let free_all = self.free(s, all);
        let mut deepest = 0;
        for c in 0..self.nc {
            let d = self.display[c * self.ns + s];
            deepest = deepest.max(d);
            let free_c = if self.nw == 1 {
                free_all
            } else {
                self.free(s, self.masks[c])
            };
            self.hidden_rate[c] += sign * (free_c - d).max(0);
        }
        self.idle_rate += sign * (free_all - deepest).max(0);
        if self.tracked(s) {
            self.agg[0] += sign * self.total_on_hand(s);
            for c in 0..self.nc {
                self.agg[c + 1] += sign * self.display[c * self.ns + s];
            }
        }
    }

    fn sample(&mut self, t: Secs) {
        if t >= self.horizon {
            return;
        }
        let b = (t / self.bucket) as usize;
        let w = self.nc + 1;
        self.samples[b * w..(b + 1) * w].copy_from_slice(&self.agg);
        self.sampled[b] = true;
    }

    /// Change SKU `s` at `t` through `f`, keeping the integrals and the chart exact.
    fn change(&mut self, s: usize, t: Secs, f: impl FnOnce(&mut Self)) {
        self.advance(t);
        self.account(s, -1);
        f(self);
        let free = self.free(s, u64::MAX);
        if self.claims[s] > free {
            self.claims[s] = free;
        }
        self.account(s, 1);
        if self.tracked(s) {
            self.sample(t);
        }
    }

    fn initialise(&mut self) {
        let (ns, nc) = (self.ns, self.nc);
        for s in 0..ns {
            self.compute(s);
            for c in 0..nc {
                let q = self.buf[c];
                let i = c * ns + s;
                self.desired[i] = q;
                self.pushed[i] = q;
                self.display[i] = q;
            }
            self.account(s, 1);
        }
        self.sample(0);
        for c in 0..nc {
            if !self.sc.channels[c].stock_sync.is_realtime() {
                let at = self.sc.channels[c].stock_sync.next_after(0, self.sc.start);
                if at < self.horizon {
                    self.schedule(at, Ev::Push { c: c as u16 });
                }
            }
        }
        for (at, r) in self.sc.restock_schedule() {
            self.schedule(at, Ev::Restock { r: r as u32 });
        }
    }

    /// The policy's offers for `s` into `self.buf`.
    fn compute(&mut self, s: usize) {
        let view = SkuView {
            warehouses: &self.on_hand[s * self.nw..(s + 1) * self.nw],
            sold: &self.sold[s * self.nc..(s + 1) * self.nc],
        };
        self.policy.offers(s, &view, &mut self.buf);
    }

    /// The daemon's view of `s` changed: recompute, mark channels dirty, wake real-time pushes.
    fn recompute(&mut self, s: usize, t: Secs) {
        let sc = self.sc;
        self.compute(s);
        for c in 0..self.nc {
            let i = c * self.ns + s;
            let q = self.buf[c].max(0);
            if q == self.desired[i] {
                continue;
            }
            self.desired[i] = q;
            if q != self.pushed[i] && !self.is_dirty[i] {
                self.is_dirty[i] = true;
                self.dirty[c].push(s as u32);
                let cadence = &sc.channels[c].stock_sync;
                if cadence.is_realtime() && !self.push_pending[c] {
                    self.push_pending[c] = true;
                    let at = cadence.next_after(t, sc.start);
                    self.schedule(at, Ev::Push { c: c as u16 });
                }
            }
        }
    }

    fn buyer(&mut self, o: &BuyerOrder) {
        let (c, s, q) = (o.channel as usize, o.sku as usize, i64::from(o.qty));
        let i = c * self.ns + s;
        self.counters[c].buyers += 1;
        if self.display[i] >= q {
            self.change(s, o.at, |e| {
                e.display[i] -= q;
                e.in_flight[s] += q;
            });
            self.log(Trace::Accepted { at: o.at, c, s, q });
            let k = &mut self.counters[c];
            k.orders += 1;
            k.units += q as u64;
            let arrive = self.sc.channels[c]
                .order_sync
                .next_after(o.at, self.sc.start);
            // A cron that never fires again: the order is seen at the end (and counted).
            let arrive = if arrive == Secs::MAX {
                self.horizon
            } else {
                arrive
            };
            self.schedule(
                arrive,
                Ev::Arrive {
                    c: o.channel,
                    s: o.sku,
                    q: o.qty,
                },
            );
        } else if self.free(s, self.masks[c]) - self.claims[s] >= q {
            self.claims[s] += q;
            self.log(Trace::Lost { at: o.at, c, s, q });
            let k = &mut self.counters[c];
            k.lost_orders += 1;
            k.lost_units += q as u64;
            self.lost[i] += q;
        } else {
            self.log(Trace::StockOut { at: o.at, c, s, q });
            let k = &mut self.counters[c];
            k.stockout_orders += 1;
            k.stockout_units += q as u64;
        }
    }

    fn arrive(&mut self, at: Secs, c: usize, s: usize, q: i64) {
        let mask = self.masks[c];
        let nw = self.nw;
        let order = std::mem::take(&mut self.draw_order);
        let mut short = q;
        self.change(s, at, |e| {
            e.in_flight[s] -= q;
            for &w in &order {
                if short == 0 {
                    break;
                }
                if mask & (1u64 << w) != 0 {
                    let st = &mut e.on_hand[s * nw + w];
                    let take = short.min(st.on_hand.max(0));
                    st.on_hand -= take;
                    short -= take;
                }
            }
        });
        self.draw_order = order;
        self.served[c * self.ns + s] += q - short;
        self.log(Trace::Arrived { at, c, s, q, short });
        if short > 0 {
            let k = &mut self.counters[c];
            k.oversold_units += short as u64;
            k.oversold_orders += 1;
            if self.tracked(s) && self.oversold_at.len() < MAX_OVERSOLD_MARKS {
                self.oversold_at.push(at);
            }
        }
        let sold = &mut self.sold[s * self.nc + c];
        *sold = sold.saturating_add(q as u32);
        self.policy.order_seen(s, c, q);
        if at < self.horizon {
            self.recompute(s, at);
        }
    }

    fn push(&mut self, at: Secs, c: usize) {
        let sc = self.sc;
        let ch = &sc.channels[c];
        if ch.stock_sync.is_realtime() {
            self.push_pending[c] = false;
        }
        let (lo, hi) = ch.propagation;
        let seed = sc.seed;
        let list = std::mem::take(&mut self.dirty[c]);
        for &s in &list {
            let i = c * self.ns + s as usize;
            self.is_dirty[i] = false;
            let q = self.desired[i];
            if q == self.pushed[i] {
                continue;
            }
            self.pushed[i] = q;
            self.counters[c].pushes += 1;
            self.log(Trace::Pushed {
                at,
                c,
                s: s as usize,
                q,
            });
            let delay = uniform_keyed(lo, hi, &[seed, c as u64, u64::from(s), at]);
            let land = (at + delay).max(self.last_apply[i]);
            self.last_apply[i] = land;
            self.schedule(land, Ev::Apply { c: c as u16, s, q });
        }
        let mut list = list;
        list.clear();
        self.dirty[c] = list;
        if !ch.stock_sync.is_realtime() {
            let next = ch.stock_sync.next_after(at, sc.start);
            if next < self.horizon {
                self.schedule(next, Ev::Push { c: c as u16 });
            }
        }
    }

    fn restock(&mut self, at: Secs, r: usize) {
        let rs = self.sc.restocks[r].clone();
        let skus: Vec<usize> = match rs.sku {
            Some(s) => vec![s as usize],
            None => (0..self.ns).collect(),
        };
        for s in skus {
            let w = s * self.nw + rs.warehouse;
            self.change(s, at, |e| e.on_hand[w].on_hand += rs.qty);
            self.log(Trace::Restocked { at, s, q: rs.qty });
            self.policy.restocked(s, rs.qty);
            self.recompute(s, at);
        }
    }

    fn handle(&mut self, due: Due) {
        match due.ev {
            Ev::Arrive { c, s, q } => self.arrive(due.at, c as usize, s as usize, i64::from(q)),
            Ev::Push { c } => self.push(due.at, c as usize),
            Ev::Apply { c, s, q } => {
                let i = c as usize * self.ns + s as usize;
                self.change(s as usize, due.at, |e| e.display[i] = q);
                self.log(Trace::Applied {
                    at: due.at,
                    c: c as usize,
                    s: s as usize,
                    q,
                });
            }
            Ev::Restock { r } => self.restock(due.at, r as usize),
        }
    }

    fn run(&mut self, orders: &[BuyerOrder]) {
        let mut next = 0;
        loop {
            let buyer_at = orders.get(next).map(|o| o.at).filter(|&t| t < self.horizon);
            let event_at = self.heap.peek().map(|Reverse(d)| d.at);
            match (event_at, buyer_at) {
                (Some(te), Some(tb)) if te <= tb => {
                    let Reverse(d) = self.heap.pop().expect("peeked");
                    self.handle(d);
                }
                (_, Some(_)) => {
                    let o = orders[next];
                    next += 1;
                    self.buyer(&o);
                }
                (Some(te), None) if te < self.horizon => {
                    let Reverse(d) = self.heap.pop().expect("peeked");
                    self.handle(d);
                }
                _ => break,
            }
        }
        self.advance(self.horizon);
        // Orders accepted before the end still reach the daemon: their oversells count.
        while let Some(Reverse(d)) = self.heap.pop() {
            if let Ev::Arrive { c, s, q } = d.ev {
                self.arrive(d.at, c as usize, s as usize, i64::from(q));
            }
        }
    }

    fn finish(self) -> PolicyResult {
        let horizon = self.horizon.max(1) as f64;
        let ns = self.ns;
        let priced = self.sc.skus.iter().any(|s| s.price.is_some());
        let money = |units: &[i64], c: usize| -> Option<Decimal> {
            if !priced {
                return None;
            }
            let mut sum = Decimal::ZERO;
            for (s, sku) in self.sc.skus.iter().enumerate() {
                let n = units[c * ns + s];
                if n != 0
                    && let Some(p) = sku.price
                {
                    sum += p * Decimal::from(n);
                }
            }
            Some(sum)
        };
        let channels: Vec<ChannelStats> = self
            .counters
            .iter()
            .enumerate()
            .map(|(c, k)| ChannelStats {
                channel: self.sc.channels[c].id.clone(),
                buyers: k.buyers,
                orders: k.orders,
                units: k.units,
                oversold_units: k.oversold_units,
                oversold_orders: k.oversold_orders,
                lost_units: k.lost_units,
                lost_orders: k.lost_orders,
                stockout_units: k.stockout_units,
                stockout_orders: k.stockout_orders,
                hidden_avg: self.hidden_int[c] as f64 / horizon,
                pushes: k.pushes,
                revenue: money(&self.served, c),
                lost_revenue: money(&self.lost, c),
            })
            .collect();
        // Forward-fill buckets without a change.
        let w = self.nc + 1;
        let buckets = self.sampled.len();
        let mut series = vec![Vec::with_capacity(buckets); w];
        let mut last: Vec<i64> = self.samples[..w].to_vec();
        for b in 0..buckets {
            if self.sampled[b] {
                last.copy_from_slice(&self.samples[b * w..(b + 1) * w]);
            }
            for (k, v) in last.iter().enumerate() {
                series[k].push(*v);
            }
        }
        PolicyResult::new(
            self.policy.name().to_owned(),
            self.policy.describe(),
            channels,
            self.idle_int as f64 / horizon,
            ChartData {
                bucket_secs: self.bucket,
                series,
                oversold_at: self.oversold_at,
            },
        )
    }
}
