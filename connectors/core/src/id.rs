//! Who a channel is: the daemon's own name for one marketplace account (`ChannelId`) and what
//! kind of marketplace it is (`ChannelKind`).
//!
//! The id is used as a key in the state store, in metrics labels, in Odoo's `channel.channel.code`
//! and in webhook URLs (`/webhooks/<id>`), so it is deliberately boring: `[a-z0-9_-]{1,32}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// The daemon's name for one marketplace account, e.g. `shopify-eu` or `amazon_us`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ChannelId(String);

/// Why a string is not a valid [`ChannelId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid channel id {value:?}: {reason}")]
pub struct InvalidChannelId {
    pub value: String,
    pub reason: &'static str,
}

impl ChannelId {
    pub const MAX_LEN: usize = 32;

    pub fn new(value: impl Into<String>) -> Result<Self, InvalidChannelId> {
        let value = value.into();
        let reason = if value.is_empty() {
            Some("must not be empty")
        } else if value.len() > Self::MAX_LEN {
            Some("must be at most 32 characters")
        } else if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            Some("only a-z, 0-9, '_' and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidChannelId { value, reason }),
            None => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ChannelId {
    type Err = InvalidChannelId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for ChannelId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ChannelId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ChannelId::new(s).map_err(serde::de::Error::custom)
    }
}

/// What kind of marketplace a channel is. Selects the connector crate in the registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelKind {
    Sandbox,
    Shopify,
    Amazon,
    Ebay,
    Walmart,
    TikTok,
    Etsy,
    /// A connector registered under its own name (regional marketplaces).
    Other(String),
}

impl ChannelKind {
    pub fn as_str(&self) -> &str {
        match self {
            ChannelKind::Sandbox => "sandbox",
            ChannelKind::Shopify => "shopify",
            ChannelKind::Amazon => "amazon",
            ChannelKind::Ebay => "ebay",
            ChannelKind::Walmart => "walmart",
            ChannelKind::TikTok => "tiktok",
            ChannelKind::Etsy => "etsy",
            ChannelKind::Other(s) => s,
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelKind {
    type Err = std::convert::Infallible;
    /// Case-insensitive; anything unknown becomes `Other(lowercased)`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "sandbox" => ChannelKind::Sandbox,
            "shopify" => ChannelKind::Shopify,
            "amazon" => ChannelKind::Amazon,
            "ebay" => ChannelKind::Ebay,
            "walmart" => ChannelKind::Walmart,
            "tiktok" | "tiktok_shop" | "tiktok-shop" => ChannelKind::TikTok,
            "etsy" => ChannelKind::Etsy,
            _ => ChannelKind::Other(lower),
        })
    }
}

impl Serialize for ChannelKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChannelKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse().expect("infallible"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_id_rules() {
        assert!(ChannelId::new("shopify-eu_1").is_ok());
        assert!(ChannelId::new("a").is_ok());
        assert!(ChannelId::new("a".repeat(32)).is_ok());
        assert!(ChannelId::new("a".repeat(33)).is_err());
        assert!(ChannelId::new("").is_err());
        assert!(ChannelId::new("Shopify").is_err());
        assert!(ChannelId::new("shop/../x").is_err());
        assert!(ChannelId::new("shop ify").is_err());
        assert!(serde_json::from_str::<ChannelId>("\"BAD\"").is_err());
        let id: ChannelId = serde_json::from_str("\"amazon_us\"").unwrap();
        assert_eq!(id.as_str(), "amazon_us");
    }

    #[test]
    fn kind_round_trips() {
        for k in [
            ChannelKind::Sandbox,
            ChannelKind::Shopify,
            ChannelKind::Amazon,
            ChannelKind::Ebay,
            ChannelKind::Walmart,
            ChannelKind::TikTok,
            ChannelKind::Etsy,
            ChannelKind::Other("cdiscount".into()),
        ] {
            let s = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<ChannelKind>(&s).unwrap(), k);
        }
        assert_eq!(
            "TikTok_Shop".parse::<ChannelKind>().unwrap(),
            ChannelKind::TikTok
        );
    }
}
