//! HTTP routes: the public `/v1` API (authenticated, rate limited, counted, fault-injectable)
//! and the `/_sandbox` control API (none of that: it is the test's hand, not a client).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::limits::{Fault, OpLimit};
use super::state::{NewOrder, State, page};
use super::wire::ApiError;
use super::{App, GeneratorConfig, WebhookBehaviour};

type S = AxState<Arc<App>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let control = Router::new()
        .route("/orders", post(c_create_order))
        .route("/orders/{id}", get(c_get_order))
        .route("/orders/{id}/status", post(c_order_status))
        .route("/orders/{id}/cancel", post(c_cancel))
        .route("/returns", post(c_create_return))
        .route("/returns/{id}/status", post(c_return_status))
        .route("/settlements", post(c_create_settlement))
        .route("/inventory", get(c_inventory))
        .route("/prices", get(c_prices))
        .route("/catalog", put(c_catalog))
        .route("/counters", get(c_counters).delete(c_reset_counters))
        .route("/faults", post(c_fault).delete(c_clear_faults))
        .route("/limits/{op}", put(c_limit))
        .route("/webhooks", put(c_webhooks))
        .route("/events", get(c_events))
        .route("/generate", post(c_generate))
        .route(
            "/generator",
            post(c_start_generator).delete(c_stop_generator),
        )
        .route("/deliveries", get(c_deliveries))
        .route("/token", put(c_token));
    Router::new()
        .route("/v1/orders", get(list_orders))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/orders/{id}/shipments", post(create_shipment))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/inventory", put(put_inventory).get(get_inventory))
        .route("/v1/prices", put(put_prices))
        .route("/v1/listings/{sku}", put(put_listing))
        .route("/v1/returns", get(list_returns))
        .route("/v1/settlements", get(list_settlements))
        .nest("/_sandbox", control)
        .fallback(|| async { ApiError::new(404, "NOT_FOUND", "no such endpoint", None) })
        .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
        .with_state(app)
}

fn rate_headers(resp: &mut Response, limit: OpLimit, remaining: f64) {
    let h = resp.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put("x-ratelimit-limit", format!("{}", limit.burst));
    put(
        "x-ratelimit-remaining",
        format!("{}", remaining.floor().max(0.0)),
    );
    put("x-ratelimit-rate", format!("{}", limit.rate));
}

/// The common path of every `/v1` request: auth, rate limit, counting, faults, the handler
/// itself (under the state lock), then rate-limit headers.
async fn api(
    app: &App,
    headers: &HeaderMap,
    op: &'static str,
    write: bool,
    f: impl FnOnce(&mut State) -> Result<(StatusCode, Value), ApiError>,
) -> Response {
    let token = app.token.lock().clone();
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == token);
    if !authorised {
        app.state.lock().counters.unauthorized += 1;
        return ApiError::new(401, "UNAUTHORIZED", "missing or invalid access token", None)
            .into_response();
    }
    let verdict = app.limits.lock().check(op);
    if let Some(v) = &verdict
        && !v.allowed
    {
        *app.state
            .lock()
            .counters
            .throttled
            .entry(op.to_string())
            .or_default() += 1;
        let mut resp = ApiError::new(429, "RATE_LIMITED", format!("too many {op} requests"), None)
            .into_response();
        rate_headers(&mut resp, v.limit, v.remaining);
        let secs = v.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
        return resp;
    }
    {
        let mut st = app.state.lock();
        *st.counters.requests.entry(op.to_string()).or_default() += 1;
        if write {
            *st.counters.writes.entry(op.to_string()).or_default() += 1;
        }
    }
    let fault = app.faults.lock().take(op);
    match &fault {
        Some(Fault::Status { status }) => {
            let code = if *status == 503 {
                "SERVICE_UNAVAILABLE"
            } else {
                "INTERNAL_ERROR"
            };
            return ApiError::new(*status, code, "injected fault", None).into_response();
        }
        Some(Fault::Latency { millis }) => tokio::time::sleep(Duration::from_millis(*millis)).await,
        _ => {}
    }
    let result = app.with_state(f);
    match &fault {
        Some(Fault::ApplyThenStall { millis }) => {
            tokio::time::sleep(Duration::from_millis(*millis)).await
        }
        Some(Fault::ApplyThen502) => {
            return ApiError::new(502, "BAD_GATEWAY", "upstream did not answer", None)
                .into_response();
        }
        _ => {}
    }
    let mut resp = match result {
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    if let Some(v) = verdict {
        rate_headers(&mut resp, v.limit, v.remaining);
    }
    resp
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "INVALID_JSON", format!("body is not JSON: {e}"), None))
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

struct ListQuery {
    updated_after: Option<Timestamp>,
    after: Option<(Timestamp, String)>,
    limit: usize,
}

fn encode_cursor(c: &(Timestamp, String)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", c.0.as_microsecond(), c.1))
}

fn decode_cursor(s: &str) -> Option<(Timestamp, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (t, id) = raw.split_once('|')?;
    Some((
        Timestamp::from_microsecond(t.parse().ok()?).ok()?,
        id.to_string(),
    ))
}

fn list_query(q: &Option<String>, max_page: usize) -> Result<ListQuery, ApiError> {
    let mut out = ListQuery {
        updated_after: None,
        after: None,
        limit: 50.min(max_page),
    };
    for (k, v) in query_pairs(q) {
        match k.as_str() {
            "updated_after" => {
                out.updated_after = Some(v.parse().map_err(|_| {
                    ApiError::new(
                        400,
                        "INVALID_PARAMETER",
                        "updated_after must be an RFC 3339 timestamp",
                        Some("updated_after"),
                    )
                })?)
            }
            "limit" => {
                let n: usize = v.parse().map_err(|_| {
                    ApiError::new(
                        400,
                        "INVALID_PARAMETER",
                        "limit must be an integer",
                        Some("limit"),
                    )
                })?;
                if n == 0 || n > max_page {
                    return Err(ApiError::new(
                        400,
                        "INVALID_PARAMETER",
                        format!("limit must be between 1 and {max_page}"),
                        Some("limit"),
                    ));
                }
                out.limit = n;
            }
            "cursor" => {
                out.after = Some(decode_cursor(&v).ok_or_else(|| {
                    ApiError::new(400, "INVALID_CURSOR", "cursor is not valid", Some("cursor"))
                })?)
            }
            _ => {}
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ /v1

async fn list_orders(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let max_page = app.max_page;
    api(&app, &headers, "orders.list", false, |st| {
        let lq = list_query(&q, max_page)?;
        let (items, next) = page(
            st.orders
                .values()
                .map(|o| (&o.updated_at, o.id.as_str(), o)),
            lq.updated_after,
            lq.after,
            lq.limit,
        );
        let orders: Vec<Value> = items.into_iter().map(|o| o.to_json()).collect();
        Ok((
            StatusCode::OK,
            json!({"orders": orders, "next_cursor": next.as_ref().map(encode_cursor)}),
        ))
    })
    .await
}

async fn get_order(AxState(app): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    api(&app, &headers, "orders.get", false, |st| {
        Ok((StatusCode::OK, st.get_order(&id)?))
    })
    .await
}

async fn create_shipment(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    api(&app, &headers, "shipments.create", true, |st| {
        let b = parse_json(&body)?;
        let (created, v) = st.create_shipment(&id, &b)?;
        Ok((
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            v,
        ))
    })
    .await
}

async fn cancel_order(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    api(&app, &headers, "orders.cancel", true, |st| {
        let b = parse_json(&body)?;
        let (already, order) = st.cancel_order(&id, &b)?;
        Ok((
            StatusCode::OK,
            json!({"already_cancelled": already, "order": order}),
        ))
    })
    .await
}

fn items_of(b: &Value, max: usize) -> Result<Vec<Value>, ApiError> {
    let items = b.get("items").and_then(Value::as_array).ok_or_else(|| {
        ApiError::new(
            400,
            "MISSING_FIELD",
            "items must be an array",
            Some("items"),
        )
    })?;
    if items.is_empty() || items.len() > max {
        return Err(ApiError::new(
            400,
            "BATCH_TOO_LARGE",
            format!("items must hold 1 to {max} entries"),
            Some("items"),
        ));
    }
    Ok(items.clone())
}

async fn put_inventory(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    let max = app.max_batch;
    api(&app, &headers, "inventory.write", true, |st| {
        let items = items_of(&parse_json(&body)?, max)?;
        Ok((StatusCode::OK, json!({"results": st.set_inventory(&items)})))
    })
    .await
}

async fn get_inventory(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let max = app.max_batch;
    api(&app, &headers, "inventory.read", false, |st| {
        let skus: Vec<String> = query_pairs(&q)
            .into_iter()
            .filter(|(k, _)| k == "sku")
            .map(|(_, v)| v)
            .collect();
        if skus.is_empty() || skus.len() > max {
            return Err(ApiError::new(
                400,
                "INVALID_PARAMETER",
                format!("give 1 to {max} sku parameters"),
                Some("sku"),
            ));
        }
        Ok((StatusCode::OK, st.read_inventory(&skus)))
    })
    .await
}

async fn put_prices(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    let max = app.max_batch;
    api(&app, &headers, "prices.write", true, |st| {
        let items = items_of(&parse_json(&body)?, max)?;
        Ok((StatusCode::OK, json!({"results": st.set_prices(&items)})))
    })
    .await
}

async fn put_listing(
    AxState(app): S,
    headers: HeaderMap,
    Path(sku): Path<String>,
    body: Bytes,
) -> Response {
    api(&app, &headers, "listings.write", true, |st| {
        let b = parse_json(&body)?;
        let (created, v) = st.upsert_listing(&sku, &b)?;
        Ok((
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            v,
        ))
    })
    .await
}

async fn list_returns(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let max_page = app.max_page;
    api(&app, &headers, "returns.list", false, |st| {
        let lq = list_query(&q, max_page)?;
        let (items, next) = page(
            st.returns
                .values()
                .map(|r| (&r.updated_at, r.id.as_str(), r)),
            lq.updated_after,
            lq.after,
            lq.limit,
        );
        let v: Vec<Value> = items.into_iter().map(|r| r.to_json()).collect();
        Ok((
            StatusCode::OK,
            json!({"returns": v, "next_cursor": next.as_ref().map(encode_cursor)}),
        ))
    })
    .await
}

async fn list_settlements(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let max_page = app.max_page;
    api(&app, &headers, "settlements.list", false, |st| {
        let lq = list_query(&q, max_page)?;
        let (items, next) = page(
            st.settlements
                .values()
                .map(|s| (&s.updated_at, s.id.as_str(), s)),
            lq.updated_after,
            lq.after,
            lq.limit,
        );
        let v: Vec<Value> = items.into_iter().map(|s| s.to_json()).collect();
        Ok((
            StatusCode::OK,
            json!({"settlements": v, "next_cursor": next.as_ref().map(encode_cursor)}),
        ))
    })
    .await
}

// ------------------------------------------------------------------ /_sandbox

fn control(r: Result<Value, ApiError>, ok: StatusCode) -> Response {
    match r {
        Ok(v) => (ok, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "INVALID_JSON", e.to_string(), None))
}

async fn c_create_order(AxState(app): S, body: Bytes) -> Response {
    let r = typed::<NewOrder>(&body).and_then(|spec| app.with_state(|s| s.create_order(spec)));
    control(r, StatusCode::CREATED)
}

async fn c_get_order(AxState(app): S, Path(id): Path<String>) -> Response {
    control(app.state.lock().get_order(&id), StatusCode::OK)
}

async fn c_order_status(AxState(app): S, Path(id): Path<String>, body: Bytes) -> Response {
    let r = parse_json(&body).and_then(|b| {
        let status = b
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        app.with_state(|s| s.set_order_status(&id, &status))
    });
    control(r, StatusCode::OK)
}

async fn c_cancel(AxState(app): S, Path(id): Path<String>, body: Bytes) -> Response {
    let r =
        parse_json(&body).and_then(|b| app.with_state(|s| s.cancel_order(&id, &b)).map(|(_, v)| v));
    control(r, StatusCode::OK)
}

async fn c_create_return(AxState(app): S, body: Bytes) -> Response {
    let r = parse_json(&body).and_then(|b| {
        let order_id = b
            .get("order_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let lines: Vec<(String, u32, Option<String>)> = b
            .get("lines")
            .and_then(Value::as_array)
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        (
                            l.get("line_id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            l.get("quantity").and_then(Value::as_u64).unwrap_or(0) as u32,
                            l.get("reason").and_then(Value::as_str).map(str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        app.with_state(|s| s.create_return(&order_id, &lines))
    });
    control(r, StatusCode::CREATED)
}

async fn c_return_status(AxState(app): S, Path(id): Path<String>, body: Bytes) -> Response {
    let r = parse_json(&body).and_then(|b| {
        let status = b
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let refund = b
            .get("refund_amount")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Decimal>().ok());
        app.with_state(|s| s.set_return_status(&id, &status, refund))
    });
    control(r, StatusCode::OK)
}

async fn c_create_settlement(AxState(app): S, body: Bytes) -> Response {
    let r = (if body.is_empty() {
        Ok(json!({}))
    } else {
        parse_json(&body)
    })
    .and_then(|b| {
        let ids: Option<Vec<String>> = b.get("order_ids").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        });
        let adj = b
            .get("adjustment")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Decimal>().ok());
        app.with_state(|s| s.create_settlement(ids.as_deref(), adj))
    });
    control(r, StatusCode::CREATED)
}

async fn c_inventory(AxState(app): S) -> Response {
    axum::Json(json!(app.state.lock().quantities())).into_response()
}

async fn c_prices(AxState(app): S) -> Response {
    let p: serde_json::Map<String, Value> = app
        .state
        .lock()
        .prices()
        .into_iter()
        .map(|(k, v)| (k, json!(v.to_string())))
        .collect();
    axum::Json(Value::Object(p)).into_response()
}

async fn c_catalog(AxState(app): S, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Items {
        items: Vec<super::CatalogItem>,
    }
    let r = typed::<Items>(&body).map(|i| {
        let n = i.items.len();
        app.with_state(|s| i.items.into_iter().for_each(|it| s.upsert_catalog(it)));
        json!({"upserted": n})
    });
    control(r, StatusCode::OK)
}

async fn c_counters(AxState(app): S) -> Response {
    axum::Json(json!(app.state.lock().counters)).into_response()
}

async fn c_reset_counters(AxState(app): S) -> Response {
    app.state.lock().counters = Default::default();
    StatusCode::NO_CONTENT.into_response()
}

async fn c_fault(AxState(app): S, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Req {
        op: String,
        fault: Fault,
        #[serde(default = "one")]
        times: u32,
    }
    fn one() -> u32 {
        1
    }
    let r = typed::<Req>(&body).map(|r| {
        app.faults.lock().push(&r.op, r.fault, r.times);
        json!({"queued": true})
    });
    control(r, StatusCode::OK)
}

async fn c_clear_faults(AxState(app): S) -> Response {
    app.faults.lock().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn c_limit(AxState(app): S, Path(op): Path<String>, body: Bytes) -> Response {
    let r = typed::<OpLimit>(&body).map(|l| {
        app.limits.lock().set(&op, l);
        json!({"op": op, "limit": l})
    });
    control(r, StatusCode::OK)
}

async fn c_webhooks(AxState(app): S, body: Bytes) -> Response {
    let r = typed::<WebhookBehaviour>(&body).map(|w| {
        *app.webhooks.lock() = w.clone();
        json!(w)
    });
    control(r, StatusCode::OK)
}

async fn c_events(AxState(app): S) -> Response {
    axum::Json(json!(app.state.lock().events)).into_response()
}

async fn c_generate(AxState(app): S, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Req {
        count: usize,
        #[serde(flatten)]
        generator: GeneratorConfig,
    }
    let r = typed::<Req>(&body).map(|r| {
        let n = r.count.min(10_000);
        let orders: Vec<Value> = app.with_state(|s| {
            (0..n)
                .map(|_| s.generate_order(r.generator.bad_rate, r.generator.marketplace_rate))
                .collect()
        });
        json!({"orders": orders})
    });
    control(r, StatusCode::CREATED)
}

async fn c_start_generator(AxState(app): S, body: Bytes) -> Response {
    let r = (if body.is_empty() {
        Ok(GeneratorConfig::default())
    } else {
        typed::<GeneratorConfig>(&body)
    })
    .map(|g| {
        app.start_generator(g.clone());
        json!({"started": g})
    });
    control(r, StatusCode::OK)
}

async fn c_stop_generator(AxState(app): S) -> Response {
    app.stop_generator();
    StatusCode::NO_CONTENT.into_response()
}

async fn c_deliveries(AxState(app): S) -> Response {
    axum::Json(json!(*app.deliveries.lock())).into_response()
}

async fn c_token(AxState(app): S, body: Bytes) -> Response {
    let r = parse_json(&body).and_then(|b| {
        let t = b
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(422, "MISSING_FIELD", "token is required", Some("token"))
            })?;
        *app.token.lock() = t.to_string();
        Ok(json!({"rotated": true}))
    });
    control(r, StatusCode::OK)
}
