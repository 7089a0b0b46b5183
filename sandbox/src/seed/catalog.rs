//! A generated catalog: N storable products × M warehouses with on-hand quants.
//!
//! Deterministic (seeded RNG), written straight into the tables so that 100,000 products ×
//! 3 warehouses seed in seconds. Default codes are `SKU-000001`…; warehouses beyond the demo's
//! `WH` are created through the normal ORM path (`WH2`, `WH3`, …) so they get their locations
//! and operation types like any other.

use crate::env::{Db, Env};
use crate::store::{Record, Val};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, json};

/// What a catalog seed created.
#[derive(Debug, Clone, Default)]
pub struct CatalogInfo {
    pub warehouse_ids: Vec<i64>,
    pub stock_location_ids: Vec<i64>,
    pub first_product_id: i64,
    pub products: usize,
    pub quants: usize,
}

fn fid(db: &Db, model: &str, field: &str) -> u16 {
    db.reg
        .get(model)
        .and_then(|m| m.fid(field))
        .unwrap_or_else(|| panic!("catalog: {model}.{field} missing"))
}

/// Add `products` × `warehouses` to a seeded database.
pub fn seed(db: &mut Db, products: usize, warehouses: usize, seed: u64, stamp: i64) -> CatalogInfo {
    let mut info = CatalogInfo::default();
    // Warehouses through the ORM (they need locations, picking types…).
    {
        let mut env = Env::new(db, 2, Map::new(), stamp);
        env.su = true;
        let mut whs = env.find("stock.warehouse", json!([["company_id", "=", 1]]));
        let mut n = 2;
        while whs.len() < warehouses.max(1) {
            let code = format!("WH{n}");
            match env.create_rec(
                "stock.warehouse",
                json!({"name": format!("Warehouse {n}"), "code": code}),
            ) {
                Ok(id) => whs.push(id),
                Err(e) => panic!("catalog: cannot create warehouse {code}: {e}"),
            }
            n += 1;
        }
        whs.truncate(warehouses.max(1));
        info.stock_location_ids = whs
            .iter()
            .map(|&w| {
                env.get_id("stock.warehouse", w, "lot_stock_id")
                    .unwrap_or(5)
            })
            .collect();
        info.warehouse_ids = whs;
        env.db.commit();
    }
    db.undo_enabled = false;
    let mut rng = StdRng::seed_from_u64(seed);
    let tm = db.reg.id("product.template").expect("product.template");
    let pm = db.reg.id("product.product").expect("product.product");
    let qm = db.reg.id("stock.quant").expect("stock.quant");
    let (t_name, t_storable, t_list, t_taxes, t_sup_taxes) = (
        fid(db, "product.template", "name"),
        fid(db, "product.template", "is_storable"),
        fid(db, "product.template", "list_price"),
        fid(db, "product.template", "taxes_id"),
        fid(db, "product.template", "supplier_taxes_id"),
    );
    let (p_tmpl, p_code, p_cost, p_barcode) = (
        fid(db, "product.product", "product_tmpl_id"),
        fid(db, "product.product", "default_code"),
        fid(db, "product.product", "standard_price"),
        fid(db, "product.product", "barcode"),
    );
    let (q_product, q_location, q_qty, q_reserved, q_in_date) = (
        fid(db, "stock.quant", "product_id"),
        fid(db, "stock.quant", "location_id"),
        fid(db, "stock.quant", "quantity"),
        fid(db, "stock.quant", "reserved_quantity"),
        fid(db, "stock.quant", "in_date"),
    );
    let header = |vals: Vec<(u16, Val)>| {
        let mut r = Record {
            create_date: stamp,
            write_date: stamp,
            create_uid: 2,
            write_uid: 2,
            vals,
        };
        r.vals.sort_by_key(|(k, _)| *k);
        r
    };
    let first_tmpl = db.table(tm).next_id;
    let first_product = db.table(pm).next_id;
    let mut next_quant = db.table(qm).next_id;
    info.first_product_id = first_product;
    for i in 0..products {
        let n = i + 1;
        let tid = first_tmpl + i as i64;
        let pid = first_product + i as i64;
        let list = (rng.random_range(500..50_000) as f64) / 100.0;
        let cost = (list * rng.random_range(30..80) as f64 / 100.0 * 100.0).round() / 100.0;
        db.table_mut(tm).put(
            tid,
            header(vec![
                (t_name, Val::Str(format!("Catalog Product {n:06}").into())),
                (t_storable, Val::Bool(true)),
                (t_list, Val::Float(list)),
                (t_taxes, Val::Ids(vec![1].into())),
                (t_sup_taxes, Val::Ids(vec![2].into())),
            ]),
        );
        db.table_mut(pm).put(
            pid,
            header(vec![
                (p_tmpl, Val::Int(tid)),
                (p_code, Val::Str(format!("SKU-{n:06}").into())),
                (p_cost, Val::Float(cost)),
                (p_barcode, Val::Str(format!("29{n:011}").into())),
            ]),
        );
        for &loc in &info.stock_location_ids {
            // About one product in eight is out of stock in a given warehouse (no quant).
            if rng.random_range(0..8) == 0 {
                continue;
            }
            let qty = rng.random_range(1..250) as f64;
            let reserved = if rng.random_range(0..10) == 0 {
                (rng.random_range(0..=qty as i64)) as f64
            } else {
                0.0
            };
            let mut vals = vec![
                (q_product, Val::Int(pid)),
                (q_location, Val::Int(loc)),
                (q_qty, Val::Float(qty)),
                (q_in_date, Val::Dt(stamp - 86_400_000_000)),
            ];
            if reserved > 0.0 {
                vals.push((q_reserved, Val::Float(reserved)));
            }
            db.table_mut(qm).put(next_quant, header(vals));
            next_quant += 1;
            info.quants += 1;
        }
    }
    info.products = products;
    db.undo_enabled = true;
    db.undo.clear();
    info
}
