//! `odoo-channels demo`: the daemon's main job, end to end, on a fresh machine.
//!
//! It starts the embedded Odoo sandbox (a generated catalogue in two warehouses) and a sandbox
//! marketplace, points the real daemon at them over HTTP, and prints what happens as it
//! happens: stock read from Odoo and pushed, orders arriving and imported once, bad orders
//! held and shown in Odoo, a stock change in Odoo reaching the marketplace, and a final
//! unchanged cycle that writes nothing.

use std::time::{Duration, Instant};

use channel_sandbox::sandbox::GeneratorConfig;
use odoo_sandbox::OdooVersion;
use tokio::sync::broadcast::error::RecvError;

use super::DemoArgs;
use super::seams::SeamError;
use crate::config::Config;
use crate::embedded::{Embedded, EmbeddedOptions};
use crate::odoo::{Domain, OdooClient};
use crate::store::Store;
use crate::sync::{Engine, EventBus, SyncEvent, channels};

/// Run the demo.
pub async fn run(args: &DemoArgs) -> Result<(), SeamError> {
    let t0 = Instant::now();
    let say = move |tag: &str, msg: &str| {
        println!("{:>6.1}s  {tag:<8} {msg}", t0.elapsed().as_secs_f64());
    };
    let version = OdooVersion::parse(&args.odoo_version)
        .ok_or_else(|| anyhow::anyhow!("bad Odoo version {}", args.odoo_version))?;
    println!(
        "odoo-channels demo: the daemon against an Odoo {version} sandbox and a sandbox marketplace, over real HTTP.\n"
    );
    let opts = EmbeddedOptions {
        odoo_version: version,
        products: args.catalog as usize,
        warehouses: 2,
        ..EmbeddedOptions::default()
    };
    let emb = Embedded::start(&opts).await.map_err(anyhow::Error::from)?;
    say(
        "odoo",
        &format!(
            "sandbox Odoo {version} at {} (database {:?}): the demo database plus {} generated products",
            emb.odoo.url(),
            emb.odoo.database(),
            args.catalog
        ),
    );
    say(
        "market",
        &format!("sandbox marketplace at {}", emb.market.url()),
    );

    let dir = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let store_url = format!("sqlite://{}/state.db", dir.path().display());
    let config = Config::from_toml_str(&emb.config_toml(&store_url))
        .map_err(|e| anyhow::anyhow!("embedded configuration: {e}"))?;
    let store = Store::open(&store_url).await.map_err(anyhow::Error::from)?;
    let settings = config.odoo.client_settings().map_err(anyhow::Error::from)?;
    let odoo = OdooClient::connect(settings)
        .await
        .map_err(|e| SeamError::Odoo(e.to_string()))?;
    say(
        "odoo",
        &format!(
            "connected: Odoo {}, protocol {}, uid {}",
            odoo.server_version(),
            odoo.protocol(),
            odoo.uid()
        ),
    );
    let registry = channels::registry();
    let handles = channels::build_all(&config, &registry)
        .map_err(|p| anyhow::anyhow!("channels: {}", p.join("; ")))?;
    let events = EventBus::new();
    let printer = tokio::spawn(print_events(events.subscribe(), t0));
    let engine = Engine::start(
        &config,
        store.clone(),
        odoo.clone(),
        handles,
        events.clone(),
    )
    .await
    .map_err(anyhow::Error::from)?;
    let catalog = engine.catalog().await;
    say(
        "catalog",
        &format!(
            "{} storable products with a SKU in {} warehouses; addon channel_sync {}",
            catalog.len(),
            engine.stock_job().warehouses().len(),
            if engine.log.addon() {
                "installed"
            } else {
                "not installed: monitoring goes to chatter and ir.logging"
            }
        ),
    );

    // 1. First full sync: every SKU's offer goes out.
    say("cycle", "1: first full sync");
    engine.cycle().await;
    settle().await;

    // 2. Orders arrive on the marketplace while the daemon runs its cycles. They charge the
    // sales tax Odoo has (the demo database's is 15 %): a seller-collected tax with no Odoo
    // tax of the same rate is held for a person, which is right, but not what the demo shows.
    if let Some(rate) = odoo_sale_tax_rate(&odoo).await {
        emb.market.set_generated_tax_rate(rate);
    }
    emb.market.start_generator(GeneratorConfig {
        interval: Duration::from_millis(args.order_interval_ms),
        bad_rate: 0.08,
        marketplace_rate: 0.0,
        max_orders: None,
    });
    say(
        "market",
        &format!(
            "buyers start ordering: one order every {} ms (8 % of them bad on purpose)",
            args.order_interval_ms
        ),
    );
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let mut n = 1;
    let mut odoo_change_done = false;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        n += 1;
        if !odoo_change_done && Instant::now() + Duration::from_secs(args.seconds / 2) > until {
            odoo_change_done = true;
            if let Some(p) = catalog.products().first() {
                let loc = emb
                    .odoo
                    .catalog()
                    .and_then(|c| c.stock_location_ids.first().copied());
                if let Some(loc) = loc {
                    let before = emb.market.quantity(&p.sku).unwrap_or(0);
                    match emb.odoo.handle().set_stock(p.id, loc, 500.0) {
                        Ok(()) => say(
                            "odoo",
                            &format!(
                                "a receipt in Odoo: {} now has 500 units in WH (marketplace shows {before})",
                                p.sku
                            ),
                        ),
                        Err(e) => say("odoo", &format!("could not change stock: {e}")),
                    }
                }
            }
        }
        say("cycle", &format!("{n}"));
        engine.cycle().await;
    }
    emb.market.stop_generator();
    say("market", "buyers stop");
    engine.cycle().await;
    settle().await;

    // 3. The warehouse ships an order in Odoo: the shipment goes back to the marketplace, once.
    match ship_one(&emb) {
        Ok(Some((picking, external))) => {
            say(
                "odoo",
                &format!(
                    "the warehouse validates {picking} (order {external}) with tracking {DEMO_TRACKING}"
                ),
            );
            engine.cycle().await;
            settle().await;
            let shipments = emb
                .market
                .order(&external)
                .map(|o| o["shipments"].as_array().map_or(0, Vec::len))
                .unwrap_or(0);
            say(
                "market",
                &format!(
                    "order {external} now carries {shipments} shipment(s) with tracking {DEMO_TRACKING}"
                ),
            );
            // The marketplace order changed: the next pull reads it back once.
            engine.cycle().await;
            settle().await;
        }
        Ok(None) => say("odoo", "no reserved delivery to ship"),
        Err(e) => say("odoo", &format!("could not validate a delivery: {e}")),
    }

    // 4. An unchanged cycle: nothing to import, nothing to push, nothing to ship.
    let writes_before = emb.market.counters().writes_total();
    let odoo_writes_before = emb.odoo.stats().writes();
    say("cycle", "last: nothing changed since the previous one");
    engine.cycle().await;
    settle().await;
    let market_writes = emb.market.counters().writes_total() - writes_before;
    let odoo_writes = emb.odoo.stats().writes() - odoo_writes_before;

    // 5. What Odoo and the marketplace now hold.
    let imported = odoo
        .search_count(
            "sale.order",
            &Domain::leaf("client_order_ref", "=like", format!("{}:%", emb.channel_id)),
            None,
        )
        .await
        .unwrap_or(0);
    let created = emb.market.order_ids().len();
    let quarantined = store
        .quarantined(Some(&emb.channel_id), crate::store::QuarantineState::Held)
        .await
        .map(|v| v.len())
        .unwrap_or(0);
    // Orders the audit rules held: in Odoo as drafts, each with a note and an activity.
    let audit_held = odoo
        .search_count(
            "sale.order",
            &Domain::leaf("client_order_ref", "=like", format!("{}:%", emb.channel_id))
                .and(Domain::leaf("state", "=", "draft")),
            None,
        )
        .await
        .unwrap_or(0);
    let counters = emb.market.counters();
    drop(engine);
    printer.abort();
    println!();
    println!("summary after {:.1}s", t0.elapsed().as_secs_f64());
    println!("  marketplace orders            {created}");
    println!(
        "  imported into Odoo (once)     {imported} sale orders tagged {}:<order id>",
        emb.channel_id
    );
    println!(
        "  held by the audit rules       {audit_held} drafts in Odoo (address, price, quantity…), each with a note and an activity"
    );
    println!(
        "  quarantined                   {quarantined} (unknown SKU, unreadable payload…), each shown in Odoo"
    );
    println!("  Odoo calls by the daemon      {}", odoo.call_count());
    println!(
        "  marketplace writes            {} (429 refusals: {}, oversells: {})",
        counters.writes_total(),
        counters.throttled_total(),
        counters.oversells
    );
    println!(
        "  unchanged last cycle          {market_writes} marketplace writes, {odoo_writes} Odoo writes"
    );
    if let Some(p) = catalog.products().first() {
        println!(
            "  {} on the marketplace now     {} (after the Odoo receipt, less the channel's 10 % buffer)",
            p.sku,
            emb.market.quantity(&p.sku).unwrap_or(0)
        );
    }
    store.close().await;
    emb.shutdown().await;
    Ok(())
}

const DEMO_TRACKING: &str = "1Z999AA10123456784";

/// The rate of the first percent sale tax in Odoo (e.g. 0.15), if there is one.
async fn odoo_sale_tax_rate(odoo: &OdooClient) -> Option<rust_decimal::Decimal> {
    let rows = odoo
        .search_read(
            "account.tax",
            &Domain::leaf("type_tax_use", "=", "sale")
                .and(Domain::leaf("amount_type", "=", "percent"))
                .and(Domain::leaf("amount", ">", 0)),
            &["amount"],
            &crate::odoo::SearchOpts::default()
                .order("sequence, id")
                .limit(1),
        )
        .await
        .ok()?;
    let percent = rows.first()?.get("amount")?.as_f64()?;
    let percent = rust_decimal::Decimal::try_from(percent).ok()?.round_dp(4);
    Some(percent / rust_decimal::Decimal::ONE_HUNDRED)
}

/// A person in Odoo: the first reserved delivery of a channel order gets a carrier and a
/// tracking number and is validated. (picking name, marketplace order id).
fn ship_one(emb: &Embedded) -> Result<Option<(String, String)>, String> {
    let h = emb.odoo.handle();
    let prefix = format!("{}:", emb.channel_id);
    let rows = h
        .search_read(
            "stock.picking",
            serde_json::json!([
                ["state", "=", "assigned"],
                ["picking_type_code", "=", "outgoing"],
                ["sale_id.client_order_ref", "=like", format!("{prefix}%")]
            ]),
            &["name", "sale_id"],
        )
        .map_err(|e| e.to_string())?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let pk = row["id"].as_i64().unwrap_or(0);
    let so = row["sale_id"][0].as_i64().unwrap_or(0);
    let external = h
        .read("sale.order", &[so], &["client_order_ref"])
        .map_err(|e| e.to_string())?
        .first()
        .and_then(|r| r["client_order_ref"].as_str())
        .and_then(|r| r.strip_prefix(&prefix))
        .map(str::to_owned)
        .ok_or("the delivery's order has no channel reference")?;
    let carrier = h
        .search_read("delivery.carrier", serde_json::json!([]), &["id"])
        .map_err(|e| e.to_string())?
        .first()
        .and_then(|c| c["id"].as_i64());
    h.write(
        "stock.picking",
        &[pk],
        serde_json::json!({"carrier_id": carrier.map_or(serde_json::Value::Bool(false), serde_json::Value::from),
                           "carrier_tracking_ref": DEMO_TRACKING}),
    )
    .map_err(|e| e.to_string())?;
    h.call(
        "stock.picking",
        "button_validate",
        serde_json::json!([[pk]]),
        serde_json::json!({"context": {"skip_sms": true, "skip_backorder": true}}),
    )
    .map_err(|e| e.to_string())?;
    Ok(Some((
        row["name"].as_str().unwrap_or("?").to_owned(),
        external,
    )))
}

/// Give the printer a moment to drain before the next headline.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The live view: one readable line per event.
async fn print_events(mut rx: tokio::sync::broadcast::Receiver<SyncEvent>, t0: Instant) {
    let line = |tag: &str, msg: String| {
        println!("{:>6.1}s  {tag:<8} {msg}", t0.elapsed().as_secs_f64());
    };
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                line("…", format!("{n} events skipped"));
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        match ev {
            SyncEvent::StockRead {
                products,
                warehouses,
                odoo_calls,
                elapsed,
            } => line(
                "stock",
                format!(
                    "read {products} products × {warehouses} warehouses from Odoo: {odoo_calls} call(s), {} ms",
                    elapsed.as_millis()
                ),
            ),
            SyncEvent::OffersQueued {
                channel,
                changed,
                version,
            } => line(
                "stock",
                format!("{channel}: {changed} offer(s) changed → outbox (version {version})"),
            ),
            SyncEvent::StockPushed {
                channel,
                applied,
                rejected,
                conflicts,
                pending,
                calls,
                elapsed,
            } => line(
                "push",
                format!(
                    "{channel}: {applied} applied, {rejected} rejected, {conflicts} conflicts, {pending} pending in {calls} call(s), {} ms",
                    elapsed.as_millis()
                ),
            ),
            SyncEvent::OrdersPulled {
                channel,
                staged,
                malformed,
                ..
            } if staged + malformed > 0 => line(
                "orders",
                format!(
                    "{channel}: {staged} new or changed order(s) staged, {malformed} unreadable"
                ),
            ),
            SyncEvent::OrdersPulled { .. } => {}
            SyncEvent::OrderImported {
                channel,
                external_id,
                odoo_name,
                lines,
                total,
                ..
            } => line(
                "order",
                format!(
                    "{channel} {external_id} → Odoo {odoo_name} ({lines} line(s), {total}), confirmed"
                ),
            ),
            SyncEvent::OrderAlreadyImported {
                channel,
                external_id,
                odoo_id,
            } => line(
                "order",
                format!("{channel} {external_id} already in Odoo (#{odoo_id}): not imported twice"),
            ),
            SyncEvent::Quarantined {
                channel,
                external_ref,
                reason,
                ..
            } => line("HELD", format!("{channel} {external_ref}: {reason}")),
            SyncEvent::AfterSale {
                channel,
                kind,
                external_id,
                detail,
            } => line(kind, format!("{channel} {external_id}: {detail}")),
            SyncEvent::Progress {
                channel,
                job,
                done,
                total,
            } => line(job, format!("{channel}: {done}/{total}")),
            SyncEvent::QuarantineDecided {
                channel,
                external_ref,
                decision,
            } => line(
                "HELD",
                format!("{channel} {external_ref}: {decision} in Odoo"),
            ),
            SyncEvent::ListingsPushed {
                channel,
                upserted,
                rejected,
                prices_applied,
                prices_rejected,
            } => line(
                "catalog",
                format!(
                    "{channel}: {upserted} listing(s) sent, {rejected} refused; {prices_applied} price(s) applied, {prices_rejected} refused"
                ),
            ),
            SyncEvent::JobFailed {
                channel,
                job,
                error,
            } => line("FAILED", format!("{channel} {job}: {error}")),
        }
    }
}
