//! Building connectors by kind, so the daemon does not know the connector crates' types.
//!
//! Each connector crate exports `pub fn factory() -> ConnectorFactory`. The daemon registers
//! the factories it links (one line per crate) and builds every configured channel with
//! [`Registry::build`], passing the channel's `[channels.connection]` table (TOML converted to
//! JSON) and its secrets, already resolved from their references (env, file, systemd
//! credential) by the daemon.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;

use crate::{Channel, ChannelError, ChannelId, ChannelKind};

/// Resolved secrets for one channel, by the name the connector asks for (`token`,
/// `webhook_secret`, `refresh_token`, …). `Debug` prints names only.
#[derive(Default)]
pub struct ConnectorSecrets {
    map: BTreeMap<String, SecretString>,
}

impl ConnectorSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.insert(name, value);
        self
    }

    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.map.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.map.get(name)
    }

    /// The secret or a configuration error naming it (never its value).
    pub fn require(&self, name: &str) -> Result<&SecretString, ChannelError> {
        self.get(name)
            .ok_or_else(|| ChannelError::Config(format!("missing secret `{name}`")))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

impl fmt::Debug for ConnectorSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorSecrets")
            .field("names", &self.map.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Builds one channel from its id, its connection table and its secrets.
pub type BuildFn =
    fn(ChannelId, &serde_json::Value, &ConnectorSecrets) -> Result<Arc<dyn Channel>, ChannelError>;

/// What a connector crate exports for the registry.
#[derive(Clone)]
pub struct ConnectorFactory {
    pub kind: ChannelKind,
    /// Secret names the connector needs (for `check` to report what is missing).
    pub required_secrets: &'static [&'static str],
    /// Secret names it uses when present.
    pub optional_secrets: &'static [&'static str],
    pub build: BuildFn,
}

impl fmt::Debug for ConnectorFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorFactory")
            .field("kind", &self.kind)
            .field("required_secrets", &self.required_secrets)
            .finish_non_exhaustive()
    }
}

/// Factories by kind.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    factories: BTreeMap<ChannelKind, ConnectorFactory>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a factory; a second one for the same kind is a programming error → `Config`.
    pub fn register(&mut self, factory: ConnectorFactory) -> Result<(), ChannelError> {
        if self.factories.contains_key(&factory.kind) {
            return Err(ChannelError::Config(format!(
                "two connectors registered for kind `{}`",
                factory.kind
            )));
        }
        self.factories.insert(factory.kind.clone(), factory);
        Ok(())
    }

    pub fn factory(&self, kind: &ChannelKind) -> Option<&ConnectorFactory> {
        self.factories.get(kind)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &ChannelKind> {
        self.factories.keys()
    }

    /// Builds a channel. Fails with `Config` for an unknown kind or missing secrets (all
    /// missing names at once), or with whatever the connector's own validation says.
    pub fn build(
        &self,
        id: ChannelId,
        kind: &ChannelKind,
        connection: &serde_json::Value,
        secrets: &ConnectorSecrets,
    ) -> Result<Arc<dyn Channel>, ChannelError> {
        let f = self.factory(kind).ok_or_else(|| {
            let known: Vec<_> = self.kinds().map(|k| k.to_string()).collect();
            ChannelError::Config(format!(
                "channel `{id}`: no connector for kind `{kind}` (available: {})",
                known.join(", ")
            ))
        })?;
        let missing: Vec<_> = f
            .required_secrets
            .iter()
            .filter(|n| secrets.get(n).is_none())
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(ChannelError::Config(format!(
                "channel `{id}`: missing secrets: {}",
                missing.join(", ")
            )));
        }
        let ch = (f.build)(id.clone(), connection, secrets)?;
        if ch.id() != &id {
            return Err(ChannelError::Config(format!(
                "connector for `{kind}` built a channel with id `{}` instead of `{id}`",
                ch.id()
            )));
        }
        Ok(ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Capabilities, Operation, Order, OrderPage, OrderQuery, Pulled, StockUpdate};
    use async_trait::async_trait;

    struct Minimal(ChannelId);

    #[async_trait]
    impl Channel for Minimal {
        fn id(&self) -> &ChannelId {
            &self.0
        }
        fn kind(&self) -> ChannelKind {
            ChannelKind::Other("minimal".into())
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                operations: vec![Operation::PullOrders, Operation::GetOrder],
                realtime_webhooks: false,
                max_stock_batch: 0,
                max_price_batch: 0,
                max_page_size: 50,
                stock_cas: false,
                async_bulk: false,
                partial_shipments: false,
                partial_cancellation: false,
                marketplace_fulfilment: false,
            }
        }
        async fn pull_orders(&self, _q: &OrderQuery) -> Result<OrderPage, ChannelError> {
            Ok(OrderPage {
                items: vec![],
                next: None,
                high_water_mark: None,
            })
        }
        async fn get_order(&self, id: &str) -> Result<Pulled<Order>, ChannelError> {
            Err(ChannelError::NotFound {
                what: format!("order {id}"),
            })
        }
    }

    fn build_minimal(
        id: ChannelId,
        _c: &serde_json::Value,
        s: &ConnectorSecrets,
    ) -> Result<Arc<dyn Channel>, ChannelError> {
        s.require("token")?;
        Ok(Arc::new(Minimal(id)))
    }

    fn factory() -> ConnectorFactory {
        ConnectorFactory {
            kind: ChannelKind::Other("minimal".into()),
            required_secrets: &["token"],
            optional_secrets: &[],
            build: build_minimal,
        }
    }

    #[tokio::test]
    async fn builds_by_kind_and_defaults_are_unsupported() {
        let mut r = Registry::new();
        r.register(factory()).unwrap();
        assert!(r.register(factory()).is_err(), "duplicate kind");
        let id = ChannelId::new("m1").unwrap();
        let kind = ChannelKind::Other("minimal".into());
        let secrets = ConnectorSecrets::new().with("token", SecretString::from("t0p".to_string()));
        let ch = r
            .build(id.clone(), &kind, &serde_json::json!({}), &secrets)
            .unwrap();
        assert_eq!(ch.id(), &id);
        let err = ch
            .push_stock(&[StockUpdate {
                sku: "A".into(),
                quantity: 1,
                version: 1,
                expected: None,
                location: None,
            }])
            .await
            .unwrap_err();
        assert_eq!(err, ChannelError::Unsupported("push_stock"));
        assert!(ch.verify_webhook(&http::HeaderMap::new(), b"").is_err());
        assert!(!ch.capabilities().supports(Operation::PushStock));

        let e = r
            .build(
                id.clone(),
                &kind,
                &serde_json::json!({}),
                &ConnectorSecrets::new(),
            )
            .err()
            .unwrap();
        assert!(
            matches!(&e, ChannelError::Config(m) if m.contains("token")),
            "{e}"
        );
        let e = r
            .build(id, &ChannelKind::Shopify, &serde_json::json!({}), &secrets)
            .err()
            .unwrap();
        assert!(
            matches!(&e, ChannelError::Config(m) if m.contains("shopify")),
            "{e}"
        );
        let dbg = format!("{secrets:?}");
        assert!(dbg.contains("token") && !dbg.contains("t0p"), "{dbg}");
    }
}
