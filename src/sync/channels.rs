//! Turning `[[channels]]` into live connectors.
//!
//! The daemon knows connectors only through the registry: each connector crate exports a
//! factory, and the configuration's `connection` table and `secrets` go to it untouched, so
//! a marketplace's quirks stay inside its crate. Secrets are resolved here, at build time.

use std::sync::Arc;

use channels_core::{Channel, ChannelId, ConnectorSecrets, Registry};

use crate::config::{ChannelConfig, Config};

/// Every connector compiled into this binary.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    for factory in [
        channel_sandbox::factory(),
        channel_amazon::factory(),
        channel_shopify::factory(),
    ] {
        r.register(factory).expect("one connector per kind");
    }
    r
}

/// A configured channel and its connector.
#[derive(Clone)]
pub struct ChannelHandle {
    pub id: ChannelId,
    pub config: ChannelConfig,
    pub channel: Arc<dyn Channel>,
}

impl std::fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandle")
            .field("id", &self.id)
            .field("kind", &self.config.kind)
            .finish_non_exhaustive()
    }
}

/// Build one channel: resolve its secrets, hand its tables to its connector.
pub fn build(config: &ChannelConfig, registry: &Registry) -> Result<ChannelHandle, String> {
    let id = ChannelId::new(&config.id).map_err(|e| e.to_string())?;
    let mut secrets = ConnectorSecrets::new();
    let mut unresolved = Vec::new();
    for (name, r) in &config.secrets {
        match r.resolve() {
            Ok(v) => secrets.insert(name.clone(), v),
            Err(e) => unresolved.push(format!("secrets.{name}: {e}")),
        }
    }
    if !unresolved.is_empty() {
        return Err(unresolved.join("; "));
    }
    let connection =
        serde_json::to_value(&config.connection).map_err(|e| format!("connection table: {e}"))?;
    let channel = registry
        .build(id.clone(), &config.kind, &connection, &secrets)
        .map_err(|e| e.to_string())?;
    Ok(ChannelHandle {
        id,
        config: config.clone(),
        channel,
    })
}

/// Build every enabled channel; all problems at once, each with its channel id.
pub fn build_all(config: &Config, registry: &Registry) -> Result<Vec<ChannelHandle>, Vec<String>> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for ch in config.enabled_channels() {
        match build(ch, registry) {
            Ok(h) => ok.push(h),
            Err(e) => problems.push(format!("channel {}: {e}", ch.id)),
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}
