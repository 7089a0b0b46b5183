//! The error body every endpoint uses: `{"errors": [{"code", "message", "field"}]}` with an
//! HTTP status, as Shopify REST and most marketplaces do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>, field: Option<&str>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({"errors": [{"code": self.code, "message": self.message, "field": self.field}]})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}
