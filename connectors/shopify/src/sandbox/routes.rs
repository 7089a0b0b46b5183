//! HTTP: the Admin GraphQL endpoint and a small control API under `/_sandbox/`.
//!
//! `POST /admin/api/2025-01/graphql.json` with `X-Shopify-Access-Token`:
//! 1. 401 without the right token (Shopify's REST-style body), 404 for another API version;
//! 2. the document is parsed and **validated against the schema** (the bundled subset of the
//!    official SDL); an invalid one gets `errors` and executes nothing;
//! 3. its requested cost is computed (`cost.rs`): over the single-query limit →
//!    `MAX_COST_EXCEEDED`; more than the bucket holds → `THROTTLED` (counted), nothing runs;
//! 4. it is executed against the state (`exec.rs`), the actual cost is computed from the
//!    response and the difference refunded; every response carries `extensions.cost`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::Fault;
use super::schema::API_VERSION;
use super::state::NewOrder;
use super::{App, Exchange};

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .route("/_sandbox/orders", post(ctl_create_order))
        .route("/_sandbox/inventory", post(ctl_set_inventory))
        .route("/_sandbox/counters", get(ctl_counters))
        .route("/_sandbox/payouts", post(ctl_payout))
        .route("/_sandbox/webhooks", post(ctl_webhooks))
        .with_state(app)
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

async fn graphql(
    State(app): State<Arc<App>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version != API_VERSION {
        return json_response(StatusCode::NOT_FOUND, json!({"errors": "Not Found"}));
    }
    let token_ok = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| !t.is_empty() && *app.token.lock() == t);
    if !token_ok {
        app.state.lock().counters.unauthorized += 1;
        return json_response(StatusCode::UNAUTHORIZED, super::wire::unauthorized());
    }
    app.state.lock().counters.requests += 1;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let Some(query) = req.get("query").and_then(Value::as_str).map(str::to_string) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let variables = match req.get("variables") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return json_response(
                StatusCode::OK,
                super::wire::request_error("Variables must be an object", "BAD_REQUEST"),
            );
        }
    };
    let op_name = req
        .get("operationName")
        .and_then(Value::as_str)
        .map(str::to_string);
    let fault = app
        .faults
        .lock()
        .take(op_name.as_deref().unwrap_or("anonymous"));
    match &fault {
        Some(Fault::Status { status }) => {
            let s = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return json_response(
                s,
                json!({"errors": s.canonical_reason().unwrap_or("error")}),
            );
        }
        Some(Fault::InternalError) => {
            return json_response(StatusCode::OK, super::wire::internal_error());
        }
        Some(f) => {
            if let Some(d) = f.latency() {
                tokio::time::sleep(d).await;
            }
        }
        None => {}
    }
    let response = app.execute(&query, &variables, op_name.as_deref());
    app.flush_events();
    if app.record_exchanges {
        let mut ex = app.exchanges.lock();
        if ex.len() < 50_000 {
            ex.push(Exchange {
                operation_name: op_name.clone(),
                query: query.clone(),
                variables: variables.clone(),
                response: response.clone(),
            });
        }
    }
    match fault {
        Some(Fault::ApplyThen502) => {
            json_response(StatusCode::BAD_GATEWAY, json!({"errors": "Bad Gateway"}))
        }
        Some(Fault::ApplyThenStall { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            json_response(StatusCode::OK, response)
        }
        _ => json_response(StatusCode::OK, response),
    }
}

async fn ctl_create_order(
    State(app): State<Arc<App>>,
    axum::Json(spec): axum::Json<NewOrder>,
) -> Response {
    let r = app.state.lock().create_order(spec);
    app.flush_events();
    match r {
        Ok(id) => json_response(
            StatusCode::CREATED,
            json!({"id": id, "admin_graphql_api_id": super::state::gid("Order", id)}),
        ),
        Err(e) => json_response(StatusCode::UNPROCESSABLE_ENTITY, json!({"errors": e})),
    }
}

#[derive(Deserialize)]
struct SetInventory {
    sku: String,
    available: i64,
}

async fn ctl_set_inventory(
    State(app): State<Arc<App>>,
    axum::Json(s): axum::Json<SetInventory>,
) -> Response {
    let r = app.state.lock().set_available(&s.sku, None, s.available);
    app.flush_events();
    match r {
        Some(before) => json_response(
            StatusCode::OK,
            json!({"sku": s.sku, "before": before, "available": s.available}),
        ),
        None => json_response(StatusCode::NOT_FOUND, json!({"errors": "unknown sku"})),
    }
}

async fn ctl_counters(State(app): State<Arc<App>>) -> Response {
    let c = app.state.lock().counters.clone();
    json_response(StatusCode::OK, serde_json::to_value(c).unwrap_or_default())
}

#[derive(Deserialize)]
struct NewPayout {
    #[serde(default = "paid")]
    status: String,
}

fn paid() -> String {
    "PAID".into()
}

async fn ctl_payout(State(app): State<Arc<App>>, axum::Json(p): axum::Json<NewPayout>) -> Response {
    match app.state.lock().create_payout(&p.status) {
        Some(id) => json_response(StatusCode::CREATED, json!({"id": id})),
        None => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"errors": "nothing to pay out"}),
        ),
    }
}

#[derive(Deserialize)]
struct WebhookUrl {
    url: Option<String>,
}

async fn ctl_webhooks(
    State(app): State<Arc<App>>,
    axum::Json(w): axum::Json<WebhookUrl>,
) -> Response {
    *app.webhook_url.lock() = w.url;
    json_response(StatusCode::OK, json!({"ok": true}))
}
