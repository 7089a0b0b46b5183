//! The generic sandbox marketplace: an HTTP marketplace emulator ([`sandbox`]) and the
//! connector that talks to it ([`SandboxChannel`]). The daemon's `demo` and the end-to-end
//! tests use it until real connectors exist, and it is the template they copy:
//!
//! ```text
//! lib.rs        SandboxChannel: impl Channel (orchestration only: batching, outcomes)
//! config.rs     the [channels.connection] table + secrets, validated at once
//! client.rs     HTTP: auth, rate limiting, retries, HTTP outcome → ChannelError
//! mapping.rs    marketplace JSON → normalised types (pure, hostile-input safe)
//! webhooks.rs   signature verification and event parsing
//! sandbox/      the marketplace emulator (server, state, limits, faults, webhooks out)
//! tests.rs      unit tests (mapping, signatures)
//! tests/integration.rs   connector ↔ emulator over real HTTP
//! ```

pub mod client;
pub mod config;
pub mod mapping;
pub mod sandbox;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use channels_core::{
    CancelAck, CancelReason, Cancellation, Capabilities, Channel, ChannelError, ChannelId,
    ChannelKind, ChannelValue, ConnectorFactory, ConnectorSecrets, Currency, ItemQuantity, Listing,
    Money, Operation, Order, OrderPage, OrderQuery, Page, PageQuery, PageToken, PriceUpdate,
    Pulled, PushOutcome, RateLimiter, Return, Settlement, Shipment, ShipmentAck, StockLevel,
    StockUpdate, WebhookError, WebhookEvent,
};
use http::{HeaderMap, Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub use config::SandboxConfig;

use client::{Client, path_segment};

/// A channel on the sandbox marketplace.
pub struct SandboxChannel {
    id: ChannelId,
    config: SandboxConfig,
    client: Client,
}

/// For the daemon's registry: `registry.register(channel_sandbox::factory())`.
pub fn factory() -> ConnectorFactory {
    ConnectorFactory {
        kind: ChannelKind::Sandbox,
        required_secrets: &["token"],
        optional_secrets: &["webhook_secret"],
        build,
    }
}

fn build(
    id: ChannelId,
    connection: &Value,
    secrets: &ConnectorSecrets,
) -> Result<Arc<dyn Channel>, ChannelError> {
    Ok(Arc::new(SandboxChannel::new(
        id,
        SandboxConfig::from_parts(connection, secrets)?,
    )?))
}

impl SandboxChannel {
    pub fn new(id: ChannelId, config: SandboxConfig) -> Result<Self, ChannelError> {
        Self::with_limiter(id, config, RateLimiter::new())
    }

    /// With a shared limiter (the daemon may hold one for all channels to report on).
    pub fn with_limiter(
        id: ChannelId,
        config: SandboxConfig,
        limiter: RateLimiter,
    ) -> Result<Self, ChannelError> {
        config.validate()?;
        let client = Client::new(&id, &config, limiter)?;
        Ok(Self { id, config, client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn batch(&self) -> usize {
        self.config.connection.max_batch.clamp(1, 100)
    }

    fn page_query(&self, q: &PageQuery) -> Vec<(&'static str, String)> {
        let size = q
            .page_size
            .unwrap_or(self.config.connection.page_size)
            .clamp(1, 250);
        let mut out = vec![("limit", size.to_string())];
        if let Some(t) = &q.page {
            out.push(("cursor", t.0.clone()));
        }
        if let Some(u) = q.updated_after {
            out.push(("updated_after", u.to_string()));
        }
        out
    }

    async fn list<T>(
        &self,
        op: &'static str,
        path: &str,
        key: &str,
        q: &PageQuery,
        map: impl Fn(&Value) -> Pulled<T>,
        updated_at: impl Fn(&T) -> jiff::Timestamp,
    ) -> Result<Page<T>, ChannelError> {
        let body = self.client.get(op, path, &self.page_query(q)).await?;
        let records = body
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| decode_error(op, key, "expected an array"))?;
        let items: Vec<Pulled<T>> = records.iter().map(map).collect();
        let next = match body.get("next_cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(PageToken(s.clone())),
            Some(_) => return Err(decode_error(op, "next_cursor", "expected a string or null")),
        };
        Ok(Page {
            high_water_mark: mapping::high_water_mark(&items, updated_at),
            items,
            next,
        })
    }

    /// Sends one bulk chunk and turns the per-item results into outcomes.
    async fn push_chunk(
        &self,
        op: &'static str,
        path: &str,
        keys: &[(String, u64)],
        items: Vec<Value>,
        applied: impl Fn(&Value) -> Option<ChannelValue>,
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let (_, body) = self
            .client
            .write(op, Method::PUT, path, &json!({ "items": items }))
            .await?;
        let results = body
            .get("results")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(keys
            .iter()
            .enumerate()
            .map(|(i, (sku, version))| {
                let (sku, version) = (sku.clone(), *version);
                let Some(r) = results
                    .get(i)
                    .filter(|r| r.get("sku").and_then(Value::as_str) == Some(sku.as_str()))
                else {
                    return PushOutcome::Unknown {
                        sku,
                        version,
                        reason: "the channel returned no result for this item".into(),
                    };
                };
                let first_err = r.get("errors").and_then(|e| e.get(0));
                let code = first_err
                    .and_then(|e| e.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let reason = first_err
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("rejected")
                    .to_string();
                match r.get("status").and_then(Value::as_str) {
                    Some("ok") => match applied(r) {
                        Some(channel_value) => PushOutcome::Applied {
                            sku,
                            version,
                            channel_value,
                        },
                        None => PushOutcome::Unknown {
                            sku,
                            version,
                            reason: "applied, but the channel echoed no value".into(),
                        },
                    },
                    Some("conflict") => PushOutcome::Conflict {
                        sku,
                        version,
                        current: r
                            .get("quantity")
                            .and_then(Value::as_i64)
                            .map(|quantity| ChannelValue::Quantity { quantity }),
                    },
                    Some("error") => PushOutcome::Rejected {
                        sku,
                        version,
                        reason,
                        code,
                        retryable: false,
                    },
                    _ => PushOutcome::Unknown {
                        sku,
                        version,
                        reason: "unrecognised item status".into(),
                    },
                }
            })
            .collect())
    }

    /// Runs chunks in order. A chunk that fails as a whole gives every item of it an outcome
    /// (`Unknown` if it may have been applied, `Rejected{retryable}` if not) and stops; items
    /// of later chunks are `Rejected{retryable}` (never sent). Only when nothing at all was
    /// sent and the failure is not item-related (auth, config) is it returned as an error.
    async fn push_all<U: Sync>(
        &self,
        updates: &[U],
        key: impl Fn(&U) -> (String, u64),
        send: impl AsyncChunk<U>,
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let mut out = Vec::with_capacity(updates.len());
        let mut failed: Option<ChannelError> = None;
        for chunk in updates.chunks(self.batch()) {
            let keys: Vec<(String, u64)> = chunk.iter().map(&key).collect();
            if let Some(e) = &failed {
                out.extend(
                    keys.into_iter()
                        .map(|(sku, version)| PushOutcome::Rejected {
                            sku,
                            version,
                            reason: format!("not sent: an earlier batch failed ({e})"),
                            code: None,
                            retryable: true,
                        }),
                );
                continue;
            }
            match send.send(self, chunk, &keys).await {
                Ok(o) => out.extend(o),
                Err(e) => {
                    if out.is_empty()
                        && matches!(e, ChannelError::Auth { .. } | ChannelError::Config(_))
                    {
                        return Err(e);
                    }
                    out.extend(
                        keys.into_iter()
                            .map(|(sku, version)| chunk_failure(sku, version, &e)),
                    );
                    failed = Some(e);
                }
            }
        }
        Ok(out)
    }
}

fn chunk_failure(sku: String, version: u64, e: &ChannelError) -> PushOutcome {
    match e {
        ChannelError::Ambiguous { message } => PushOutcome::Unknown {
            sku,
            version,
            reason: message.clone(),
        },
        ChannelError::Rejected { message, code } => PushOutcome::Rejected {
            sku,
            version,
            reason: message.clone(),
            code: code.clone(),
            retryable: false,
        },
        other => PushOutcome::Rejected {
            sku,
            version,
            reason: other.to_string(),
            code: None,
            retryable: other.is_retryable(),
        },
    }
}

/// One bulk endpoint (stock or prices), so `push_all` can drive either.
#[async_trait]
trait AsyncChunk<U: Sync>: Send + Sync {
    async fn send(
        &self,
        ch: &SandboxChannel,
        chunk: &[U],
        keys: &[(String, u64)],
    ) -> Result<Vec<PushOutcome>, ChannelError>;
}

struct StockChunks;
struct PriceChunks;

#[async_trait]
impl AsyncChunk<StockUpdate> for StockChunks {
    async fn send(
        &self,
        ch: &SandboxChannel,
        chunk: &[StockUpdate],
        keys: &[(String, u64)],
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let items = chunk
            .iter()
            .map(|u| json!({"sku": u.sku, "quantity": u.quantity, "expected_quantity": u.expected}))
            .collect();
        ch.push_chunk("inventory.write", "/v1/inventory", keys, items, |r| {
            r.get("quantity")
                .and_then(Value::as_i64)
                .map(|quantity| ChannelValue::Quantity { quantity })
        })
        .await
    }
}

#[async_trait]
impl AsyncChunk<PriceUpdate> for PriceChunks {
    async fn send(
        &self,
        ch: &SandboxChannel,
        chunk: &[PriceUpdate],
        keys: &[(String, u64)],
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let items = chunk
            .iter()
            .map(|u| {
                json!({"sku": u.sku, "price": u.price.amount.to_string(), "currency": u.price.currency,
                       "compare_at_price": u.compare_at.map(|c| c.amount.to_string())})
            })
            .collect();
        ch.push_chunk("prices.write", "/v1/prices", keys, items, |r| {
            let currency = r
                .get("currency")
                .and_then(Value::as_str)
                .and_then(|c| Currency::new(c).ok())?;
            let amount = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse::<Decimal>().ok())
            };
            Some(ChannelValue::Price {
                price: Money::new(amount("price")?, currency),
                compare_at: amount("compare_at_price").map(|a| Money::new(a, currency)),
            })
        })
        .await
    }
}

fn decode_error(op: &str, field: &str, message: &str) -> ChannelError {
    ChannelError::Decode(channels_core::MappingError::new(
        format!("response to {op}"),
        field,
        message,
    ))
}

fn cancel_reason(r: CancelReason) -> &'static str {
    match r {
        CancelReason::OutOfStock => "out_of_stock",
        CancelReason::BuyerRequest => "buyer_request",
        CancelReason::AddressUndeliverable => "address_undeliverable",
        CancelReason::PricingError => "pricing_error",
        CancelReason::Fraud => "fraud",
        CancelReason::ShippingDelay => "shipping_delay",
        CancelReason::Other => "other",
    }
}

fn lines_json(lines: &[ItemQuantity]) -> Result<Vec<Value>, ChannelError> {
    use rust_decimal::prelude::ToPrimitive;
    lines
        .iter()
        .map(|l| {
            let q = Some(l.quantity)
                .filter(|q| q.fract().is_zero() && *q > Decimal::ZERO)
                .and_then(|q| q.to_u64())
                .ok_or_else(|| {
                    ChannelError::rejected(format!(
                        "line {}: quantity {} is not a positive whole number",
                        l.external_line_id, l.quantity
                    ))
                })?;
            Ok(json!({"line_id": l.external_line_id, "quantity": q}))
        })
        .collect()
}

#[async_trait]
impl Channel for SandboxChannel {
    fn id(&self) -> &ChannelId {
        &self.id
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Sandbox
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            operations: Operation::ALL
                .into_iter()
                .filter(|op| *op != Operation::PollPending)
                .filter(|op| *op != Operation::Webhooks || self.config.webhook_secret.is_some())
                .collect(),
            realtime_webhooks: self.config.webhook_secret.is_some(),
            max_stock_batch: self.batch(),
            max_price_batch: self.batch(),
            max_page_size: 250,
            stock_cas: true,
            async_bulk: false,
            partial_shipments: true,
            partial_cancellation: true,
            marketplace_fulfilment: true,
        }
    }

    async fn pull_orders(&self, query: &OrderQuery) -> Result<OrderPage, ChannelError> {
        let id = self.id.clone();
        self.list(
            "orders.list",
            "/v1/orders",
            "orders",
            query,
            |v| mapping::map_order(&id, v),
            |o: &Order| o.updated_at,
        )
        .await
    }

    async fn get_order(&self, external_id: &str) -> Result<Pulled<Order>, ChannelError> {
        let v = self
            .client
            .get(
                "orders.get",
                &format!("/v1/orders/{}", path_segment(external_id)),
                &[],
            )
            .await?;
        Ok(mapping::map_order(&self.id, &v))
    }

    async fn push_stock(&self, updates: &[StockUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        self.push_all(updates, |u| (u.sku.clone(), u.version), StockChunks)
            .await
    }

    async fn read_stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, ChannelError> {
        let mut out = Vec::new();
        for chunk in skus.chunks(self.batch()) {
            let q: Vec<(&str, String)> = chunk.iter().map(|s| ("sku", s.clone())).collect();
            let v = self
                .client
                .get("inventory.read", "/v1/inventory", &q)
                .await?;
            let items = v
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| decode_error("inventory.read", "items", "expected an array"))?;
            for (i, it) in items.iter().enumerate() {
                let sku = it.get("sku").and_then(Value::as_str);
                let qty = it.get("quantity").and_then(Value::as_i64);
                let (Some(sku), Some(quantity)) = (sku, qty) else {
                    return Err(decode_error(
                        "inventory.read",
                        &format!("items[{i}]"),
                        "sku and integer quantity expected",
                    ));
                };
                out.push(StockLevel {
                    sku: sku.to_string(),
                    quantity,
                    location: None,
                    updated_at: it
                        .get("updated_at")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok()),
                });
            }
        }
        Ok(out)
    }

    async fn push_prices(&self, updates: &[PriceUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        self.push_all(updates, |u| (u.sku.clone(), u.version), PriceChunks)
            .await
    }

    async fn upsert_listing(&self, l: &Listing) -> Result<PushOutcome, ChannelError> {
        let body = json!({
            "title": l.title, "description": l.description, "brand": l.brand, "barcode": l.barcode,
            "weight": l.weight.as_ref().map(|w| json!({"value": w.value.to_string(), "unit": w.unit})),
            "images": l.images,
            "price": l.price.map(|p| p.amount.to_string()),
            "currency": l.price.map(|p| p.currency),
            "compare_at_price": l.compare_at.map(|p| p.amount.to_string()),
            "attributes": l.attributes,
        });
        let path = format!("/v1/listings/{}", path_segment(&l.sku));
        match self
            .client
            .write("listings.write", Method::PUT, &path, &body)
            .await
        {
            Ok((_, v)) => Ok(PushOutcome::Applied {
                sku: l.sku.clone(),
                version: l.version,
                channel_value: ChannelValue::Listing {
                    listing_ref: v
                        .get("listing_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                },
            }),
            Err(ChannelError::Rejected { message, code }) => Ok(PushOutcome::Rejected {
                sku: l.sku.clone(),
                version: l.version,
                reason: message,
                code,
                retryable: false,
            }),
            Err(ChannelError::Ambiguous { message }) => Ok(PushOutcome::Unknown {
                sku: l.sku.clone(),
                version: l.version,
                reason: message,
            }),
            Err(e) => Err(e),
        }
    }

    /// Shipments are idempotent per tracking number on this marketplace. After an ambiguous
    /// outcome we re-read the order (a read, safe to retry) and look for the tracking number:
    /// re-check, then act — never a blind second POST.
    async fn confirm_shipment(&self, s: &Shipment) -> Result<ShipmentAck, ChannelError> {
        let body = json!({
            "carrier": {"code": s.carrier.code, "name": s.carrier.name},
            "service": s.service,
            "tracking_number": s.tracking_number,
            "tracking_url": s.tracking_url,
            "shipped_at": s.shipped_at.to_string(),
            "lines": lines_json(&s.lines)?,
        });
        let path = format!(
            "/v1/orders/{}/shipments",
            path_segment(&s.order_external_id)
        );
        match self
            .client
            .write("shipments.create", Method::POST, &path, &body)
            .await
        {
            Ok((status, v)) => Ok(ShipmentAck {
                external_id: v.get("id").and_then(Value::as_str).map(str::to_string),
                already_existed: status == StatusCode::OK,
                order_status: v
                    .get("order_status")
                    .and_then(Value::as_str)
                    .map(mapping::order_status),
            }),
            Err(ChannelError::Ambiguous { message }) => {
                // A re-check that fails proves nothing: the write stays ambiguous.
                let order = self
                    .client
                    .get(
                        "orders.get",
                        &format!("/v1/orders/{}", path_segment(&s.order_external_id)),
                        &[],
                    )
                    .await
                    .map_err(|e| ChannelError::Ambiguous {
                        message: format!("{message}; re-check failed: {e}"),
                    })?;
                let found = order
                    .get("shipments")
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter().find(|x| {
                            x.get("tracking_number").and_then(Value::as_str)
                                == Some(&s.tracking_number)
                        })
                    });
                match found {
                    Some(x) => Ok(ShipmentAck {
                        external_id: x.get("id").and_then(Value::as_str).map(str::to_string),
                        already_existed: false,
                        order_status: order
                            .get("status")
                            .and_then(Value::as_str)
                            .map(mapping::order_status),
                    }),
                    // Checked: it was not applied, so sending it again is safe.
                    None => Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn cancel_order(&self, c: &Cancellation) -> Result<CancelAck, ChannelError> {
        let reason = match &c.reason_text {
            Some(t) => format!("{}: {t}", cancel_reason(c.reason)),
            None => cancel_reason(c.reason).to_string(),
        };
        let body = json!({"reason": reason, "lines": lines_json(&c.lines)?});
        let path = format!("/v1/orders/{}/cancel", path_segment(&c.order_external_id));
        let v = match self
            .client
            .write("orders.cancel", Method::POST, &path, &body)
            .await
        {
            Ok((_, v)) => v,
            // Whole-order cancellation: re-check the order's status before anyone re-sends.
            Err(ChannelError::Ambiguous { message }) if c.lines.is_empty() => {
                let order = self
                    .client
                    .get(
                        "orders.get",
                        &format!("/v1/orders/{}", path_segment(&c.order_external_id)),
                        &[],
                    )
                    .await
                    .map_err(|e| ChannelError::Ambiguous {
                        message: format!("{message}; re-check failed: {e}"),
                    })?;
                if order.get("status").and_then(Value::as_str) == Some("cancelled") {
                    json!({"already_cancelled": false, "order": order})
                } else {
                    return Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    });
                }
            }
            Err(e) => return Err(e),
        };
        Ok(CancelAck {
            already_cancelled: v
                .get("already_cancelled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            order_status: v
                .get("order")
                .and_then(|o| o.get("status"))
                .and_then(Value::as_str)
                .map(mapping::order_status),
            pending: None,
        })
    }

    async fn pull_returns(&self, query: &PageQuery) -> Result<Page<Return>, ChannelError> {
        self.list(
            "returns.list",
            "/v1/returns",
            "returns",
            query,
            mapping::map_return,
            |r: &Return| r.updated_at,
        )
        .await
    }

    async fn pull_settlements(&self, query: &PageQuery) -> Result<Page<Settlement>, ChannelError> {
        self.list(
            "settlements.list",
            "/v1/settlements",
            "settlements",
            query,
            mapping::map_settlement,
            |s: &Settlement| s.updated_at,
        )
        .await
    }

    fn verify_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), WebhookError> {
        let secret = self
            .config
            .webhook_secret
            .as_ref()
            .ok_or(WebhookError::Unsupported)?;
        webhooks::verify(
            headers,
            body,
            secret,
            jiff::Timestamp::now(),
            Duration::from_secs(self.config.connection.webhook_window_secs),
            self.config.connection.webhook_max_body,
        )
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        webhooks::parse(headers, body, jiff::Timestamp::now())
    }
}
