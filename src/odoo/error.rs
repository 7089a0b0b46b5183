//! One error taxonomy whatever the transport.
//!
//! Odoo reports the same exception three ways: an XML-RPC fault code (1–4, or a string on the
//! legacy `/xmlrpc/` endpoint), a JSON-RPC `error.data.name`, or a JSON-2 HTTP status plus the
//! same `name`. Callers decide what to do by *class* (alert on a bad key, quarantine on a
//! validation error, re-check on an ambiguous write), so every transport is mapped onto the
//! variants below by the pure functions in this module and in `transport.rs`. Odoo's own
//! message is kept verbatim; the traceback is kept in [`Fault::debug`] but never displayed.
//!
//! # Retries and ambiguity
//!
//! * Reads are retried (by the client) on [`OdooError::Retryable`] and [`OdooError::Timeout`].
//! * Writes are never retried. A write whose outcome is unknown becomes
//!   [`OdooError::AmbiguousWrite`]: a timeout or a connection lost after the request was sent,
//!   a 502/504 from a proxy (the upstream may have committed), a 200 whose body cannot be read,
//!   or XML-RPC's "cannot marshal None" fault (Odoo commits *then* fails to marshal the result).
//! * Failures that prove the request was not processed stay [`OdooError::Retryable`] even for
//!   writes: connection refused / DNS / TLS before sending ([`RetryKind::Connect`]), 429 and
//!   503 (RFC 9110: the server declined to handle the request; proxies send 503 when no
//!   upstream took it), and a serialization failure that surfaced (Odoo rolled back). The
//!   client still does not retry such a write itself; the caller may, without re-checking.

use super::settings::Protocol;
use std::fmt;
use std::time::Duration;

/// An XML-RPC `faultCode`: an integer on `/xmlrpc/2`, a string on legacy `/xmlrpc/`; or a
/// JSON-RPC `error.code` (200 before 19, 0 from 19, 100 session expired, 404 not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultCode {
    Int(i64),
    Text(String),
}

/// What Odoo said about a failure, transport-independent.
#[derive(Clone, PartialEq)]
pub struct Fault {
    /// Odoo's message, verbatim (trimmed).
    pub message: String,
    /// Python exception class (`odoo.exceptions.UserError`, `builtins.ValueError`, …) when the
    /// transport tells it: JSON-RPC `data.name`, JSON-2 `name`, last line of an XML-RPC traceback.
    pub name: Option<String>,
    pub code: Option<FaultCode>,
    pub http_status: Option<u16>,
    pub protocol: Protocol,
    /// Server traceback. Kept for logs at debug level; never part of `Display`.
    pub debug: Option<String>,
}

impl Fault {
    pub fn new(protocol: Protocol, message: impl Into<String>) -> Self {
        Fault {
            message: message.into().trim().to_owned(),
            name: None,
            code: None,
            http_status: None,
            protocol,
            debug: None,
        }
    }

    /// The exception class without its module (`UserError` for `odoo.exceptions.UserError`).
    pub fn short_name(&self) -> Option<&str> {
        self.name.as_deref().map(short_name)
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("message", &self.message)
            .field("name", &self.name)
            .field("code", &self.code)
            .field("http_status", &self.http_status)
            .field("protocol", &self.protocol)
            .field(
                "debug",
                &self.debug.as_ref().map(|d| format!("<{} chars>", d.len())),
            )
            .finish()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(n) = &self.name {
            write!(f, " [{n}]")?;
        }
        Ok(())
    }
}

/// Why a failure is worth trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    /// `SerializationFailure`, deadlock, lock not available or `ConcurrencyError` surfaced after
    /// Odoo's own 5 retries. Odoo rolled back.
    SerializationFailure,
    /// 429, 502, 503 or 504.
    Http(u16),
    /// The connection could not be opened (refused, DNS, TLS, connect timeout): nothing was sent.
    Connect,
    /// The connection broke after the request was (possibly) sent. Ambiguous for writes.
    ConnectionLost,
}

impl fmt::Display for RetryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryKind::SerializationFailure => {
                f.write_str("concurrent update (serialization failure)")
            }
            RetryKind::Http(s) => write!(f, "HTTP {s}"),
            RetryKind::Connect => f.write_str("cannot connect"),
            RetryKind::ConnectionLost => f.write_str("connection lost"),
        }
    }
}

/// Read or write: decides retries and ambiguity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// No side effect: safe to retry.
    Read,
    /// May change data: never retried; unknown outcomes become [`OdooError::AmbiguousWrite`].
    Write,
}

/// Which call an error belongs to, for messages and for re-checking after an ambiguous write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRef {
    pub model: String,
    pub method: String,
    pub ids: Option<Vec<i64>>,
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.model, self.method)?;
        if let Some(ids) = &self.ids {
            const SHOWN: usize = 5;
            let head: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
            let more = if ids.len() > SHOWN {
                format!(", … {} ids", ids.len())
            } else {
                String::new()
            };
            write!(f, "([{}{more}])", head.join(", "))?;
        }
        Ok(())
    }
}

/// A value from Odoo that does not have the expected shape: names the record and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{model}{} field `{field}`: {reason}", .id.map(|i| format!(" #{i}")).unwrap_or_default())]
pub struct DecodeError {
    pub model: String,
    pub id: Option<i64>,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OdooError {
    /// Wrong or expired API key / password, or no credentials. Alert and keep running.
    #[error("Odoo refused the credentials: {0}")]
    AccessDenied(Box<Fault>),
    /// The user lacks a right (or the method is private).
    #[error("Odoo access rights forbid this: {0}")]
    AccessError(Box<Fault>),
    /// A business rule refused the operation (confirming a cancelled order, …).
    #[error("Odoo refused the operation: {0}")]
    UserError(Box<Fault>),
    /// A constraint failed: required field, SQL UNIQUE violation, `@api.constrains`.
    #[error("Odoo validation failed: {0}")]
    ValidationError(Box<Fault>),
    /// A referenced or target record does not exist (reading a missing id is *not* this: it
    /// returns no row).
    #[error("record missing in Odoo: {0}")]
    MissingRecord(Box<Fault>),
    #[error("unknown Odoo model: {0}")]
    UnknownModel(Box<Fault>),
    #[error("unknown Odoo method: {0}")]
    UnknownMethod(Box<Fault>),
    /// Python `ValueError`: unknown field (read, write, domain), wrong selection value, …
    #[error("invalid field or value: {0}")]
    InvalidField(Box<Fault>),
    /// The arguments do not fit the method (`TypeError`, JSON-2 422 `UnprocessableEntity`):
    /// a bug in the caller, not in the data.
    #[error("arguments do not fit the Odoo method: {0}")]
    BadArguments(Box<Fault>),
    #[error("Odoo database not found: {0}")]
    DatabaseNotFound(Box<Fault>),
    #[error("Odoo session expired: {0}")]
    SessionExpired(Box<Fault>),
    /// Any other exception on the server (fault code 1, HTTP 500): message and traceback kept.
    #[error("Odoo server error: {0}")]
    ServerError(Box<Fault>),
    /// Transient: see [`RetryKind`]. Not ambiguous even for a write (see the module docs).
    #[error("{kind}: {message}")]
    Retryable {
        kind: RetryKind,
        message: String,
        fault: Option<Box<Fault>>,
        /// The server's `Retry-After` (429/503), in seconds form.
        retry_after: Option<Duration>,
    },
    /// A write that may or may not have been applied. Re-check by the binding key, then act.
    #[error("outcome of write {call} is unknown ({cause}); re-check before acting again")]
    AmbiguousWrite {
        call: CallRef,
        cause: Box<OdooError>,
    },
    /// Malformed body, unexpected status or content type, wrong endpoint.
    #[error("Odoo protocol error{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Protocol {
        message: String,
        status: Option<u16>,
    },
    #[error("Odoo did not answer within {after:?}")]
    Timeout { after: Duration },
    /// Refused before sending (private method name, empty model, …).
    #[error("call refused locally, nothing was sent: {0}")]
    InvalidCall(String),
    #[error("Odoo {version} is not supported (16.0 to 19.x are)")]
    UnsupportedVersion { version: String },
    #[error(
        "protocol json2 was requested but Odoo {version} has no JSON-2 API (it exists from saas-18.4 / 19.0); use jsonrpc or auto"
    )]
    Json2Unavailable { version: String },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("invalid Odoo settings: {}", .0.join("; "))]
    Config(Vec<String>),
}

impl OdooError {
    /// Worth trying again as is. For writes, only failures that prove nothing was applied
    /// (see module docs); an ambiguous write is *not* retryable: re-check first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            OdooError::Retryable { .. } | OdooError::Timeout { .. }
        )
    }

    pub fn is_ambiguous(&self) -> bool {
        matches!(self, OdooError::AmbiguousWrite { .. })
    }

    /// Credentials problem: alert a person, keep running, allow key rotation.
    pub fn is_auth(&self) -> bool {
        matches!(self, OdooError::AccessDenied(_))
    }

    /// Odoo's fault, when the server answered with one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            OdooError::AccessDenied(f)
            | OdooError::AccessError(f)
            | OdooError::UserError(f)
            | OdooError::ValidationError(f)
            | OdooError::MissingRecord(f)
            | OdooError::UnknownModel(f)
            | OdooError::UnknownMethod(f)
            | OdooError::InvalidField(f)
            | OdooError::BadArguments(f)
            | OdooError::DatabaseNotFound(f)
            | OdooError::SessionExpired(f)
            | OdooError::ServerError(f) => Some(f),
            OdooError::Retryable { fault, .. } => fault.as_deref(),
            OdooError::AmbiguousWrite { cause, .. } => cause.fault(),
            _ => None,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            OdooError::Protocol { status, .. } => *status,
            OdooError::Retryable {
                kind: RetryKind::Http(s),
                ..
            } => Some(*s),
            OdooError::AmbiguousWrite { cause, .. } => cause.http_status(),
            other => other.fault().and_then(|f| f.http_status),
        }
    }

    /// A stable, short name of the class (for metrics labels and quarantine reasons).
    pub fn class(&self) -> &'static str {
        match self {
            OdooError::AccessDenied(_) => "access_denied",
            OdooError::AccessError(_) => "access_error",
            OdooError::UserError(_) => "user_error",
            OdooError::ValidationError(_) => "validation_error",
            OdooError::MissingRecord(_) => "missing_record",
            OdooError::UnknownModel(_) => "unknown_model",
            OdooError::UnknownMethod(_) => "unknown_method",
            OdooError::InvalidField(_) => "invalid_field",
            OdooError::BadArguments(_) => "bad_arguments",
            OdooError::DatabaseNotFound(_) => "database_not_found",
            OdooError::SessionExpired(_) => "session_expired",
            OdooError::ServerError(_) => "server_error",
            OdooError::Retryable { .. } => "retryable",
            OdooError::AmbiguousWrite { .. } => "ambiguous_write",
            OdooError::Protocol { .. } => "protocol",
            OdooError::Timeout { .. } => "timeout",
            OdooError::InvalidCall(_) => "invalid_call",
            OdooError::UnsupportedVersion { .. } => "unsupported_version",
            OdooError::Json2Unavailable { .. } => "json2_unavailable",
            OdooError::Decode(_) => "decode",
            OdooError::Config(_) => "config",
        }
    }

    pub(crate) fn protocol(message: impl Into<String>, status: Option<u16>) -> Self {
        OdooError::Protocol {
            message: message.into(),
            status,
        }
    }

    /// XML-RPC's "the method ran (and committed) but its result cannot be marshalled": None, or
    /// an int beyond 32 bits. See `settle` in `transport.rs`.
    pub(crate) fn is_unmarshallable_result(&self) -> Option<Unmarshallable> {
        let OdooError::ServerError(f) = self else {
            return None;
        };
        if f.protocol != Protocol::XmlRpc {
            return None;
        }
        if f.message.contains("cannot marshal None") {
            Some(Unmarshallable::None)
        } else if f.message.contains("int exceeds XML-RPC limits") {
            Some(Unmarshallable::BigInt)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmarshallable {
    None,
    BigInt,
}

/// `odoo.exceptions.UserError` → `UserError`.
pub(crate) fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

const CONCURRENCY_NAMES: &[&str] = &[
    "SerializationFailure",
    "DeadlockDetected",
    "LockNotAvailable",
    "TransactionRollbackError",
    "ConcurrencyError",
];

const CONCURRENCY_TEXTS: &[&str] = &[
    "could not serialize access",
    "deadlock detected",
    "could not obtain lock",
];

/// The message of a `UserError`-class fault, which XML-RPC sends without its class (fault 2):
/// unknown models, missing records and SQL/ORM constraint failures are told apart by Odoo's
/// own (untranslated, English) prefixes.
pub(crate) fn classify_user_message(fault: Fault) -> OdooError {
    let m = fault.message.as_str();
    if is_unknown_model_message(m) {
        OdooError::UnknownModel(Box::new(fault))
    } else if m.starts_with("Record does not exist or has been deleted") {
        OdooError::MissingRecord(Box::new(fault))
    } else if m.starts_with("The operation cannot be completed") {
        OdooError::ValidationError(Box::new(fault))
    } else {
        OdooError::UserError(Box::new(fault))
    }
}

fn is_unknown_model_message(m: &str) -> bool {
    (m.starts_with("Object ") && m.ends_with("doesn't exist"))
        || (m.starts_with("the model ") && m.ends_with("does not exist"))
}

fn is_unknown_method_message(m: &str) -> bool {
    m.starts_with("The method ") && m.contains("does not exist")
}

/// Map a fault whose exception class is known (JSON-RPC, JSON-2, a parsed XML-RPC traceback).
/// `fault.http_status` refines the JSON-2 cases; `None` name falls back on the status.
pub(crate) fn classify(fault: Fault) -> OdooError {
    let name = fault.short_name().unwrap_or("").to_owned();
    let m = fault.message.clone();
    let status = fault.http_status;
    let b = |f: Fault| Box::new(f);

    if CONCURRENCY_NAMES.contains(&name.as_str()) || CONCURRENCY_TEXTS.iter().any(|t| m.contains(t))
    {
        return OdooError::Retryable {
            kind: RetryKind::SerializationFailure,
            message: m,
            fault: Some(b(fault)),
            retry_after: None,
        };
    }
    match name.as_str() {
        "AccessDenied" | "Unauthorized" => return OdooError::AccessDenied(b(fault)),
        "AccessError" | "Forbidden" => return OdooError::AccessError(b(fault)),
        "MissingError" => return OdooError::MissingRecord(b(fault)),
        "ValidationError" => return OdooError::ValidationError(b(fault)),
        "UserError" | "RedirectWarning" | "Warning" | "except_orm" => {
            return classify_user_message(fault);
        }
        "SessionExpiredException" => return OdooError::SessionExpired(b(fault)),
        "ValueError" => return OdooError::InvalidField(b(fault)),
        "TypeError" | "UnprocessableEntity" => return OdooError::BadArguments(b(fault)),
        "AttributeError" if is_unknown_method_message(&m) => {
            return OdooError::UnknownMethod(b(fault));
        }
        "NotFound" => {
            if is_unknown_model_message(&m) {
                return OdooError::UnknownModel(b(fault));
            }
            if is_unknown_method_message(&m) {
                return OdooError::UnknownMethod(b(fault));
            }
            return OdooError::protocol(format!("endpoint not found: {m}"), status.or(Some(404)));
        }
        "BadRequest" => {
            return OdooError::protocol(format!("Odoo rejected the request: {m}"), status);
        }
        // psycopg2 cannot open the database named by the call.
        "OperationalError" if m.contains("database") && m.contains("does not exist") => {
            return OdooError::DatabaseNotFound(b(fault));
        }
        _ => {}
    }
    if fault.code == Some(FaultCode::Int(100)) {
        return OdooError::SessionExpired(b(fault));
    }
    match status {
        Some(401) => OdooError::AccessDenied(b(fault)),
        Some(403) => OdooError::AccessError(b(fault)),
        Some(404) if is_unknown_model_message(&m) => OdooError::UnknownModel(b(fault)),
        Some(404) if is_unknown_method_message(&m) => OdooError::UnknownMethod(b(fault)),
        Some(404) => OdooError::protocol(format!("endpoint not found: {m}"), Some(404)),
        Some(400) => OdooError::protocol(format!("Odoo rejected the request: {m}"), Some(400)),
        Some(422) => classify_user_message(fault),
        _ => OdooError::ServerError(b(fault)),
    }
}

/// Split a Python traceback into (exception class, message): the text after the last
/// `File "…"` frame and its indented source lines. Works for chained exceptions (the last one
/// wins) and for multi-line messages.
pub(crate) fn parse_traceback(tb: &str) -> (Option<String>, String) {
    let lines: Vec<&str> = tb.lines().collect();
    let last_frame = lines.iter().rposition(|l| l.starts_with("  File \""));
    let start = match last_frame {
        Some(i) => {
            let mut j = i + 1;
            while j < lines.len() && (lines[j].starts_with(' ') || lines[j].starts_with('\t')) {
                j += 1;
            }
            j
        }
        None => 0,
    };
    let tail = lines.get(start..).unwrap_or(&[]).join("\n");
    let tail = tail.trim();
    if let Some((head, rest)) = tail.split_once(':')
        && !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return (Some(head.to_owned()), rest.trim().to_owned());
    }
    // A bare class (`KeyError` without message) or free text.
    if !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return (Some(tail.to_owned()), String::new());
    }
    (None, tail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, msg: &str, status: Option<u16>) -> Fault {
        Fault {
            name: Some(name.into()),
            http_status: status,
            ..Fault::new(Protocol::Json2, msg)
        }
    }

    #[test]
    fn names_map_to_classes() {
        assert!(matches!(
            classify(f("odoo.exceptions.AccessDenied", "Access Denied", None)),
            OdooError::AccessDenied(_)
        ));
        assert!(matches!(
            classify(f(
                "odoo.exceptions.UserError",
                "Object no.such.model doesn't exist",
                None
            )),
            OdooError::UnknownModel(_)
        ));
        assert!(matches!(
            classify(f(
                "werkzeug.exceptions.NotFound",
                "the model 'x' does not exist",
                Some(404)
            )),
            OdooError::UnknownModel(_)
        ));
        assert!(matches!(
            classify(f(
                "builtins.AttributeError",
                "The method 'a.b' does not exist",
                None
            )),
            OdooError::UnknownMethod(_)
        ));
        assert!(matches!(
            classify(f(
                "psycopg2.errors.SerializationFailure",
                "could not serialize access due to concurrent update",
                Some(500)
            )),
            OdooError::Retryable {
                kind: RetryKind::SerializationFailure,
                ..
            }
        ));
        assert!(matches!(
            classify(f(
                "psycopg2.OperationalError",
                "FATAL:  database \"x\" does not exist",
                None
            )),
            OdooError::DatabaseNotFound(_)
        ));
        assert!(matches!(
            classify(f(
                "odoo.http.SessionExpiredException",
                "Session expired",
                None
            )),
            OdooError::SessionExpired(_)
        ));
        assert!(matches!(
            classify(f("builtins.KeyError", "x", None)),
            OdooError::ServerError(_)
        ));
    }

    #[test]
    fn traceback_tail_is_the_exception() {
        let tb = "Traceback (most recent call last):\n  File \"/opt/a.py\", line 1, in x\n    y()\n    ^^^\nValueError: Invalid field 'x' on 'y'\n";
        assert_eq!(
            parse_traceback(tb),
            (Some("ValueError".into()), "Invalid field 'x' on 'y'".into())
        );
        let chained = format!(
            "{tb}\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/b.py\", line 2, in z\n    w()\nodoo.exceptions.UserError: line one\nline two\n"
        );
        assert_eq!(
            parse_traceback(&chained),
            (
                Some("odoo.exceptions.UserError".into()),
                "line one\nline two".into()
            )
        );
        assert_eq!(parse_traceback("just text"), (None, "just text".into()));
        assert_eq!(parse_traceback(""), (None, String::new()));
    }

    #[test]
    fn display_keeps_message_and_hides_traceback() {
        let mut fault = f(
            "odoo.exceptions.UserError",
            "Some orders are not in a state requiring confirmation.",
            Some(422),
        );
        fault.debug = Some("Traceback (most recent call last): SECRET-LOOKING".into());
        let e = classify(fault);
        let shown = e.to_string();
        assert!(shown.contains("Some orders are not in a state"), "{shown}");
        assert!(!shown.contains("Traceback"), "{shown}");
        assert!(!format!("{e:?}").contains("SECRET-LOOKING"));
    }
}
