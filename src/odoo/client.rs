//! The connection to one Odoo: HTTP, version detection, protocol choice, authentication,
//! concurrency limit and the read-retry loop. Encoding and decoding are in `transport.rs`.

use super::error::{CallKind, OdooError, RetryKind};
use super::settings::{Protocol, SecretKind, Settings};
use super::transport::{self, Call, Credentials, Encoded, Expect};
use backon::{ExponentialBuilder, Retryable as _};
use odoo_wire::{OdooVersion, VersionMap};
use parking_lot::RwLock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// A connected, authenticated Odoo client. Cheap to clone; clones share the HTTP pool, the
/// concurrency limit and the secret.
#[derive(Clone)]
pub struct OdooClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooClient")
            .field("url", &self.inner.wire.base)
            .field("database", &self.inner.wire.database)
            .field("login", &self.inner.login)
            .field("version", &self.inner.version)
            .field("protocol", &self.inner.protocol)
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) wire: Wire,
    pub(crate) login: String,
    pub(crate) protocol: Protocol,
    pub(crate) requested_protocol: Protocol,
    pub(crate) secret_kind: SecretKind,
    pub(crate) version: OdooVersion,
    pub(crate) server_version: String,
    pub(crate) map: VersionMap,
    pub(crate) uid: i64,
    pub(crate) batch_size: usize,
    pub(crate) stock_product_batch: usize,
    /// Why `auto` did not pick what it normally would (shown by `check`).
    pub(crate) protocol_note: Option<String>,
}

/// HTTP to one Odoo: the pooled client, the base URL, the database, the secret and the
/// semaphore. Usable before authentication (for `common.version`).
pub(crate) struct Wire {
    http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) database: String,
    secret: RwLock<SecretString>,
    semaphore: Semaphore,
    timeout: Duration,
    retry: super::settings::RetryPolicy,
    rpc_id: AtomicU64,
    /// HTTP requests sent (retries included): the figure the benchmarks and `demo` report.
    calls: AtomicU64,
}

impl Wire {
    fn new(settings: &Settings) -> Result<Self, OdooError> {
        let http = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            // A redirected POST turns into a GET: report it instead of following it.
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .build()
            .map_err(|e| OdooError::Config(vec![format!("cannot build the HTTP client: {e}")]))?;
        Ok(Wire {
            http,
            base: settings.url.trim().trim_end_matches('/').to_owned(),
            database: settings.database.clone(),
            secret: RwLock::new(settings.secret.clone()),
            semaphore: Semaphore::new(settings.max_concurrency.max(1)),
            timeout: settings.timeout,
            retry: settings.retry.clone(),
            rpc_id: AtomicU64::new(1),
            calls: AtomicU64::new(0),
        })
    }

    fn next_id(&self) -> u64 {
        self.rpc_id.fetch_add(1, Ordering::Relaxed)
    }

    fn secret(&self) -> SecretString {
        self.secret.read().clone()
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.retry.base_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
    }

    /// One HTTP exchange, judged for `expect`. Never retries.
    async fn send_once(
        &self,
        protocol: Protocol,
        encoded: &Encoded,
        expect: &Expect,
        timeout: Option<Duration>,
    ) -> Result<Value, OdooError> {
        let url = format!("{}{}", self.base, encoded.path);
        let timeout = timeout.unwrap_or(self.timeout);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let _permit = self
            .semaphore
            .acquire()
            .await
            .map_err(|_| OdooError::InvalidCall("the Odoo client is shutting down".into()))?;
        let mut req = self
            .http
            .post(&url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, encoded.content_type)
            .header("X-Odoo-Database", &self.database)
            .body(encoded.body.clone());
        if encoded.bearer {
            let secret = self.secret();
            req = req.header(
                reqwest::header::AUTHORIZATION,
                format!("bearer {}", secret.expose_secret()),
            );
        }
        let raw = match req.send().await {
            Err(e) => Err(net_error(&e, &url, timeout)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                if (300..400).contains(&status) {
                    let to = resp
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("?")
                        .to_owned();
                    Err(OdooError::protocol(
                        format!("{url} redirects to {to}: set odoo.url to the final address"),
                        Some(status),
                    ))
                } else {
                    let ct = resp
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    match resp.bytes().await {
                        Ok(body) => {
                            let mut r = transport::decode_response(
                                protocol,
                                expect,
                                status,
                                ct.as_deref(),
                                &body,
                            );
                            if let Err(OdooError::Retryable {
                                retry_after: ra, ..
                            }) = &mut r
                            {
                                *ra = retry_after;
                            }
                            return r;
                        }
                        Err(e) => Err(net_error(&e, &url, timeout)),
                    }
                }
            }
        };
        transport::settle(expect, raw)
    }

    /// Send with the read-retry policy when `expect` is a read; exactly once for a write.
    async fn send(
        &self,
        protocol: Protocol,
        encode: impl Fn(u64) -> Result<Encoded, OdooError>,
        expect: &Expect,
        timeout: Option<Duration>,
    ) -> Result<Value, OdooError> {
        let attempt = || async {
            let encoded = encode(self.next_id())?;
            self.send_once(protocol, &encoded, expect, timeout).await
        };
        match expect.kind {
            CallKind::Write => attempt().await,
            CallKind::Read => {
                let cap = self.retry.max_delay;
                attempt
                    .retry(self.backoff())
                    .when(OdooError::is_retryable)
                    // Honour Retry-After within our cap; a longer wait fails now, so the caller's
                    // schedule decides rather than a read blocking for minutes.
                    .adjust(move |e, next| match (e, next) {
                        (
                            OdooError::Retryable {
                                retry_after: Some(ra),
                                ..
                            },
                            Some(d),
                        ) => (*ra <= cap).then(|| d.max(*ra)),
                        (_, next) => next,
                    })
                    .notify(|e, after| {
                        tracing::warn!(call = %expect.call, error = %e, retry_in = ?after, "Odoo read failed, retrying");
                    })
                    .await
            }
        }
    }

    /// A `common`-service call (version, authenticate) over JSON-RPC or XML-RPC.
    async fn common(
        &self,
        protocol: Protocol,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, OdooError> {
        let expect = Expect::read("(common)", method);
        self.send(
            protocol,
            |id| transport::encode_service(protocol, "common", method, args.clone(), id),
            &expect,
            None,
        )
        .await
    }
}

/// Map a transport failure. Connect errors (refused, DNS, TLS, connect timeout) happen before
/// anything is sent; anything later may have reached Odoo.
fn net_error(e: &reqwest::Error, url: &str, timeout: Duration) -> OdooError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_connect() {
        OdooError::Retryable {
            kind: RetryKind::Connect,
            message: format!("cannot connect to {url}: {detail}"),
            fault: None,
            retry_after: None,
        }
    } else if e.is_timeout() {
        OdooError::Timeout { after: timeout }
    } else {
        OdooError::Retryable {
            kind: RetryKind::ConnectionLost,
            message: format!("connection to {url} lost: {detail}"),
            fault: None,
            retry_after: None,
        }
    }
}

impl OdooClient {
    /// Detect the version (`common.version`), pick the protocol, authenticate, and for JSON-2
    /// prove the key with one cheap call.
    pub async fn connect(settings: Settings) -> Result<OdooClient, OdooError> {
        settings.validate().map_err(OdooError::Config)?;
        let wire = Wire::new(&settings)?;
        // The service protocol: XML-RPC only when asked for; JSON-RPC otherwise (JSON-2 has
        // no `common` service).
        let service = if settings.protocol == Protocol::XmlRpc {
            Protocol::XmlRpc
        } else {
            Protocol::JsonRpc
        };

        let info = wire.common(service, "version", vec![]).await?;
        let server_version = info
            .get("server_version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let version = info
            .get("server_version_info")
            .and_then(OdooVersion::from_version_info)
            .or_else(|| {
                info.get("server_serie")
                    .and_then(Value::as_str)
                    .and_then(OdooVersion::parse)
            })
            .or_else(|| OdooVersion::parse(&server_version))
            .ok_or_else(|| {
                OdooError::protocol(
                    format!("common.version gave no usable version: {info}"),
                    None,
                )
            })?;
        if !version.is_supported() {
            return Err(OdooError::UnsupportedVersion {
                version: server_version,
            });
        }
        let map = VersionMap::for_version(version);

        let mut protocol = match settings.protocol {
            Protocol::Auto if map.has_json2 && settings.secret_kind == SecretKind::ApiKey => {
                Protocol::Json2
            }
            Protocol::Auto => Protocol::JsonRpc,
            Protocol::Json2 if !map.has_json2 => {
                return Err(OdooError::Json2Unavailable {
                    version: server_version,
                });
            }
            p => p,
        };

        let secret = wire.secret();
        let uid = wire
            .common(
                service,
                "authenticate",
                vec![
                    json!(settings.database),
                    json!(settings.login),
                    json!(secret.expose_secret()),
                    json!({}),
                ],
            )
            .await?;
        let uid = match uid {
            Value::Number(n) if n.as_i64().is_some_and(|i| i > 0) => n.as_i64().unwrap_or(0),
            Value::Bool(false) => {
                return Err(OdooError::AccessDenied(Box::new(super::error::Fault::new(
                    service,
                    format!(
                        "common.authenticate refused login {:?} on database {:?}: wrong, expired or revoked API key or password",
                        settings.login, settings.database
                    ),
                ))));
            }
            other => {
                return Err(OdooError::protocol(
                    format!("common.authenticate answered {other}, expected a user id or false"),
                    None,
                ));
            }
        };

        let mut protocol_note = None;
        if protocol == Protocol::Json2 {
            // JSON-2 checks the bearer key on every call; prove it now, on the user itself.
            let probe = Call::read("res.users", "read")
                .ids(vec![uid])
                .arg("fields", json!(["login"]));
            let creds = Credentials {
                database: &settings.database,
                uid,
                secret: "",
            };
            let expect = probe.expect();
            let res = wire
                .send(
                    Protocol::Json2,
                    |id| transport::encode_call(Protocol::Json2, &probe, creds, id),
                    &expect,
                    None,
                )
                .await;
            match res {
                Ok(_) => {}
                Err(OdooError::AccessDenied(f)) if settings.protocol == Protocol::Auto => {
                    let note = format!(
                        "the secret works as a password but JSON-2 refused it as an API key ({}); using JSON-RPC. Create an API key to use JSON-2.",
                        f.message
                    );
                    tracing::warn!("{note}");
                    protocol_note = Some(note);
                    protocol = Protocol::JsonRpc;
                }
                Err(e) => return Err(e),
            }
        }

        tracing::info!(url = %wire.base, database = %settings.database, version = %version, %protocol, uid, "connected to Odoo");
        Ok(OdooClient {
            inner: Arc::new(Inner {
                wire,
                login: settings.login,
                protocol,
                requested_protocol: settings.protocol,
                secret_kind: settings.secret_kind,
                version,
                server_version,
                map,
                uid,
                batch_size: settings.batch_size,
                stock_product_batch: settings.stock_product_batch,
                protocol_note,
            }),
        })
    }

    pub fn version(&self) -> OdooVersion {
        self.inner.version
    }

    /// `server_version` as Odoo prints it (`"19.0"`, `"17.0+e"`, `"saas~18.4"`).
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }

    pub fn map(&self) -> &VersionMap {
        &self.inner.map
    }

    /// The protocol in use (never `Auto`).
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    pub fn uid(&self) -> i64 {
        self.inner.uid
    }

    pub fn url(&self) -> &str {
        &self.inner.wire.base
    }

    pub fn database(&self) -> &str {
        &self.inner.wire.database
    }

    pub fn login(&self) -> &str {
        &self.inner.login
    }

    pub fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    /// Replace the API key (rotation without restart). The next call uses it; calls in flight
    /// finish with the old one. The key must belong to the same user.
    pub fn set_secret(&self, secret: SecretString) {
        *self.inner.wire.secret.write() = secret;
    }

    /// Run one call: validated, encoded for the protocol in use, sent under the concurrency
    /// limit, retried if it is a read, judged for ambiguity if it is a write.
    /// HTTP requests this client has sent to Odoo so far (retries included).
    pub fn call_count(&self) -> u64 {
        self.inner.wire.calls.load(Ordering::Relaxed)
    }

    pub async fn execute(&self, call: Call) -> Result<Value, OdooError> {
        call.validate()?;
        let protocol = self.inner.protocol;
        let expect = call.expect();
        let wire = &self.inner.wire;
        let uid = self.inner.uid;
        wire.send(
            protocol,
            |id| {
                let secret = wire.secret();
                transport::encode_call(
                    protocol,
                    &call,
                    Credentials {
                        database: &wire.database,
                        uid,
                        secret: secret.expose_secret(),
                    },
                    id,
                )
            },
            &expect,
            call.timeout,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    #[test]
    fn backoff_honours_attempts() {
        let mut s = Settings::new("http://x", "d", "l", SecretString::from("k"));
        s.retry.max_attempts = 1;
        let w = Wire::new(&s).unwrap();
        assert_eq!(w.backoff().build().count(), 0);
        s.retry.max_attempts = 4;
        let w = Wire::new(&s).unwrap();
        assert_eq!(w.backoff().build().count(), 3);
    }
}
