//! The reference `demo` database, as far as the captures reference it.
//!
//! Every id and figure here is either read off a capture (see `data/README.md` for which) or
//! chosen so that replaying the single-call captures of each protocol in file order
//! reproduces the recorded flow: the next sale order is 34 (S00034), its delivery picking 58
//! (WH/OUT/00052) with moves 88/89, the next ir.logging 6, the next SMS wizard 3, and so on.

use super::Seeder;
use crate::env::{ApiKey, Credential, Db};
use serde_json::{Value, json};

const INSTALLED: &str = include_str!("../../data/installed_modules.json");

/// Admin's password (the reference server's) and default API key.
pub const ADMIN_PASSWORD: &str = "admin";
pub const DEMO_PASSWORD: &str = "demo";

pub fn seed(db: &mut Db, stamp: i64, admin_key: &str, key_expires_us: Option<i64>) {
    let mut s = Seeder::new(db, stamp);
    base(&mut s);
    stock(&mut s);
    products(&mut s);
    accounting(&mut s);
    misc(&mut s);
    crate::business::activity::seed(&mut s);
    crate::business::routes::seed(&mut s);
    drop(s);
    db.credentials = vec![
        Credential {
            uid: 2,
            login: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            api_keys: vec![ApiKey {
                key: admin_key.to_owned(),
                expires_us: key_expires_us,
                revoked: false,
            }],
        },
        Credential {
            uid: 5,
            login: "demo".into(),
            password: DEMO_PASSWORD.into(),
            api_keys: vec![],
        },
    ];
}

fn base(s: &mut Seeder) {
    // Currencies (res.currency ids as in capture 08: USD 1, EUR 125, JPY 25, KWD 93).
    s.put("res.currency", 1, json!({"name": "USD", "full_name": "United States dollar", "symbol": "$", "position": "before", "rounding": 0.01, "decimal_places": 2, "active": true, "currency_unit_label": "Dollars", "currency_subunit_label": "Cents"}));
    s.put("res.currency", 125, json!({"name": "EUR", "full_name": "Euro", "symbol": "€", "position": "after", "rounding": 0.01, "decimal_places": 2, "active": false, "currency_unit_label": "Euros", "currency_subunit_label": "Cents"}));
    s.put("res.currency", 25, json!({"name": "JPY", "full_name": "Japanese yen", "symbol": "¥", "position": "before", "rounding": 1.0, "decimal_places": 0, "active": false, "currency_unit_label": "Yen", "currency_subunit_label": "Cen"}));
    s.put("res.currency", 93, json!({"name": "KWD", "full_name": "Kuwaiti dinar", "symbol": " د.ك ", "position": "after", "rounding": 0.001, "decimal_places": 3, "active": false, "currency_unit_label": "Dinar", "currency_subunit_label": "Fils"}));
    s.put("res.currency", 2, json!({"name": "GBP", "full_name": "British pound", "symbol": "£", "position": "before", "rounding": 0.01, "decimal_places": 2, "active": false}));
    s.put("res.currency", 3, json!({"name": "CAD", "full_name": "Canadian dollar", "symbol": "$", "position": "before", "rounding": 0.01, "decimal_places": 2, "active": false}));
    s.next_id("res.currency", 170);
    for (id, cur, rate) in [
        (125, 125, 1.2834),
        (25, 25, 133.62),
        (93, 93, 0.35),
        (2, 2, 0.7799),
        (3, 3, 1.3364),
    ] {
        s.put(
            "res.currency.rate",
            id,
            json!({"name": "2010-01-01", "rate": rate, "currency_id": cur, "company_id": 1}),
        );
    }
    s.next_id("res.currency.rate", 200);
    // Countries (US 233, BE 20 as captured).
    for (id, name, code, cur) in [
        (233, "United States", "US", 1),
        (20, "Belgium", "BE", 125),
        (75, "France", "FR", 125),
        (57, "Germany", "DE", 125),
        (38, "Canada", "CA", 3),
        (231, "United Kingdom", "GB", 2),
        (113, "Japan", "JP", 25),
        (120, "Kuwait", "KW", 93),
    ] {
        s.put(
            "res.country",
            id,
            json!({"name": name, "code": code, "currency_id": cur}),
        );
    }
    s.next_id("res.country", 251);
    // Companies and their partners.
    s.put("res.partner", 1, json!({"name": "My Company (San Francisco)", "complete_name": "My Company (San Francisco)", "is_company": true, "country_id": 233, "email": "info@yourcompany.com", "phone": "+1 555-555-5556", "street": "250 Executive Park Blvd, Suite 3400", "city": "San Francisco", "zip": "94134"}));
    s.put("res.partner", 2, json!({"name": "OdooBot", "complete_name": "OdooBot", "email": "odoobot@example.com", "active": false}));
    s.put("res.partner", 3, json!({"name": "Mitchell Admin", "complete_name": "YourCompany, Mitchell Admin", "parent_id": 1, "email": "admin@yourcompany.example.com", "phone": "+1 555-555-5555"}));
    s.put(
        "res.partner",
        4,
        json!({"name": "Public user", "complete_name": "Public user", "active": false}),
    );
    s.put("res.partner", 5, json!({"name": "My US Company", "complete_name": "My US Company", "is_company": true, "country_id": 233}));
    s.put("res.partner", 6, json!({"name": "My Company (Chicago)", "complete_name": "My Company (Chicago)", "is_company": true, "country_id": 233}));
    s.put("res.partner", 7, json!({"name": "Marc Demo", "complete_name": "YourCompany, Marc Demo", "parent_id": 1, "email": "mark.brown23@example.com"}));
    s.put("res.partner", 8, json!({"name": "Joel Willis", "complete_name": "Joel Willis", "email": "joel.willis63@example.com"}));
    let customers = [
        (
            9,
            "Deco Addict",
            "deco_addict@example.com",
            "(603)-996-3829",
        ),
        (
            10,
            "Gemini Furniture",
            "gemini_furniture@example.com",
            "(941)-284-4875",
        ),
        (
            11,
            "Lumber Inc",
            "lumber-inv92@example.com",
            "(828)-316-0593",
        ),
        (12, "Ready Mat", "ready.mat28@example.com", "(803)-873-6126"),
        (
            13,
            "The Jackson Group",
            "jackson.group82@example.com",
            "(334)-502-1024",
        ),
        (
            14,
            "Wood Corner",
            "wood.corner26@example.com",
            "(623)-853-7197",
        ),
        (
            15,
            "Azure Interior",
            "azure.Interior24@example.com",
            "(870)-931-0505",
        ),
    ];
    for (id, name, email, phone) in customers {
        let mut v = json!({"name": name, "complete_name": name, "is_company": true, "email": email, "phone": phone, "country_id": 233, "customer_rank": 1});
        if id == 15 {
            v["vat"] = json!("US12345677");
            v["street"] = json!("4557 De Silva St");
            v["city"] = json!("Fremont");
            v["zip"] = json!("94538");
        }
        s.put("res.partner", id, v);
    }
    for id in 16..45 {
        let name = format!("Demo Contact {id}");
        s.put("res.partner", id, json!({"name": name, "complete_name": name, "email": format!("contact{id}@example.com")}));
    }
    s.next_id("res.partner", 45);
    s.put("res.company", 1, json!({"name": "My Company (San Francisco)", "partner_id": 1, "currency_id": 1, "country_id": 233, "sequence": 0, "account_sale_tax_id": 1, "account_purchase_tax_id": 2, "stock_move_sms_validation": true, "quotation_validity_days": 30, "tax_calculation_rounding_method": "round_per_line", "annual_inventory_day": 31, "annual_inventory_month": "12", "email": "info@yourcompany.com"}));
    s.put("res.company", 2, json!({"name": "My US Company", "partner_id": 5, "currency_id": 1, "country_id": 233, "sequence": 10, "stock_move_sms_validation": true, "quotation_validity_days": 30}));
    s.put("res.company", 3, json!({"name": "My Company (Chicago)", "partner_id": 6, "currency_id": 1, "country_id": 233, "sequence": 20, "parent_id": 1, "stock_move_sms_validation": true, "quotation_validity_days": 30}));
    s.next_id("res.company", 4);
    // Groups (ids as the ir.model.data rows say; group_account_basic is 28 in scenario 03).
    let groups = [
        (1, "base", "group_user", "Role / User"),
        (2, "base", "group_system", "Role / Administrator"),
        (3, "base", "group_erp_manager", "Access Rights"),
        (4, "base", "group_portal", "Portal"),
        (5, "base", "group_public", "Public"),
        (
            10,
            "sales_team",
            "group_sale_salesman",
            "User: Own Documents Only",
        ),
        (11, "sales_team", "group_sale_manager", "Administrator"),
        (20, "stock", "group_stock_user", "User"),
        (21, "stock", "group_stock_manager", "Administrator"),
        (25, "account", "group_account_invoice", "Invoicing"),
        (26, "account", "group_account_readonly", "Read-only"),
        (28, "account", "group_account_basic", "Basic"),
        (29, "account", "group_account_manager", "Administrator"),
        (30, "purchase", "group_purchase_user", "User"),
        (31, "purchase", "group_purchase_manager", "Administrator"),
    ];
    for (data_id, (id, module, name, label)) in (28080..).zip(groups) {
        s.put("res.groups", id, json!({"name": label, "full_name": label}));
        let did = if name == "group_account_basic" {
            28095
        } else {
            data_id
        };
        s.put("ir.model.data", did, json!({"module": module, "name": name, "model": "res.groups", "res_id": id, "noupdate": false}));
    }
    s.next_id("res.groups", 90);
    let admin_groups: Vec<i64> = vec![1, 2, 3, 10, 11, 20, 21, 25, 26, 29, 30, 31];
    s.put("res.users", 1, json!({"login": "__system__", "name": "OdooBot", "partner_id": 2, "company_id": 1, "company_ids": [1, 2, 3], "active": false, "group_ids": admin_groups}));
    s.put("res.users", 2, json!({"login": "admin", "name": "Mitchell Admin", "partner_id": 3, "company_id": 1, "company_ids": [1, 2, 3], "active": true, "group_ids": admin_groups, "tz": "Europe/Brussels", "lang": "en_US", "email": "admin@yourcompany.example.com"}));
    s.put("res.users", 4, json!({"login": "public", "name": "Public user", "partner_id": 4, "company_id": 1, "active": false, "group_ids": [5], "share": true}));
    s.put("res.users", 5, json!({"login": "demo", "name": "Marc Demo", "partner_id": 7, "company_id": 1, "company_ids": [1], "active": true, "group_ids": [1, 10, 20, 25, 30], "tz": "Europe/Brussels", "lang": "en_US"}));
    s.put("res.users", 6, json!({"login": "portal", "name": "Joel Willis", "partner_id": 8, "company_id": 1, "active": true, "group_ids": [4], "share": true}));
    s.next_id("res.users", 7);
    // Units (19: no categories; Pack of 6 = 6 Units).
    s.put(
        "uom.uom",
        1,
        json!({"name": "Units", "relative_factor": 1.0, "rounding": 0.01, "sequence": 1}),
    );
    s.put("uom.uom", 2, json!({"name": "Pack of 6", "relative_factor": 6.0, "relative_uom_id": 1, "rounding": 0.01, "sequence": 2}));
    s.put("uom.uom", 3, json!({"name": "Dozens", "relative_factor": 12.0, "relative_uom_id": 1, "rounding": 0.01, "sequence": 3}));
    s.put(
        "uom.uom",
        4,
        json!({"name": "kg", "relative_factor": 1.0, "rounding": 0.01, "sequence": 10}),
    );
    s.put("uom.uom", 5, json!({"name": "g", "relative_factor": 0.001, "relative_uom_id": 4, "rounding": 0.01, "sequence": 11}));
    s.put(
        "uom.uom",
        6,
        json!({"name": "Hours", "relative_factor": 1.0, "rounding": 0.01, "sequence": 20}),
    );
    s.next_id("uom.uom", 30);
    for (id, name, complete, parent) in [
        (1, "All", "All", None),
        (2, "Saleable", "All / Saleable", Some(1)),
        (3, "Expenses", "All / Expenses", Some(1)),
        (4, "Furniture", "Furniture", None),
        (5, "Office", "Furniture / Office", Some(4)),
        (6, "Deliveries", "Deliveries", None),
    ] {
        let mut v = json!({"name": name, "complete_name": complete});
        if let Some(p) = parent {
            v["parent_id"] = json!(p);
        }
        s.put("product.category", id, v);
    }
    s.next_id("product.category", 10);
    s.put(
        "crm.team",
        1,
        json!({"name": "Sales", "sequence": 10, "company_id": 1}),
    );
    s.put(
        "crm.team",
        2,
        json!({"name": "Website", "sequence": 20, "company_id": 1}),
    );
    s.put(
        "crm.team",
        3,
        json!({"name": "Point of Sale", "sequence": 30, "company_id": 1}),
    );
    s.next_id("crm.team", 10);
}

fn stock(s: &mut Seeder) {
    // Locations: ids as captured (2 Customers, 4 WH, 5 WH/Stock, 13 Inventory adjustment).
    type Loc = (
        i64,
        &'static str,
        &'static str,
        &'static str,
        Option<i64>,
        Option<i64>,
        bool,
    );
    let locs: &[Loc] = &[
        (
            1,
            "Physical Locations",
            "Physical Locations",
            "view",
            None,
            None,
            true,
        ),
        (2, "Customers", "Customers", "customer", None, None, true),
        (3, "Vendors", "Vendors", "supplier", None, None, true),
        (4, "WH", "WH", "view", Some(1), Some(1), true),
        (5, "Stock", "WH/Stock", "internal", Some(4), Some(1), true),
        (6, "Input", "WH/Input", "internal", Some(4), Some(1), false),
        (
            7,
            "Quality Control",
            "WH/Quality Control",
            "internal",
            Some(4),
            Some(1),
            false,
        ),
        (
            8,
            "Output",
            "WH/Output",
            "internal",
            Some(4),
            Some(1),
            false,
        ),
        (
            9,
            "Packing Zone",
            "WH/Packing Zone",
            "internal",
            Some(4),
            Some(1),
            false,
        ),
        (
            10,
            "Inter-company transit",
            "Inter-company transit",
            "transit",
            None,
            None,
            true,
        ),
        (
            11,
            "Virtual Locations",
            "Virtual Locations",
            "view",
            None,
            None,
            true,
        ),
        (
            12,
            "Scrap",
            "Virtual Locations/Scrap",
            "inventory",
            Some(11),
            None,
            true,
        ),
        (
            13,
            "Inventory adjustment",
            "Inventory adjustment",
            "inventory",
            None,
            None,
            true,
        ),
        (
            14,
            "Production",
            "Production",
            "production",
            None,
            None,
            true,
        ),
        (15, "Chic", "Chic", "view", Some(1), Some(2), true),
        (
            16,
            "Stock",
            "Chic/Stock",
            "internal",
            Some(15),
            Some(2),
            true,
        ),
        (
            17,
            "Input",
            "Chic/Input",
            "internal",
            Some(15),
            Some(2),
            false,
        ),
        (
            18,
            "Quality Control",
            "Chic/Quality Control",
            "internal",
            Some(15),
            Some(2),
            false,
        ),
        (
            19,
            "Output",
            "Chic/Output",
            "internal",
            Some(15),
            Some(2),
            false,
        ),
        (
            20,
            "Packing Zone",
            "Chic/Packing Zone",
            "internal",
            Some(15),
            Some(2),
            false,
        ),
    ];
    for &(id, name, complete, usage, parent, wh, active) in locs {
        let company = if wh == Some(2) { 3 } else { 1 };
        let mut v = json!({"name": name, "complete_name": complete, "usage": usage, "active": active, "company_id": company, "parent_path": format!("{id}/")});
        if let Some(p) = parent {
            v["location_id"] = json!(p);
            v["parent_path"] = json!(format!("{p}/{id}/"));
        }
        if let Some(w) = wh {
            v["warehouse_id"] = json!(w);
        }
        if matches!(usage, "customer" | "supplier" | "transit")
            || (usage == "inventory" && id != 12)
            || usage == "production"
        {
            v["company_id"] = Value::Bool(false);
        }
        s.put("stock.location", id, v);
    }
    // Company 3's and 2's virtual locations fill the ids up to 32.
    for id in 21..33 {
        let name = format!("Virtual {id}");
        s.put("stock.location", id, json!({"name": name, "complete_name": name, "usage": "view", "active": false, "company_id": 2}));
    }
    s.next_id("stock.location", 33);
    s.put("stock.warehouse", 1, json!({"name": "YourCompany", "code": "WH", "company_id": 1, "partner_id": 1, "view_location_id": 4, "lot_stock_id": 5, "wh_input_stock_loc_id": 6, "wh_qc_stock_loc_id": 7, "wh_output_stock_loc_id": 8, "wh_pack_stock_loc_id": 9, "in_type_id": 1, "out_type_id": 2, "pick_type_id": 3, "pack_type_id": 4, "int_type_id": 5, "sequence": 10}));
    s.put("stock.warehouse", 2, json!({"name": "Chicago Warehouse", "code": "Chic", "company_id": 3, "partner_id": 6, "view_location_id": 15, "lot_stock_id": 16, "in_type_id": 8, "out_type_id": 9, "int_type_id": 10, "sequence": 20}));
    s.next_id("stock.warehouse", 3);
    type PickingType = (
        i64,
        &'static str,
        &'static str,
        &'static str,
        i64,
        i64,
        i64,
        bool,
    );
    let types: &[PickingType] = &[
        (1, "Receipts", "incoming", "IN", 3, 5, 1, true),
        (2, "Delivery Orders", "outgoing", "OUT", 5, 2, 1, true),
        (3, "Pick", "internal", "PICK", 5, 8, 1, false),
        (4, "Pack", "internal", "PACK", 9, 8, 1, false),
        (5, "Internal Transfers", "internal", "INT", 5, 5, 1, true),
        (6, "Storage", "internal", "STOR", 6, 5, 1, false),
        (7, "Cross Dock", "internal", "XD", 6, 8, 1, false),
        (8, "Receipts", "incoming", "IN", 3, 16, 2, true),
        (9, "Delivery Orders", "outgoing", "OUT", 16, 2, 2, true),
        (10, "Internal Transfers", "internal", "INT", 16, 16, 2, true),
    ];
    for &(id, name, code, seq, src, dst, wh, active) in types {
        let mut v = json!({"name": name, "code": code, "sequence_code": seq, "default_location_src_id": src, "default_location_dest_id": dst, "warehouse_id": wh, "active": active, "sequence": id, "company_id": if wh == 2 { 3 } else { 1 }});
        if id == 2 {
            v["return_picking_type_id"] = json!(1);
        }
        if id == 9 {
            v["return_picking_type_id"] = json!(8);
        }
        s.put("stock.picking.type", id, v);
    }
    s.next_id("stock.picking.type", 20);
    // Picking sequences: WH/OUT/00052 is the next delivery (capture 19b), WH/IN/00007 the next receipt.
    s.seq("stock.picking.type:2", 52);
    s.seq("stock.picking.type:1", 7);
    s.seq("stock.picking.type:5", 3);
    // Routes and rules (Buy is 6 with rules 7, 8, 11: scenario 06).
    for (id, name, product_sel, wh_sel, active) in [
        (
            1,
            "YourCompany: Receive in 1 step (stock)",
            false,
            true,
            true,
        ),
        (
            2,
            "YourCompany: Deliver in 1 step (ship)",
            false,
            true,
            true,
        ),
        (3, "YourCompany: Cross Dock", false, true, false),
        (
            4,
            "Chicago Warehouse: Receive in 1 step (stock)",
            false,
            true,
            true,
        ),
        (5, "Replenish on Order (MTO)", true, false, false),
        (6, "Buy", false, true, true),
        (7, "Dropship", true, false, true),
    ] {
        s.put("stock.route", id, json!({"name": name, "product_selectable": product_sel, "warehouse_selectable": wh_sel, "active": active, "sequence": id * 5, "company_id": if id == 4 { json!(3) } else { json!(false) }}));
    }
    s.next_id("stock.route", 8);
    for (id, route, name, action, src, dst, pt) in [
        (1, 1, "WH: Vendors → Stock", "pull", 3, 5, 1),
        (2, 2, "WH: Stock → Customers", "pull", 5, 2, 2),
        (7, 6, "YourCompany: Buy", "buy", 3, 5, 1),
        (8, 6, "Chicago Warehouse: Buy", "buy", 3, 16, 8),
        (11, 6, "My US Company: Buy", "buy", 3, 5, 1),
        (12, 7, "Vendors → Customers", "buy", 3, 2, 2),
    ] {
        s.put("stock.rule", id, json!({"name": name, "route_id": route, "action": action, "location_src_id": src, "location_dest_id": dst, "picking_type_id": pt, "sequence": 20}));
    }
    s.next_id("stock.rule", 20);
    s.put("delivery.carrier", 1, json!({"name": "Standard delivery", "delivery_type": "fixed", "product_id": 56, "fixed_price": 0.0, "sequence": 1, "company_id": false}));
    s.put("delivery.carrier", 2, json!({"name": "Normal Delivery Charges", "delivery_type": "fixed", "product_id": 57, "fixed_price": 10.0, "sequence": 2}));
    s.next_id("delivery.carrier", 3);
}

// id | template | name | default_code | list price | cost | kind | active
const PRODUCTS: &str = "\
1|1|Virtual Interior Design||30.75|20.5|service|1\n\
2|2|Virtual Home Staging||38.25|25.5|service|1\n\
3|3|Office Chair|FURN_7777|70.0|55.0|storable|1\n\
4|4|Office Lamp|FURN_8888|40.0|35.0|storable|1\n\
5|5|Whiteboard Pen|CONS_0001|1.20|0.5|consu|1\n\
6|6|Pedal Bin Liner|CONS_0002|4.5|2.0|consu|1\n\
7|7|Office Design Software|FURN_9999|280.0|235.0|storable|1\n\
8|8|Desk Combination|FURN_7800|450.0|300.0|storable|1\n\
9|10|Customizable Desk|FURN_0094|750.0|600.0|storable|0\n\
10|10|Customizable Desk|FURN_0095|750.0|600.0|storable|0\n\
11|11|Ergonomic Footrest|FURN_3300|35.0|20.0|storable|1\n\
12|9|Customizable Desk|FURN_0096|750.0|500.0|storable|1\n\
13|9|Customizable Desk|FURN_0097|750.0|500.0|storable|1\n\
14|9|Customizable Desk|FURN_0098|750.0|500.0|storable|1\n\
15|9|Customizable Desk|DESK0005|750.0|0.0|storable|1\n\
16|9|Customizable Desk|FURN_0099|750.0|500.0|storable|0\n\
17|9|Customizable Desk|FURN_0100|750.0|500.0|storable|0\n\
18|9|Customizable Desk|DESK0006|750.0|0.0|storable|1\n\
19|12|Corner Desk Right Sit|E-COM06|147.0|600.0|storable|1\n\
20|13|Large Cabinet|E-COM07|320.0|800.0|storable|1\n\
21|14|Storage Box|E-COM08|15.8|14.0|storable|1\n\
22|15|Large Desk|E-COM09|1799.0|1299.0|storable|1\n\
23|16|Pedal Bin|E-COM10|47.0|10.0|storable|1\n\
24|17|Cabinet with Doors|E-COM11|140.0|120.5|storable|1\n\
25|18|Conference Chair|E-COM12|33.0|28.0|storable|1\n\
26|18|Conference Chair|E-COM13|39.40|28.0|storable|1\n\
27|19|Office Chair Black|FURN_0269|120.50|180.0|storable|1\n\
28|20|Corner Desk Left Sit|FURN_1118|85.0|78.0|storable|1\n\
29|21|Drawer Black|FURN_8900|110.50|100.0|storable|1\n\
30|22|Flipover|FURN_9001|1950.0|1700.0|storable|1\n\
31|23|Desk Stand with Screen|FURN_7888|2100.0|1900.0|storable|1\n\
32|24|Individual Workplace|FURN_0789|885.0|876.0|storable|1\n\
33|25|Acoustic Bloc Screens|FURN_6666|295.0|287.0|storable|1\n\
34|26|Drawer|FURN_8855|110.50|100.0|storable|1\n\
35|27|Three-Seat Sofa|FURN_8999|1500.0|1000.0|storable|1\n\
36|28|Large Meeting Table|FURN_6741|4000.0|4500.0|storable|1\n\
37|29|Four Person Desk|FURN_8220|2350.0|2500.0|storable|1\n\
38|30|Monitor Stand|FURN_5555|150.0|90.0|storable|1\n\
39|31|Standing Desk Frame|FURN_5556|620.0|400.0|storable|1\n\
40|32|Meeting Room Screen|FURN_5557|1250.0|900.0|storable|1\n\
41|33|Bookcase Oak|FURN_5558|210.0|150.0|storable|1\n\
42|34|Cable Tray|FURN_5559|25.0|12.0|storable|1\n\
43|35|Desk Pad|FURN_5560|19.0|8.0|consu|1\n\
44|35|Desk Pad|FURN_5561|19.0|8.0|consu|0\n\
45|37|Office Cleaning||120.0|80.0|service|1\n\
46|38|Furniture Assembly||150.0|90.0|service|1\n\
47|10|Customizable Desk|FURN_4000|750.0|600.0|storable|0\n\
48|10|Customizable Desk|FURN_4001|750.0|600.0|storable|0\n\
49|10|Customizable Desk|FURN_4002|750.0|600.0|storable|0\n\
50|11|Ergonomic Footrest|FURN_3301|35.0|20.0|storable|1\n\
51|11|Ergonomic Footrest|FURN_3302|35.0|20.0|storable|1\n\
52|4|Office Lamp|FURN_8889|40.0|35.0|storable|1\n\
53|3|Office Chair|FURN_7778|70.0|55.0|storable|1\n\
54|5|Whiteboard Pen|CONS_0003|1.20|0.5|consu|1\n\
55|6|Pedal Bin Liner|CONS_0004|4.5|2.0|consu|1\n\
56|39|Standard delivery|Delivery_007|0.0|0.0|service|1\n\
57|36|Normal Delivery Charges|Delivery_008|10.0|0.0|service|1";

struct P {
    id: i64,
    tmpl: i64,
    name: &'static str,
    code: Option<&'static str>,
    list: f64,
    cost: f64,
    kind: &'static str,
    active: bool,
    variant: Option<&'static str>,
    desc: Option<&'static str>,
    barcode: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
const fn p(
    id: i64,
    tmpl: i64,
    name: &'static str,
    code: Option<&'static str>,
    list: f64,
    cost: f64,
    kind: &'static str,
    active: bool,
) -> P {
    P {
        id,
        tmpl,
        name,
        code,
        list,
        cost,
        kind,
        active,
        variant: None,
        desc: None,
        barcode: None,
    }
}

fn products(s: &mut Seeder) {
    // kind: "storable" (consu + is_storable), "consu", "service".
    let mut list: Vec<P> = PRODUCTS
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            p(
                f[0].parse().expect("id"),
                f[1].parse().expect("template"),
                f[2],
                Some(f[3]).filter(|c| !c.is_empty()),
                f[4].parse().expect("list price"),
                f[5].parse().expect("cost"),
                f[6],
                f[7] == "1",
            )
        })
        .collect();
    for x in &mut list {
        match x.id {
            15 => x.variant = Some("White, Custom"),
            18 => x.variant = Some("Black, Custom"),
            19 => x.desc = Some("Right-aligned desk with storage"),
            12 => x.variant = Some("Steel, White"),
            13 => x.variant = Some("Steel, Black"),
            14 => x.variant = Some("Aluminium, White"),
            16 => x.variant = Some("Aluminium, Black"),
            17 => x.variant = Some("Custom, Custom"),
            25 => x.variant = Some("Steel"),
            26 => x.variant = Some("Aluminium"),
            _ => {}
        }
        if x.tmpl == 9 {
            x.desc = Some("160x80cm, with large legs");
        }
        // Codes that sort before DESK0005 carry barcodes (capture 44: the first product
        // without a barcode is DESK0005).
        if x.code.is_some_and(|c| c < "DESK0005") {
            x.barcode = Some(match x.id {
                5 => "2400000000015",
                6 => "2400000000022",
                54 => "2400000000039",
                _ => "2400000000046",
            });
        }
    }
    // Templates: one per distinct tmpl id (the first variant's data).
    let mut seen = std::collections::HashSet::new();
    for x in &list {
        // Templates 37/38 hold the delivery products: keep their own names.
        if !seen.insert(x.tmpl) {
            continue;
        }
        let (ty, storable) = match x.kind {
            "storable" => ("consu", true),
            "consu" => ("consu", false),
            _ => ("service", false),
        };
        let categ = if x.code.is_some_and(|c| {
            c.starts_with("FURN") || c.starts_with("DESK") || c.starts_with("E-COM")
        }) {
            5
        } else if x.id >= 56 {
            6
        } else {
            1
        };
        let mut v = json!({"name": x.name, "type": ty, "is_storable": storable, "list_price": x.list, "categ_id": categ, "uom_id": 1, "taxes_id": [1, 17], "supplier_taxes_id": [2], "sale_ok": x.id < 56, "purchase_ok": true, "invoice_policy": "order", "active": true});
        if let Some(d) = x.desc {
            v["description_sale"] = json!(d);
        }
        s.put("product.template", x.tmpl, v);
    }
    for x in &list {
        let mut v =
            json!({"product_tmpl_id": x.tmpl, "active": x.active, "standard_price": x.cost});
        if let Some(c) = x.code {
            v["default_code"] = json!(c);
        }
        if let Some(b) = x.barcode {
            v["barcode"] = json!(b);
        }
        if let Some(l) = x.variant {
            v["__variant_label"] = json!(l);
        }
        s.put("product.product", x.id, v);
    }
    // Templates whose every variant is archived are archived too.
    s.put_field("product.template", 10, "active", json!(false));
    s.next_id("product.product", 58);
    s.next_id("product.template", 40);
    // Quants in WH/Stock: 15 → 65, 18 → 70, 20 → 500 with 157 reserved (captures 06/07).
    let quants: &[(i64, i64, f64, f64)] = &[
        (1, 15, 65.0, 0.0),
        (2, 18, 70.0, 0.0),
        (3, 20, 500.0, 157.0),
        (4, 8, 60.0, 0.0),
        (5, 3, 30.0, 0.0),
        (6, 4, 40.0, 0.0),
        (7, 7, 18.0, 0.0),
        (8, 21, 120.0, 0.0),
        (9, 22, 12.0, 0.0),
        (10, 23, 45.0, 0.0),
        (11, 24, 25.0, 0.0),
        (12, 25, 60.0, 0.0),
        (13, 26, 40.0, 0.0),
        (14, 27, 15.0, 0.0),
        (15, 29, 30.0, 0.0),
        (16, 30, 8.0, 0.0),
        (17, 31, 6.0, 0.0),
        (18, 32, 10.0, 0.0),
        (19, 33, 20.0, 0.0),
        (20, 34, 22.0, 0.0),
        (21, 35, 5.0, 0.0),
        (22, 36, 2.0, 0.0),
        (23, 37, 4.0, 0.0),
        (24, 11, 50.0, 0.0),
        (25, 38, 14.0, 0.0),
        (26, 39, 9.0, 0.0),
        (27, 40, 3.0, 0.0),
        (28, 41, 11.0, 0.0),
        (29, 42, 200.0, 0.0),
        (30, 12, 10.0, 0.0),
        (31, 13, 10.0, 0.0),
        (32, 14, 10.0, 0.0),
    ];
    let stamp = s.stamp;
    let in_date = crate::convert::fmt_dt(stamp - 3_600_000_000);
    for &(id, product, qty, reserved) in quants {
        s.put("stock.quant", id, json!({"product_id": product, "location_id": 5, "quantity": qty, "reserved_quantity": reserved, "in_date": in_date}));
    }
    // The inventory adjustments that put them there left the mirror quants in location 13.
    for (i, &(_, product, qty, _)) in quants.iter().enumerate() {
        s.put(
            "stock.quant",
            33 + i as i64,
            json!({"product_id": product, "location_id": 13, "quantity": -qty, "in_date": in_date}),
        );
    }
    s.next_id("stock.quant", 65);
    // The pending delivery that holds 157 Large Cabinets (picking 57, move 87).
    s.put("sale.order", 33, json!({"name": "S00033", "partner_id": 9, "partner_invoice_id": 9, "partner_shipping_id": 9, "state": "sale", "date_order": crate::convert::fmt_dt(stamp - 86_400_000_000), "company_id": 1, "currency_id": 1, "user_id": 2, "team_id": 1, "warehouse_id": 1, "amount_untaxed": 50240.0, "amount_tax": 7536.0, "amount_total": 57776.0, "delivery_status": "pending"}));
    s.put("sale.order.line", 59, json!({"order_id": 33, "product_id": 20, "name": "[E-COM07] Large Cabinet", "product_uom_qty": 157.0, "product_uom_id": 1, "price_unit": 320.0, "technical_price_unit": 320.0, "tax_ids": [1], "price_subtotal": 50240.0, "price_tax": 7536.0, "price_total": 57776.0}));
    s.put("stock.picking", 57, json!({"name": "WH/OUT/00051", "picking_type_id": 2, "location_id": 5, "location_dest_id": 2, "partner_id": 9, "origin": "S00033", "sale_id": 33, "state": "assigned", "scheduled_date": crate::convert::fmt_dt(stamp - 86_400_000_000), "move_type": "direct", "company_id": 1}));
    s.put("stock.move", 87, json!({"product_id": 20, "product_uom_qty": 157.0, "quantity": 157.0, "product_uom": 1, "location_id": 5, "location_dest_id": 2, "picking_id": 57, "sale_line_id": 59, "state": "assigned", "reference": "WH/OUT/00051", "origin": "S00033", "date": crate::convert::fmt_dt(stamp - 86_400_000_000), "picking_type_id": 2, "partner_id": 9, "company_id": 1}));
    s.put("stock.move.line", 120, json!({"move_id": 87, "picking_id": 57, "product_id": 20, "product_uom_id": 1, "quantity": 157.0, "location_id": 5, "location_dest_id": 2, "quant_id": 3, "state": "assigned", "reference": "WH/OUT/00051", "date": crate::convert::fmt_dt(stamp - 86_400_000_000), "company_id": 1}));
    s.next_id("sale.order", 34);
    s.seq("sale.order", 34);
    s.next_id("sale.order.line", 60);
    s.next_id("stock.picking", 58);
    s.next_id("stock.move", 88);
    s.next_id("stock.move.line", 121);
    s.next_id("confirm.stock.sms", 3);
    s.next_id("stock.warehouse.orderpoint", 4);
    s.seq("stock.orderpoint", 4);
    s.next_id("purchase.order", 13);
    s.seq("purchase.order", 13);
    s.next_id("purchase.order.line", 25);
    s.next_id("product.supplierinfo", 28);
    s.next_id("res.partner.bank", 4);
}

fn accounting(s: &mut Seeder) {
    s.put(
        "account.tax.group",
        1,
        json!({"name": "Tax 15%", "company_id": 1, "sequence": 1}),
    );
    s.put(
        "account.tax.group",
        2,
        json!({"name": "Tax 0%", "company_id": 1, "sequence": 2}),
    );
    s.next_id("account.tax.group", 10);
    s.put("account.tax", 1, json!({"name": "15%", "type_tax_use": "sale", "amount_type": "percent", "amount": 15.0, "company_id": 1, "tax_group_id": 1, "sequence": 1}));
    s.put("account.tax", 2, json!({"name": "15%", "type_tax_use": "purchase", "amount_type": "percent", "amount": 15.0, "company_id": 1, "tax_group_id": 1, "sequence": 1}));
    s.put("account.tax", 3, json!({"name": "0% Exports", "type_tax_use": "sale", "amount_type": "percent", "amount": 0.0, "company_id": 1, "tax_group_id": 2, "sequence": 2}));
    s.put("account.tax", 4, json!({"name": "0% Imports", "type_tax_use": "purchase", "amount_type": "percent", "amount": 0.0, "company_id": 1, "tax_group_id": 2, "sequence": 2}));
    s.put("account.tax", 17, json!({"name": "15%", "type_tax_use": "sale", "amount_type": "percent", "amount": 15.0, "company_id": 3, "tax_group_id": 1, "sequence": 1}));
    s.next_id("account.tax", 40);
    s.put("account.fiscal.position", 1, json!({"name": "Domestic", "company_id": 1, "sequence": 1, "auto_apply": true, "country_id": 233}));
    s.put(
        "account.fiscal.position",
        2,
        json!({"name": "Foreign Trade", "company_id": 1, "sequence": 2, "auto_apply": true}),
    );
    s.next_id("account.fiscal.position", 10);
    for (id, code, name, kind) in [
        (6, "121000", "Account Receivable", "asset_receivable"),
        (14, "211000", "Account Payable", "liability_payable"),
        (26, "400000", "Product Sales", "income"),
        (30, "251000", "Tax Received", "liability_current"),
        (31, "131000", "Tax Paid", "asset_current"),
        (35, "600000", "Expenses", "expense"),
        (44, "101401", "Bank", "asset_cash"),
        (45, "101402", "Bank Suspense Account", "asset_current"),
        (46, "101404", "Outstanding Payments", "asset_current"),
        (47, "101403", "Outstanding Receipts", "asset_current"),
        (48, "101501", "Cash", "asset_cash"),
    ] {
        s.put("account.account", id, json!({"code": code, "name": name, "account_type": kind, "company_ids": [1], "reconcile": matches!(kind, "asset_receivable" | "liability_payable")}));
    }
    s.next_id("account.account", 100);
    for (id, name, code, kind, acc) in [
        (1, "Sales", "INV", "sale", Some(26)),
        (2, "Purchases", "BILL", "purchase", Some(35)),
        (3, "Miscellaneous Operations", "MISC", "general", None),
        (4, "Exchange Difference", "EXCH", "general", None),
        (5, "Cash Basis Taxes", "CABA", "general", None),
        (6, "Bank", "BNK1", "bank", Some(44)),
        (7, "Cash", "CSH1", "cash", Some(48)),
    ] {
        let mut v =
            json!({"name": name, "code": code, "type": kind, "company_id": 1, "sequence": id});
        if let Some(a) = acc {
            v["default_account_id"] = json!(a);
        }
        s.put("account.journal", id, v);
    }
    s.next_id("account.journal", 20);
    s.put("account.payment.method.line", 1, json!({"name": "Manual Payment", "journal_id": 6, "payment_type": "inbound", "payment_method_id": 1, "payment_account_id": 47, "code": "manual"}));
    s.put("account.payment.method.line", 2, json!({"name": "Manual Payment", "journal_id": 6, "payment_type": "outbound", "payment_method_id": 2, "payment_account_id": 46, "code": "manual"}));
    s.next_id("account.payment.method.line", 10);
    s.seq("journal:1:2026", 10);
    s.seq("journal:6:2026", 11);
    s.next_id("account.move", 57);
    s.next_id("account.move.line", 149);
    s.next_id("account.bank.statement.line", 21);
}

fn misc(s: &mut Seeder) {
    // Message subtypes: 1 Discussions, 2 Note, 11 Sales Order Confirmed (scenario 02).
    let subtypes = [
        (1, "Discussions", "mail", "mt_comment", false),
        (2, "Note", "mail", "mt_note", true),
        (3, "Activities", "mail", "mt_activities", true),
        (
            11,
            "Sales Order Confirmed",
            "sale",
            "mt_order_confirmed",
            false,
        ),
        (12, "Quotation sent", "sale", "mt_order_sent", false),
    ];
    for (i, (id, name, module, xml, internal)) in subtypes.into_iter().enumerate() {
        s.put(
            "mail.message.subtype",
            id,
            json!({"name": name, "internal": internal, "sequence": id}),
        );
        s.put(
            "ir.model.data",
            27000 + i as i64,
            json!({"module": module, "name": xml, "model": "mail.message.subtype", "res_id": id}),
        );
    }
    s.next_id("mail.message.subtype", 40);
    s.put("ir.model.fields", 8059, json!({"name": "state", "field_description": "Status", "model": "sale.order", "ttype": "selection", "store": true}));
    s.put("ir.model.fields", 8060, json!({"name": "state", "field_description": "Status", "model": "stock.picking", "ttype": "selection", "store": true}));
    s.next_id("ir.model.fields", 12000);
    s.next_id("ir.model.data", 40000);
    s.next_id("mail.message", 630);
    s.next_id("mail.tracking.value", 230);
    s.next_id("ir.logging", 6);
    for (id, key, value) in [
        (1, "database.uuid", "0e5c1d0a-7b3e-11f0-9d3a-0242ac120002"),
        (2, "web.base.url", "http://127.0.0.1:8069"),
        (3, "database.create_date", "2026-11-22 22:20:11"),
    ] {
        s.put(
            "ir.config_parameter",
            id,
            json!({"key": key, "value": value}),
        );
    }
    s.next_id("ir.config_parameter", 30);
    // Installed modules (installed_modules.json of the reference run).
    let installed: Value = serde_json::from_str(INSTALLED).unwrap_or(json!({}));
    if let Some(mods) = installed.get("installed_modules").and_then(Value::as_array) {
        for (i, m) in mods.iter().enumerate() {
            s.put(
                "ir.module.module",
                i as i64 + 1,
                json!({"name": m["name"], "shortdesc": m["name"], "latest_version": m["latest_version"],
                       "state": "installed", "auto_install": m["auto_install"], "demo": m["demo"]}),
            );
        }
        s.next_id("ir.module.module", mods.len() as i64 + 1);
    }
}
