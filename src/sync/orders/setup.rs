//! The Odoo records the order job refers to, resolved once and refreshed now and then: the
//! service products for shipping and rounding, the tag of held orders, who gets their
//! activities, warehouses (with their delivery routes), the marketplace warehouse, carriers,
//! pricelists, fiscal positions, sale taxes and currencies.
//!
//! Three things are **created when missing**, each found again by its natural key first so
//! that creating is idempotent: the two service products (by `default_code`), the hold tag (by
//! name) and the marketplace warehouse (by code). They are what the job needs to represent
//! marketplace facts faithfully; they are never stand-ins for unknown products.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::config::OrdersConfig;
use crate::odoo::{Domain, OdooClient, OdooError, Record, SearchOpts};

/// How long a resolved setup is trusted before it is read again (carriers, pricelists and
/// taxes change rarely; a restart is not needed to pick them up).
const REFRESH: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, PartialEq)]
pub struct Warehouse {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub lot_stock_id: Option<i64>,
    pub delivery_route_id: Option<i64>,
    pub third_party: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyInfo {
    pub id: i64,
    pub code: String,
    /// Smallest unit (0.01, 1, 0.001).
    pub rounding: Decimal,
    /// Units of this currency per unit of the company currency.
    pub rate: Decimal,
}

impl CurrencyInfo {
    /// Decimal places of the rounding (0.01 → 2).
    pub fn dp(&self) -> u32 {
        self.rounding.normalize().scale()
    }
    /// Half-up to the currency's rounding, as Odoo rounds money.
    pub fn round(&self, v: Decimal) -> Decimal {
        crate::odoo::decode::round_half_up(v, self.rounding, self.dp())
            .unwrap_or(v)
            .normalize()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pricelist {
    pub id: i64,
    pub name: String,
    pub currency: String,
}

/// A sale tax the job may set when the marketplace states a seller-collected tax.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleTax {
    pub id: i64,
    pub name: String,
    /// Percent (`15` for 15 %).
    pub amount: Decimal,
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct OrderSetup {
    pub uid: i64,
    pub company_currency: String,
    pub currencies: HashMap<String, CurrencyInfo>,
    pub shipping_product: i64,
    pub rounding_product: i64,
    pub hold_tag: i64,
    pub activity_type: Option<i64>,
    pub sale_order_model: Option<i64>,
    /// `hold_activity_user` logins → user ids (unknown logins fall back to the integration
    /// user, with a warning).
    pub users: HashMap<String, i64>,
    /// The merchant's warehouses (the marketplace one excluded), in Odoo's order.
    pub warehouses: Vec<Warehouse>,
    pub marketplace: Warehouse,
    pub carriers: HashMap<String, i64>,
    pub pricelists: Vec<Pricelist>,
    pub fiscal_positions: HashMap<String, i64>,
    pub sale_taxes: Vec<SaleTax>,
    loaded: Instant,
}

impl OrderSetup {
    pub fn warehouse(&self, code: &str) -> Option<&Warehouse> {
        self.warehouses.iter().find(|w| w.code == code)
    }

    pub fn warehouse_by_id(&self, id: i64) -> Option<&Warehouse> {
        self.warehouses
            .iter()
            .chain(std::iter::once(&self.marketplace))
            .find(|w| w.id == id)
    }

    pub fn currency(&self, code: &str) -> Option<&CurrencyInfo> {
        self.currencies.get(code)
    }

    /// The activity assignee for a login (`None`: the integration user).
    pub fn activity_user(&self, login: Option<&str>) -> i64 {
        login
            .and_then(|l| self.users.get(l).copied())
            .unwrap_or(self.uid)
    }
}

/// The setup, resolved lazily and kept for [`REFRESH`].
#[derive(Default)]
pub struct SetupCache(tokio::sync::Mutex<Option<Arc<OrderSetup>>>);

impl SetupCache {
    pub async fn get(
        &self,
        odoo: &OdooClient,
        config: &OrdersConfig,
    ) -> Result<Arc<OrderSetup>, OdooError> {
        let mut guard = self.0.lock().await;
        if let Some(s) = guard.as_ref()
            && s.loaded.elapsed() < REFRESH
        {
            return Ok(s.clone());
        }
        let s = Arc::new(load(odoo, config).await?);
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Forget the setup (a record it named disappeared).
    pub async fn invalidate(&self) {
        *self.0.lock().await = None;
    }
}

fn rec<'a>(model: &'a str, row: &'a Value) -> Result<Record<'a>, OdooError> {
    Record::new(model, row).map_err(OdooError::Decode)
}

fn decimal(row: &Value, field: &str) -> Decimal {
    row.get(field)
        .and_then(Value::as_f64)
        .and_then(crate::odoo::decode::decimal_from_f64)
        .unwrap_or_default()
}

fn m2o_id(row: &Value, field: &str) -> Option<i64> {
    match row.get(field)? {
        Value::Array(a) => a.first().and_then(Value::as_i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

async fn load(odoo: &OdooClient, cfg: &OrdersConfig) -> Result<OrderSetup, OdooError> {
    let uid = odoo.uid();
    // Currencies and the company's.
    let user = odoo
        .read("res.users", &[uid], &["company_id"], None)
        .await?;
    let company = user
        .first()
        .and_then(|r| m2o_id(r, "company_id"))
        .unwrap_or(1);
    let comp = odoo
        .read("res.company", &[company], &["currency_id"], None)
        .await?;
    let company_currency_id = comp.first().and_then(|r| m2o_id(r, "currency_id"));
    let rows = odoo
        .search_read(
            "res.currency",
            &Domain::leaf("active", "=", true),
            &["name", "rounding", "rate"],
            &SearchOpts::default(),
        )
        .await?;
    let mut currencies = HashMap::new();
    let mut company_currency = String::from("USD");
    for r in &rows {
        let id = r.get("id").and_then(Value::as_i64).unwrap_or(0);
        let code = r
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut rate = decimal(r, "rate");
        if Some(id) == company_currency_id {
            company_currency = code.clone();
            rate = Decimal::ONE;
        }
        let rounding = decimal(r, "rounding");
        currencies.insert(
            code.clone(),
            CurrencyInfo {
                id,
                code,
                rounding: if rounding > Decimal::ZERO {
                    rounding.normalize()
                } else {
                    Decimal::new(1, 2)
                },
                rate: if rate > Decimal::ZERO {
                    rate
                } else {
                    Decimal::ONE
                },
            },
        );
    }

    let shipping_product = service_product(
        odoo,
        &cfg.shipping_product,
        "Marketplace shipping (odoo-channels)",
    )
    .await?;
    let rounding_product = service_product(
        odoo,
        &cfg.rounding_product,
        "Marketplace rounding difference (odoo-channels)",
    )
    .await?;
    let hold_tag = match odoo
        .search(
            "crm.tag",
            &Domain::leaf("name", "=", cfg.hold_tag.as_str()),
            &SearchOpts::default().limit(1),
        )
        .await?
        .first()
    {
        Some(id) => *id,
        None => {
            let mut v = Map::new();
            v.insert("name".into(), json!(cfg.hold_tag));
            let id = odoo.create("crm.tag", v, None).await?;
            tracing::info!(tag = %cfg.hold_tag, id, "created the tag of held orders");
            id
        }
    };
    let activity_type = activity_type(odoo).await;
    let sale_order_model = odoo
        .search(
            "ir.model",
            &Domain::leaf("model", "=", "sale.order"),
            &SearchOpts::default().limit(1),
        )
        .await
        .ok()
        .and_then(|v| v.first().copied());
    let mut logins: Vec<String> = cfg.hold_activity_user.iter().cloned().collect();
    logins.extend(
        cfg.channels
            .values()
            .filter_map(|c| c.hold_activity_user.clone()),
    );
    logins.sort();
    logins.dedup();
    let mut users = HashMap::new();
    if !logins.is_empty() {
        let rows = odoo
            .search_read(
                "res.users",
                &Domain::new().and_in("login", logins.clone()),
                &["login"],
                &SearchOpts::default(),
            )
            .await?;
        for r in rows {
            if let (Some(l), Some(id)) = (
                r.get("login").and_then(Value::as_str),
                r.get("id").and_then(Value::as_i64),
            ) {
                users.insert(l.to_owned(), id);
            }
        }
        for l in &logins {
            if !users.contains_key(l) {
                tracing::warn!(login = %l, "hold_activity_user: no Odoo user with this login; held orders go to the integration user");
            }
        }
    }

    let (warehouses, marketplace) = warehouses(odoo, cfg).await?;
    let carriers = odoo
        .search_read(
            "delivery.carrier",
            &Domain::new(),
            &["name"],
            &SearchOpts::default(),
        )
        .await?
        .into_iter()
        .filter_map(|r| Some((r.get("name")?.as_str()?.to_owned(), r.get("id")?.as_i64()?)))
        .collect::<HashMap<_, _>>();
    for c in &cfg.carriers {
        if !carriers.contains_key(&c.name) {
            tracing::warn!(carrier = %c.name, "[[orders.carriers]]: no delivery.carrier with this name in Odoo; it is never chosen");
        }
    }
    let pricelists = odoo
        .search_read(
            "product.pricelist",
            &Domain::new(),
            &["name", "currency_id"],
            &SearchOpts::default().order("sequence, id"),
        )
        .await?
        .into_iter()
        .filter_map(|r| {
            let cid = m2o_id(&r, "currency_id")?;
            let code = currencies.values().find(|c| c.id == cid)?.code.clone();
            Some(Pricelist {
                id: r.get("id")?.as_i64()?,
                name: r.get("name")?.as_str()?.to_owned(),
                currency: code,
            })
        })
        .collect();
    let fiscal_positions = match odoo
        .search_read(
            "account.fiscal.position",
            &Domain::new(),
            &["name"],
            &SearchOpts::default(),
        )
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|r| Some((r.get("name")?.as_str()?.to_owned(), r.get("id")?.as_i64()?)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read fiscal positions");
            HashMap::new()
        }
    };
    let sale_taxes = odoo
        .search_read(
            "account.tax",
            &Domain::leaf("type_tax_use", "=", "sale")
                .and(Domain::leaf("amount_type", "=", "percent"))
                .and(Domain::leaf("price_include", "=", false))
                .and(Domain::leaf("company_id", "in", json!([company, false]))),
            &["name", "amount"],
            &SearchOpts::default().order("sequence, id"),
        )
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            Some(SaleTax {
                id: r.get("id")?.as_i64()?,
                name: r.get("name")?.as_str().unwrap_or("").to_owned(),
                amount: decimal(&r, "amount").normalize(),
            })
        })
        .collect();
    Ok(OrderSetup {
        uid,
        company_currency,
        currencies,
        shipping_product,
        rounding_product,
        hold_tag,
        activity_type,
        sale_order_model,
        users,
        warehouses,
        marketplace,
        carriers,
        pricelists,
        fiscal_positions,
        sale_taxes,
        loaded: Instant::now(),
    })
}

/// The service product with this `default_code`, created (service, no taxes) if missing.
async fn service_product(odoo: &OdooClient, code: &str, name: &str) -> Result<i64, OdooError> {
    let ctx = {
        let mut m = Map::new();
        m.insert("active_test".into(), json!(false));
        m
    };
    if let Some(id) = odoo
        .search(
            "product.product",
            &Domain::leaf("default_code", "=", code),
            &SearchOpts::default().limit(1).context(ctx),
        )
        .await?
        .first()
    {
        return Ok(*id);
    }
    let mut v = Map::new();
    v.insert("name".into(), json!(name));
    v.insert("default_code".into(), json!(code));
    v.insert("type".into(), json!("service"));
    v.insert("sale_ok".into(), json!(true));
    v.insert("purchase_ok".into(), json!(false));
    v.insert("list_price".into(), json!(0.0));
    v.insert("invoice_policy".into(), json!("order"));
    v.insert("taxes_id".into(), json!([[6, 0, []]]));
    v.insert("supplier_taxes_id".into(), json!([[6, 0, []]]));
    let id = odoo.create("product.product", v, None).await?;
    tracing::info!(
        code,
        id,
        "created a service product for marketplace order lines"
    );
    Ok(id)
}

/// The "To-Do" activity type (any, if it was renamed).
async fn activity_type(odoo: &OdooClient) -> Option<i64> {
    for d in [
        Domain::leaf("name", "in", json!(["To-Do", "To Do", "Todo"])),
        Domain::new(),
    ] {
        match odoo
            .search(
                "mail.activity.type",
                &d,
                &SearchOpts::default().limit(1).order("sequence, id"),
            )
            .await
        {
            Ok(ids) if !ids.is_empty() => return ids.first().copied(),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read activity types");
                return None;
            }
        }
    }
    None
}

const WH_FIELDS: [&str; 5] = [
    "code",
    "name",
    "lot_stock_id",
    "delivery_route_id",
    "sequence",
];

async fn warehouses(
    odoo: &OdooClient,
    cfg: &OrdersConfig,
) -> Result<(Vec<Warehouse>, Warehouse), OdooError> {
    let read = |rows: Vec<Value>| -> Result<Vec<Warehouse>, OdooError> {
        rows.iter()
            .map(|r| {
                let rec = rec("stock.warehouse", r)?;
                let code = rec
                    .string("code")
                    .map_err(OdooError::Decode)?
                    .unwrap_or_default();
                Ok(Warehouse {
                    id: rec.id().map_err(OdooError::Decode)?,
                    third_party: cfg.third_party_warehouses.contains(&code),
                    code,
                    name: rec
                        .string("name")
                        .map_err(OdooError::Decode)?
                        .unwrap_or_default(),
                    lot_stock_id: m2o_id(r, "lot_stock_id"),
                    delivery_route_id: m2o_id(r, "delivery_route_id"),
                })
            })
            .collect()
    };
    let fields: Vec<&str> = WH_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "sequence")
        .collect();
    let all = read(
        odoo.search_read(
            "stock.warehouse",
            &Domain::new(),
            &fields,
            &SearchOpts::default().order("sequence, id"),
        )
        .await?,
    )?;
    let (mut market, merchant): (Vec<Warehouse>, Vec<Warehouse>) = all
        .into_iter()
        .partition(|w| w.code == cfg.marketplace_warehouse);
    let marketplace = match market.pop() {
        Some(w) => w,
        None => {
            let mut v = Map::new();
            v.insert(
                "name".into(),
                json!(format!(
                    "Marketplace fulfilment ({})",
                    cfg.marketplace_warehouse
                )),
            );
            v.insert("code".into(), json!(cfg.marketplace_warehouse));
            let id = odoo.create("stock.warehouse", v, None).await?;
            tracing::info!(code = %cfg.marketplace_warehouse, id,
                "created the warehouse standing for marketplace-held stock (FBA, WFS…)");
            read(odoo.read("stock.warehouse", &[id], &fields, None).await?)?
                .pop()
                .ok_or_else(|| {
                    OdooError::Decode(crate::odoo::DecodeError {
                        model: "stock.warehouse".into(),
                        id: Some(id),
                        field: "(read after create)".into(),
                        reason: "the new warehouse cannot be read back".into(),
                    })
                })?
        }
    };
    for code in cfg
        .routes
        .iter()
        .flat_map(|r| r.warehouses.iter())
        .chain(cfg.third_party_warehouses.iter())
    {
        if !merchant.iter().any(|w| &w.code == code) {
            tracing::warn!(
                code,
                "[orders]: no Odoo warehouse has this code; it is skipped"
            );
        }
    }
    Ok((merchant, marketplace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_rounding_follows_the_currency() {
        let c = |r: Decimal| CurrencyInfo {
            id: 1,
            code: "X".into(),
            rounding: r,
            rate: Decimal::ONE,
        };
        assert_eq!(c(dec!(0.01)).round(dec!(2.675)), dec!(2.68));
        assert_eq!(c(dec!(0.01)).dp(), 2);
        assert_eq!(c(dec!(1)).round(dec!(1234.5)), dec!(1235));
        assert_eq!(c(dec!(1)).dp(), 0);
        assert_eq!(c(dec!(0.001)).round(dec!(0.0125)), dec!(0.013));
    }
}
