//! The generic ORM, through the in-process handle: domains, ordering, write_date semantics,
//! x2many commands, constraints, rollback. (The protocols are covered by `contract.rs`.)

use odoo_sandbox::{Clock, ErrKind, OdooSandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

async fn sandbox() -> OdooSandbox {
    let clock = Clock::frozen("2026-11-22T22:54:38.250Z".parse().unwrap());
    OdooSandbox::start(SandboxConfig::default().clock(clock))
        .await
        .unwrap()
}

fn ids(v: Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn search(h: &SandboxHandle, model: &str, dom: Value) -> Vec<i64> {
    ids(h.call(model, "search", json!([dom]), json!({})).unwrap())
}

fn search_ctx(h: &SandboxHandle, model: &str, dom: Value, ctx: Value) -> Vec<i64> {
    ids(h
        .call(model, "search", json!([dom]), json!({"context": ctx}))
        .unwrap())
}

#[tokio::test]
async fn domain_operators() {
    let sb = sandbox().await;
    let h = sb.handle();
    // =, !=, in, not in on char; False matches empty.
    assert_eq!(
        search(
            &h,
            "product.product",
            json!([["default_code", "=", "DESK0005"]])
        ),
        vec![15]
    );
    let no_code = search(&h, "product.product", json!([["default_code", "=", false]]));
    assert!(no_code.contains(&1) && !no_code.contains(&15));
    let not_desk = search(
        &h,
        "product.product",
        json!([["default_code", "!=", "DESK0005"]]),
    );
    assert!(not_desk.contains(&1), "!= matches empty values too");
    assert!(!not_desk.contains(&15));
    let inlist = search(
        &h,
        "product.product",
        json!([["default_code", "in", ["DESK0005", "DESK0006", false]]]),
    );
    assert!(inlist.contains(&15) && inlist.contains(&18) && inlist.contains(&1));
    // like family.
    let like = search(
        &h,
        "product.product",
        json!([["default_code", "like", "DESK"]]),
    );
    assert_eq!(like, vec![15, 18]);
    assert!(
        search(
            &h,
            "product.product",
            json!([["default_code", "like", "desk"]])
        )
        .is_empty()
    );
    assert_eq!(
        search(
            &h,
            "product.product",
            json!([["default_code", "ilike", "desk"]])
        ),
        vec![15, 18]
    );
    assert_eq!(
        search(
            &h,
            "product.product",
            json!([["default_code", "=like", "DESK000_"]])
        ),
        vec![15, 18]
    );
    assert_eq!(
        search(
            &h,
            "product.product",
            json!([["default_code", "=ilike", "desk%6"]])
        ),
        vec![18]
    );
    let not_ilike = search(
        &h,
        "product.product",
        json!([["default_code", "not ilike", "desk"]]),
    );
    assert!(
        not_ilike.contains(&1) && !not_ilike.contains(&15),
        "not ilike matches empty"
    );
    // Numbers and booleans; delegated template fields.
    let pricey = search(
        &h,
        "product.product",
        json!([["list_price", ">", 1000], ["is_storable", "=", true]]),
    );
    assert!(pricey.contains(&22) && !pricey.contains(&20));
    assert_eq!(
        h.search_count(
            "product.product",
            json!([
                ["sale_ok", "=", true],
                ["is_storable", "=", true],
                ["list_price", ">", 100]
            ])
        )
        .unwrap(),
        25
    );
    // Prefix operators.
    let either = search(
        &h,
        "product.product",
        json!([
            "|",
            ["default_code", "=", "DESK0005"],
            ["default_code", "=", "E-COM07"]
        ]),
    );
    assert_eq!(either, vec![15, 20]);
    let neither = search(
        &h,
        "product.product",
        json!([
            "!",
            ["default_code", "ilike", "E-COM"],
            ["default_code", "ilike", "E-COM0"]
        ]),
    );
    assert!(neither.is_empty());
    // Dotted paths, any, child_of, parent_of.
    let internal = search(
        &h,
        "stock.quant",
        json!([["location_id.usage", "=", "internal"]]),
    );
    assert!(!internal.is_empty());
    let any = search(
        &h,
        "stock.quant",
        json!([["location_id", "any", [["usage", "=", "internal"]]]]),
    );
    assert_eq!(internal, any);
    let under_wh = search(&h, "stock.location", json!([["id", "child_of", 4]]));
    assert!(under_wh.contains(&4) && under_wh.contains(&5) && !under_wh.contains(&2));
    let above = search_ctx(
        &h,
        "stock.location",
        json!([["id", "parent_of", 5]]),
        json!({"active_test": false}),
    );
    assert!(above.contains(&4) && above.contains(&1));
    // many2one compared with text matches by name.
    let quants = search(
        &h,
        "stock.quant",
        json!([
            ["product_id", "ilike", "Large Cabinet"],
            ["location_id", "=", 5]
        ]),
    );
    assert_eq!(quants, vec![3]);
    // Unknown fields are Odoo's ValueError.
    let err = h
        .call(
            "sale.order",
            "search",
            json!([[["x_shopify_id", "=", "1001"]]]),
            json!({}),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrKind::ValueError);
    assert_eq!(
        err.message,
        "Invalid field sale.order.x_shopify_id in condition ('x_shopify_id', '=', '1001')"
    );
}

#[tokio::test]
async fn active_records_are_hidden_unless_asked() {
    let sb = sandbox().await;
    let h = sb.handle();
    assert!(!search(&h, "product.product", json!([])).contains(&9));
    assert!(
        search_ctx(
            &h,
            "product.product",
            json!([]),
            json!({"active_test": false})
        )
        .contains(&9)
    );
    assert!(search(&h, "product.product", json!([["active", "=", false]])).contains(&9));
    assert_eq!(h.search_count("product.product", json!([])).unwrap(), 49);
}

#[tokio::test]
async fn ordering_follows_the_comodel_order() {
    let sb = sandbox().await;
    let h = sb.handle();
    // product_id sorts by the product's _order (default_code first), not by id.
    let rows = h
        .call(
            "stock.quant",
            "search_read",
            json!([[["location_id", "=", 5]]]),
            json!({"fields": ["product_id"], "order": "product_id", "limit": 3}),
        )
        .unwrap();
    let got: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["product_id"][0].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![15, 18, 20]);
    // Multi-key with desc; C collation (uppercase first).
    let codes = h
        .call(
            "product.product",
            "search_read",
            json!([[["default_code", "!=", false]]]),
            json!({"fields": ["default_code"], "order": "default_code desc, id asc", "limit": 2}),
        )
        .unwrap();
    assert_eq!(codes[0]["default_code"], "FURN_9999");
    let asc = h
        .call(
            "product.product",
            "search_read",
            json!([[]]),
            json!({"fields": ["default_code"], "order": "default_code asc", "limit": 60}),
        )
        .unwrap();
    let list: Vec<Value> = asc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["default_code"].clone())
        .collect();
    assert_eq!(
        list.last().unwrap(),
        &json!(false),
        "NULLs sort last ascending"
    );
    let d = list.iter().position(|c| c == "DESK0005").unwrap();
    let dl = list.iter().position(|c| c == "Delivery_007").unwrap();
    assert!(d < dl, "byte order: DESK0005 before Delivery_007");
    // offset/limit
    let page = search(&h, "product.product", json!([]));
    let p2 = ids(h
        .call(
            "product.product",
            "search",
            json!([[]]),
            json!({"offset": 2, "limit": 3}),
        )
        .unwrap());
    assert_eq!(p2, page[2..5].to_vec());
}

#[tokio::test]
async fn write_date_is_the_transaction_time_compared_by_whole_second() {
    let sb = sandbox().await;
    let h = sb.handle();
    let p = h
        .create("res.partner", json!({"name": "Cursor Partner"}))
        .unwrap();
    let t = h.read("res.partner", &[p], &["write_date"]).unwrap()[0]["write_date"].clone();
    sb.clock().advance_secs_f64(1.2);
    let so_ids = ids(
        h.call(
            "sale.order",
            "create",
            json!([[{"partner_id": p, "client_order_ref": "A"}, {"partner_id": p, "client_order_ref": "B"}, {"partner_id": p, "client_order_ref": "C"}]]),
            json!({}),
        )
        .unwrap(),
    );
    let rows = h.read("sale.order", &so_ids, &["write_date"]).unwrap();
    let w = rows[0]["write_date"].clone();
    assert!(
        rows.iter().all(|r| r["write_date"] == w),
        "one call, one write_date"
    );
    assert_eq!(
        h.search_count("sale.order", json!([["write_date", ">=", t]]))
            .unwrap(),
        3
    );
    // '>' W skips the rest of W's second; '=' W and '<=' W cover it.
    assert_eq!(
        h.search_count(
            "sale.order",
            json!([["id", "in", so_ids], ["write_date", ">", w]])
        )
        .unwrap(),
        0
    );
    assert_eq!(
        h.search_count(
            "sale.order",
            json!([["id", "in", so_ids], ["write_date", "=", w]])
        )
        .unwrap(),
        3
    );
    assert_eq!(
        h.search_count(
            "sale.order",
            json!([["id", "in", so_ids], ["write_date", "<=", w]])
        )
        .unwrap(),
        3
    );
    // A write moves the record to a later write_date; reads do not.
    sb.clock().advance_secs_f64(1.5);
    h.write(
        "sale.order",
        &[so_ids[1]],
        json!({"client_order_ref": "B2"}),
    )
    .unwrap();
    h.read("sale.order", &[so_ids[0]], &["name"]).unwrap();
    let later = ids(h
        .call(
            "sale.order",
            "search",
            json!([[["write_date", ">", w]]]),
            json!({"order": "write_date asc, id asc"}),
        )
        .unwrap());
    assert_eq!(later, vec![so_ids[1]]);
}

#[tokio::test]
async fn x2many_commands() {
    let sb = sandbox().await;
    let h = sb.handle();
    let so = h
        .create(
            "sale.order",
            json!({"partner_id": 15, "order_line": [[0, 0, {"product_id": 20, "product_uom_qty": 1}], [0, 0, {"product_id": 8, "product_uom_qty": 2}]]}),
        )
        .unwrap();
    let lines = |h: &SandboxHandle| -> Vec<i64> {
        ids(h.read("sale.order", &[so], &["order_line"]).unwrap()[0]["order_line"].clone())
    };
    let l = lines(&h);
    assert_eq!(l.len(), 2);
    // 1 update, 2 delete, 0 create in one write.
    h.write(
        "sale.order",
        &[so],
        json!({"order_line": [[1, l[0], {"product_uom_qty": 5}], [2, l[1], 0], [0, 0, {"product_id": 15, "product_uom_qty": 1}]]}),
    )
    .unwrap();
    let l2 = lines(&h);
    assert_eq!(l2.len(), 2);
    assert!(!l2.contains(&l[1]));
    assert_eq!(
        h.read("sale.order.line", &[l[0]], &["product_uom_qty"])
            .unwrap()[0]["product_uom_qty"],
        json!(5.0)
    );
    let total = h.read("sale.order", &[so], &["amount_untaxed"]).unwrap()[0]["amount_untaxed"]
        .as_f64()
        .unwrap();
    assert_eq!(total, 5.0 * 320.0 + 750.0, "amounts recomputed");
    // many2many: 6 set, 4 link, 3 unlink, 5 clear.
    let line = l2[0];
    h.write(
        "sale.order.line",
        &[line],
        json!({"tax_ids": [[6, 0, [1, 3]]]}),
    )
    .unwrap();
    let taxes = |h: &SandboxHandle| {
        ids(h.read("sale.order.line", &[line], &["tax_ids"]).unwrap()[0]["tax_ids"].clone())
    };
    assert_eq!(taxes(&h), vec![1, 3]);
    h.write("sale.order.line", &[line], json!({"tax_ids": [[3, 3, 0]]}))
        .unwrap();
    assert_eq!(taxes(&h), vec![1]);
    h.write("sale.order.line", &[line], json!({"tax_ids": [[4, 3, 0]]}))
        .unwrap();
    assert_eq!(taxes(&h), vec![1, 3]);
    h.write("sale.order.line", &[line], json!({"tax_ids": [[5, 0, 0]]}))
        .unwrap();
    assert!(taxes(&h).is_empty());
    // Linking a missing record is a MissingError.
    let err = h
        .write(
            "sale.order.line",
            &[line],
            json!({"tax_ids": [[4, 99999, 0]]}),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrKind::MissingError);
}

#[tokio::test]
async fn constraints_and_errors() {
    let sb = sandbox().await;
    let h = sb.handle();
    // Required field: the id is consumed, nothing is left behind.
    let before = h.search_count("sale.order", json!([])).unwrap();
    let err = h
        .create("sale.order", json!({"client_order_ref": "no partner"}))
        .unwrap_err();
    assert_eq!(err.kind, ErrKind::ValidationError);
    assert!(err.message.starts_with("The operation cannot be completed: Missing required value for the field 'Customer' (partner_id)."));
    assert_eq!(h.search_count("sale.order", json!([])).unwrap(), before);
    let next = h.create("sale.order", json!({"partner_id": 15})).unwrap();
    assert_eq!(
        next, 35,
        "the failed INSERT consumed id 34, as in PostgreSQL"
    );
    // Selection values.
    let err = h
        .write("sale.order", &[next], json!({"picking_policy": "asap"}))
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrKind::ValueError,
            "Wrong value for sale.order.picking_policy: 'asap'"
        )
    );
    let err = h
        .create("product.product", json!({"name": "x", "type": "product"}))
        .unwrap_err();
    assert_eq!(
        err.message,
        "Wrong value for product.template.type: 'product'"
    );
    // Unknown fields in read and write.
    let err = h
        .read("sale.order.line", &[60], &["product_uom"])
        .unwrap_err();
    assert_eq!(
        err.message,
        "Invalid field 'product_uom' on 'sale.order.line'"
    );
    let err = h
        .write("sale.order", &[next], json!({"x_shopify_id": "1"}))
        .unwrap_err();
    assert_eq!(err.message, "Invalid field 'x_shopify_id' in 'sale.order'");
    // Missing records.
    let err = h
        .create(
            "sale.order",
            json!({"partner_id": 15, "order_line": [[0, 0, {"product_id": 999999}]]}),
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "Record does not exist or has been deleted.\n(Record: product.product(999999,), User: 2)"
    );
    assert!(
        h.read("sale.order", &[999999], &["name"])
            .unwrap()
            .is_empty()
    );
    // SQL UNIQUE constraints (sanitized account numbers).
    h.create(
        "res.partner.bank",
        json!({"acc_number": "BE71 0961 2345 6769", "partner_id": 15}),
    )
    .unwrap();
    let err = h
        .create(
            "res.partner.bank",
            json!({"acc_number": "BE71096123456769", "partner_id": 15}),
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "The operation cannot be completed: The combination Account Number/Partner must be unique."
    );
    let err = h
        .create("stock.warehouse", json!({"name": "Another", "code": "WH"}))
        .unwrap_err();
    assert_eq!(
        err.message,
        "The operation cannot be completed: The short name of the warehouse must be unique per company!"
    );
    // A failed warehouse leaves none of its locations behind.
    assert!(
        search(
            &h,
            "stock.location",
            json!([["name", "=", "WH"], ["id", ">", 4]])
        )
        .is_empty()
    );
    // Private methods.
    let err = h
        .call(
            "product.product",
            "_compute_display_name",
            json!([[]]),
            json!({}),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrKind::AccessError);
}

#[tokio::test]
async fn reads_groups_and_fields_get() {
    let sb = sandbox().await;
    let h = sb.handle();
    let r = h
        .call(
            "stock.quant",
            "read",
            json!([[1], ["product_id", "location_id"]]),
            json!({"load": null}),
        )
        .unwrap();
    assert_eq!(r[0]["product_id"], json!(15), "load=None gives bare ids");
    let r = h
        .call(
            "stock.quant",
            "read",
            json!([[1], ["product_id"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        r[0]["product_id"],
        json!([15, "[DESK0005] Customizable Desk (White, Custom)"])
    );
    let g = h
        .call(
            "stock.quant",
            "read_group",
            json!([
                [["location_id", "=", 5]],
                ["quantity:sum"],
                ["product_id", "location_id"]
            ]),
            json!({"lazy": true, "limit": 1, "orderby": "product_id"}),
        )
        .unwrap();
    assert_eq!(g[0]["product_id_count"], json!(1));
    assert_eq!(g[0]["__context"], json!({"group_by": ["location_id"]}));
    let g = h
        .call(
            "stock.quant",
            "read_group",
            json!([[["location_id", "=", 5]], ["quantity:sum"], ["location_id"]]),
            json!({"lazy": false}),
        )
        .unwrap();
    assert!(g[0].get("__count").is_some());
    let f = h.call("stock.quant", "formatted_read_group", json!([[["location_id", "=", 5]]]), json!({"groupby": ["location_id"], "aggregates": ["quantity:sum", "reserved_quantity:sum", "__count"]})).unwrap();
    assert_eq!(f[0]["reserved_quantity:sum"], json!(157.0));
    assert_eq!(f[0]["__extra_domain"], json!([["location_id", "=", 5]]));
    let fg = h
        .call(
            "sale.order",
            "fields_get",
            json!([["state"]]),
            json!({"attributes": ["type", "string"]}),
        )
        .unwrap();
    assert_eq!(
        fg,
        json!({"state": {"string": "Status", "type": "selection"}})
    );
    let ns = h
        .call("res.partner", "name_search", json!(["Azure"]), json!({}))
        .unwrap();
    assert_eq!(ns, json!([[15, "Azure Interior"]]));
}

#[tokio::test]
async fn stock_quantities_follow_the_context() {
    let sb = sandbox().await;
    let h = sb.handle();
    let wh2 = h
        .create("stock.warehouse", json!({"name": "Second", "code": "WH2"}))
        .unwrap();
    let wh2_stock = h
        .read("stock.warehouse", &[wh2], &["lot_stock_id"])
        .unwrap()[0]["lot_stock_id"][0]
        .as_i64()
        .unwrap();
    let p = h
        .create(
            "product.product",
            json!({"name": "Mug", "type": "consu", "is_storable": true}),
        )
        .unwrap();
    h.set_stock(p, 5, 10.0).unwrap();
    h.set_stock(p, wh2_stock, 5.0).unwrap();
    let qty = |ctx: Value| -> f64 {
        h.call(
            "product.product",
            "read",
            json!([[p], ["qty_available"]]),
            json!({"context": ctx}),
        )
        .unwrap()[0]["qty_available"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(qty(json!({})), 15.0);
    assert_eq!(qty(json!({"warehouse_id": 1})), 10.0);
    assert_eq!(qty(json!({"warehouse_id": wh2})), 5.0);
    assert_eq!(
        qty(json!({"warehouse": wh2})),
        15.0,
        "19 ignores the old key"
    );
    assert_eq!(qty(json!({"location": wh2_stock})), 5.0);
    // The inventory moves came from Inventory adjustment.
    let moves = h
        .search_read(
            "stock.move",
            json!([["product_id", "=", p]]),
            &["location_id", "reference", "state"],
        )
        .unwrap();
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[0]["location_id"][1], "Inventory adjustment");
    assert_eq!(
        moves[0]["reference"],
        "Product Quantity Updated (Mitchell Admin)"
    );
}
