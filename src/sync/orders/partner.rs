//! The buyer as an Odoo customer, deduplicated, and the delivery address as its contact.
//!
//! One marketplace buyer is one `res.partner`, found again by (in this order) the channel's
//! buyer id (kept in `ref` as `"<channel>:<buyer id>"`), the e-mail (case-insensitive), or —
//! for marketplaces that expose neither — the normalised name and address (case, punctuation
//! and spacing ignored). The customer carries the address of its first order; a later order
//! shipped elsewhere gets a `delivery` child contact, itself reused when the same address
//! comes again. So a repeat buyer never becomes a second customer, and a gift address never
//! overwrites the buyer's own.

use std::collections::HashMap;

use channels_core::{Address, Order};
use serde_json::{Map, Value, json};

use super::CountryCache;
use crate::odoo::{Domain, OdooClient, OdooError, SearchOpts};
use crate::sync::audit::{buyer_key, normalise};

const FIELDS: [&str; 7] = [
    "name",
    "street",
    "street2",
    "zip",
    "country_id",
    "email",
    "ref",
];

/// The customer and the delivery contact of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partners {
    pub customer: i64,
    pub shipping: i64,
}

/// Resolves partners, remembering what it found for the rest of the batch.
pub struct PartnerResolver<'a> {
    odoo: &'a OdooClient,
    countries: &'a CountryCache,
    /// buyer key → (customer id, the customer's own address key).
    customers: HashMap<String, (i64, Option<String>)>,
    /// (customer, address key) → delivery contact (or the customer itself).
    shipping: HashMap<(i64, String), i64>,
}

fn m2o_id(row: &Value, field: &str) -> Option<i64> {
    match row.get(field)? {
        Value::Array(a) => a.first().and_then(Value::as_i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn s<'v>(row: &'v Value, field: &str) -> &'v str {
    row.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The comparable form of an address: name, street, street2, zip, country id.
fn key(name: &str, street: &str, street2: &str, zip: &str, country: Option<i64>) -> Option<String> {
    let (street, zip) = (normalise(street), normalise(zip));
    if street.is_empty() || zip.is_empty() {
        return None;
    }
    Some(format!(
        "{}|{street}|{}|{zip}|{}",
        normalise(name),
        normalise(street2),
        country.map(|c| c.to_string()).unwrap_or_default()
    ))
}

fn row_key(row: &Value) -> Option<String> {
    key(
        s(row, "name"),
        s(row, "street"),
        s(row, "street2"),
        s(row, "zip"),
        m2o_id(row, "country_id"),
    )
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

impl<'a> PartnerResolver<'a> {
    pub fn new(odoo: &'a OdooClient, countries: &'a CountryCache) -> Self {
        PartnerResolver {
            odoo,
            countries,
            customers: HashMap::new(),
            shipping: HashMap::new(),
        }
    }

    async fn country(&self, a: &Address) -> Result<Option<i64>, OdooError> {
        match a.country_code.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(code) => self.countries.id(self.odoo, code).await,
            None => Ok(None),
        }
    }

    async fn address_key(&self, a: &Address) -> Result<Option<String>, OdooError> {
        let country = self.country(a).await?;
        Ok(key(
            opt(&a.name),
            opt(&a.street),
            opt(&a.street2),
            opt(&a.zip),
            country,
        ))
    }

    async fn address_vals(
        &self,
        a: &Address,
        vals: &mut Map<String, Value>,
    ) -> Result<(), OdooError> {
        for (field, v) in [
            ("street", &a.street),
            ("street2", &a.street2),
            ("city", &a.city),
            ("zip", &a.zip),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                vals.insert(field.into(), json!(v.trim()));
            }
        }
        if let Some(cid) = self.country(a).await? {
            vals.insert("country_id".into(), json!(cid));
        }
        Ok(())
    }

    async fn search_one(&self, domain: Domain) -> Result<Option<Value>, OdooError> {
        Ok(self
            .odoo
            .search_read(
                "res.partner",
                &domain,
                &FIELDS,
                &SearchOpts::default().limit(1).order("id asc"),
            )
            .await?
            .into_iter()
            .next())
    }

    /// The customer of an order: found (buyer id, e-mail, address) or created.
    async fn customer(
        &mut self,
        channel: &str,
        order: &Order,
    ) -> Result<(i64, Option<String>), OdooError> {
        let ship = order.shipping_address.as_ref();
        let bkey = buyer_key(&order.buyer, ship);
        if let Some(k) = &bkey
            && let Some(c) = self.customers.get(k)
        {
            return Ok(c.clone());
        }
        let buyer = &order.buyer;
        let buyer_ref = buyer
            .external_id
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(|b| format!("{channel}:{b}"));
        let email = buyer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| e.contains('@'));
        let mut found = None;
        if let Some(r) = &buyer_ref {
            found = self
                .search_one(Domain::leaf("ref", "=", r.as_str()))
                .await?;
        }
        if found.is_none()
            && let Some(e) = email
        {
            found = self.search_one(Domain::leaf("email", "=ilike", e)).await?;
        }
        if found.is_none()
            && buyer_ref.is_none()
            && email.is_none()
            && let Some(a) = ship
            && let Some(want) = self.address_key(a).await?
        {
            let rows = self
                .odoo
                .search_read(
                    "res.partner",
                    &Domain::leaf("street", "=ilike", opt(&a.street).trim())
                        .and(Domain::leaf("zip", "=", opt(&a.zip).trim()))
                        .and(Domain::leaf("parent_id", "=", false)),
                    &FIELDS,
                    &SearchOpts::default().limit(20).order("id asc"),
                )
                .await?;
            found = rows
                .into_iter()
                .find(|r| row_key(r).as_deref() == Some(&want));
        }
        let result = match found {
            Some(row) => (
                row.get("id").and_then(Value::as_i64).unwrap_or(0),
                row_key(&row),
            ),
            None => {
                let name = buyer
                    .name
                    .clone()
                    .or_else(|| ship.and_then(|a| a.name.clone()))
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("{channel} buyer {}", order.external_id));
                let mut vals = Map::new();
                vals.insert("name".into(), json!(name.trim()));
                vals.insert("customer_rank".into(), json!(1));
                if let Some(e) = email {
                    vals.insert("email".into(), json!(e));
                }
                if let Some(p) = buyer.phone.as_ref().or(ship.and_then(|a| a.phone.as_ref())) {
                    vals.insert("phone".into(), json!(p));
                }
                if let Some(r) = &buyer_ref {
                    vals.insert("ref".into(), json!(r));
                }
                let mut own_key = None;
                if let Some(a) = ship {
                    self.address_vals(a, &mut vals).await?;
                    // The customer's own address is the first shipping address; named after the
                    // customer, so compare with that name.
                    let country = self.country(a).await?;
                    own_key = key(
                        name.trim(),
                        opt(&a.street),
                        opt(&a.street2),
                        opt(&a.zip),
                        country,
                    );
                }
                let id = self.odoo.create("res.partner", vals, None).await?;
                (id, own_key)
            }
        };
        if let Some(k) = bkey {
            self.customers.insert(k, result.clone());
        }
        Ok(result)
    }

    /// The delivery contact for `address` under `customer` (the customer itself when the
    /// address is its own), found or created.
    pub async fn shipping_for(
        &mut self,
        customer: i64,
        own_key: Option<&str>,
        address: &Address,
        fallback_name: &str,
    ) -> Result<i64, OdooError> {
        let Some(want) = self.address_key(address).await? else {
            return Ok(customer);
        };
        if own_key == Some(want.as_str()) {
            return Ok(customer);
        }
        // The customer's own address under the recipient's name counts too.
        let country = self.country(address).await?;
        if let Some(own) = own_key {
            let unnamed = |k: &str| k.split_once('|').map(|(_, rest)| rest.to_owned());
            if address.name.as_deref().is_none_or(|n| n.trim().is_empty())
                && unnamed(own) == unnamed(&want)
            {
                return Ok(customer);
            }
        }
        if let Some(id) = self.shipping.get(&(customer, want.clone())) {
            return Ok(*id);
        }
        let rows = self
            .odoo
            .search_read(
                "res.partner",
                &Domain::leaf("parent_id", "=", customer)
                    .and(Domain::leaf("type", "=", "delivery")),
                &FIELDS,
                &SearchOpts::default().order("id asc"),
            )
            .await?;
        let id = match rows.iter().find(|r| row_key(r).as_deref() == Some(&want)) {
            Some(r) => r.get("id").and_then(Value::as_i64).unwrap_or(customer),
            None => {
                let mut vals = Map::new();
                vals.insert("parent_id".into(), json!(customer));
                vals.insert("type".into(), json!("delivery"));
                let name = address
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| fallback_name.to_owned());
                vals.insert("name".into(), json!(name.trim()));
                if let Some(p) = address.phone.as_deref().filter(|p| !p.trim().is_empty()) {
                    vals.insert("phone".into(), json!(p));
                }
                self.address_vals(address, &mut vals).await?;
                if let Some(c) = country {
                    vals.insert("country_id".into(), json!(c));
                }
                self.odoo.create("res.partner", vals, None).await?
            }
        };
        self.shipping.insert((customer, want), id);
        Ok(id)
    }

    /// The customer and delivery contact of an order.
    pub async fn resolve(&mut self, channel: &str, order: &Order) -> Result<Partners, OdooError> {
        let (customer, own_key) = self.customer(channel, order).await?;
        let shipping = match &order.shipping_address {
            Some(a) => {
                let fallback = order
                    .buyer
                    .name
                    .clone()
                    .unwrap_or_else(|| "Delivery".into());
                self.shipping_for(customer, own_key.as_deref(), a, &fallback)
                    .await?
            }
            None => customer,
        };
        Ok(Partners { customer, shipping })
    }

    /// The key of a partner's own address, read from Odoo (for updates of imported orders).
    pub async fn own_key(&self, partner: i64) -> Result<Option<String>, OdooError> {
        Ok(self
            .odoo
            .read("res.partner", &[partner], &FIELDS, None)
            .await?
            .first()
            .and_then(row_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_formatting_but_not_the_place() {
        let a = key("Ada Lovelace", "1 Infinite Loop", "", "95014", Some(233));
        assert_eq!(
            a,
            key(
                "ada  lovelace",
                "1, infinite loop.",
                "",
                " 95014",
                Some(233)
            )
        );
        assert_ne!(
            a,
            key("Ada Lovelace", "2 Infinite Loop", "", "95014", Some(233))
        );
        assert_ne!(
            a,
            key("Ada Lovelace", "1 Infinite Loop", "", "95014", Some(20))
        );
        assert_eq!(key("Ada", "", "", "95014", None), None);
    }
}
