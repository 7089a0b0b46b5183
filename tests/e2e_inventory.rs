//! Inventory end to end: the daemon against the Odoo sandbox and several sandbox marketplaces,
//! over real HTTP. Stock changes in Odoo reach every channel, a sale on one channel lowers the
//! others, unchanged cycles write nothing, incremental reads see what changed and a full
//! reconciliation repairs what they cannot see, reorders fire once per crossing, transfers are
//! proposed (and drafted), and `allocate --dry-run` explains it all.

use std::sync::Arc;
use std::time::Duration;

use odoo_channels::cli::allocate::{AllocateArgs, Format, dry_run};
use odoo_channels::config::Config;
use odoo_channels::embedded::EmbeddedOptions;
use odoo_channels::store::Store;
use odoo_channels::sync::{CycleReport, Engine};
use odoo_sandbox::Fault;
use serde_json::{Value, json};

mod common;
use common::{World, h, order};

/// The sandboxes with `markets` marketplaces (`shop` 10 % buffer, `market2` 5 %, `market3`
/// none), `edit` applied to the generated configuration, then `inventory` appended.
async fn world(
    products: usize,
    markets: usize,
    inventory: &str,
    edit: impl Fn(String) -> String,
) -> World {
    let options = EmbeddedOptions {
        products,
        marketplaces: markets,
        ..Default::default()
    };
    common::start(options, |t| edit(t) + inventory).await
}

async fn start(config: &Config, store: Store) -> Arc<Engine> {
    common::engine(config, store, Vec::new()).await.0
}

impl World {
    /// Product id of `SKU-00000n` (n from 1).
    fn product(&self, n: i64) -> i64 {
        self.emb.odoo.catalog().unwrap().first_product_id + n - 1
    }

    /// Stock location of warehouse `WH` (0) or `WH2` (1).
    fn loc(&self, w: usize) -> i64 {
        self.emb.odoo.catalog().unwrap().stock_location_ids[w]
    }

    /// A person adds a manual reordering rule for `product` in warehouse `WH`.
    fn add_orderpoint(&self, product: i64, min: u32, max: u32) {
        let wh = self.emb.odoo.catalog().unwrap().warehouse_ids[0];
        self.emb
            .odoo
            .handle()
            .create(
                "stock.warehouse.orderpoint",
                json!({"product_id": product, "warehouse_id": wh, "location_id": self.loc(0),
                       "product_min_qty": min, "product_max_qty": max, "trigger": "manual"}),
            )
            .unwrap();
    }

    /// How many times the daemon asked Odoo to replenish (`action_replenish`).
    fn replenish_calls(&self) -> u64 {
        self.emb
            .odoo
            .stats()
            .count("stock.warehouse.orderpoint", "action_replenish")
    }

    /// On hand `qty` of `SKU-00000n` in warehouse `wh`, nothing reserved there (the catalogue
    /// seed leaves random reservations without moves behind them).
    fn set(&self, n: i64, wh: usize, qty: f64) {
        let h = self.emb.odoo.handle();
        h.set_stock(self.product(n), self.loc(wh), qty).unwrap();
        let quants = h
            .search_read(
                "stock.quant",
                json!([
                    ["product_id", "=", self.product(n)],
                    ["location_id", "=", self.loc(wh)]
                ]),
                &["id"],
            )
            .unwrap();
        let ids: Vec<i64> = quants.iter().map(|q| q["id"].as_i64().unwrap()).collect();
        h.write("stock.quant", &ids, json!({"reserved_quantity": 0.0}))
            .unwrap();
    }

    fn qty(&self, channel: &str, sku: &str) -> Option<i64> {
        self.emb.market_of(channel).unwrap().quantity(sku)
    }

    fn market_writes(&self) -> u64 {
        self.emb
            .markets()
            .iter()
            .map(|(_, m)| m.counters().writes_total())
            .sum()
    }

    async fn cycle(&self) -> CycleReport {
        let r = self.engine.cycle().await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_reaches_every_channel_and_a_sale_on_one_lowers_the_others() {
    let w = world(10, 3, "", |t| t).await;
    w.set(1, 0, 100.0);
    w.set(1, 1, 0.0);
    let r = w.cycle().await;
    assert!(r.recompute.as_ref().unwrap().full);
    // One pool of 100 units, each channel less its own buffer (shared mode).
    assert_eq!(w.qty("shop", "SKU-000001"), Some(90));
    assert_eq!(w.qty("market2", "SKU-000001"), Some(95));
    assert_eq!(w.qty("market3", "SKU-000001"), Some(100));

    // A sale on market2: imported, reserved in Odoo, and every channel follows.
    w.emb
        .market_of("market2")
        .unwrap()
        .create_order(order("SKU-000001", 7))
        .unwrap();
    let r = w.cycle().await;
    assert_eq!(r.imported["market2"].imported, 1);
    assert_eq!(w.qty("shop", "SKU-000001"), Some(93 - 10));
    assert_eq!(w.qty("market2", "SKU-000001"), Some(93 - 5));
    assert_eq!(w.qty("market3", "SKU-000001"), Some(93));

    // A sale Odoo has not seen yet (the import fails: Odoo answered 503) still lowers the
    // others at once: it is pending, known to the daemon only.
    w.emb.odoo.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::Http(503),
    );
    w.emb
        .market_of("shop")
        .unwrap()
        .create_order(order("SKU-000001", 4))
        .unwrap();
    let r = w.engine.cycle().await;
    // The importer stops the channel's round on an unavailable Odoo (the order stays staged)
    // or counts the order as failed: either way it is not in Odoo yet.
    let not_imported = r.imported.get("shop").map_or(0, |i| i.failed)
        + r.errors
            .iter()
            .filter(|e| e.starts_with("shop: orders"))
            .count();
    assert_eq!(not_imported, 1, "{:?} {:?}", r.imported, r.errors);
    assert_eq!(w.qty("market3", "SKU-000001"), Some(89));
    assert_eq!(w.qty("market2", "SKU-000001"), Some(89 - 5));
    assert_eq!(w.qty("shop", "SKU-000001"), Some(89 - 9));
    // Imported next time: reserved instead of pending, same offers, nothing pushed for it.
    let writes = w.market_writes();
    let r = w.cycle().await;
    assert_eq!(r.imported["shop"].imported, 1);
    assert_eq!(w.qty("market3", "SKU-000001"), Some(89));
    assert_eq!(w.market_writes(), writes, "{:?}", r.pushed);
    assert_eq!(
        w.emb
            .markets()
            .iter()
            .map(|(_, m)| m.counters().oversells)
            .sum::<u64>(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_cycle_writes_nothing_and_reads_little() {
    let w = world(20, 2, "", |t| t).await;
    w.cycle().await;
    let writes = w.market_writes();
    let odoo_writes = w.emb.odoo.stats().writes();
    let calls = w.odoo.call_count();
    let r = w.cycle().await;
    let rc = r.recompute.unwrap();
    assert!(!rc.full);
    assert_eq!((rc.read, rc.recomputed, rc.version), (0, 0, 0), "{rc:?}");
    assert!(rc.queued.is_empty());
    assert_eq!(
        w.market_writes(),
        writes,
        "unchanged cycle wrote to a marketplace"
    );
    assert_eq!(
        w.emb.odoo.stats().writes(),
        odoo_writes,
        "unchanged cycle wrote to Odoo"
    );
    // Changed quants, changed moves, draft channel orders: three reads, whatever the size
    // of the catalogue (the order job's and the outbound round's own reads aside: two and
    // one per channel).
    assert_eq!(rc.odoo_calls, 3, "{rc:?}");
    assert!(
        w.odoo.call_count() - calls <= 3 + 2 * (2 + 1),
        "{}",
        w.odoo.call_count() - calls
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_reads_see_odoo_changes_and_a_full_read_repairs_drift() {
    let w = world(10, 2, "[inventory]\nfull_reconcile_every = \"6s\"\n", |t| t).await;
    w.set(2, 0, 0.0);
    w.set(2, 1, 0.0);
    let r = w.cycle().await;
    let t0 = std::time::Instant::now();
    assert!(r.recompute.unwrap().full);
    assert_eq!(w.qty("market2", "SKU-000002"), Some(0));

    // A change made in Odoo between cycles: only that product is read and recomputed.
    w.set(2, 0, 40.0);
    let r = w.cycle().await;
    let rc = r.recompute.unwrap();
    assert!(!rc.full);
    assert_eq!(rc.read, 1, "{rc:?}");
    assert_eq!(rc.queued.get("market2"), Some(&1));
    assert_eq!(w.qty("market2", "SKU-000002"), Some(38));
    assert_eq!(w.qty("shop", "SKU-000002"), Some(36));
    let (quants, moves) = w.engine.stock_job().cursors().await;
    assert!(quants.is_some() && moves.is_some());

    // Drift incremental reads cannot see: the quant is deleted (no write_date moves).
    let q = h(&w)
        .search_read(
            "stock.quant",
            json!([
                ["product_id", "=", w.product(2)],
                ["location_id", "=", w.loc(0)]
            ]),
            &["id"],
        )
        .unwrap();
    let qid = q[0]["id"].as_i64().unwrap();
    h(&w)
        .call("stock.quant", "unlink", json!([[qid]]), json!({}))
        .unwrap();
    let r = w.cycle().await;
    assert!(!r.recompute.as_ref().unwrap().full);
    assert_eq!(
        w.qty("market2", "SKU-000002"),
        Some(38),
        "incremental saw a deletion?"
    );
    // The full reconciliation repairs it: on request…
    w.engine.stock_job().request_full_reconcile();
    let r = w.cycle().await;
    assert!(r.recompute.as_ref().unwrap().full);
    assert_eq!(w.qty("market2", "SKU-000002"), Some(0));
    assert_eq!(w.qty("shop", "SKU-000002"), Some(0));

    // …and on its own every full_reconcile_every.
    w.set(2, 0, 10.0);
    let q = h(&w)
        .search_read(
            "stock.quant",
            json!([
                ["product_id", "=", w.product(2)],
                ["location_id", "=", w.loc(0)]
            ]),
            &["id"],
        )
        .unwrap();
    let r = w.cycle().await;
    assert_eq!(w.qty("market2", "SKU-000002"), Some(9));
    assert!(!r.recompute.unwrap().full);
    h(&w)
        .call("stock.quant", "unlink", json!([[q[0]["id"]]]), json!({}))
        .unwrap();
    let wait = Duration::from_secs(6).saturating_sub(t0.elapsed()) + Duration::from_millis(300);
    tokio::time::sleep(wait).await;
    let r = w.cycle().await;
    assert!(r.recompute.unwrap().full);
    assert_eq!(w.qty("market2", "SKU-000002"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_quotation_held_for_a_channel_order_counts_as_pending() {
    let w = world(5, 3, "", |t| t).await;
    w.set(1, 0, 100.0);
    w.set(1, 1, 0.0);
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(100));
    let partner = h(&w)
        .create("res.partner", json!({"name": "Held buyer"}))
        .unwrap();
    let line = |qty: f64| json!([[0, 0, {"product_id": w.product(1), "product_uom_qty": qty}]]);
    // Held by the order audit: a draft bound to a channel order.
    let held = h(&w)
        .create(
            "sale.order",
            json!({"partner_id": partner, "client_order_ref": "market2:HELD-1", "order_line": line(5.0)}),
        )
        .unwrap();
    // A salesperson's quotation with a customer reference: not a channel order.
    h(&w)
        .create(
            "sale.order",
            json!({"partner_id": partner, "client_order_ref": "PO 4711", "order_line": line(3.0)}),
        )
        .unwrap();
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(95));
    // Released and confirmed: reserved in Odoo instead of pending, the same 5 units once.
    h(&w)
        .call("sale.order", "action_confirm", json!([[held]]), json!({}))
        .unwrap();
    let writes = w.market_writes();
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(95));
    assert_eq!(w.market_writes(), writes);
    h(&w)
        .call("sale.order", "action_cancel", json!([[held]]), json!({}))
        .unwrap();
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(100));
}

/// A sale Odoo confirmed in a warehouse without enough stock (a backorder) is taken from the
/// pool: reservations cover what the warehouse has, the rest is outgoing demand nothing covers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backorder_odoo_cannot_reserve_is_taken_from_the_pool() {
    let w = world(5, 3, "", |t| t).await;
    w.set(1, 0, 3.0);
    w.set(1, 1, 10.0);
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(13));
    let partner = h(&w)
        .create("res.partner", json!({"name": "Walk-in buyer"}))
        .unwrap();
    // Routed to WH (the default warehouse), which holds 3 of the 5 units.
    let so = h(&w)
        .create(
            "sale.order",
            json!({"partner_id": partner, "order_line":
                [[0, 0, {"product_id": w.product(1), "product_uom_qty": 5.0}]]}),
        )
        .unwrap();
    h(&w)
        .call("sale.order", "action_confirm", json!([[so]]), json!({}))
        .unwrap();
    let moves = h(&w)
        .search_read(
            "stock.move",
            json!([["sale_line_id.order_id", "=", so]]),
            &["state"],
        )
        .unwrap();
    assert_eq!(moves[0]["state"], json!("partially_available"), "{moves:?}");
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(8));
    let args = AllocateArgs {
        dry_run: true,
        skus: vec!["SKU-000001".into()],
        channels: vec!["market3".into()],
        format: Format::Json,
    };
    let text = dry_run(&w.config, &args)
        .await
        .map_err(|e| e.error)
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(
        (
            &rows[0]["reserved"],
            &rows[0]["outgoing"],
            &rows[0]["pending"]
        ),
        (&json!(3), &json!(5), &json!(2)),
        "{text}"
    );
    // Cancelled: the demand is gone and the pool is whole again.
    h(&w)
        .call("sale.order", "action_cancel", json!([[so]]), json!({}))
        .unwrap();
    w.cycle().await;
    assert_eq!(w.qty("market3", "SKU-000001"), Some(13));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorder_fires_once_per_crossing() {
    let w = world(5, 1, "[inventory]\nreorder_enabled = true\n", |t| t).await;
    let p = w.product(3);
    let vendor = h(&w)
        .create("res.partner", json!({"name": "Golden Supplies Ltd"}))
        .unwrap();
    h(&w)
        .write(
            "product.product",
            &[p],
            json!({"seller_ids": [[0, 0, {"partner_id": vendor, "price": 2.75}]]}),
        )
        .unwrap();
    w.add_orderpoint(p, 30, 100);
    w.set(3, 0, 50.0);
    w.set(3, 1, 0.0);
    let rfq_lines = || {
        h(&w)
            .search_read(
                "purchase.order.line",
                json!([["product_id", "=", p]]),
                &["product_qty", "order_id"],
            )
            .unwrap()
    };
    let r = w.cycle().await;
    assert!(r.recompute.unwrap().reorders.is_empty());
    assert_eq!(w.replenish_calls(), 0);

    // Falls to the point (25 ≤ 30): one replenishment, a draft RFQ for max − forecast.
    w.set(3, 0, 25.0);
    let r = w.cycle().await;
    let reorders = r.recompute.unwrap().reorders;
    assert_eq!(reorders.len(), 1, "{reorders:?}");
    assert_eq!((reorders[0].position, reorders[0].point), (25, 30));
    assert_eq!(w.replenish_calls(), 1);
    let lines = rfq_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["product_qty"], json!(75.0));
    let rfq = lines[0]["order_id"][1].as_str().unwrap().to_owned();
    assert_eq!(reorders[0].rfqs[0].0, rfq);
    // Said on the product, where a person looks.
    let tmpl = h(&w)
        .read("product.product", &[p], &["product_tmpl_id"])
        .unwrap()[0]["product_tmpl_id"][0]
        .as_i64()
        .unwrap();
    assert_eq!(reorders[0].noted, format!("product.template #{tmpl}"));
    let notes = h(&w)
        .search_read(
            "mail.message",
            json!([["model", "=", "product.template"], ["res_id", "=", tmpl]]),
            &["body"],
        )
        .unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["body"].as_str().unwrap().contains(&rfq)),
        "{notes:?}"
    );

    // Still below (even lower, and on a full read): nothing more.
    w.set(3, 0, 20.0);
    w.cycle().await;
    w.engine.stock_job().request_full_reconcile();
    w.cycle().await;
    assert_eq!(w.replenish_calls(), 1);
    // A restart keeps the crossing (persisted): nothing either.
    let again = start(&w.config, w.store.clone()).await;
    assert!(again.cycle().await.recompute.unwrap().reorders.is_empty());
    assert_eq!(w.replenish_calls(), 1);

    // Back above, then down again: a new crossing, a new request (Odoo's forecast counts the
    // open RFQ, so it orders nothing more, and the note says so).
    w.set(3, 0, 60.0);
    w.cycle().await;
    w.set(3, 0, 10.0);
    let r = w.cycle().await;
    let reorders = r.recompute.unwrap().reorders;
    assert_eq!(reorders.len(), 1);
    assert_eq!(w.replenish_calls(), 2);
    assert_eq!(rfq_lines().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_warehouse_feeding_a_selling_channel_gets_a_draft_transfer() {
    // shop sells from WH only, market2 from WH2 only.
    let w = world(
        5,
        2,
        "[inventory]\npropose_transfers = true\ncreate_draft_transfers = true\n",
        |t| {
            t.replacen(
                "id = \"shop\"\n",
                "id = \"shop\"\nwarehouses = [\"WH\"]\n",
                1,
            )
            .replacen(
                "id = \"market2\"\n",
                "id = \"market2\"\nwarehouses = [\"WH2\"]\n",
                1,
            )
        },
    )
    .await;
    w.set(1, 0, 10.0);
    w.set(1, 1, 50.0);
    w.cycle().await;
    for _ in 0..2 {
        w.emb
            .market_of("shop")
            .unwrap()
            .create_order(order("SKU-000001", 4))
            .unwrap();
    }
    let r = w.cycle().await;
    assert_eq!(r.imported["shop"].imported, 2);
    assert!(r.recompute.unwrap().transfers.is_empty());
    // Velocity is re-read on full reads: shop sold 8 units in 14 days, WH should cover 7
    // days (4 units) and has 2 free; WH2's channel sold nothing.
    w.engine.stock_job().request_full_reconcile();
    let r = w.cycle().await;
    let transfers = r.recompute.unwrap().transfers;
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    let t = &transfers[0];
    assert_eq!((t.from.as_str(), t.to.as_str(), t.qty), ("WH2", "WH", 2));
    assert!(t.error.is_none(), "{t:?}");
    let (picking, name) = t.picking.clone().unwrap();
    let rows = h(&w)
        .read(
            "stock.picking",
            &[picking],
            &[
                "state",
                "picking_type_id",
                "location_id",
                "location_dest_id",
                "move_ids",
            ],
        )
        .unwrap();
    let pk = &rows[0];
    assert_eq!(pk["state"], json!("draft"), "{pk:?}");
    assert_eq!(pk["location_id"][0], json!(w.loc(1)));
    assert_eq!(pk["location_dest_id"][0], json!(w.loc(0)));
    let int_type = h(&w)
        .read(
            "stock.warehouse",
            &[w.emb.odoo.catalog().unwrap().warehouse_ids[0]],
            &["int_type_id"],
        )
        .unwrap()[0]["int_type_id"][0]
        .clone();
    assert_eq!(pk["picking_type_id"][0], int_type);
    let moves = h(&w)
        .read(
            "stock.move",
            &pk["move_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect::<Vec<_>>(),
            &["product_id", "product_uom_qty"],
        )
        .unwrap();
    assert_eq!(moves[0]["product_id"][0], json!(w.product(1)));
    assert_eq!(moves[0]["product_uom_qty"], json!(2.0));
    assert!(!name.is_empty());
    // Not proposed again for a day, and never drafted twice.
    w.engine.stock_job().request_full_reconcile();
    let r = w.cycle().await;
    assert!(r.recompute.unwrap().transfers.is_empty());
    let pickings = h(&w)
        .search_count(
            "stock.picking",
            json!([
                ["location_id", "=", w.loc(1)],
                ["location_dest_id", "=", w.loc(0)]
            ]),
        )
        .unwrap();
    assert_eq!(pickings, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocate_dry_run_explains_every_sku_and_channel() {
    let inventory = r#"
[inventory]
[[inventory.safety]]
sku = "SKU-000001"
units = 3
[[inventory.fixed]]
sku = "SKU-000002"
channel = "market2"
qty = 7
"#;
    let w = world(5, 3, inventory, |t| t).await;
    w.set(1, 0, 100.0);
    w.set(1, 1, 0.0);
    w.set(2, 0, 50.0);
    w.set(2, 1, 0.0);
    w.cycle().await;
    assert_eq!(w.qty("shop", "SKU-000001"), Some(97 - 10));
    assert_eq!(w.qty("market2", "SKU-000002"), Some(7));
    let odoo_writes = w.emb.odoo.stats().writes();
    let market_writes = w.market_writes();

    let args = AllocateArgs {
        dry_run: true,
        skus: vec!["SKU-000001".into(), "SKU-000002".into(), "NOPE".into()],
        channels: vec![],
        format: Format::Table,
    };
    let text = dry_run(&w.config, &args)
        .await
        .map_err(|e| e.error)
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let row = |sku: &str, ch: &str| -> Vec<String> {
        let l = lines
            .iter()
            .find(|l| {
                let mut cols = l.split_whitespace();
                cols.next() == Some(sku) && cols.next() == Some(ch)
            })
            .unwrap_or_else(|| panic!("no row {sku} {ch} in\n{text}"));
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    // SKU  CHANNEL  ON HAND  RESERVED  OUTGOING  INCOMING  SAFETY  PENDING  AVAILABLE  BUFFER  OFFERED  LAST PUSHED  WHY
    assert_eq!(
        row("SKU-000001", "shop"),
        vec![
            "SKU-000001",
            "shop",
            "100",
            "0",
            "0",
            "0",
            "3",
            "0",
            "97",
            "10",
            "87",
            "87",
            "available less buffer"
        ],
        "{text}"
    );
    assert_eq!(row("SKU-000001", "market3")[10], "97");
    assert_eq!(
        row("SKU-000002", "market2")[10..],
        [
            "7".to_owned(),
            "7".into(),
            "fixed quantity for this SKU".into()
        ],
        "{text}"
    );
    assert!(text.contains("# NOPE: no storable product"), "{text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("SKU-")).count(), 6);
    assert_eq!(
        w.emb.odoo.stats().writes(),
        odoo_writes,
        "a dry run wrote to Odoo"
    );
    assert_eq!(w.market_writes(), market_writes);

    // The same through the binary, as JSON for one channel.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &w.config_text).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
        .args([
            "--config",
            path.to_str().unwrap(),
            "-q",
            "allocate",
            "--dry-run",
        ])
        .args([
            "--sku",
            "SKU-000001",
            "--channel",
            "market2",
            "--format",
            "json",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["offered"], json!(97 - 5));
    assert_eq!(v[0]["reason"], json!("buffered"));
    assert_eq!(v[0]["last_pushed"], json!("92"));
    // Without --dry-run it refuses (exit 2: usage).
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
        .args(["--config", path.to_str().unwrap(), "-q", "allocate"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reordering_rule_added_later_is_picked_up_and_fires_once() {
    let w = world(5, 1, "[inventory]\nreorder_enabled = true\n", |t| t).await;
    let p = w.product(4);
    w.set(4, 0, 12.0);
    w.set(4, 1, 0.0);
    let r = w.cycle().await;
    assert!(r.recompute.unwrap().reorders.is_empty());
    // A person adds a rule in Odoo for a product already below it; nothing about its stock
    // changes, so only re-reading the rules can notice.
    w.add_orderpoint(p, 20, 60);
    w.engine.stock_job().request_full_reconcile();
    let r = w.cycle().await;
    let reorders = r.recompute.unwrap().reorders;
    assert_eq!(reorders.len(), 1, "{reorders:?}");
    assert_eq!((reorders[0].position, reorders[0].point), (12, 20));
    assert_eq!(w.replenish_calls(), 1);
    // The next cycles (incremental, and another full read) do not fire it again.
    w.cycle().await;
    w.engine.stock_job().request_full_reconcile();
    w.cycle().await;
    assert_eq!(w.replenish_calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_rules_are_re_read_on_their_own_pace_without_a_full_read() {
    let w = world(
        5,
        1,
        "[inventory]\nreorder_enabled = true\nrefresh_every = \"1s\"\n",
        |t| t,
    )
    .await;
    let p = w.product(3);
    w.set(3, 0, 12.0);
    w.set(3, 1, 0.0);
    assert!(w.cycle().await.recompute.unwrap().reorders.is_empty());
    w.add_orderpoint(p, 20, 60);
    // Nothing about the product's stock changes: only the timed re-read of the rules, in an
    // incremental cycle (no full read is requested), can notice the new rule.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = w.cycle().await;
    let reorders = r.recompute.unwrap().reorders;
    assert_eq!(reorders.len(), 1, "{reorders:?}");
    assert_eq!((reorders[0].position, reorders[0].point), (12, 20));
    assert_eq!(w.replenish_calls(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.cycle().await;
    assert_eq!(w.replenish_calls(), 1, "once per crossing");
}
