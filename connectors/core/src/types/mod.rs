//! Normalised records: what every connector maps its marketplace's JSON into, and what the
//! daemon's sync jobs consume. Marketplace quirks stop at the connector; these types carry the
//! union of what the daemon needs from Shopify, Amazon, eBay, Walmart, TikTok Shop and Etsy.
//!
//! Conventions:
//! * Money is [`Money`](crate::Money) (Decimal + currency); quantities of goods are `Decimal`
//!   (marketplaces sell by the unit, but Odoo quantities are decimal and some channels sell by
//!   weight); stock pushed to a channel is a whole number.
//! * Anything a marketplace may omit is an `Option`: a missing address field or a line without
//!   SKU is *data* that the order audit flags, not a mapping failure.
//! * Every pulled record keeps `raw`, the marketplace payload, so an import can be replayed.

mod catalog;
mod finance;
mod fulfilment;
mod order;

pub use catalog::*;
pub use finance::*;
pub use fulfilment::*;
pub use order::*;
