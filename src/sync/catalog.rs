//! Which Odoo product a channel's SKU means, and back.
//!
//! A SKU is a product's `default_code`, unless the `channel_sync` addon binds the product to
//! a different `external_sku` on a channel. Two storable products with the same
//! `default_code` make that SKU ambiguous: it is excluded from sync (never guessed) and
//! reported, because pushing one product's stock under the other's SKU oversells.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::odoo_log::model;
use crate::odoo::SearchOpts;
use crate::odoo::{Domain, OdooClient, OdooError, Record};

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    /// `default_code`.
    pub sku: String,
    pub name: String,
    pub list_price: Decimal,
}

/// Storable products with a SKU, and the addon's per-channel bindings.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: Vec<Product>,
    by_sku: HashMap<String, usize>,
    by_id: HashMap<i64, usize>,
    /// (channel code, external SKU) → product id.
    bound_sku: HashMap<(String, String), i64>,
    /// (channel code, product id) → external SKU.
    bound_product: HashMap<(String, i64), String>,
    /// `default_code`s held by more than one storable product.
    pub ambiguous: Vec<String>,
}

impl Catalog {
    /// Read storable products (and bindings when the addon is installed) from Odoo.
    pub async fn load(odoo: &OdooClient, addon: bool) -> Result<Self, OdooError> {
        let domain = odoo
            .storable_domain()
            .and(Domain::leaf("default_code", "!=", false));
        // Page by page into `Product`s: holding every row as JSON first would triple the
        // daemon's peak memory on a 100,000-product catalogue.
        let mut pages = odoo.search_read_pages(
            "product.product",
            &domain,
            &["default_code", "name", "list_price"],
            &SearchOpts::default().load_none(),
        );
        let mut products = Vec::new();
        while let Some(rows) = pages.next_page().await? {
            for row in &rows {
                let rec = Record::new("product.product", row).map_err(OdooError::Decode)?;
                let Some(sku) = rec.string("default_code").map_err(OdooError::Decode)? else {
                    continue;
                };
                let sku = sku.trim().to_owned();
                if sku.is_empty() {
                    continue;
                }
                products.push(Product {
                    id: rec.id().map_err(OdooError::Decode)?,
                    sku,
                    name: rec
                        .string("name")
                        .map_err(OdooError::Decode)?
                        .unwrap_or_default(),
                    list_price: rec
                        .decimal("list_price")
                        .map_err(OdooError::Decode)?
                        .unwrap_or_default(),
                });
            }
        }
        let mut catalog = Catalog::from_products(products);
        if addon {
            catalog.load_bindings(odoo).await?;
        }
        Ok(catalog)
    }

    /// A catalog from products already read (tests, benchmarks).
    pub fn from_products(products: Vec<Product>) -> Self {
        let mut by_sku: HashMap<String, usize> = HashMap::with_capacity(products.len());
        let mut ambiguous = Vec::new();
        let mut keep = vec![true; products.len()];
        for (i, p) in products.iter().enumerate() {
            if let Some(&first) = by_sku.get(&p.sku) {
                keep[first] = false;
                keep[i] = false;
                if !ambiguous.contains(&p.sku) {
                    ambiguous.push(p.sku.clone());
                }
            } else {
                by_sku.insert(p.sku.clone(), i);
            }
        }
        let products: Vec<Product> = products
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        let by_sku = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.sku.clone(), i))
            .collect();
        let by_id = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        Catalog {
            products,
            by_sku,
            by_id,
            ambiguous,
            ..Default::default()
        }
    }

    async fn load_bindings(&mut self, odoo: &OdooClient) -> Result<(), OdooError> {
        let channels = odoo
            .search_read_all(
                model::CHANNEL,
                &Domain::new(),
                &["code"],
                &SearchOpts::default(),
            )
            .await?;
        let mut code_of = HashMap::new();
        for row in &channels {
            let rec = Record::new(model::CHANNEL, row).map_err(OdooError::Decode)?;
            if let Some(code) = rec.string("code").map_err(OdooError::Decode)? {
                code_of.insert(rec.id().map_err(OdooError::Decode)?, code);
            }
        }
        let rows = odoo
            .search_read_all(
                model::BINDING,
                &Domain::new(),
                &["channel_id", "product_id", "external_sku"],
                &SearchOpts::default().load_none(),
            )
            .await?;
        for row in &rows {
            let rec = Record::new(model::BINDING, row).map_err(OdooError::Decode)?;
            let (Some(ch), Some(product), Some(sku)) = (
                rec.m2o("channel_id").map_err(OdooError::Decode)?,
                rec.m2o("product_id").map_err(OdooError::Decode)?,
                rec.string("external_sku").map_err(OdooError::Decode)?,
            ) else {
                continue;
            };
            if let Some(code) = code_of.get(&ch.id) {
                self.bound_sku
                    .insert((code.clone(), sku.clone()), product.id);
                self.bound_product.insert((code.clone(), product.id), sku);
            }
        }
        Ok(())
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn product(&self, id: i64) -> Option<&Product> {
        self.by_id.get(&id).map(|&i| &self.products[i])
    }

    /// The product a channel means by `sku`: its binding first, else the `default_code`.
    pub fn product_for(&self, channel: &str, sku: &str) -> Option<&Product> {
        if let Some(id) = self.bound_sku.get(&(channel.to_owned(), sku.to_owned())) {
            return self.product(*id);
        }
        self.by_sku.get(sku).map(|&i| &self.products[i])
    }

    /// The SKU a channel lists a product under.
    pub fn sku_for<'a>(&'a self, channel: &str, product: &'a Product) -> &'a str {
        self.bound_product
            .get(&(channel.to_owned(), product.id))
            .map(String::as_str)
            .unwrap_or(&product.sku)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: i64, sku: &str) -> Product {
        Product {
            id,
            sku: sku.into(),
            name: format!("P{id}"),
            list_price: Decimal::ONE,
        }
    }

    #[test]
    fn a_sku_held_by_two_products_is_never_guessed() {
        let c = Catalog::from_products(vec![p(1, "A"), p(2, "B"), p(3, "A")]);
        assert_eq!(c.ambiguous, vec!["A".to_string()]);
        assert!(c.product_for("shop", "A").is_none());
        assert_eq!(c.product_for("shop", "B").map(|p| p.id), Some(2));
        assert_eq!(c.len(), 1);
    }
}
