//! Odoo's exceptions, and how each protocol shows them.
//!
//! One error value is raised inside the ORM; the protocol layer decides its XML-RPC fault code,
//! JSON-RPC `data.name`, JSON-2 HTTP status and the traceback text, from the table in
//! [`ErrKind`]. The mapping is the one the captures show (`../shared/odoo-reference/19.0`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrKind {
    UserError,
    ValidationError,
    MissingError,
    AccessError,
    AccessDenied,
    /// `builtins.ValueError` (wrong selection value, invalid field).
    ValueError,
    /// `builtins.AttributeError` (unknown method).
    AttributeError,
    KeyError,
    IndexError,
    TypeError,
    /// `psycopg2.OperationalError` (unknown database).
    OperationalError,
    /// `psycopg2.errors.SerializationFailure` (a concurrent update Odoo could not retry away).
    SerializationFailure,
    /// werkzeug NotFound (JSON-2 unknown model / method).
    NotFound,
    /// werkzeug UnprocessableEntity (JSON-2 bad arguments).
    Unprocessable,
    /// werkzeug Unauthorized (JSON-2 bad key).
    Unauthorized,
    /// werkzeug BadRequest (JSON-2 bad JSON).
    BadRequest,
}

impl ErrKind {
    /// The exception's qualified name, as JSON-RPC `data.name` shows it.
    pub fn python_name(self) -> &'static str {
        match self {
            ErrKind::UserError => "odoo.exceptions.UserError",
            ErrKind::ValidationError => "odoo.exceptions.ValidationError",
            ErrKind::MissingError => "odoo.exceptions.MissingError",
            ErrKind::AccessError => "odoo.exceptions.AccessError",
            ErrKind::AccessDenied => "odoo.exceptions.AccessDenied",
            ErrKind::ValueError => "builtins.ValueError",
            ErrKind::AttributeError => "builtins.AttributeError",
            ErrKind::KeyError => "builtins.KeyError",
            ErrKind::IndexError => "builtins.IndexError",
            ErrKind::TypeError => "builtins.TypeError",
            ErrKind::OperationalError => "psycopg2.OperationalError",
            ErrKind::SerializationFailure => "psycopg2.errors.SerializationFailure",
            ErrKind::NotFound => "werkzeug.exceptions.NotFound",
            ErrKind::Unprocessable => "werkzeug.exceptions.UnprocessableEntity",
            ErrKind::Unauthorized => "werkzeug.exceptions.Unauthorized",
            ErrKind::BadRequest => "werkzeug.exceptions.BadRequest",
        }
    }

    /// How the exception's last traceback line names it (`ValueError: …`).
    pub fn traceback_name(self) -> &'static str {
        let n = self.python_name();
        n.strip_prefix("builtins.").unwrap_or(n)
    }

    /// `/xmlrpc/2` faultCode: 1 other, 2 UserError family, 3 AccessDenied, 4 AccessError.
    pub fn xmlrpc_code(self) -> i64 {
        match self {
            ErrKind::UserError | ErrKind::ValidationError | ErrKind::MissingError => 2,
            ErrKind::AccessDenied => 3,
            ErrKind::AccessError => 4,
            _ => 1,
        }
    }

    /// Whether the fault string is the message (codes 2–4) or a traceback (code 1).
    pub fn is_odoo_warning(self) -> bool {
        self.xmlrpc_code() != 1
    }

    /// The JSON-2 HTTP status.
    pub fn json2_status(self) -> u16 {
        match self {
            ErrKind::UserError | ErrKind::ValidationError | ErrKind::Unprocessable => 422,
            ErrKind::MissingError | ErrKind::NotFound => 404,
            ErrKind::AccessError => 403,
            ErrKind::AccessDenied | ErrKind::Unauthorized => 401,
            ErrKind::BadRequest => 400,
            _ => 500,
        }
    }

    /// werkzeug HTTP exceptions carry their status as a second argument.
    pub fn http_arg(self) -> Option<u16> {
        match self {
            ErrKind::NotFound
            | ErrKind::Unprocessable
            | ErrKind::Unauthorized
            | ErrKind::BadRequest => Some(self.json2_status()),
            _ => None,
        }
    }
}

/// An exception raised by a call.
#[derive(Debug, Clone, PartialEq)]
pub struct OdooError {
    pub kind: ErrKind,
    pub message: String,
}

impl OdooError {
    pub fn new(kind: ErrKind, message: impl Into<String>) -> OdooError {
        OdooError {
            kind,
            message: message.into(),
        }
    }
    pub fn user(m: impl Into<String>) -> Self {
        Self::new(ErrKind::UserError, m)
    }
    pub fn validation(m: impl Into<String>) -> Self {
        Self::new(ErrKind::ValidationError, m)
    }
    pub fn value(m: impl Into<String>) -> Self {
        Self::new(ErrKind::ValueError, m)
    }
    pub fn type_error(m: impl Into<String>) -> Self {
        Self::new(ErrKind::TypeError, m)
    }
    pub fn access(m: impl Into<String>) -> Self {
        Self::new(ErrKind::AccessError, m)
    }
    pub fn access_denied() -> Self {
        Self::new(ErrKind::AccessDenied, "Access Denied")
    }
    /// `MissingError` as `BaseModel._check_missing` words it.
    pub fn missing(model: &str, ids: &[i64], uid: i64) -> Self {
        Self::new(
            ErrKind::MissingError,
            format!(
                "Record does not exist or has been deleted.\n(Record: {model}{}, User: {uid})",
                py_tuple(ids)
            ),
        )
    }
    /// A SQL constraint violation, as `retrying()` rewords it.
    pub fn constraint(message: &str) -> Self {
        Self::validation(format!("The operation cannot be completed: {message}"))
    }
}

/// Python's repr of a tuple of ints: `(5,)`, `(5, 6)`, `()`.
pub fn py_tuple(ids: &[i64]) -> String {
    match ids {
        [] => "()".into(),
        [one] => format!("({one},)"),
        many => format!(
            "({})",
            many.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl fmt::Display for OdooError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.python_name(), self.message)
    }
}

impl std::error::Error for OdooError {}

pub type OResult<T> = Result<T, OdooError>;

/// A traceback that looks like the server's: the frames a real call went through, ending with
/// the exception line (which is what clients parse).
pub fn traceback(kind: ErrKind, message: &str, frames: &[(&str, u32, &str, &str)]) -> String {
    let mut s = String::from("Traceback (most recent call last):\n");
    for (file, line, func, code) in frames {
        s.push_str(&format!(
            "  File \"{file}\", line {line}, in {func}\n    {code}\n"
        ));
    }
    s.push_str(kind.traceback_name());
    if !message.is_empty() {
        s.push_str(": ");
        s.push_str(message);
    }
    s.push('\n');
    s
}

/// The frames every `execute_kw` passes through on a 19.0 server.
pub const EXECUTE_KW_FRAMES: &[(&str, u32, &str, &str)] = &[
    (
        "/opt/odoo/addons/rpc/controllers/xmlrpc.py",
        162,
        "xmlrpc_2",
        "response = self._xmlrpc(service)",
    ),
    (
        "/opt/odoo/addons/rpc/controllers/xmlrpc.py",
        134,
        "_xmlrpc",
        "result = dispatch_rpc(service, method, params)",
    ),
    (
        "/opt/odoo/odoo/http.py",
        439,
        "dispatch_rpc",
        "return dispatch(method, params)",
    ),
    (
        "/opt/odoo/odoo/service/model.py",
        129,
        "dispatch",
        "res = execute_cr(cr, uid, model, method_, args, kw)",
    ),
    (
        "/opt/odoo/odoo/service/model.py",
        146,
        "execute_cr",
        "result = retrying(partial(call_kw, recs, method, args, kw), env)",
    ),
    (
        "/opt/odoo/odoo/service/model.py",
        184,
        "retrying",
        "result = func()",
    ),
    (
        "/opt/odoo/odoo/service/model.py",
        75,
        "call_kw",
        "result = method(recs, *args, **kwargs)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_error_words_like_odoo() {
        assert_eq!(
            OdooError::missing("product.product", &[999999], 2).message,
            "Record does not exist or has been deleted.\n(Record: product.product(999999,), User: 2)"
        );
        assert_eq!(py_tuple(&[1, 2]), "(1, 2)");
    }

    #[test]
    fn kinds_map_to_protocol_codes() {
        assert_eq!(ErrKind::MissingError.xmlrpc_code(), 2);
        assert_eq!(ErrKind::MissingError.json2_status(), 404);
        assert_eq!(ErrKind::ValueError.json2_status(), 500);
        assert_eq!(ErrKind::ValueError.traceback_name(), "ValueError");
        assert_eq!(ErrKind::AccessError.xmlrpc_code(), 4);
        let tb = traceback(ErrKind::ValueError, "bad", EXECUTE_KW_FRAMES);
        assert!(tb.ends_with("ValueError: bad\n"));
    }
}
