//! The three protocols over real HTTP (axum): XML-RPC (`/xmlrpc/2/*` and legacy `/xmlrpc/*`),
//! JSON-RPC (`/jsonrpc`) and JSON-2 (`/json/2/<model>/<method>`), with the status codes,
//! envelopes and error bodies of the captures.

use crate::clock::Clock;
use crate::env::{Db, Env};
use crate::error::{EXECUTE_KW_FRAMES, ErrKind, OdooError, traceback};
use crate::faults::{Fault, Faults};
use crate::personality::Personality;
use crate::rpc::{self, Style};
use crate::stats::Stats;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use odoo_wire::xmlrpc::{self, Marshal};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything the HTTP handlers share.
pub struct Shared {
    pub dbs: BTreeMap<String, Arc<Mutex<Db>>>,
    pub default_db: String,
    pub pers: Arc<Personality>,
    pub clock: Clock,
    pub faults: Faults,
    pub stats: Stats,
}

impl Shared {
    pub fn db(&self, name: &str) -> Option<Arc<Mutex<Db>>> {
        self.dbs.get(name).cloned()
    }

    fn version_info(&self) -> Value {
        let v = self.pers.version;
        json!({
            "server_version": format!("{}.{}", v.major, v.minor),
            "server_version_info": [v.major, v.minor, 0, "final", 0, ""],
            "server_serie": format!("{}.{}", v.major, v.minor),
            "protocol_version": 1,
        })
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/xmlrpc/2/{service}", post(xmlrpc_new))
        .route("/xmlrpc/{service}", post(xmlrpc_legacy))
        .route("/jsonrpc", post(jsonrpc))
        .route("/json/2/{model}/{method}", post(json2))
        .route("/json/2", any(json2_404))
        .route("/web/version", get(web_version))
        .fallback(not_found)
        .with_state(shared)
}

// ----------------------------------------------------------------------------- common parts

/// Outcome of one object call.
enum Outcome {
    Ok(Value),
    Err(OdooError),
    /// A proxy error (fault injection).
    Http(u16),
    /// Committed; the connection must die / hang.
    Drop(Value),
    Hang(Value, std::time::Duration),
}

fn check_password(db: &Db, uid: i64, secret: &str, now: i64) -> bool {
    db.credentials.iter().any(|c| {
        c.uid == uid
            && (c.password == secret
                || c.api_keys
                    .iter()
                    .any(|k| k.key == secret && !k.revoked && k.expires_us.is_none_or(|e| e > now)))
    })
}

fn login_uid(db: &Db, login: &str, secret: &str, now: i64) -> Option<i64> {
    let c = db.credentials.iter().find(|c| c.login == login)?;
    check_password(db, c.uid, secret, now).then_some(c.uid)
}

fn api_key_uid(db: &Db, key: &str, now: i64) -> Option<i64> {
    db.credentials
        .iter()
        .find(|c| {
            c.api_keys
                .iter()
                .any(|k| k.key == key && !k.revoked && k.expires_us.is_none_or(|e| e > now))
        })
        .map(|c| c.uid)
}

fn unknown_db(name: &str) -> OdooError {
    OdooError::new(
        ErrKind::OperationalError,
        format!(
            "connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  database \"{name}\" does not exist\n"
        ),
    )
}

/// Faults that strike before the call reaches Odoo (proxy errors, latency, auth); the others
/// (commit-then-fail) are handed to [`run_object`].
async fn pre_fault(fault: &Option<Fault>, style: Style) -> Option<Outcome> {
    match fault {
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(*d).await;
            None
        }
        Some(Fault::Http(code)) => Some(Outcome::Http(*code)),
        Some(Fault::SerializationFailure) => Some(Outcome::Err(OdooError::new(
            ErrKind::SerializationFailure,
            "could not serialize access due to concurrent update\n",
        ))),
        Some(Fault::AuthFailure) => Some(Outcome::Err(match style {
            Style::Json2 => OdooError::new(ErrKind::Unauthorized, "Invalid apikey"),
            Style::ExecuteKw => OdooError::access_denied(),
        })),
        _ => None,
    }
}

/// Run a model call in a transaction on a blocking thread.
#[allow(clippy::too_many_arguments)]
async fn run_object(
    shared: Arc<Shared>,
    dbname: String,
    uid: i64,
    style: Style,
    model: String,
    method: String,
    ids: Option<Vec<i64>>,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    fault: Option<Fault>,
) -> Outcome {
    shared.stats.record(&model, &method);
    let Some(db) = shared.db(&dbname) else {
        return Outcome::Err(unknown_db(&dbname));
    };
    let clock = shared.clock.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut guard = db.lock();
        let now = clock.transaction_start();
        let mut kwargs = kwargs;
        let ctx = match kwargs.remove("context") {
            Some(Value::Object(c)) => c,
            _ => Map::new(),
        };
        // A bug in the sandbox must not leave half a transaction behind.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut env = Env::new(&mut guard, uid, ctx, now);
            rpc::call(&mut env, style, &model, &method, ids, &args, &kwargs)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(OdooError::new(
                ErrKind::KeyError,
                format!("internal sandbox error in {model}.{method}: {what}"),
            ))
        });
        match r {
            Ok(v) => {
                guard.commit();
                Ok(v)
            }
            Err(e) => {
                guard.rollback();
                Err(e)
            }
        }
    })
    .await;
    let result = match result {
        Ok(r) => r,
        Err(join) => Err(OdooError::new(
            ErrKind::KeyError,
            format!("internal sandbox error: {join}"),
        )),
    };
    match (result, fault) {
        (Ok(v), Some(Fault::CommitThenDrop)) => Outcome::Drop(v),
        (Ok(v), Some(Fault::CommitThenHang(d))) => Outcome::Hang(v, d),
        (Ok(v), _) => Outcome::Ok(v),
        (Err(e), _) => Outcome::Err(e),
    }
}

fn proxy_error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let reason = status.canonical_reason().unwrap_or("Error");
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
    )
        .into_response()
}

/// A 200 whose body breaks off: the client sees the connection die mid-answer.
fn dropped_response(content_type: &'static str) -> Response {
    let stream = futures_util_stream();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, "4096")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn futures_util_stream() -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped after commit",
        ))
    })
}

// ------------------------------------------------------------------------------- XML-RPC

fn xml_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn xml_fault(e: &OdooError, legacy: bool) -> Response {
    let tb = || traceback(e.kind, &e.message, EXECUTE_KW_FRAMES);
    let body = if legacy {
        match e.kind {
            ErrKind::AccessDenied => xmlrpc::encode_fault(&json!("AccessDenied"), &e.message),
            ErrKind::MissingError => xmlrpc::encode_fault(
                &json!(format!("warning -- MissingError\n\n{}", e.message)),
                "",
            ),
            ErrKind::AccessError => xmlrpc::encode_fault(
                &json!(format!("warning -- AccessError\n\n{}", e.message)),
                "",
            ),
            ErrKind::UserError | ErrKind::ValidationError => {
                xmlrpc::encode_fault(&json!(format!("warning -- UserError\n\n{}", e.message)), "")
            }
            _ => xmlrpc::encode_fault(&json!(e.message), &tb()),
        }
    } else if e.kind.is_odoo_warning() {
        xmlrpc::encode_fault(&json!(e.kind.xmlrpc_code()), &e.message)
    } else {
        xmlrpc::encode_fault(&json!(1), &tb())
    };
    xml_response(body)
}

async fn xmlrpc_new(state: State<Arc<Shared>>, path: Path<String>, body: Bytes) -> Response {
    xmlrpc_handle(state, path, body, false).await
}

async fn xmlrpc_legacy(state: State<Arc<Shared>>, path: Path<String>, body: Bytes) -> Response {
    xmlrpc_handle(state, path, body, true).await
}

async fn xmlrpc_handle(
    State(shared): State<Arc<Shared>>,
    Path(service): Path<String>,
    body: Bytes,
    legacy: bool,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let call = match xmlrpc::decode_call(&text) {
        Ok(c) => c,
        Err(e) => {
            return xml_fault(
                &OdooError::new(
                    ErrKind::ValueError,
                    format!("xml.parsers.expat.ExpatError: {e}"),
                ),
                legacy,
            );
        }
    };
    let outcome = dispatch_service(
        shared.clone(),
        &service,
        &call.method,
        call.params,
        Style::ExecuteKw,
    )
    .await;
    match outcome {
        Outcome::Ok(v) => encode_result(&v, legacy),
        Outcome::Err(e) => xml_fault(&e, legacy),
        Outcome::Http(code) => proxy_error(code),
        Outcome::Drop(_) => dropped_response("text/xml; charset=utf-8"),
        Outcome::Hang(v, d) => {
            tokio::time::sleep(d).await;
            encode_result(&v, legacy)
        }
    }
}

fn encode_result(v: &Value, legacy: bool) -> Response {
    match xmlrpc::encode_response(v, Marshal::OdooServer) {
        Ok(b) => xml_response(b),
        Err(enc) => {
            // The transaction committed; marshalling fails afterwards, like Odoo.
            let (kind, msg) = match enc {
                xmlrpc::EncodeError::None => (
                    ErrKind::TypeError,
                    "cannot marshal None unless allow_none is enabled".to_owned(),
                ),
                other => (ErrKind::TypeError, other.to_string()),
            };
            let mut frames = EXECUTE_KW_FRAMES[..2].to_vec();
            frames.push((
                "/usr/lib/python3.11/xmlrpc/client.py",
                1043,
                "dumps",
                "data = m.dumps(params)",
            ));
            frames.push((
                "/usr/lib/python3.11/xmlrpc/client.py",
                540,
                "dump_nil",
                "raise TypeError(\"cannot marshal None unless allow_none is enabled\")",
            ));
            let tb = traceback(kind, &msg, &frames);
            let body = if legacy {
                xmlrpc::encode_fault(&json!(msg), &tb)
            } else {
                xmlrpc::encode_fault(&json!(1), &tb)
            };
            xml_response(body)
        }
    }
}

/// `common`, `object` and `db` services (shared by XML-RPC and JSON-RPC).
async fn dispatch_service(
    shared: Arc<Shared>,
    service: &str,
    method: &str,
    params: Vec<Value>,
    style: Style,
) -> Outcome {
    let now = shared.clock.now_us();
    let s = |i: usize| {
        params
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match (service, method) {
        ("common", "version") => Outcome::Ok(shared.version_info()),
        ("common", "about") => Outcome::Ok(json!("See http://openerp.com")),
        ("common", "login" | "authenticate") => {
            let dbname = s(0);
            let Some(db) = shared.db(&dbname) else {
                return Outcome::Err(unknown_db(&dbname));
            };
            let g = db.lock();
            Outcome::Ok(match login_uid(&g, &s(1), &s(2), now) {
                Some(uid) => json!(uid),
                None => json!(false),
            })
        }
        ("object", "execute_kw" | "execute") => {
            let dbname = s(0);
            let uid = params.get(1).and_then(Value::as_i64).unwrap_or(0);
            let secret = s(2);
            let model = s(3);
            let meth = s(4);
            let fault = shared.faults.take(&model, &meth);
            if let Some(o) = pre_fault(&fault, style).await {
                return o;
            }
            let Some(db) = shared.db(&dbname) else {
                return Outcome::Err(unknown_db(&dbname));
            };
            if !check_password(&db.lock(), uid, &secret, now) {
                return Outcome::Err(OdooError::access_denied());
            }
            let (args, kwargs) = if method == "execute_kw" {
                let args = params
                    .get(5)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let kwargs = params
                    .get(6)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                (args, kwargs)
            } else {
                (
                    params.get(5..).map(<[Value]>::to_vec).unwrap_or_default(),
                    Map::new(),
                )
            };
            run_object(
                shared, dbname, uid, style, model, meth, None, args, kwargs, fault,
            )
            .await
        }
        ("db", "list") => Outcome::Ok(json!(shared.dbs.keys().collect::<Vec<_>>())),
        ("db", "server_version") => Outcome::Ok(json!(format!(
            "{}.{}",
            shared.pers.version.major, shared.pers.version.minor
        ))),
        ("db", "db_exist") => Outcome::Ok(json!(shared.db(&s(0)).is_some())),
        ("common" | "object" | "db", m) => {
            Outcome::Err(OdooError::new(ErrKind::KeyError, format!("'{m}'")))
        }
        (other, _) => Outcome::Err(OdooError::new(ErrKind::KeyError, other.to_owned())),
    }
}

// ------------------------------------------------------------------------------ JSON-RPC

fn json_body(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn jsonrpc_error_data(e: &OdooError) -> Value {
    let mut args = vec![json!(e.message)];
    if let Some(code) = e.kind.http_arg() {
        args.push(json!(code));
    }
    let debug = match e.kind {
        ErrKind::AccessDenied => format!("{}: {}\n", e.kind.python_name(), e.message),
        _ => traceback(e.kind, &e.message, EXECUTE_KW_FRAMES),
    };
    json!({
        "name": e.kind.python_name(),
        "message": e.message,
        "arguments": args,
        "context": {},
        "debug": debug,
    })
}

async fn jsonrpc(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "Invalid JSON data",
            )
                .into_response();
        }
    };
    let id = parsed.get("id").cloned().unwrap_or(Value::Null);
    let code = shared.pers.map.jsonrpc_error_code;
    let reply = |outcome: Outcome| -> Response {
        let mut env = Map::new();
        env.insert("jsonrpc".into(), json!("2.0"));
        env.insert("id".into(), id.clone());
        match outcome {
            Outcome::Ok(v) | Outcome::Drop(v) | Outcome::Hang(v, _) => {
                if !v.is_null() {
                    env.insert("result".into(), v);
                }
            }
            Outcome::Err(e) => {
                env.insert(
                    "error".into(),
                    json!({"code": code, "message": "Odoo Server Error", "data": jsonrpc_error_data(&e)}),
                );
            }
            Outcome::Http(_) => {}
        }
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            json_body(&Value::Object(env)),
        )
            .into_response()
    };
    let Some(params) = parsed.get("params").and_then(Value::as_object) else {
        return reply(Outcome::Err(OdooError::type_error(
            "JSONRPC.jsonrpc() missing 3 required positional arguments: 'service', 'method', and 'args'",
        )));
    };
    let missing: Vec<&str> = ["service", "method", "args"]
        .into_iter()
        .filter(|k| !params.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let list = match missing.as_slice() {
            [a] => format!("'{a}'"),
            [a, b] => format!("'{a}' and '{b}'"),
            _ => "'service', 'method', and 'args'".into(),
        };
        return reply(Outcome::Err(OdooError::type_error(format!(
            "JSONRPC.jsonrpc() missing {} required positional argument{}: {list}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        ))));
    }
    let service = params["service"].as_str().unwrap_or("").to_owned();
    let method = params["method"].as_str().unwrap_or("").to_owned();
    let args = params["args"].as_array().cloned().unwrap_or_default();
    let outcome = dispatch_service(shared.clone(), &service, &method, args, Style::ExecuteKw).await;
    match outcome {
        Outcome::Http(c) => proxy_error(c),
        Outcome::Drop(_) => dropped_response("application/json; charset=utf-8"),
        Outcome::Hang(v, d) => {
            tokio::time::sleep(d).await;
            reply(Outcome::Ok(v))
        }
        other => reply(other),
    }
}

// -------------------------------------------------------------------------------- JSON-2

fn json2_error(e: &OdooError) -> Response {
    let status =
        StatusCode::from_u16(e.kind.json2_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json_body(&jsonrpc_error_data(e)),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer "),
        );
    }
    resp
}

/// Python's `json` error text for a body serde could not parse.
fn python_json_error(body: &[u8], e: &serde_json::Error) -> String {
    let line = e.line().max(1);
    let col = e.column().max(1);
    let text = String::from_utf8_lossy(body);
    let offset: usize = text
        .split('\n')
        .take(line - 1)
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + col
        - 1;
    format!(
        "could not parse the body as json: Expecting value: line {line} column {col} (char {offset})"
    )
}

async fn json2(
    State(shared): State<Arc<Shared>>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.pers.map.has_json2 {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "Not Found",
        )
            .into_response();
    }
    let now = shared.clock.now_us();
    let fault = shared.faults.take(&model, &method);
    let pre = pre_fault(&fault, Style::Json2).await;
    match &pre {
        Some(Outcome::Http(code)) => return proxy_error(*code),
        Some(Outcome::Err(e)) => return json2_error(e),
        _ => {}
    }
    let dbname = match headers.get("x-odoo-database").and_then(|v| v.to_str().ok()) {
        Some(d) => d.to_owned(),
        None => shared.default_db.clone(),
    };
    let Some(db) = shared.db(&dbname) else {
        return json2_error(&OdooError::new(
            ErrKind::NotFound,
            format!("database {dbname:?} not found"),
        ));
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let key = match auth.split_once(' ') {
        Some((scheme, k)) if scheme.eq_ignore_ascii_case("bearer") => k.trim().to_owned(),
        _ => {
            return json2_error(&OdooError::new(
                ErrKind::Unauthorized,
                "User not authenticated, use an API Key with a Bearer Authorization header.",
            ));
        }
    };
    let Some(uid) = api_key_uid(&db.lock(), &key, now) else {
        return json2_error(&OdooError::new(ErrKind::Unauthorized, "Invalid apikey"));
    };
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return json2_error(&OdooError::new(
                    ErrKind::BadRequest,
                    python_json_error(&body, &e),
                ));
            }
        }
    };
    let Value::Object(mut kw) = parsed else {
        return json2_error(&OdooError::new(
            ErrKind::BadRequest,
            "the body must be a JSON object",
        ));
    };
    let ids = match kw.remove("ids") {
        None | Some(Value::Null) => None,
        Some(v) => match crate::convert::ids_of(&v) {
            Some(ids) => Some(ids),
            None => {
                return json2_error(&OdooError::new(
                    ErrKind::Unprocessable,
                    "ids must be a list of integers",
                ));
            }
        },
    };
    let outcome = match pre {
        Some(o) => o,
        None => {
            run_object(
                shared.clone(),
                dbname,
                uid,
                Style::Json2,
                model,
                method,
                ids,
                vec![],
                kw,
                fault,
            )
            .await
        }
    };
    let ok = |v: Value| {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            json_body(&v),
        )
            .into_response()
    };
    match outcome {
        Outcome::Ok(v) => ok(v),
        Outcome::Err(e) => json2_error(&e),
        Outcome::Http(c) => proxy_error(c),
        Outcome::Drop(_) => dropped_response("application/json; charset=utf-8"),
        Outcome::Hang(v, d) => {
            tokio::time::sleep(d).await;
            ok(v)
        }
    }
}

async fn json2_404(State(shared): State<Arc<Shared>>) -> Response {
    if !shared.pers.map.has_json2 {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    json2_error(&OdooError::new(
        ErrKind::NotFound,
        "Did you mean POST /json/2/<model>/<method>?",
    ))
}

async fn web_version(State(shared): State<Arc<Shared>>) -> Response {
    let v = shared.version_info();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json_body(
            &json!({"version_info": v["server_version_info"], "version": v["server_version"]}),
        ),
    )
        .into_response()
}

async fn not_found(State(shared): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/json/2") {
        return json2_404(State(shared)).await;
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n",
    )
        .into_response()
}
