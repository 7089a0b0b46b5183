//! After the sale: backorders, credit notes from the reversal wizard, scrap orders — the Odoo
//! 19 behaviour the daemon's shipments and returns rely on, through the in-process handle.

use odoo_sandbox::{Clock, OdooSandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

async fn sandbox() -> OdooSandbox {
    let clock = Clock::frozen("2026-11-22T22:54:38.250Z".parse().unwrap());
    OdooSandbox::start(SandboxConfig::default().clock(clock))
        .await
        .unwrap()
}

fn product(h: &SandboxHandle, code: &str, qty: f64) -> i64 {
    let p = h
        .create(
            "product.product",
            json!({"name": code, "default_code": code, "type": "consu", "is_storable": true, "list_price": 10.0}),
        )
        .unwrap();
    h.set_stock(p, 5, qty).unwrap();
    p
}

/// A confirmed order for `lines` (product, qty); its delivery.
fn order(h: &SandboxHandle, lines: &[(i64, f64)]) -> (i64, i64) {
    let partner = h.create("res.partner", json!({"name": "Buyer"})).unwrap();
    let ol: Vec<Value> = lines
        .iter()
        .map(|(p, q)| json!([0, 0, {"product_id": p, "product_uom_qty": q, "price_unit": 10.0}]))
        .collect();
    let so = h
        .create(
            "sale.order",
            json!({"partner_id": partner, "client_order_ref": "shop:1", "order_line": ol}),
        )
        .unwrap();
    h.call("sale.order", "action_confirm", json!([[so]]), json!({}))
        .unwrap();
    let pk = h.read("sale.order", &[so], &["picking_ids"]).unwrap()[0]["picking_ids"][0]
        .as_i64()
        .unwrap();
    (so, pk)
}

fn moves(h: &SandboxHandle, pk: i64) -> Vec<serde_json::Map<String, Value>> {
    h.search_read(
        "stock.move",
        json!([["picking_id", "=", pk]]),
        &[
            "product_id",
            "product_uom_qty",
            "quantity",
            "state",
            "sale_line_id",
        ],
    )
    .unwrap()
}

fn qty_delivered(h: &SandboxHandle, so: i64) -> Vec<f64> {
    h.search_read(
        "sale.order.line",
        json!([["order_id", "=", so]]),
        &["qty_delivered"],
    )
    .unwrap()
    .iter()
    .map(|r| r["qty_delivered"].as_f64().unwrap())
    .collect()
}

#[tokio::test]
async fn a_partial_validation_asks_then_leaves_a_reserved_backorder() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = product(&h, "BO-1", 10.0);
    let (so, pk) = order(&h, &[(p, 3.0)]);
    let mv = moves(&h, pk)[0]["id"].as_i64().unwrap();
    h.write(
        "stock.move",
        &[mv],
        json!({"quantity": 1.0, "picked": true}),
    )
    .unwrap();
    // Without skip_backorder Odoo asks first.
    let wiz = h
        .call(
            "stock.picking",
            "button_validate",
            json!([[pk]]),
            json!({"context": {"skip_sms": true}}),
        )
        .unwrap();
    assert_eq!(wiz["res_model"], "stock.backorder.confirmation");
    assert_eq!(
        h.read("stock.picking", &[pk], &["state"]).unwrap()[0]["state"],
        "assigned",
        "nothing is validated before the answer"
    );
    let ctx = wiz["context"].clone();
    let w = h
        .call(
            "stock.backorder.confirmation",
            "create",
            json!([{"pick_ids": [[6, 0, [pk]]]}]),
            json!({"context": ctx.clone()}),
        )
        .unwrap();
    h.call(
        "stock.backorder.confirmation",
        "process",
        json!([[w]]),
        json!({"context": ctx}),
    )
    .unwrap();
    let first = h.read("stock.picking", &[pk], &["state"]).unwrap();
    assert_eq!(first[0]["state"], "done");
    let bo = h
        .search_read(
            "stock.picking",
            json!([["backorder_id", "=", pk]]),
            &["state", "sale_id", "name"],
        )
        .unwrap();
    assert_eq!(bo.len(), 1, "one backorder");
    assert_eq!(
        bo[0]["state"], "assigned",
        "the backorder is reserved again"
    );
    assert_eq!(bo[0]["sale_id"][0], so);
    let bo_id = bo[0]["id"].as_i64().unwrap();
    let bm = moves(&h, bo_id);
    assert_eq!(bm[0]["product_uom_qty"], 2.0);
    assert_eq!(moves(&h, pk)[0]["product_uom_qty"], 1.0);
    assert_eq!(qty_delivered(&h, so), vec![1.0]);
    // The backorder ships the rest.
    h.call(
        "stock.picking",
        "button_validate",
        json!([[bo_id]]),
        json!({"context": {"skip_sms": true, "skip_backorder": true}}),
    )
    .unwrap();
    assert_eq!(qty_delivered(&h, so), vec![3.0]);
    let so_row = h.read("sale.order", &[so], &["delivery_status"]).unwrap();
    assert_eq!(so_row[0]["delivery_status"], "full");
}

#[tokio::test]
async fn skip_backorder_alone_still_makes_a_backorder_and_the_cancel_variant_does_not() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = product(&h, "BO-2", 10.0);
    // skip_backorder without picking_ids_not_to_backorder: Odoo creates the backorder.
    let (_, pk) = order(&h, &[(p, 2.0)]);
    let mv = moves(&h, pk)[0]["id"].as_i64().unwrap();
    h.write(
        "stock.move",
        &[mv],
        json!({"quantity": 1.0, "picked": true}),
    )
    .unwrap();
    h.call(
        "stock.picking",
        "button_validate",
        json!([[pk]]),
        json!({"context": {"skip_sms": true, "skip_backorder": true}}),
    )
    .unwrap();
    assert_eq!(
        h.search_count("stock.picking", json!([["backorder_id", "=", pk]]))
            .unwrap(),
        1
    );
    // process_cancel_backorder: the remainder is cancelled, no backorder.
    let (so2, pk2) = order(&h, &[(p, 2.0)]);
    let mv2 = moves(&h, pk2)[0]["id"].as_i64().unwrap();
    h.write(
        "stock.move",
        &[mv2],
        json!({"quantity": 1.0, "picked": true}),
    )
    .unwrap();
    let w = h
        .call(
            "stock.backorder.confirmation",
            "create",
            json!([{"pick_ids": [[6, 0, [pk2]]]}]),
            json!({}),
        )
        .unwrap();
    h.call(
        "stock.backorder.confirmation",
        "process_cancel_backorder",
        json!([[w]]),
        json!({"context": {"skip_sms": true}}),
    )
    .unwrap();
    assert_eq!(
        h.search_count("stock.picking", json!([["backorder_id", "=", pk2]]))
            .unwrap(),
        0
    );
    assert_eq!(qty_delivered(&h, so2), vec![1.0]);
}

fn invoice(h: &SandboxHandle, so: i64) -> i64 {
    let w = h
        .call(
            "sale.advance.payment.inv",
            "create",
            json!([{}]),
            json!({"context": {"active_model": "sale.order", "active_ids": [so]}}),
        )
        .unwrap();
    let act = h
        .call(
            "sale.advance.payment.inv",
            "create_invoices",
            json!([[w]]),
            json!({}),
        )
        .unwrap();
    let inv = act["res_id"].as_i64().unwrap();
    h.call("account.move", "action_post", json!([[inv]]), json!({}))
        .unwrap();
    inv
}

#[tokio::test]
async fn a_credit_note_from_the_reversal_wizard_credits_only_the_returned_units() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = product(&h, "CN-1", 10.0);
    let q = product(&h, "CN-2", 10.0);
    let (so, _) = order(&h, &[(p, 2.0), (q, 1.0)]);
    let inv = invoice(&h, so);
    let inv_row = h
        .read("account.move", &[inv], &["name", "amount_total"])
        .unwrap();
    assert_eq!(inv_row[0]["amount_total"], 34.5, "30 + 15 % tax");
    // Only posted moves can be reversed.
    let draft = h
        .create("account.move", json!({"move_type": "out_invoice"}))
        .unwrap();
    let e = h
        .call(
            "account.move.reversal",
            "create",
            json!([{}]),
            json!({"context": {"active_model": "account.move", "active_ids": [draft]}}),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("You can only reverse posted moves"),
        "{e}"
    );

    let w = h
        .call(
            "account.move.reversal",
            "create",
            json!([{"reason": "shop return RET-1"}]),
            json!({"context": {"active_model": "account.move", "active_ids": [inv]}}),
        )
        .unwrap();
    let act = h
        .call(
            "account.move.reversal",
            "reverse_moves",
            json!([[w]]),
            json!({}),
        )
        .unwrap();
    let refund = act["res_id"].as_i64().unwrap();
    let r = h
        .read(
            "account.move",
            &[refund],
            &[
                "move_type",
                "state",
                "ref",
                "reversed_entry_id",
                "amount_total",
            ],
        )
        .unwrap();
    assert_eq!(r[0]["move_type"], "out_refund");
    assert_eq!(r[0]["state"], "draft");
    assert_eq!(
        r[0]["ref"],
        format!(
            "Reversal of: {}, shop return RET-1",
            inv_row[0]["name"].as_str().unwrap()
        )
    );
    assert_eq!(r[0]["reversed_entry_id"][0], inv);
    assert_eq!(r[0]["amount_total"], 34.5, "a full copy until edited");
    // Keep one unit of the first product; drop the second line.
    let lines = h
        .search_read(
            "account.move.line",
            json!([["move_id", "=", refund], ["display_type", "=", "product"]]),
            &["product_id"],
        )
        .unwrap();
    let (lp, lq): (Vec<_>, Vec<_>) = lines
        .iter()
        .partition(|l| l["product_id"][0].as_i64() == Some(p));
    h.write(
        "account.move",
        &[refund],
        json!({"invoice_line_ids": [[1, lp[0]["id"], {"quantity": 1.0}], [2, lq[0]["id"]]]}),
    )
    .unwrap();
    let r = h
        .read(
            "account.move",
            &[refund],
            &["amount_total", "amount_untaxed"],
        )
        .unwrap();
    assert_eq!(r[0]["amount_untaxed"], 10.0);
    assert_eq!(r[0]["amount_total"], 11.5);
    h.call("account.move", "action_post", json!([[refund]]), json!({}))
        .unwrap();
    let r = h
        .read("account.move", &[refund], &["name", "state"])
        .unwrap();
    assert!(r[0]["name"].as_str().unwrap().starts_with("RINV/"), "{r:?}");
    // The order counts the credit note: 1 of the first product is invoiced net.
    let sol = h
        .search_read(
            "sale.order.line",
            json!([["order_id", "=", so], ["product_id", "=", p]]),
            &["qty_invoiced"],
        )
        .unwrap();
    assert_eq!(sol[0]["qty_invoiced"], 1.0);
    let so_row = h.read("sale.order", &[so], &["amount_invoiced"]).unwrap();
    assert_eq!(so_row[0]["amount_invoiced"], 23.0);
    // A posted credit note cannot be edited.
    assert!(
        h.write(
            "account.move",
            &[refund],
            json!({"invoice_line_ids": [[2, lp[0]["id"]]]}),
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_scrap_order_moves_stock_to_the_scrap_location_or_answers_the_wizard() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = product(&h, "SC-1", 3.0);
    let s = h
        .create(
            "stock.scrap",
            json!({"product_id": p, "scrap_qty": 2.0, "origin": "shop return RET-9"}),
        )
        .unwrap();
    let row = h
        .read(
            "stock.scrap",
            &[s],
            &["location_id", "scrap_location_id", "state", "name"],
        )
        .unwrap();
    assert_eq!(row[0]["location_id"][0], 5);
    assert_eq!(row[0]["scrap_location_id"][1], "Virtual Locations/Scrap");
    assert_eq!(row[0]["state"], "draft");
    assert_eq!(
        h.call("stock.scrap", "action_validate", json!([[s]]), json!({}))
            .unwrap(),
        json!(true)
    );
    let row = h
        .read("stock.scrap", &[s], &["state", "name", "move_ids"])
        .unwrap();
    assert_eq!(row[0]["state"], "done");
    assert!(row[0]["name"].as_str().unwrap().starts_with("SP/"));
    assert_eq!(row[0]["move_ids"].as_array().unwrap().len(), 1);
    let on_hand = h.read("product.product", &[p], &["qty_available"]).unwrap();
    assert_eq!(on_hand[0]["qty_available"], 1.0);
    // More than there is: Odoo answers the insufficient-quantity wizard and scraps nothing.
    let s2 = h
        .create("stock.scrap", json!({"product_id": p, "scrap_qty": 5.0}))
        .unwrap();
    let act = h
        .call("stock.scrap", "action_validate", json!([[s2]]), json!({}))
        .unwrap();
    assert_eq!(act["res_model"], "stock.warn.insufficient.qty.scrap");
    let on_hand = h.read("product.product", &[p], &["qty_available"]).unwrap();
    assert_eq!(on_hand[0]["qty_available"], 1.0);
}

fn reserved(h: &SandboxHandle, p: i64) -> f64 {
    h.search_read(
        "stock.quant",
        json!([["product_id", "=", p], ["location_id", "=", 5]]),
        &["reserved_quantity"],
    )
    .unwrap()
    .iter()
    .map(|q| q["reserved_quantity"].as_f64().unwrap())
    .sum()
}

#[tokio::test]
async fn lowering_a_confirmed_line_lowers_its_delivery_and_reservation() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = product(&h, "QTY-1", 10.0);
    let (so, pk) = order(&h, &[(p, 3.0)]);
    assert_eq!(reserved(&h, p), 3.0);
    let sol = h
        .search_read("sale.order.line", json!([["order_id", "=", so]]), &["id"])
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    h.write("sale.order.line", &[sol], json!({"product_uom_qty": 2.0}))
        .unwrap();
    let m = &moves(&h, pk)[0];
    assert_eq!(m["product_uom_qty"], 2.0);
    assert_eq!(m["quantity"], 2.0, "reserved again for the new demand");
    assert_eq!(reserved(&h, p), 2.0);
    // Up again: the open move takes the extra demand.
    h.write("sale.order.line", &[sol], json!({"product_uom_qty": 4.0}))
        .unwrap();
    assert_eq!(moves(&h, pk)[0]["product_uom_qty"], 4.0);
    assert_eq!(reserved(&h, p), 4.0);
    // Down to nothing to ship: the move is cancelled and nothing stays reserved.
    h.write("sale.order.line", &[sol], json!({"product_uom_qty": 0.0}))
        .unwrap();
    assert_eq!(moves(&h, pk)[0]["state"], "cancel");
    assert_eq!(reserved(&h, p), 0.0);
    assert_eq!(
        h.read("stock.picking", &[pk], &["state"]).unwrap()[0]["state"],
        "cancel"
    );
}
