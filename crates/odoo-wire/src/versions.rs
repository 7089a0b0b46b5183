//! The one map of what differs between Odoo 16, 17, 18 and 19.
//!
//! Every field rename, method replacement and protocol difference the daemon depends on is a
//! field of [`VersionMap`], filled in [`VersionMap::for_version`]. The daemon's client asks this
//! map for names; the sandbox uses the same map to decide what its version personalities
//! expose. Nothing else in the workspace may hard-code a version comparison for these facts.
//!
//! Sources: `../shared/briefs/odoo-api.md` and the 19.0 captures in `../shared/odoo-reference`
//! (the 19 column is checked against `fields_get` by the contract tests).

use serde::{Deserialize, Serialize};
use std::fmt;

/// An Odoo server version, as `common.version()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OdooVersion {
    pub major: u16,
    pub minor: u16,
}

impl OdooVersion {
    pub const V16: Self = Self::new(16, 0);
    pub const V17: Self = Self::new(17, 0);
    pub const V18: Self = Self::new(18, 0);
    pub const V19: Self = Self::new(19, 0);
    /// The versions the daemon supports, oldest first.
    pub const SUPPORTED: [Self; 4] = [Self::V16, Self::V17, Self::V18, Self::V19];

    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Parse `server_serie` (`"19.0"`, `"saas~18.4"`) or `server_version` (`"17.0+e"`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().trim_start_matches("saas~");
        let mut parts = s.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some(Self { major, minor })
    }

    /// Parse `server_version_info`: `[19, 0, 0, "final", 0, ""]` or `["saas~18", 4, …]`.
    pub fn from_version_info(info: &serde_json::Value) -> Option<Self> {
        let arr = info.as_array()?;
        let major = match arr.first()? {
            serde_json::Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
            serde_json::Value::String(s) => Self::parse(s)?.major,
            _ => return None,
        };
        let minor = arr
            .get(1)
            .and_then(|v| v.as_u64())
            .and_then(|m| u16::try_from(m).ok())
            .unwrap_or(0);
        Some(Self { major, minor })
    }

    pub fn is_supported(&self) -> bool {
        (16..=19).contains(&self.major)
    }
}

impl fmt::Display for OdooVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How a product is marked storable (tracked in stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StorableMarker {
    /// 16–17: `type = 'product'` (17 also `detailed_type`).
    TypeProduct,
    /// 18+: `type = 'consu'` and `is_storable = True`.
    IsStorableFlag,
}

/// Which grouped-aggregate method to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupMethod {
    /// `read_group(domain, fields, groupby, lazy=False)`; rows carry `<field>` sums and `__count`.
    ReadGroup,
    /// `formatted_read_group(domain, groupby, aggregates)`; rows carry `"<field>:<agg>"` keys.
    FormattedReadGroup,
}

/// Everything that differs between the supported versions, as plain data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionMap {
    pub version: OdooVersion,
    /// JSON-2 (`/json/2/<model>/<method>`, bearer key) exists from saas-18.4 / 19.0.
    pub has_json2: bool,
    /// `error.code` of a JSON-RPC error object: 200 before 19, 0 from 19.
    pub jsonrpc_error_code: i64,
    pub group_method: GroupMethod,
    pub storable: StorableMarker,
    /// Context keys that restrict stock quantities to one warehouse. 16–17 read `warehouse`,
    /// 18+ read `warehouse_id` and silently ignore `warehouse`; sending both is version-proof.
    pub stock_warehouse_context_keys: &'static [&'static str],
    /// The one of those keys this version honours (the sandbox obeys only it).
    pub stock_warehouse_context_key: &'static str,
    /// 19 compares datetimes by whole second in domains (`'>' W` means `>= W+1s`); older
    /// versions compare the stored microseconds (scenario 05).
    pub datetime_domains_by_whole_second: bool,
    /// `message_post(body_is_html=True)` exists from 17; on 16 unknown keyword arguments
    /// become `mail.message` values (an error), and an RPC body is plain text.
    pub message_post_body_is_html: bool,
    /// `stock.move` done quantity: 16 `quantity_done`; 17+ `quantity` (plus `picked`).
    pub move_done_qty_field: &'static str,
    /// Whether moves carry the `picked` flag (17+).
    pub move_has_picked: bool,
    /// `stock.move.line` done quantity: 16 `qty_done`; 17+ `quantity`.
    pub move_line_done_qty_field: &'static str,
    /// `sale.order.line` / `purchase.order.line` unit of measure: `product_uom` → `product_uom_id` in 19.
    pub order_line_uom_field: &'static str,
    /// `sale.order.line` / `purchase.order.line` taxes: `tax_id` → `tax_ids` in 19.
    pub order_line_taxes_field: &'static str,
    /// `res.users` groups: `groups_id` → `group_ids` in 19.
    pub users_groups_field: &'static str,
    /// `stock.warehouse.orderpoint.qty_multiple` was removed in 19.
    pub orderpoint_has_qty_multiple: bool,
    /// The module that defines `stock.picking.carrier_tracking_ref`: `delivery` (16), `stock_delivery` (17+).
    pub carrier_tracking_module: &'static str,
    /// Context for `stock.picking.button_validate` that answers every wizard up front.
    pub validate_context_keys: &'static [&'static str],
    /// `message_post` returns a list of ids over RPC in 19, a bare id before.
    pub message_post_returns_list: bool,
    /// API keys can carry an expiry from 18.
    pub api_keys_expire: bool,
}

impl VersionMap {
    /// The map for `version`. Unknown future majors get the newest known behaviour; older ones
    /// the oldest (`check` reports them as unsupported anyway).
    pub fn for_version(version: OdooVersion) -> Self {
        let v = (version.major, version.minor);
        let is19 = v >= (19, 0);
        let ge18 = v >= (18, 0);
        let ge17 = v >= (17, 0);
        VersionMap {
            version,
            has_json2: v >= (18, 4),
            jsonrpc_error_code: if is19 { 0 } else { 200 },
            group_method: if is19 {
                GroupMethod::FormattedReadGroup
            } else {
                GroupMethod::ReadGroup
            },
            storable: if ge18 {
                StorableMarker::IsStorableFlag
            } else {
                StorableMarker::TypeProduct
            },
            stock_warehouse_context_keys: &["warehouse_id", "warehouse"],
            stock_warehouse_context_key: if ge18 { "warehouse_id" } else { "warehouse" },
            datetime_domains_by_whole_second: is19,
            message_post_body_is_html: ge17,
            move_done_qty_field: if ge17 { "quantity" } else { "quantity_done" },
            move_has_picked: ge17,
            move_line_done_qty_field: if ge17 { "quantity" } else { "qty_done" },
            order_line_uom_field: if is19 {
                "product_uom_id"
            } else {
                "product_uom"
            },
            order_line_taxes_field: if is19 { "tax_ids" } else { "tax_id" },
            users_groups_field: if is19 { "group_ids" } else { "groups_id" },
            orderpoint_has_qty_multiple: !is19,
            carrier_tracking_module: if ge17 { "stock_delivery" } else { "delivery" },
            validate_context_keys: if ge17 {
                &["skip_backorder", "skip_sms", "skip_expired"]
            } else {
                &[
                    "skip_backorder",
                    "skip_sms",
                    "skip_expired",
                    "skip_immediate",
                ]
            },
            message_post_returns_list: is19,
            api_keys_expire: ge18,
        }
    }

    /// Domain leaf (as JSON) selecting storable products on `product.product`/`product.template`.
    pub fn storable_domain(&self) -> serde_json::Value {
        match self.storable {
            StorableMarker::TypeProduct => serde_json::json!([["type", "=", "product"]]),
            StorableMarker::IsStorableFlag => serde_json::json!([["is_storable", "=", true]]),
        }
    }

    /// Field values that make a new product storable.
    pub fn storable_values(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        match self.storable {
            StorableMarker::TypeProduct => {
                m.insert("type".into(), "product".into());
            }
            StorableMarker::IsStorableFlag => {
                m.insert("type".into(), "consu".into());
                m.insert("is_storable".into(), true.into());
            }
        }
        m
    }

    /// The field name a 19.0 name had in this version (identity where nothing changed).
    /// The sandbox uses this to present its 19.0-shaped schema under older personalities.
    pub fn field_name<'a>(&self, model: &str, name19: &'a str) -> &'a str {
        match (model, name19) {
            ("sale.order.line" | "purchase.order.line", "product_uom_id") => {
                self.order_line_uom_field
            }
            ("sale.order.line" | "purchase.order.line", "tax_ids") => self.order_line_taxes_field,
            ("res.users", "group_ids") => self.users_groups_field,
            ("stock.move", "quantity") => self.move_done_qty_field,
            ("stock.move.line", "quantity") => self.move_line_done_qty_field,
            _ => name19,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_shape_of_version() {
        assert_eq!(OdooVersion::parse("19.0"), Some(OdooVersion::V19));
        assert_eq!(
            OdooVersion::parse("saas~18.4"),
            Some(OdooVersion::new(18, 4))
        );
        assert_eq!(OdooVersion::parse("17.0+e"), Some(OdooVersion::V17));
        assert_eq!(
            OdooVersion::from_version_info(&json!([19, 0, 0, "final", 0, ""])),
            Some(OdooVersion::V19)
        );
        assert_eq!(
            OdooVersion::from_version_info(&json!(["saas~18", 4, 0, "final", 0, ""])),
            Some(OdooVersion::new(18, 4))
        );
        assert_eq!(OdooVersion::parse("banana"), None);
    }

    #[test]
    fn the_map_says_what_the_brief_says() {
        let v16 = VersionMap::for_version(OdooVersion::V16);
        let v17 = VersionMap::for_version(OdooVersion::V17);
        let v18 = VersionMap::for_version(OdooVersion::V18);
        let v184 = VersionMap::for_version(OdooVersion::new(18, 4));
        let v19 = VersionMap::for_version(OdooVersion::V19);
        assert!(!v18.has_json2 && v184.has_json2 && v19.has_json2);
        assert_eq!((v18.jsonrpc_error_code, v19.jsonrpc_error_code), (200, 0));
        assert_eq!(v18.group_method, GroupMethod::ReadGroup);
        assert_eq!(v19.group_method, GroupMethod::FormattedReadGroup);
        assert_eq!(v17.storable, StorableMarker::TypeProduct);
        assert_eq!(v18.storable, StorableMarker::IsStorableFlag);
        assert_eq!(v16.move_done_qty_field, "quantity_done");
        assert_eq!(v17.move_done_qty_field, "quantity");
        assert_eq!(v18.field_name("sale.order.line", "tax_ids"), "tax_id");
        assert_eq!(v19.field_name("sale.order.line", "tax_ids"), "tax_ids");
        assert_eq!(v19.field_name("stock.move", "product_uom"), "product_uom");
        assert!(v18.orderpoint_has_qty_multiple && !v19.orderpoint_has_qty_multiple);
        assert_eq!(v17.stock_warehouse_context_key, "warehouse");
        assert_eq!(v18.stock_warehouse_context_key, "warehouse_id");
        assert!(!v18.datetime_domains_by_whole_second && v19.datetime_domains_by_whole_second);
        assert!(!v16.message_post_body_is_html && v17.message_post_body_is_html);
    }
}
