//! The three wire formats, as pure functions: a [`Call`] in, bytes out; status + body in,
//! `Result<Value, OdooError>` out. No I/O here, so the contract tests feed every captured
//! response of a real Odoo through exactly the code the client runs.
//!
//! Calls are in **named-argument form** (`ids` + kwargs): JSON-2's native form, which
//! `execute_kw` also accepts for every method the daemon uses. Two positional exceptions,
//! because Odoo's `call_kw` reads them positionally on every version 16–19: the record ids
//! (`args[0]` of a record method) and `create`'s `vals_list` (`args[0]` decides whether it
//! answers an id or a list).

use super::error::{
    CallKind, CallRef, Fault, FaultCode, OdooError, RetryKind, Unmarshallable, classify,
    classify_user_message, parse_traceback,
};
use super::settings::Protocol;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// One model method call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub model: String,
    pub method: String,
    /// `Some` for record methods (even empty), `None` for `@api.model` methods.
    pub ids: Option<Vec<i64>>,
    pub kwargs: Map<String, Value>,
    /// Merged into `kwargs.context` (execute_kw) or the body's `context` (JSON-2).
    pub context: Map<String, Value>,
    pub kind: CallKind,
    /// The method legitimately returns None (`do_unreserve`, `action_apply_inventory`): over
    /// XML-RPC its "cannot marshal None" fault then means success. Must be known in advance.
    pub returns_none: bool,
    /// Overrides the per-call timeout of the settings.
    pub timeout: Option<Duration>,
}

impl Call {
    pub fn new(model: impl Into<String>, method: impl Into<String>, kind: CallKind) -> Self {
        Call {
            model: model.into(),
            method: method.into(),
            ids: None,
            kwargs: Map::new(),
            context: Map::new(),
            kind,
            returns_none: false,
            timeout: None,
        }
    }

    pub fn read(model: impl Into<String>, method: impl Into<String>) -> Self {
        Self::new(model, method, CallKind::Read)
    }

    pub fn write(model: impl Into<String>, method: impl Into<String>) -> Self {
        Self::new(model, method, CallKind::Write)
    }

    pub fn ids(mut self, ids: impl Into<Vec<i64>>) -> Self {
        self.ids = Some(ids.into());
        self
    }

    pub fn arg(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.kwargs.insert(name.into(), value.into());
        self
    }

    pub fn kwargs(mut self, kwargs: Map<String, Value>) -> Self {
        self.kwargs.extend(kwargs);
        self
    }

    pub fn context(mut self, context: Option<&Map<String, Value>>) -> Self {
        if let Some(c) = context {
            self.context
                .extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self
    }

    pub fn context_value(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }

    pub fn returns_none(mut self) -> Self {
        self.returns_none = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn call_ref(&self) -> CallRef {
        CallRef {
            model: self.model.clone(),
            method: self.method.clone(),
            ids: self.ids.clone(),
        }
    }

    pub fn expect(&self) -> Expect {
        Expect {
            kind: self.kind,
            returns_none: self.returns_none,
            call: self.call_ref(),
        }
    }

    /// Refuse locally what Odoo would refuse anyway (private methods) or what would break the
    /// JSON-2 URL.
    pub fn validate(&self) -> Result<(), OdooError> {
        if self.method.starts_with('_') {
            return Err(OdooError::InvalidCall(format!(
                "{}.{} is a private method: Odoo never lets it be called remotely",
                self.model, self.method
            )));
        }
        let ok_model = !self.model.is_empty()
            && self
                .model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        let ok_method = !self.method.is_empty()
            && self
                .method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok_model || !ok_method {
            return Err(OdooError::InvalidCall(format!(
                "{:?}.{:?} is not a valid model and method name",
                self.model, self.method
            )));
        }
        if self.kwargs.contains_key("context") {
            return Err(OdooError::InvalidCall(format!(
                "{}.{}: pass the context with Call::context, not as a keyword argument",
                self.model, self.method
            )));
        }
        Ok(())
    }

    fn is_create(&self) -> bool {
        self.method == "create" && self.ids.is_none() && self.kwargs.contains_key("vals_list")
    }
}

/// What the decoder must know about the call to judge its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub kind: CallKind,
    pub returns_none: bool,
    pub call: CallRef,
}

impl Expect {
    pub fn read(model: &str, method: &str) -> Self {
        Call::read(model, method).expect()
    }
    pub fn write(model: &str, method: &str) -> Self {
        Call::write(model, method).expect()
    }
}

/// Who is calling: the database, and for execute_kw the uid and the key.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub database: &'a str,
    pub uid: i64,
    pub secret: &'a str,
}

/// An HTTP request ready to send (relative path, body, and whether it needs the bearer key).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// JSON-2: send `Authorization: bearer <key>`.
    pub bearer: bool,
}

/// `execute_kw`'s positional `args` and keyword `kwargs` for a call.
pub fn execute_kw_args(call: &Call) -> (Value, Value) {
    let mut kwargs = call.kwargs.clone();
    let args = if call.is_create() {
        let vals = kwargs.remove("vals_list").unwrap_or(Value::Array(vec![]));
        json!([vals])
    } else {
        match &call.ids {
            Some(ids) => json!([ids]),
            None => json!([]),
        }
    };
    if !call.context.is_empty() {
        kwargs.insert("context".into(), Value::Object(call.context.clone()));
    }
    (args, Value::Object(kwargs))
}

/// Encode a model call for `protocol`.
pub fn encode_call(
    protocol: Protocol,
    call: &Call,
    creds: Credentials<'_>,
    rpc_id: u64,
) -> Result<Encoded, OdooError> {
    call.validate()?;
    match protocol {
        Protocol::Json2 => {
            let mut body = call.kwargs.clone();
            if let Some(ids) = &call.ids {
                body.insert("ids".into(), json!(ids));
            }
            if !call.context.is_empty() {
                body.insert("context".into(), Value::Object(call.context.clone()));
            }
            Ok(Encoded {
                path: format!("/json/2/{}/{}", call.model, call.method),
                content_type: "application/json; charset=utf-8",
                body: serde_json::to_vec(&Value::Object(body)).map_err(encode_err)?,
                bearer: true,
            })
        }
        Protocol::JsonRpc | Protocol::XmlRpc => {
            let (args, kwargs) = execute_kw_args(call);
            let params = vec![
                json!(creds.database),
                json!(creds.uid),
                json!(creds.secret),
                json!(call.model),
                json!(call.method),
                args,
                kwargs,
            ];
            encode_service(protocol, "object", "execute_kw", params, rpc_id)
        }
        Protocol::Auto => Err(OdooError::InvalidCall(
            "protocol auto must be resolved before calling".into(),
        )),
    }
}

/// Encode a call to a service (`common.version`, `common.authenticate`, `object.execute_kw`).
pub fn encode_service(
    protocol: Protocol,
    service: &str,
    method: &str,
    args: Vec<Value>,
    rpc_id: u64,
) -> Result<Encoded, OdooError> {
    match protocol {
        Protocol::JsonRpc => {
            let envelope = json!({
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": args},
                "id": rpc_id,
            });
            Ok(Encoded {
                path: "/jsonrpc".into(),
                content_type: "application/json",
                body: serde_json::to_vec(&envelope).map_err(encode_err)?,
                bearer: false,
            })
        }
        Protocol::XmlRpc => {
            let body = odoo_wire::xmlrpc::encode_call(method, &args)
                .map_err(|e| OdooError::InvalidCall(format!("cannot encode as XML-RPC: {e}")))?;
            Ok(Encoded {
                path: format!("/xmlrpc/2/{service}"),
                content_type: "text/xml",
                body: body.into_bytes(),
                bearer: false,
            })
        }
        Protocol::Json2 | Protocol::Auto => Err(OdooError::InvalidCall(format!(
            "{service}.{method} is a JSON-RPC/XML-RPC service call"
        ))),
    }
}

fn encode_err(e: serde_json::Error) -> OdooError {
    OdooError::InvalidCall(format!("cannot encode the call as JSON: {e}"))
}

/// Decode one HTTP answer of `protocol` and judge it for the call (see [`settle`]).
pub fn decode_response(
    protocol: Protocol,
    expect: &Expect,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, OdooError> {
    let raw = match protocol {
        Protocol::Json2 => decode_json2(status, content_type, body),
        Protocol::JsonRpc => decode_jsonrpc(status, content_type, body),
        Protocol::XmlRpc => decode_xmlrpc(status, content_type, body),
        Protocol::Auto => Err(OdooError::InvalidCall(
            "protocol auto must be resolved before decoding".into(),
        )),
    };
    settle(expect, raw)
}

/// Turn a raw outcome into the caller's outcome: a write whose fate is unknown becomes
/// [`OdooError::AmbiguousWrite`]; XML-RPC's "cannot marshal None" becomes `Null` when the
/// call said it returns None. Everything else passes through.
pub fn settle(expect: &Expect, raw: Result<Value, OdooError>) -> Result<Value, OdooError> {
    let err = match raw {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if let Some(u) = err.is_unmarshallable_result() {
        return match (u, expect.returns_none, expect.kind) {
            // Odoo ran the method, committed, then could not send `None` back: success.
            (Unmarshallable::None, true, _) => Ok(Value::Null),
            (_, _, CallKind::Write) => Err(ambiguous(expect, err)),
            (Unmarshallable::None, false, CallKind::Read) => Err(OdooError::protocol(
                format!(
                    "{}: the result holds None, which XML-RPC cannot carry; use JSON-RPC or JSON-2",
                    expect.call
                ),
                Some(200),
            )),
            (Unmarshallable::BigInt, _, CallKind::Read) => Err(OdooError::protocol(
                format!(
                    "{}: the result holds an integer beyond 32 bits, which Odoo's XML-RPC cannot carry; use JSON-RPC or JSON-2",
                    expect.call
                ),
                Some(200),
            )),
        };
    }
    if expect.kind == CallKind::Write && outcome_unknown(&err) {
        return Err(ambiguous(expect, err));
    }
    Err(err)
}

/// Could the server have applied the request although we got no usable answer?
fn outcome_unknown(err: &OdooError) -> bool {
    match err {
        OdooError::Timeout { .. } => true,
        OdooError::Retryable { kind, .. } => match kind {
            RetryKind::ConnectionLost => true,
            // A gateway error: the upstream got the request and may have committed.
            RetryKind::Http(502 | 504) => true,
            // 429/503: the request was declined, not processed. Connect: never sent.
            // Serialization failure: Odoo rolled back.
            _ => false,
        },
        // The server said 2xx but we cannot read what: it did something.
        OdooError::Protocol {
            status: Some(s), ..
        } => (200..300).contains(s),
        _ => false,
    }
}

fn ambiguous(expect: &Expect, cause: OdooError) -> OdooError {
    OdooError::AmbiguousWrite {
        call: expect.call.clone(),
        cause: Box::new(cause),
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| ct.to_ascii_lowercase().contains("json"))
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else if text.is_empty() {
        "(empty body)".into()
    } else {
        text.to_owned()
    }
}

/// Status codes that mean "try again later" whatever the transport.
fn transient_status(status: u16, body: &[u8]) -> Option<OdooError> {
    matches!(status, 429 | 502 | 503 | 504).then(|| OdooError::Retryable {
        kind: RetryKind::Http(status),
        message: excerpt(body),
        fault: None,
        retry_after: None,
    })
}

/// A non-2xx answer that carries no Odoo error body (a proxy, a wrong URL).
fn bare_status(protocol: Protocol, status: u16, body: &[u8], what: &str) -> OdooError {
    let fault = Fault {
        http_status: Some(status),
        ..Fault::new(protocol, format!("HTTP {status}: {}", excerpt(body)))
    };
    match status {
        401 => OdooError::AccessDenied(Box::new(fault)),
        403 => OdooError::AccessError(Box::new(fault)),
        404 => OdooError::protocol(
            format!(
                "no {what} endpoint here (check odoo.url): {}",
                excerpt(body)
            ),
            Some(404),
        ),
        500..=599 => OdooError::ServerError(Box::new(fault)),
        _ => OdooError::protocol(
            format!("unexpected answer: {}", excerpt(body)),
            Some(status),
        ),
    }
}

/// JSON-2: bare JSON result on 2xx; `{name, message, arguments, context, debug}` otherwise.
pub fn decode_json2(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, OdooError> {
    if (200..300).contains(&status) {
        if !is_json(content_type) {
            return Err(OdooError::protocol(
                format!(
                    "expected JSON, got content type {:?}: {}",
                    content_type.unwrap_or(""),
                    excerpt(body)
                ),
                Some(status),
            ));
        }
        return serde_json::from_slice(body).map_err(|e| {
            OdooError::protocol(
                format!("malformed JSON body ({e}): {}", excerpt(body)),
                Some(status),
            )
        });
    }
    if let Some(e) = transient_status(status, body) {
        return Err(e);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) if obj.contains_key("name") || obj.contains_key("message") => {
            Err(classify(fault_from_json_error(
                Protocol::Json2,
                &obj,
                Some(status),
                None,
            )))
        }
        _ => Err(bare_status(Protocol::Json2, status, body, "JSON-2")),
    }
}

/// `{name, message, debug}` (JSON-2 body, JSON-RPC `error.data`) → [`Fault`].
fn fault_from_json_error(
    protocol: Protocol,
    obj: &Map<String, Value>,
    http_status: Option<u16>,
    code: Option<FaultCode>,
) -> Fault {
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    Fault {
        message: text("message").unwrap_or_default().trim().to_owned(),
        name: text("name"),
        code,
        http_status,
        protocol,
        debug: text("debug"),
    }
}

/// JSON-RPC: always HTTP 200 with `result` (left out when the method returned None) or
/// `error: {code, message, data: {name, message, debug}}`; HTTP 400 for a body that is not JSON.
pub fn decode_jsonrpc(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, OdooError> {
    if let Some(e) = transient_status(status, body) {
        return Err(e);
    }
    let parsed = serde_json::from_slice::<Value>(body);
    let envelope = match (&parsed, status) {
        (Ok(Value::Object(obj)), _) if obj.contains_key("error") || status == 200 => obj,
        (_, 200) => {
            let why = match &parsed {
                Err(e) => format!("malformed JSON ({e})"),
                Ok(_) => "not a JSON-RPC envelope".into(),
            };
            return Err(OdooError::protocol(
                format!(
                    "{why}, content type {:?}: {}",
                    content_type.unwrap_or(""),
                    excerpt(body)
                ),
                Some(200),
            ));
        }
        (_, 400) => {
            return Err(OdooError::protocol(
                format!("Odoo rejected the request: {}", excerpt(body)),
                Some(400),
            ));
        }
        _ => return Err(bare_status(Protocol::JsonRpc, status, body, "JSON-RPC")),
    };
    let Some(error) = envelope.get("error") else {
        if let Some(result) = envelope.get("result") {
            return Ok(result.clone());
        }
        // Odoo leaves `result` out when the method returned None; anything else without
        // `result` is not Odoo talking.
        if envelope.get("jsonrpc").and_then(Value::as_str) == Some("2.0") {
            return Ok(Value::Null);
        }
        return Err(OdooError::protocol(
            format!("not a JSON-RPC answer: {}", excerpt(body)),
            Some(status),
        ));
    };
    let Value::Object(error) = error else {
        return Err(OdooError::protocol(
            format!("JSON-RPC error is not an object: {error}"),
            Some(status),
        ));
    };
    let code = error.get("code").and_then(Value::as_i64);
    let empty = Map::new();
    let data = error
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut fault = fault_from_json_error(Protocol::JsonRpc, data, None, code.map(FaultCode::Int));
    if fault.message.is_empty() {
        fault.message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
    }
    if fault.name.is_none() {
        return Err(match code {
            Some(100) => OdooError::SessionExpired(Box::new(fault)),
            Some(404) => OdooError::protocol(format!("not found: {}", fault.message), Some(404)),
            Some(400) => OdooError::protocol(
                format!("Odoo rejected the request: {}", fault.message),
                Some(400),
            ),
            _ => OdooError::ServerError(Box::new(fault)),
        });
    }
    Err(classify(fault))
}

/// XML-RPC: HTTP 200 with `<params>` or `<fault>` (integer codes on `/xmlrpc/2`, strings on
/// the legacy `/xmlrpc/`).
pub fn decode_xmlrpc(
    status: u16,
    _content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, OdooError> {
    if let Some(e) = transient_status(status, body) {
        return Err(e);
    }
    if status != 200 {
        return Err(bare_status(Protocol::XmlRpc, status, body, "XML-RPC"));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        OdooError::protocol(format!("XML-RPC body is not UTF-8: {e}"), Some(status))
    })?;
    match odoo_wire::xmlrpc::decode_response(text) {
        Ok(odoo_wire::xmlrpc::Response::Success(v)) => Ok(v),
        Ok(odoo_wire::xmlrpc::Response::Fault { code, string }) => {
            Err(classify_xmlrpc_fault(&code, &string))
        }
        Err(e) => Err(OdooError::protocol(
            format!("{e}: {}", excerpt(body)),
            Some(status),
        )),
    }
}

/// Map an XML-RPC fault (both endpoints) onto the taxonomy.
pub fn classify_xmlrpc_fault(code: &Value, string: &str) -> OdooError {
    let base = |message: &str, code: FaultCode| Fault {
        code: Some(code),
        ..Fault::new(Protocol::XmlRpc, message)
    };
    match code {
        Value::Number(n) => {
            let n = n.as_i64().unwrap_or(i64::MIN);
            let fc = FaultCode::Int(n);
            match n {
                1 => from_traceback(string, string, fc),
                2 => classify_user_message(base(string, fc)),
                3 => OdooError::AccessDenied(Box::new(base(string, fc))),
                4 => OdooError::AccessError(Box::new(base(string, fc))),
                _ => OdooError::ServerError(Box::new(base(string, fc))),
            }
        }
        Value::String(s) => {
            let fc = FaultCode::Text(s.clone());
            if let Some(rest) = s.strip_prefix("warning -- ") {
                let (kind, msg) = rest.split_once("\n\n").unwrap_or((rest, ""));
                let mut fault = base(msg, fc);
                fault.name = Some(kind.trim().to_owned());
                return match kind.trim() {
                    "MissingError" => OdooError::MissingRecord(Box::new(fault)),
                    "AccessError" => OdooError::AccessError(Box::new(fault)),
                    _ => classify_user_message(fault),
                };
            }
            if s == "AccessDenied" {
                let msg = if string.trim().is_empty() {
                    "Access Denied"
                } else {
                    string
                };
                return OdooError::AccessDenied(Box::new(base(msg, fc)));
            }
            // Any other exception: the code is its message, the string its traceback.
            from_traceback(string, s, fc)
        }
        other => OdooError::ServerError(Box::new(base(
            &format!("fault with code {other}: {string}"),
            FaultCode::Text(other.to_string()),
        ))),
    }
}

fn from_traceback(traceback: &str, fallback_message: &str, code: FaultCode) -> OdooError {
    let (name, parsed) = parse_traceback(traceback);
    let message = if parsed.is_empty() {
        fallback_message.trim().to_owned()
    } else {
        parsed
    };
    let fault = Fault {
        name,
        code: Some(code),
        debug: Some(traceback.to_owned()),
        ..Fault::new(Protocol::XmlRpc, message)
    };
    // Marshalling failures happen after the commit: keep them recognisable for `settle`.
    if fault.message.contains("cannot marshal None")
        || fault.message.contains("int exceeds XML-RPC limits")
    {
        return OdooError::ServerError(Box::new(fault));
    }
    if fault.name.is_none() {
        return OdooError::ServerError(Box::new(fault));
    }
    classify(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials<'static> {
        Credentials {
            database: "demo",
            uid: 2,
            secret: "k",
        }
    }

    #[test]
    fn json2_body_is_kwargs_ids_and_context() {
        let call = Call::read("res.partner", "search_read")
            .arg("domain", json!([["id", "=", 15]]))
            .arg("fields", json!(["name"]))
            .context_value("lang", "en_US");
        let e = encode_call(Protocol::Json2, &call, creds(), 1).unwrap();
        assert_eq!(e.path, "/json/2/res.partner/search_read");
        assert!(e.bearer);
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(
            body,
            json!({"domain": [["id", "=", 15]], "fields": ["name"], "context": {"lang": "en_US"}})
        );
    }

    #[test]
    fn execute_kw_puts_ids_and_vals_list_first() {
        let read = Call::read("sale.order", "read")
            .ids(vec![34])
            .arg("fields", json!(["name"]));
        let e = encode_call(Protocol::JsonRpc, &read, creds(), 7).unwrap();
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(
            body["params"]["args"],
            json!(["demo", 2, "k", "sale.order", "read", [[34]], {"fields": ["name"]}])
        );
        let create = Call::write("sale.order", "create").arg("vals_list", json!([{"name": "x"}]));
        let (args, kwargs) = execute_kw_args(&create);
        assert_eq!((args, kwargs), (json!([[{"name": "x"}]]), json!({})));
        let model_method = Call::read("product.product", "search_count").arg("domain", json!([]));
        assert_eq!(execute_kw_args(&model_method).0, json!([]));
    }

    #[test]
    fn private_and_odd_names_are_refused_locally() {
        for (m, meth) in [
            ("product.product", "_compute_display_name"),
            ("a/b", "read"),
            ("x", "a.b"),
            ("", "read"),
        ] {
            let e = Call::read(m, meth).validate().unwrap_err();
            assert!(matches!(e, OdooError::InvalidCall(_)), "{m}.{meth}: {e:?}");
        }
    }

    #[test]
    fn jsonrpc_none_needs_the_envelope() {
        let none = br#"{"jsonrpc": "2.0", "id": 20}"#;
        assert_eq!(decode_jsonrpc(200, None, none).unwrap(), Value::Null);
        let alien = br#"{"status": "ok"}"#;
        assert!(matches!(
            decode_jsonrpc(200, None, alien),
            Err(OdooError::Protocol { .. })
        ));
    }

    #[test]
    fn write_outcomes_are_judged() {
        let w = Expect::write("sale.order", "action_confirm");
        let r = Expect::read("sale.order", "read");
        let lost = || {
            Err(OdooError::Retryable {
                kind: RetryKind::ConnectionLost,
                message: "reset".into(),
                fault: None,
                retry_after: None,
            })
        };
        assert!(settle(&w, lost()).unwrap_err().is_ambiguous());
        assert!(settle(&r, lost()).unwrap_err().is_retryable());
        for s in [502, 504] {
            let e = settle(&w, decode_json2(s, None, b"bad gateway")).unwrap_err();
            assert!(e.is_ambiguous(), "{s}: {e:?}");
        }
        for s in [429, 503] {
            let e = settle(&w, decode_json2(s, None, b"busy")).unwrap_err();
            assert!(e.is_retryable() && !e.is_ambiguous(), "{s}: {e:?}");
        }
        let e = settle(&w, decode_json2(200, Some("text/html"), b"<html>")).unwrap_err();
        assert!(e.is_ambiguous(), "{e:?}");
        let timeout = Err(OdooError::Timeout {
            after: Duration::from_secs(1),
        });
        assert!(settle(&w, timeout).unwrap_err().is_ambiguous());
    }
}
