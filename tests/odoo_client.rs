//! The client over real HTTP against mock Odoo servers: protocol choice, every error class,
//! read retries, writes never retried, ambiguity, paging, stock batching, headers.

use odoo_channels::odoo::transport::Call;
use odoo_channels::odoo::{
    CallKind, Domain, MessageKind, OdooClient, OdooError, Protocol, RetryKind, SearchOpts,
    SecretKind, Settings,
};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// ------------------------------------------------------------------------------------------
// Mock Odoo

fn settings(url: &str) -> Settings {
    let mut s = Settings::new(url, "demo", "admin", SecretString::from("the-key"));
    s.retry.base_delay = Duration::from_millis(1);
    s.retry.max_delay = Duration::from_millis(5);
    s.retry.max_attempts = 3;
    s.timeout = Duration::from_secs(5);
    s
}

fn rpc_body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

/// JSON-RPC `common.<m>` requests.
fn common(m: &'static str) -> impl Fn(&Request) -> bool {
    move |req: &Request| {
        req.url.path() == "/jsonrpc" && {
            let b = rpc_body(req);
            b["params"]["service"] == "common" && b["params"]["method"] == m
        }
    }
}

/// JSON-RPC `object.execute_kw(…, model, method, …)` requests.
fn execute_kw(model: &'static str, m: &'static str) -> impl Fn(&Request) -> bool {
    move |req: &Request| {
        req.url.path() == "/jsonrpc" && {
            let b = rpc_body(req);
            b["params"]["method"] == "execute_kw"
                && b["params"]["args"][3] == model
                && b["params"]["args"][4] == m
        }
    }
}

fn jsonrpc_result(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"jsonrpc": "2.0", "id": 1, "result": v}))
}

fn jsonrpc_error(name: &str, message: &str, code: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "jsonrpc": "2.0", "id": 1,
        "error": {"code": code, "message": "Odoo Server Error",
                  "data": {"name": name, "message": message, "arguments": [message], "context": {},
                           "debug": "Traceback (most recent call last):\n  File \"x.py\", line 1\n"}}
    }))
}

fn json2_error(status: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "name": name, "message": message, "arguments": [message], "context": {},
        "debug": "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
    }))
}

fn version_info(v: &str) -> Value {
    let (major, minor) = v.split_once('.').unwrap();
    json!({
        "server_version": v,
        "server_version_info": [major.parse::<i64>().unwrap(), minor.parse::<i64>().unwrap(), 0, "final", 0, ""],
        "server_serie": v,
        "protocol_version": 1
    })
}

/// A mock Odoo answering `common.version` and `common.authenticate` over JSON-RPC, and the
/// JSON-2 key probe.
async fn odoo(version: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info(version)))
        .mount(&server)
        .await;
    Mock::given(common("authenticate"))
        .respond_with(jsonrpc_result(json!(2)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 2, "login": "admin"}])),
        )
        .mount(&server)
        .await;
    server
}

async fn count(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

async fn client(server: &MockServer) -> OdooClient {
    OdooClient::connect(settings(&server.uri())).await.unwrap()
}

// ------------------------------------------------------------------------------------------
// Connecting and choosing the protocol

#[tokio::test]
async fn auto_picks_jsonrpc_on_18() {
    let server = odoo("18.0").await;
    let c = client(&server).await;
    assert_eq!(c.protocol(), Protocol::JsonRpc);
    assert_eq!(c.version().major, 18);
    assert_eq!(c.uid(), 2);
    assert_eq!(count(&server, "/json/2/res.users/read").await, 0);
}

#[tokio::test]
async fn auto_picks_json2_on_19_with_an_api_key_and_proves_the_key() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    assert_eq!(c.protocol(), Protocol::Json2);
    let probes: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/json/2/res.users/read")
        .collect();
    assert_eq!(probes.len(), 1);
    assert_eq!(
        probes[0].headers.get("authorization").unwrap(),
        "bearer the-key"
    );
    assert_eq!(probes[0].headers.get("x-odoo-database").unwrap(), "demo");
    assert_eq!(rpc_body(&probes[0])["ids"], json!([2]));
}

#[tokio::test]
async fn auto_keeps_jsonrpc_on_19_with_a_password() {
    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.secret_kind = SecretKind::Password;
    let c = OdooClient::connect(s).await.unwrap();
    assert_eq!(c.protocol(), Protocol::JsonRpc);
}

#[tokio::test]
async fn auto_falls_back_to_jsonrpc_when_json2_refuses_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(json2_error(
            401,
            "werkzeug.exceptions.Unauthorized",
            "Invalid apikey",
        ))
        .mount(&server)
        .await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info("19.0")))
        .mount(&server)
        .await;
    Mock::given(common("authenticate"))
        .respond_with(jsonrpc_result(json!(2)))
        .mount(&server)
        .await;
    let c = client(&server).await;
    assert_eq!(c.protocol(), Protocol::JsonRpc);
    let findings = odoo_channels::odoo::diagnostics::inspect(&c).await;
    assert!(
        findings
            .problems
            .iter()
            .any(|p| p.message.contains("refused it as an API key"))
    );

    // Asked for explicitly, the refusal is an error.
    let mut s = settings(&server.uri());
    s.protocol = Protocol::Json2;
    assert!(matches!(
        OdooClient::connect(s).await,
        Err(OdooError::AccessDenied(_))
    ));
}

#[tokio::test]
async fn explicit_choices_are_honoured_and_json2_on_18_is_a_clear_error() {
    let server = odoo("18.0").await;
    let mut s = settings(&server.uri());
    s.protocol = Protocol::Json2;
    let e = OdooClient::connect(s).await.unwrap_err();
    assert!(matches!(e, OdooError::Json2Unavailable { .. }), "{e:?}");
    assert!(e.to_string().contains("18.0"));

    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.protocol = Protocol::JsonRpc;
    assert_eq!(
        OdooClient::connect(s).await.unwrap().protocol(),
        Protocol::JsonRpc
    );
}

#[tokio::test]
async fn connect_errors_are_classified() {
    // Wrong key: authenticate answers false.
    let server = MockServer::start().await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info("17.0")))
        .mount(&server)
        .await;
    Mock::given(common("authenticate"))
        .respond_with(jsonrpc_result(json!(false)))
        .mount(&server)
        .await;
    let e = OdooClient::connect(settings(&server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::AccessDenied(_)), "{e:?}");

    // Unknown database.
    let server = MockServer::start().await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info("17.0")))
        .mount(&server)
        .await;
    Mock::given(common("authenticate"))
        .respond_with(jsonrpc_error(
            "psycopg2.OperationalError",
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"demo\" does not exist\n",
            200,
        ))
        .mount(&server)
        .await;
    let e = OdooClient::connect(settings(&server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::DatabaseNotFound(_)), "{e:?}");

    // Unsupported version.
    let server = MockServer::start().await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info("15.0")))
        .mount(&server)
        .await;
    let e = OdooClient::connect(settings(&server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::UnsupportedVersion { .. }), "{e:?}");

    // No Odoo at that URL.
    let server = MockServer::start().await;
    let e = OdooClient::connect(settings(&server.uri()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OdooError::Protocol {
                status: Some(404),
                ..
            }
        ),
        "{e:?}"
    );

    // Invalid settings are all reported, nothing is sent.
    let mut s = settings("ftp://x");
    s.database.clear();
    let e = OdooClient::connect(s).await.unwrap_err();
    assert!(matches!(&e, OdooError::Config(p) if p.len() == 2), "{e:?}");
}

#[tokio::test]
async fn check_reports_an_unreachable_host_with_its_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let f = odoo_channels::odoo::diagnostics::check(settings(&url)).await;
    assert!(!f.is_ok());
    assert!(f.problems[0].message.contains(&url), "{:?}", f.problems);
    assert!(
        f.problems[0].message.contains("cannot reach"),
        "{:?}",
        f.problems
    );
}

// ------------------------------------------------------------------------------------------
// Every error class, over JSON-2 and JSON-RPC

#[tokio::test]
async fn every_json2_error_class() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    let cases: Vec<(&str, ResponseTemplate, &str)> = vec![
        (
            "a1",
            json2_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey"),
            "access_denied",
        ),
        (
            "a2",
            json2_error(403, "odoo.exceptions.AccessError", "You are not allowed"),
            "access_error",
        ),
        (
            "a3",
            json2_error(
                422,
                "odoo.exceptions.UserError",
                "Some orders are not in a state requiring confirmation.",
            ),
            "user_error",
        ),
        (
            "a4",
            json2_error(
                422,
                "odoo.exceptions.ValidationError",
                "The operation cannot be completed: unique",
            ),
            "validation_error",
        ),
        (
            "a5",
            json2_error(
                404,
                "odoo.exceptions.MissingError",
                "Record does not exist or has been deleted.",
            ),
            "missing_record",
        ),
        (
            "a6",
            json2_error(
                404,
                "werkzeug.exceptions.NotFound",
                "the model 'no.such' does not exist",
            ),
            "unknown_model",
        ),
        (
            "a7",
            json2_error(
                404,
                "werkzeug.exceptions.NotFound",
                "The method 'x.y' does not exist",
            ),
            "unknown_method",
        ),
        (
            "a8",
            json2_error(500, "builtins.ValueError", "Invalid field 'x' on 'y'"),
            "invalid_field",
        ),
        (
            "a9",
            json2_error(
                422,
                "werkzeug.exceptions.UnprocessableEntity",
                "cannot call x.search with ids",
            ),
            "bad_arguments",
        ),
        (
            "b1",
            json2_error(500, "builtins.KeyError", "boom"),
            "server_error",
        ),
        (
            "b2",
            json2_error(
                400,
                "werkzeug.exceptions.BadRequest",
                "could not parse the body as json",
            ),
            "protocol",
        ),
        (
            "b3",
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>login</html>"),
            "protocol",
        ),
        (
            "b4",
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string("[1, 2"),
            "protocol",
        ),
    ];
    for (m, template, _) in &cases {
        Mock::given(method("POST"))
            .and(path(format!("/json/2/res.partner/{m}")))
            .respond_with(template.clone())
            .mount(&server)
            .await;
    }
    for (m, _, class) in &cases {
        let e = c
            .call(
                "res.partner",
                m,
                Some(&[1]),
                Map::new(),
                None,
                CallKind::Read,
            )
            .await
            .unwrap_err();
        assert_eq!(e.class(), *class, "{m}: {e}");
        // Odoo's message is kept, the traceback is not displayed.
        assert!(!e.to_string().contains("Traceback"), "{m}: {e}");
    }
    // Private methods are refused before anything is sent.
    let before = server.received_requests().await.unwrap().len();
    let e = c
        .call(
            "product.product",
            "_compute_display_name",
            Some(&[1]),
            Map::new(),
            None,
            CallKind::Read,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::InvalidCall(_)), "{e:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn every_jsonrpc_error_class() {
    let server = odoo("17.0").await;
    let c = client(&server).await;
    let cases: Vec<(&'static str, ResponseTemplate, &str)> = vec![
        (
            "m1",
            jsonrpc_error("odoo.exceptions.AccessDenied", "Access Denied", 200),
            "access_denied",
        ),
        (
            "m2",
            jsonrpc_error("odoo.exceptions.AccessError", "nope", 200),
            "access_error",
        ),
        (
            "m3",
            jsonrpc_error(
                "odoo.exceptions.UserError",
                "Object no.such doesn't exist",
                200,
            ),
            "unknown_model",
        ),
        (
            "m4",
            jsonrpc_error(
                "builtins.AttributeError",
                "The method 'x.m4' does not exist on the model 'x'",
                200,
            ),
            "unknown_method",
        ),
        (
            "m5",
            jsonrpc_error("odoo.http.SessionExpiredException", "Session expired", 100),
            "session_expired",
        ),
        (
            "m6",
            jsonrpc_error(
                "psycopg2.errors.SerializationFailure",
                "could not serialize access due to concurrent update",
                200,
            ),
            "retryable",
        ),
        (
            "m7",
            jsonrpc_error(
                "builtins.TypeError",
                "search() got an unexpected keyword argument 'x'",
                200,
            ),
            "bad_arguments",
        ),
        (
            "m8",
            ResponseTemplate::new(400).set_body_string("Invalid JSON data"),
            "protocol",
        ),
    ];
    for (m, template, _) in &cases {
        Mock::given(execute_kw("res.partner", m))
            .respond_with(template.clone())
            .mount(&server)
            .await;
    }
    for (m, _, class) in &cases {
        // Writes, so that the retryable one is not retried and the count stays simple.
        let e = c
            .call(
                "res.partner",
                m,
                Some(&[1]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await
            .unwrap_err();
        assert_eq!(e.class(), *class, "{m}: {e}");
    }
}

// ------------------------------------------------------------------------------------------
// Retries and ambiguity

/// Answers `first` for the first `n` requests, then `then`.
struct FailThen {
    hits: AtomicUsize,
    n: usize,
    first: ResponseTemplate,
    then: ResponseTemplate,
}

impl Respond for FailThen {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.hits.fetch_add(1, Ordering::SeqCst) < self.n {
            self.first.clone()
        } else {
            self.then.clone()
        }
    }
}

fn fail_then(n: usize, first: ResponseTemplate, then: ResponseTemplate) -> FailThen {
    FailThen {
        hits: AtomicUsize::new(0),
        n,
        first,
        then,
    }
}

#[tokio::test]
async fn a_read_is_retried_on_503_and_succeeds() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/res.partner/search_count"))
        .respond_with(fail_then(
            2,
            ResponseTemplate::new(503),
            ResponseTemplate::new(200).set_body_json(json!(49)),
        ))
        .mount(&server)
        .await;
    let n = c
        .search_count("res.partner", &Domain::new(), None)
        .await
        .unwrap();
    assert_eq!(n, 49);
    assert_eq!(count(&server, "/json/2/res.partner/search_count").await, 3);
}

#[tokio::test]
async fn a_read_is_retried_on_a_serialization_failure_and_succeeds() {
    let server = odoo("18.0").await;
    let c = client(&server).await;
    Mock::given(execute_kw("stock.quant", "search_read"))
        .respond_with(fail_then(
            1,
            jsonrpc_error(
                "psycopg2.errors.SerializationFailure",
                "could not serialize access due to concurrent update",
                200,
            ),
            jsonrpc_result(json!([{"id": 1}])),
        ))
        .mount(&server)
        .await;
    let rows = c
        .search_read(
            "stock.quant",
            &Domain::new(),
            &["id"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(rows, vec![json!({"id": 1})]);
    assert_eq!(count(&server, "/jsonrpc").await, 2 + 2);
}

#[tokio::test]
async fn a_read_gives_up_after_max_attempts() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/res.partner/search_count"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let e = c
        .search_count("res.partner", &Domain::new(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OdooError::Retryable {
                kind: RetryKind::Http(502),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(count(&server, "/json/2/res.partner/search_count").await, 3);
}

#[tokio::test]
async fn a_write_is_never_retried_and_a_gateway_error_makes_it_ambiguous() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    for status in [502u16, 504] {
        let p = format!("/json/2/sale.order/m{status}");
        Mock::given(path(p.clone()))
            .respond_with(fail_then(
                1,
                ResponseTemplate::new(status),
                ResponseTemplate::new(200).set_body_json(json!(true)),
            ))
            .mount(&server)
            .await;
        let e = c
            .call(
                "sale.order",
                &format!("m{status}"),
                Some(&[1]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await
            .unwrap_err();
        match &e {
            OdooError::AmbiguousWrite { call, cause } => {
                assert_eq!(call.method, format!("m{status}"));
                assert_eq!(call.ids, Some(vec![1]));
                assert_eq!(cause.http_status(), Some(status));
            }
            other => panic!("{status}: expected AmbiguousWrite, got {other:?}"),
        }
        assert!(e.is_ambiguous() && !e.is_retryable());
        assert_eq!(count(&server, &p).await, 1, "{status} was retried");
    }
}

/// 503 means "declined, not processed": the write is not retried, but it is reported as safe
/// to retry rather than ambiguous.
#[tokio::test]
async fn a_write_answered_503_is_not_retried_and_not_ambiguous() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/sale.order/action_confirm"))
        .respond_with(fail_then(
            1,
            ResponseTemplate::new(503),
            ResponseTemplate::new(200).set_body_json(json!(true)),
        ))
        .mount(&server)
        .await;
    let e = c
        .call(
            "sale.order",
            "action_confirm",
            Some(&[1]),
            Map::new(),
            None,
            CallKind::Write,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OdooError::Retryable {
                kind: RetryKind::Http(503),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_ambiguous() && e.is_retryable());
    assert_eq!(count(&server, "/json/2/sale.order/action_confirm").await, 1);
}

#[tokio::test]
async fn a_write_that_times_out_is_ambiguous_and_sent_once() {
    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.timeout = Duration::from_millis(300);
    let c = OdooClient::connect(s).await.unwrap();
    Mock::given(path("/json/2/sale.order/create"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([7]))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let e = c.create("sale.order", Map::new(), None).await.unwrap_err();
    match &e {
        OdooError::AmbiguousWrite { cause, .. } => {
            assert!(matches!(**cause, OdooError::Timeout { .. }), "{cause:?}")
        }
        other => panic!("expected AmbiguousWrite, got {other:?}"),
    }
    assert_eq!(count(&server, "/json/2/sale.order/create").await, 1);

    // The same timeout on a read is retried.
    Mock::given(path("/json/2/sale.order/search_count"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!(1))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let e = c
        .search_count("sale.order", &Domain::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::Timeout { .. }), "{e:?}");
    assert_eq!(count(&server, "/json/2/sale.order/search_count").await, 3);
}

// A raw HTTP/1.1 server: answers `common` calls, drops the connection on everything else.

#[derive(Default)]
struct Raw {
    resets: AtomicUsize,
}

async fn raw_odoo() -> (String, Arc<Raw>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Raw::default());
    let st = state.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read headers and body (Content-Length).
                let body = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(h) = text.find("\r\n\r\n") {
                        let len = text[..h]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= h + 4 + len {
                            break String::from_utf8_lossy(&buf[h + 4..h + 4 + len]).to_string();
                        }
                    }
                };
                let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let result = match req["params"]["method"].as_str() {
                    Some("version") => version_info("18.0"),
                    Some("authenticate") => json!(2),
                    _ => {
                        st.resets.fetch_add(1, Ordering::SeqCst);
                        // Drop without answering: the request was received.
                        return;
                    }
                };
                let out = json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, state, task)
}

#[tokio::test]
async fn a_connection_lost_after_sending_makes_a_write_ambiguous_and_a_read_retried() {
    let (url, state, _task) = raw_odoo().await;
    let c = OdooClient::connect(settings(&url)).await.unwrap();
    let e = c
        .write("sale.order", &[1], Map::new(), None)
        .await
        .unwrap_err();
    match &e {
        OdooError::AmbiguousWrite { cause, .. } => assert!(
            matches!(
                **cause,
                OdooError::Retryable {
                    kind: RetryKind::ConnectionLost,
                    ..
                }
            ),
            "{cause:?}"
        ),
        other => panic!("expected AmbiguousWrite, got {other:?}"),
    }
    assert_eq!(
        state.resets.load(Ordering::SeqCst),
        1,
        "the write was sent more than once"
    );

    let e = c
        .search_count("sale.order", &Domain::new(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OdooError::Retryable {
                kind: RetryKind::ConnectionLost,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(state.resets.load(Ordering::SeqCst), 1 + 3);
}

#[tokio::test]
async fn a_refused_connection_is_safe_to_retry_even_for_a_write() {
    let (url, state, task) = raw_odoo().await;
    let c = OdooClient::connect(settings(&url)).await.unwrap();
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = c.create("sale.order", Map::new(), None).await.unwrap_err();
    assert!(
        matches!(
            e,
            OdooError::Retryable {
                kind: RetryKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable() && !e.is_ambiguous());
    assert!(e.to_string().contains(&url), "{e}");
    assert_eq!(state.resets.load(Ordering::SeqCst), 0);
}

// ------------------------------------------------------------------------------------------
// XML-RPC

fn xml_result(v: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_string(
            odoo_wire::xmlrpc::encode_response(v, odoo_wire::xmlrpc::Marshal::OdooServer).unwrap(),
        )
}

fn xml_fault(code: Value, string: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_string(odoo_wire::xmlrpc::encode_fault(&code, string))
}

fn xml_method(
    method_name: &'static str,
    model_method: Option<&'static str>,
) -> impl Fn(&Request) -> bool {
    move |req: &Request| {
        let Ok(call) = odoo_wire::xmlrpc::decode_call(&String::from_utf8_lossy(&req.body)) else {
            return false;
        };
        call.method == method_name
            && model_method.is_none_or(|m| call.params.get(4).and_then(Value::as_str) == Some(m))
    }
}

async fn xml_odoo() -> (MockServer, OdooClient) {
    let server = MockServer::start().await;
    Mock::given(path("/xmlrpc/2/common"))
        .and(xml_method("version", None))
        .respond_with(xml_result(&version_info("16.0")))
        .mount(&server)
        .await;
    Mock::given(path("/xmlrpc/2/common"))
        .and(xml_method("authenticate", None))
        .respond_with(xml_result(&json!(2)))
        .mount(&server)
        .await;
    let mut s = settings(&server.uri());
    s.protocol = Protocol::XmlRpc;
    let c = OdooClient::connect(s).await.unwrap();
    assert_eq!(c.protocol(), Protocol::XmlRpc);
    (server, c)
}

const MARSHAL_NONE: &str = "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/addons/base/controllers/rpc.py\", line 1, in xmlrpc_2\n    response = self._xmlrpc(service)\n  File \"/usr/lib/python3.11/xmlrpc/client.py\", line 540, in dump_nil\n    raise TypeError(\"cannot marshal None unless allow_none is enabled\")\nTypeError: cannot marshal None unless allow_none is enabled\n";

#[tokio::test]
async fn xmlrpc_cannot_marshal_none_is_ambiguous_unless_the_call_returns_none() {
    let (server, c) = xml_odoo().await;
    Mock::given(path("/xmlrpc/2/object"))
        .and(xml_method("execute_kw", Some("do_unreserve")))
        .respond_with(xml_fault(json!(1), MARSHAL_NONE))
        .mount(&server)
        .await;
    let call = Call::write("stock.picking", "do_unreserve").ids(vec![58]);
    let e = c.execute(call.clone()).await.unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    assert_eq!(c.execute(call.returns_none()).await.unwrap(), Value::Null);
    // Two calls, two requests: nothing was retried.
    assert_eq!(count(&server, "/xmlrpc/2/object").await, 2);
}

#[tokio::test]
async fn xmlrpc_fault_codes_map_to_classes() {
    let (server, c) = xml_odoo().await;
    let cases: Vec<(&'static str, Value, String, &str)> = vec![
        ("f1", json!(2), "Object no.such doesn't exist".into(), "unknown_model"),
        ("f2", json!(2), "Record does not exist or has been deleted.\n(Record: x(1,), User: 2)".into(), "missing_record"),
        ("f3", json!(2), "Nothing to check the availability for.".into(), "user_error"),
        ("f4", json!(3), "Access Denied".into(), "access_denied"),
        ("f5", json!(4), "Private methods (such as 'x._y') cannot be called remotely.".into(), "access_error"),
        ("f6", json!(1), "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n    g()\nValueError: Invalid field 'x' on 'y'\n".into(), "invalid_field"),
        ("f7", json!(1), "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n    g()\npsycopg2.errors.SerializationFailure: could not serialize access due to concurrent update\n".into(), "retryable"),
        ("f8", json!("warning -- MissingError\n\nRecord does not exist"), String::new(), "missing_record"),
        ("f9", json!("AccessDenied"), "Access Denied".into(), "access_denied"),
    ];
    for (m, code, string, _) in &cases {
        Mock::given(path("/xmlrpc/2/object"))
            .and(xml_method("execute_kw", Some(m)))
            .respond_with(xml_fault(code.clone(), string))
            .mount(&server)
            .await;
    }
    for (m, _, _, class) in &cases {
        let e = c
            .call(
                "res.partner",
                m,
                Some(&[1]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await
            .unwrap_err();
        assert_eq!(e.class(), *class, "{m}: {e}");
    }
}

// ------------------------------------------------------------------------------------------
// Paging, stock, normalisation, headers

/// `search_read` over ids 1..=N with gaps, honouring `('id', '>', x)`, `order='id asc'` and
/// `limit`, like Odoo.
struct KeysetTable {
    ids: Vec<i64>,
}

fn leaves(domain: &Value) -> Vec<(String, String, Value)> {
    domain
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let a = i.as_array()?;
                    Some((
                        a[0].as_str()?.to_owned(),
                        a[1].as_str()?.to_owned(),
                        a[2].clone(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Respond for KeysetTable {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["order"], "id asc");
        let after = leaves(&body["domain"])
            .iter()
            .find(|(f, o, _)| f == "id" && o == ">")
            .and_then(|(_, _, v)| v.as_i64())
            .unwrap_or(0);
        let limit = body["limit"].as_u64().unwrap() as usize;
        let rows: Vec<Value> = self
            .ids
            .iter()
            .filter(|i| **i > after)
            .take(limit)
            .map(|i| json!({"id": i, "name": format!("P{i}")}))
            .collect();
        ResponseTemplate::new(200).set_body_json(rows)
    }
}

#[tokio::test]
async fn paging_returns_every_record_once_in_id_order() {
    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.batch_size = 1000;
    let c = OdooClient::connect(s).await.unwrap();
    let ids: Vec<i64> = (1..=2600).filter(|i| i % 7 != 0).collect(); // 2229 ids with gaps
    Mock::given(path("/json/2/product.product/search_read"))
        .respond_with(KeysetTable { ids: ids.clone() })
        .mount(&server)
        .await;
    let rows = c
        .search_read_all(
            "product.product",
            &Domain::leaf("active", "=", true),
            &["name"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let got: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(got, ids);
    assert_eq!(
        count(&server, "/json/2/product.product/search_read").await,
        3
    );
    // The caller's domain is kept on every page; `id` was added to the fields.
    for req in server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("search_read"))
    {
        let body = rpc_body(req);
        assert!(
            leaves(&body["domain"])
                .iter()
                .any(|(f, _, _)| f == "active")
        );
        assert_eq!(body["fields"], json!(["name", "id"]));
    }
    // An exact multiple of the page size ends with one empty page.
    let server2 = odoo("19.0").await;
    let mut s = settings(&server2.uri());
    s.batch_size = 500;
    let c = OdooClient::connect(s).await.unwrap();
    Mock::given(path("/json/2/product.product/search_read"))
        .respond_with(KeysetTable {
            ids: (1..=1000).collect(),
        })
        .mount(&server2)
        .await;
    let rows = c
        .search_read_all(
            "product.product",
            &Domain::new(),
            &[],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!(
        count(&server2, "/json/2/product.product/search_read").await,
        3
    );
}

/// `stock.quant.search_read`: two quants per product in warehouse 1, one in warehouse 2.
struct Quants;

impl Respond for Quants {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert!(body["load"].is_null() && body.as_object().unwrap().contains_key("load"));
        let ls = leaves(&body["domain"]);
        assert!(
            ls.iter()
                .any(|(f, o, v)| f == "location_id.usage" && o == "=" && v == "internal")
        );
        let whs: Vec<i64> = ls
            .iter()
            .find(|(f, _, _)| f == "warehouse_id")
            .map(|(_, _, v)| serde_json::from_value(v.clone()).unwrap())
            .unwrap_or_else(|| vec![1, 2]);
        let products: Vec<i64> = ls
            .iter()
            .find(|(f, _, _)| f == "product_id")
            .map(|(_, _, v)| serde_json::from_value(v.clone()).unwrap())
            .unwrap();
        let mut rows = Vec::new();
        for p in products {
            if whs.contains(&1) {
                rows.push(json!({"id": p * 10, "product_id": p, "warehouse_id": 1, "quantity": 2.5, "reserved_quantity": 1.0}));
                rows.push(json!({"id": p * 10 + 1, "product_id": p, "warehouse_id": 1, "quantity": 0.1, "reserved_quantity": 0.0}));
            }
            if whs.contains(&2) {
                rows.push(json!({"id": p * 10 + 2, "product_id": p, "warehouse_id": 2, "quantity": 0.2, "reserved_quantity": 0.0}));
            }
        }
        ResponseTemplate::new(200).set_body_json(rows)
    }
}

#[tokio::test]
async fn ten_thousand_skus_cost_at_most_three_calls() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/stock.quant/search_read"))
        .respond_with(Quants)
        .mount(&server)
        .await;
    let all: Vec<i64> = (1..=10_000).collect();
    Mock::given(path("/json/2/product.product/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(all)))
        .mount(&server)
        .await;

    let levels = c.stock_levels(Some(&all), &[1]).await.unwrap();
    assert_eq!(count(&server, "/json/2/stock.quant/search_read").await, 2);
    assert_eq!(levels.len(), 10_000);
    assert!(levels.iter().all(|l| l.warehouse_id == 1
        && l.on_hand == rust_decimal_macros::dec!(2.6)
        && l.reserved == rust_decimal_macros::dec!(1)));

    let levels = c.stock_levels(None, &[]).await.unwrap();
    assert_eq!(count(&server, "/json/2/product.product/search").await, 1);
    assert_eq!(count(&server, "/json/2/stock.quant/search_read").await, 4);
    assert_eq!(levels.len(), 20_000);
    assert_eq!(levels[1].warehouse_id, 2);
    assert_eq!(levels[1].on_hand, rust_decimal_macros::dec!(0.2));
    // The storable domain came from the version map.
    let search = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/json/2/product.product/search")
        .unwrap();
    assert_eq!(
        rpc_body(&search)["domain"],
        json!([["is_storable", "=", true]])
    );
}

#[tokio::test]
async fn incoming_sends_both_warehouse_context_keys() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/product.product/read"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!([{"id": 5, "incoming_qty": 3.0}, {"id": 4, "incoming_qty": 0.5}]),
            ),
        )
        .mount(&server)
        .await;
    let got = c.incoming(&[4, 5], 3).await.unwrap();
    assert_eq!(
        got,
        vec![
            (4, rust_decimal_macros::dec!(0.5)),
            (5, rust_decimal_macros::dec!(3))
        ]
    );
    let req = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/json/2/product.product/read")
        .unwrap();
    assert_eq!(
        rpc_body(&req)["context"],
        json!({"warehouse_id": 3, "warehouse": 3})
    );
}

#[tokio::test]
async fn grouped_sums_use_the_method_the_version_has() {
    // 18: read_group(lazy=False) over JSON-RPC.
    let server = odoo("18.0").await;
    let c = client(&server).await;
    Mock::given(execute_kw("stock.quant", "read_group"))
        .respond_with(jsonrpc_result(
            json!([{"product_id": [15, "Desk"], "__count": 2, "quantity": 65.0, "__domain": []}]),
        ))
        .mount(&server)
        .await;
    let rows = c
        .grouped_sums(
            "stock.quant",
            &Domain::new(),
            &["product_id"],
            &["quantity"],
        )
        .await
        .unwrap();
    assert_eq!(
        (rows[0].count, rows[0].sums["quantity"]),
        (Some(2), rust_decimal_macros::dec!(65))
    );
    let req = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .rfind(|r| r.url.path() == "/jsonrpc")
        .unwrap();
    let kwargs = &rpc_body(&req)["params"]["args"][6];
    assert_eq!(kwargs["lazy"], false);
    assert_eq!(kwargs["fields"], json!(["quantity:sum"]));

    // 19: formatted_read_group over JSON-2.
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/stock.quant/formatted_read_group"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"product_id": [15, "Desk"], "__extra_domain": [], "quantity:sum": 65.0, "__count": 2}])))
        .mount(&server)
        .await;
    let rows19 = c
        .grouped_sums(
            "stock.quant",
            &Domain::new(),
            &["product_id"],
            &["quantity"],
        )
        .await
        .unwrap();
    assert_eq!(rows, rows19);
    let req = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("formatted_read_group"))
        .unwrap();
    assert_eq!(
        rpc_body(&req)["aggregates"],
        json!(["quantity:sum", "__count"])
    );
}

#[tokio::test]
async fn create_and_message_post_normalise_int_and_list_answers() {
    let server = odoo("17.0").await;
    let c = client(&server).await;
    Mock::given(execute_kw("sale.order", "create"))
        .respond_with(jsonrpc_result(json!([36])))
        .mount(&server)
        .await;
    Mock::given(execute_kw("sale.order", "message_post"))
        .respond_with(jsonrpc_result(json!(637)))
        .mount(&server)
        .await;
    Mock::given(execute_kw("res.partner", "message_post"))
        .respond_with(jsonrpc_result(json!([638])))
        .mount(&server)
        .await;
    let mut vals = Map::new();
    vals.insert("partner_id".into(), json!(15));
    assert_eq!(c.create("sale.order", vals, None).await.unwrap(), 36);
    assert_eq!(
        c.message_post("sale.order", 36, "<p>hi</p>", MessageKind::Note)
            .await
            .unwrap(),
        637
    );
    assert_eq!(
        c.message_post("res.partner", 15, "<p>hi</p>", MessageKind::Comment)
            .await
            .unwrap(),
        638
    );
    let reqs = server.received_requests().await.unwrap();
    let create = reqs
        .iter()
        .map(rpc_body)
        .find(|b| b["params"]["args"][4] == "create")
        .unwrap();
    // `create` goes positional (`args[0]` decides int-or-list in Odoo's call_kw).
    assert_eq!(create["params"]["args"][5], json!([[{"partner_id": 15}]]));
    let post = reqs
        .iter()
        .map(rpc_body)
        .find(|b| b["params"]["args"][4] == "message_post")
        .unwrap();
    assert_eq!(post["params"]["args"][5], json!([[36]]));
    assert_eq!(post["params"]["args"][6]["subtype_xmlid"], "mail.mt_note");
}

#[tokio::test]
async fn every_request_names_the_database_and_a_rotated_key_is_used_at_once() {
    let server = odoo("19.0").await;
    let c = client(&server).await;
    Mock::given(path("/json/2/res.partner/search_count"))
        .and(header("authorization", "bearer new-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(2)))
        .mount(&server)
        .await;
    Mock::given(path("/json/2/res.partner/search_count"))
        .respond_with(json2_error(
            401,
            "werkzeug.exceptions.Unauthorized",
            "Invalid apikey",
        ))
        .mount(&server)
        .await;
    let e = c
        .search_count("res.partner", &Domain::new(), None)
        .await
        .unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    c.clone().set_secret(SecretString::from("new-key"));
    assert_eq!(
        c.search_count("res.partner", &Domain::new(), None)
            .await
            .unwrap(),
        2
    );
    for r in server.received_requests().await.unwrap() {
        assert_eq!(
            r.headers
                .get("x-odoo-database")
                .map(|v| v.to_str().unwrap()),
            Some("demo"),
            "{}",
            r.url
        );
    }
}

#[tokio::test]
async fn at_most_max_concurrency_calls_are_in_flight() {
    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.max_concurrency = 1;
    let c = OdooClient::connect(s).await.unwrap();
    Mock::given(path("/json/2/res.partner/search_count"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!(1))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let all = Domain::new();
    let start = std::time::Instant::now();
    let (a, b) = tokio::join!(
        c.search_count("res.partner", &all, None),
        c.search_count("res.partner", &all, None)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (1, 1));
    // Serialised by the semaphore: at least two delays (a lower bound only, never flaky).
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/jsonrpc"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("location", "https://erp.example.com/jsonrpc"),
        )
        .mount(&server)
        .await;
    let e = OdooClient::connect(settings(&server.uri()))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("https://erp.example.com/jsonrpc"),
        "{e}"
    );
    assert_eq!(count(&server, "/jsonrpc").await, 1);
}

#[tokio::test]
async fn inspect_reports_user_company_warehouses_products_and_addon() {
    let server = MockServer::start().await;
    Mock::given(common("version"))
        .respond_with(jsonrpc_result(version_info("19.0")))
        .mount(&server)
        .await;
    Mock::given(common("authenticate"))
        .respond_with(jsonrpc_result(json!(2)))
        .mount(&server)
        .await;
    let answers = [
        (
            "/json/2/res.users/read",
            json!([{"id": 2, "name": "Mitchell Admin", "login": "admin", "company_id": [1, "YourCompany"]}]),
        ),
        (
            "/json/2/stock.warehouse/search_read",
            json!([{"id": 1, "code": "WH", "name": "YourCompany"}, {"id": 3, "code": "WH2", "name": "WH2"}]),
        ),
        ("/json/2/product.product/search_count", json!(12)),
        (
            "/json/2/ir.module.module/search_read",
            json!([{"id": 500, "state": "to upgrade"}]),
        ),
    ];
    for (p, v) in answers {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(v))
            .mount(&server)
            .await;
    }
    let c = client(&server).await;
    let f = odoo_channels::odoo::diagnostics::inspect(&c).await;
    use odoo_channels::odoo::diagnostics::{AddonState, Severity};
    assert_eq!(f.server_version.as_deref(), Some("19.0"));
    assert_eq!(f.protocol, Some(Protocol::Json2));
    let user = f.user.as_ref().unwrap();
    assert_eq!(
        (user.id, user.name.as_str(), user.login.as_str()),
        (2, "Mitchell Admin", "admin")
    );
    let company = f.company.as_ref().unwrap();
    assert_eq!((company.id, company.name.as_str()), (1, "YourCompany"));
    let codes: Vec<&str> = f.warehouses.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["WH", "WH2"]);
    assert_eq!(f.storable_products, Some(12));
    assert_eq!(f.addon_channel_sync, Some(AddonState::ToUpgrade));
    assert!(f.is_ok(), "{:?}", f.problems);
    assert_eq!(f.worst(), Some(Severity::Warning));
    assert!(f.problems.iter().any(|p| p.message.contains("pending")));
    // The storable count used the version map's domain.
    let req = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/json/2/product.product/search_count")
        .unwrap();
    assert_eq!(
        rpc_body(&req)["domain"],
        json!([["is_storable", "=", true]])
    );
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_cap_and_a_longer_wait_fails_now() {
    let server = odoo("19.0").await;
    let mut s = settings(&server.uri());
    s.retry.max_delay = Duration::from_millis(1500);
    let c = OdooClient::connect(s).await.unwrap();
    Mock::given(path("/json/2/res.partner/search_count"))
        .respond_with(fail_then(
            1,
            ResponseTemplate::new(429).insert_header("retry-after", "1"),
            ResponseTemplate::new(200).set_body_json(json!(3)),
        ))
        .mount(&server)
        .await;
    let start = std::time::Instant::now();
    assert_eq!(
        c.search_count("res.partner", &Domain::new(), None)
            .await
            .unwrap(),
        3
    );
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );

    Mock::given(path("/json/2/res.partner/search"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let e = c
        .search("res.partner", &Domain::new(), &SearchOpts::default())
        .await
        .unwrap_err();
    match &e {
        OdooError::Retryable {
            kind: RetryKind::Http(503),
            retry_after,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(120)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "/json/2/res.partner/search").await, 1);
}
