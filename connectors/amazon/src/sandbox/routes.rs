//! HTTP routes: LWA, the SP-API operations the connector uses (same paths, query parameters,
//! headers and bodies as the models), the pre-signed document URLs (`/_s3/…`, standing in for
//! S3), and the `/_sandbox` control API (the test's hand: not authenticated, not limited).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::App;
use super::limits::{Fault, millis};
use super::state::{NewOrder, State};
use super::wire::{ApiError, oauth_error};

type S = AxState<Arc<App>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let control = Router::new()
        .route("/orders", post(c_create_order))
        .route("/orders/{id}/status", post(c_order_status))
        .route("/listings", get(c_listings))
        .route("/counters", get(c_counters).delete(c_reset_counters))
        .route("/faults", post(c_fault).delete(c_clear_faults));
    Router::new()
        .route("/auth/o2/token", post(lwa_token))
        .route("/orders/v0/orders", get(get_orders))
        .route("/orders/v0/orders/{id}", get(get_order))
        .route("/orders/v0/orders/{id}/orderItems", get(get_order_items))
        .route(
            "/orders/v0/orders/{id}/shipmentConfirmation",
            post(confirm_shipment),
        )
        .route("/tokens/2021-03-01/restrictedDataToken", post(create_rdt))
        .route("/listings/2021-08-01/items/{seller}", get(search_listings))
        .route(
            "/listings/2021-08-01/items/{seller}/{sku}",
            get(get_listing).put(put_listing).patch(patch_listing),
        )
        .route("/feeds/2021-06-30/documents", post(create_feed_document))
        .route("/feeds/2021-06-30/documents/{id}", get(get_feed_document))
        .route("/feeds/2021-06-30/feeds", post(create_feed))
        .route("/feeds/2021-06-30/feeds/{id}", get(get_feed))
        .route("/reports/2021-06-30/reports", post(create_report))
        .route("/reports/2021-06-30/reports/{id}", get(get_report))
        .route(
            "/reports/2021-06-30/documents/{id}",
            get(get_report_document),
        )
        .route("/fba/inventory/v1/summaries", get(inventory_summaries))
        .route("/finances/v0/financialEventGroups", get(list_groups))
        .route(
            "/finances/v0/financialEventGroups/{id}/financialEvents",
            get(list_group_events),
        )
        .route("/_s3/documents/{id}", put(s3_put).get(s3_get))
        .nest("/_sandbox", control)
        .fallback(|| async { ApiError::new(404, "NotFound", "Resource not found") })
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(app)
}

/// Query string → map; repeated keys are joined with `,` (Swagger 2.0 `csv` is the default
/// collection format, and a client sending `multi` still means the same list).
fn query_map(raw: Option<String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        out.entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    out
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("body is not JSON: {e}")))
}

fn set_headers(app: &App, resp: &mut Response, op: &str) {
    let h = resp.headers_mut();
    let n = app
        .request_ids
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(v) = HeaderValue::from_str(&format!("sbx-{n:012}")) {
        h.insert("x-amzn-RequestId", v);
    }
    if let Some(l) = app.limits.lock().limit(op)
        && let Ok(v) = HeaderValue::from_str(&format!("{}", l.rate))
    {
        h.insert("x-amzn-RateLimit-Limit", v);
    }
}

/// Who is calling: an LWA access token, or a Restricted Data Token covering some paths.
enum Caller {
    Lwa,
    Rdt(Vec<String>),
}

fn authenticate(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(tok) = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::new(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
        )
        .details("The request has no x-amz-access-token."));
    };
    let tokens = app.tokens.lock();
    let now = Instant::now();
    if let Some(exp) = tokens.access.get(tok) {
        return if now < *exp {
            Ok(Caller::Lwa)
        } else {
            Err(ApiError::new(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
            )
            .details("The access token you provided has expired."))
        };
    }
    if let Some((exp, paths)) = tokens.rdt.get(tok) {
        return if now < *exp {
            Ok(Caller::Rdt(paths.clone()))
        } else {
            Err(ApiError::new(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
            )
            .details("The Restricted Data Token you provided has expired."))
        };
    }
    Err(ApiError::new(
        401,
        "Unauthorized",
        "Access to requested resource is denied.",
    )
    .details("The access token you provided is revoked, malformed or invalid."))
}

/// Operations whose model declares a 401 answer (the others declare only 403).
const DECLARES_401: &[&str] = &[
    "createFeed",
    "getFeed",
    "getFeedDocument",
    "confirmShipment",
    "createRestrictedDataToken",
];

/// What a handler returns: status and body (`Null` → empty body, e.g. 204).
type Handled = Result<(StatusCode, Value), ApiError>;

fn err_pair(e: ApiError) -> (StatusCode, Value) {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.body(),
    )
}

/// Renders an answer with `x-amzn-RequestId` and `x-amzn-RateLimit-Limit`, and writes it to
/// the journal when recording.
fn finish(
    app: &App,
    op: &str,
    req: Option<&[u8]>,
    (status, body): (StatusCode, Value),
) -> Response {
    if let Some(j) = app.journal.lock().as_mut() {
        j.push(super::JournalEntry {
            op: op.to_string(),
            status: status.as_u16(),
            request: req.and_then(|b| serde_json::from_slice(b).ok()),
            response: (!body.is_null()).then(|| body.clone()),
        });
    }
    let mut r = render(status, body);
    set_headers(app, &mut r, op);
    r
}

/// The common path of every SP-API request: auth, usage plan, counting, faults, the handler
/// (under the state lock), then `x-amzn-RequestId` and `x-amzn-RateLimit-Limit`.
///
/// `rdt_path`: the path template a Restricted Data Token must cover for the handler to see
/// PII; `None` for operations that refuse RDTs. `req`: the request body, for the journal.
#[allow(clippy::too_many_arguments)]
async fn api(
    app: &App,
    headers: &HeaderMap,
    op: &'static str,
    write: bool,
    rdt_path: Option<&str>,
    req: Option<&[u8]>,
    f: impl FnOnce(&mut State, bool) -> Handled,
) -> Response {
    let pii = match authenticate(app, headers) {
        Ok(Caller::Lwa) => false,
        Ok(Caller::Rdt(paths)) => match rdt_path {
            Some(p) if paths.iter().any(|x| x == p) => true,
            _ => {
                app.state.lock().counters.unauthorized += 1;
                let e = ApiError::new(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                )
                .details("The Restricted Data Token does not cover this operation.");
                return finish(app, op, req, err_pair(e));
            }
        },
        Err(mut e) => {
            app.state.lock().counters.unauthorized += 1;
            // The models declare 401 for a few operations only; the others answer 403.
            if e.status == 401 && !DECLARES_401.contains(&op) {
                e.status = 403;
            }
            return finish(app, op, req, err_pair(e));
        }
    };
    let verdict = app.limits.lock().check(op);
    if let Some(v) = &verdict
        && !v.allowed
    {
        *app.state
            .lock()
            .counters
            .violations
            .entry(op.to_string())
            .or_default() += 1;
        tracing::warn!(
            op,
            rate = v.limit.rate,
            burst = v.limit.burst,
            "sandbox: usage plan exceeded"
        );
        return finish(app, op, req, err_pair(quota_error()));
    }
    *app.state
        .lock()
        .counters
        .requests
        .entry(op.to_string())
        .or_default() += 1;
    let fault = app.faults.lock().take(op);
    match &fault {
        Some(Fault::Status { status }) => {
            let e = ApiError::new(
                *status,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
            );
            return finish(app, op, req, err_pair(e));
        }
        Some(Fault::QuotaExceeded) => {
            app.state.lock().counters.injected_throttles += 1;
            return finish(app, op, req, err_pair(quota_error()));
        }
        Some(Fault::Latency { millis: m }) => tokio::time::sleep(millis(*m)).await,
        _ => {}
    }
    let result = {
        let mut st = app.state.lock();
        st.process_due_acknowledgements();
        let r = f(&mut st, pii);
        if write && r.is_ok() {
            *st.counters.writes.entry(op.to_string()).or_default() += 1;
        }
        r
    };
    let pair = match (result, &fault) {
        (Ok(_), Some(Fault::ApplyThen502)) => {
            err_pair(ApiError::new(502, "InternalFailure", "Bad gateway"))
        }
        (Ok(ok), Some(Fault::ApplyThenStall { millis: m })) => {
            tokio::time::sleep(millis(*m)).await;
            ok
        }
        (Ok(ok), _) => ok,
        (Err(e), _) => err_pair(e),
    };
    finish(app, op, req, pair)
}

fn render(status: StatusCode, body: Value) -> Response {
    if body.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(body)).into_response()
    }
}

fn quota_error() -> ApiError {
    ApiError::new(
        429,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
    )
}

// ---------------------------------------------------------------- LWA and tokens

async fn lwa_token(AxState(app): S, body: Bytes) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "refresh_token" {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        );
    }
    if get("client_id") != app.creds.client_id || get("client_secret") != app.creds.client_secret {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    if get("refresh_token") != *app.creds.refresh_token.lock() {
        return oauth_error(
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    let n = app
        .request_ids
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let token = format!("Atza|sbx.access.{n:010}");
    let lifetime = *app.token_lifetime.lock();
    app.tokens
        .lock()
        .access
        .insert(token.clone(), Instant::now() + lifetime);
    app.state.lock().counters.lwa_grants += 1;
    axum::Json(json!({
        "access_token": token,
        "refresh_token": *app.creds.refresh_token.lock(),
        "token_type": "bearer",
        "expires_in": lifetime.as_secs().max(1),
    }))
    .into_response()
}

async fn create_rdt(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    // An RDT is requested with the LWA token, never with another RDT.
    if matches!(authenticate(&app, &headers), Ok(Caller::Rdt(_))) {
        return ApiError::new(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
        )
        .details("A Restricted Data Token cannot request another.")
        .into_response();
    }
    let app2 = app.clone();
    let raw = body.clone();
    api(
        &app,
        &headers,
        "createRestrictedDataToken",
        false,
        None,
        Some(&raw),
        move |st, _| {
            let b = json_body(&body)?;
            let res = b
                .get("restrictedResources")
                .and_then(Value::as_array)
                .filter(|a| (1..=50).contains(&a.len()))
                .ok_or_else(|| ApiError::invalid("restrictedResources: 1 to 50 entries"))?;
            let mut paths = Vec::new();
            for r in res {
                let method = r.get("method").and_then(Value::as_str).unwrap_or_default();
                let path = r.get("path").and_then(Value::as_str).unwrap_or_default();
                if !matches!(method, "GET" | "PUT" | "POST" | "DELETE") || !path.starts_with('/') {
                    return Err(ApiError::invalid(
                        "each restricted resource needs method and path",
                    ));
                }
                if path.starts_with("/orders/v0/orders")
                    && r.get("dataElements")
                        .and_then(Value::as_array)
                        .is_none_or(|a| a.is_empty())
                {
                    return Err(ApiError::invalid(format!(
                        "dataElements is required for {path}"
                    )));
                }
                paths.push(path.to_string());
            }
            let n = st.next_seq();
            let token = format!("Atz.sprdt|sbx.{n:010}");
            let lifetime = *app2.token_lifetime.lock();
            app2.tokens
                .lock()
                .rdt
                .insert(token.clone(), (Instant::now() + lifetime, paths));
            st.counters.rdt_grants += 1;
            Ok((
                StatusCode::OK,
                json!({"restrictedDataToken": token, "expiresIn": lifetime.as_secs().max(1)}),
            ))
        },
    )
    .await
}

// ---------------------------------------------------------------- orders

async fn get_orders(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "getOrders",
        false,
        Some("/orders/v0/orders"),
        None,
        |st, pii| Ok((StatusCode::OK, st.get_orders(&q, pii)?)),
    )
    .await
}

async fn get_order(AxState(app): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    api(
        &app,
        &headers,
        "getOrder",
        false,
        Some("/orders/v0/orders/{orderId}"),
        None,
        |st, pii| Ok((StatusCode::OK, st.get_order(&id, pii)?)),
    )
    .await
}

async fn get_order_items(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "getOrderItems",
        false,
        None,
        None,
        |st, _| {
            Ok((
                StatusCode::OK,
                st.get_order_items(&id, q.get("NextToken").map(String::as_str))?,
            ))
        },
    )
    .await
}

async fn confirm_shipment(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    api(
        &app,
        &headers,
        "confirmShipment",
        true,
        None,
        Some(&body),
        |st, _| {
            st.confirm_shipment(&id, &json_body(&body)?)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        },
    )
    .await
}

// ---------------------------------------------------------------- listings

fn check_seller(st: &State, seller: &str, q: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if seller != st.seller_id {
        return Err(ApiError::new(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
        )
        .details(format!("sellerId {seller} is not the authorised seller")));
    }
    match q.get("marketplaceIds") {
        Some(m) if m.split(',').any(|x| x == st.marketplace_id) => Ok(()),
        _ => Err(ApiError::invalid(
            "marketplaceIds is required and must name this marketplace",
        )),
    }
}

fn included(q: &BTreeMap<String, String>) -> BTreeSet<String> {
    q.get("includedData")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| BTreeSet::from(["summaries".to_string()]))
}

async fn get_listing(
    AxState(app): S,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "getListingsItem",
        false,
        None,
        None,
        |st, _| {
            check_seller(st, &seller, &q)?;
            let l = st.listings.get(&sku).ok_or_else(|| {
                ApiError::not_found(format!(
                    "SKU '{sku}' not found in marketplace {}",
                    st.marketplace_id
                ))
            })?;
            Ok((StatusCode::OK, st.item_view(l, &included(&q))))
        },
    )
    .await
}

async fn search_listings(
    AxState(app): S,
    headers: HeaderMap,
    Path(seller): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "searchListingsItems",
        false,
        None,
        None,
        |st, _| {
            check_seller(st, &seller, &q)?;
            let ids: Vec<String> = match q.get("identifiers") {
                Some(s) => {
                    if q.get("identifiersType").map(String::as_str) != Some("SKU") {
                        return Err(ApiError::invalid(
                            "the sandbox searches by identifiersType=SKU",
                        ));
                    }
                    s.split(',').map(str::to_string).collect()
                }
                None => st.listings.keys().cloned().collect(),
            };
            if q.contains_key("identifiers") && ids.len() > 20 {
                return Err(ApiError::invalid("identifiers: at most 20"));
            }
            let size = q
                .get("pageSize")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(10);
            if !(1..=20).contains(&size) {
                return Err(ApiError::invalid("pageSize must be 1..=20"));
            }
            let inc = included(&q);
            let found: Vec<Value> = ids
                .iter()
                .filter_map(|s| st.listings.get(s))
                .map(|l| st.item_view(l, &inc))
                .collect();
            let n = found.len();
            let page: Vec<Value> = found.into_iter().take(size).collect();
            Ok((StatusCode::OK, json!({"numberOfResults": n, "items": page})))
        },
    )
    .await
}

async fn patch_listing(
    AxState(app): S,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "patchListingsItem",
        true,
        None,
        Some(&body),
        |st, _| {
            check_seller(st, &seller, &q)?;
            Ok((StatusCode::OK, st.patch_listing(&sku, &json_body(&body)?)?))
        },
    )
    .await
}

async fn put_listing(
    AxState(app): S,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "putListingsItem",
        true,
        None,
        Some(&body),
        |st, _| {
            check_seller(st, &seller, &q)?;
            Ok((StatusCode::OK, st.put_listing(&sku, &json_body(&body)?)?))
        },
    )
    .await
}

// ---------------------------------------------------------------- feeds and documents

fn doc_url(app: &App, id: &str) -> String {
    format!(
        "{}/_s3/documents/{}?X-Amz-Expires=300&X-Amz-Signature={}",
        app.base_url,
        id,
        app.signature(id)
    )
}

/// getFeedDocument's and getReportDocument's answer (`kind` is `feed` or `report`): the
/// document's id, its pre-signed URL, and the compression when there is one.
fn document_view(app: &App, st: &State, id: &str, kind: &str) -> Handled {
    let d = st
        .docs
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("{kind} document {id}")))?;
    let mut v = json!({"url": doc_url(app, id)});
    v[format!("{kind}DocumentId")] = json!(id);
    if d.gzip {
        v["compressionAlgorithm"] = json!("GZIP");
    }
    Ok((StatusCode::OK, v))
}

async fn create_feed_document(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    let app2 = app.clone();
    let raw = body.clone();
    api(
        &app,
        &headers,
        "createFeedDocument",
        true,
        None,
        Some(&raw),
        move |st, _| {
            let id = st.create_feed_document(&json_body(&body)?)?;
            Ok((
                StatusCode::CREATED,
                json!({"feedDocumentId": id, "url": doc_url(&app2, &id)}),
            ))
        },
    )
    .await
}

async fn create_feed(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    let delay = *app.feed_delay.lock();
    let raw = body.clone();
    api(
        &app,
        &headers,
        "createFeed",
        true,
        None,
        Some(&raw),
        move |st, _| {
            let id = st.create_feed(&json_body(&body)?, delay)?;
            Ok((StatusCode::ACCEPTED, json!({"feedId": id})))
        },
    )
    .await
}

async fn get_feed(AxState(app): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let fatal = matches!(
        app.faults.lock().take("processFeed"),
        Some(Fault::FeedFatal)
    );
    api(
        &app,
        &headers,
        "getFeed",
        false,
        None,
        None,
        move |st, _| {
            if fatal && let Some(f) = st.feeds.get_mut(&id) {
                f.fatal = true;
            }
            st.advance_feed(&id)?;
            let f = st
                .feeds
                .get(&id)
                .ok_or_else(|| ApiError::not_found(format!("feed {id}")))?;
            Ok((StatusCode::OK, st.feed_view(f)))
        },
    )
    .await
}

async fn get_feed_document(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let app2 = app.clone();
    api(
        &app,
        &headers,
        "getFeedDocument",
        false,
        None,
        None,
        move |st, _| document_view(&app2, st, &id, "feed"),
    )
    .await
}

async fn create_report(AxState(app): S, headers: HeaderMap, body: Bytes) -> Response {
    let delay = *app.feed_delay.lock();
    let raw = body.clone();
    api(
        &app,
        &headers,
        "createReport",
        // A request for data: it changes nothing of the seller's, so it is not a write.
        false,
        None,
        Some(&raw),
        move |st, _| {
            let id = st.create_report(&json_body(&body)?, delay)?;
            Ok((StatusCode::ACCEPTED, json!({"reportId": id})))
        },
    )
    .await
}

async fn get_report(AxState(app): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    api(
        &app,
        &headers,
        "getReport",
        false,
        None,
        None,
        move |st, _| {
            st.advance_report(&id)?;
            let r = st
                .reports
                .get(&id)
                .ok_or_else(|| ApiError::not_found(format!("report {id}")))?;
            Ok((StatusCode::OK, st.report_view(r)))
        },
    )
    .await
}

async fn get_report_document(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let app2 = app.clone();
    api(
        &app,
        &headers,
        "getReportDocument",
        false,
        None,
        None,
        move |st, _| {
            if !st
                .reports
                .values()
                .any(|r| r.doc.as_deref() == Some(id.as_str()))
            {
                return Err(ApiError::not_found(format!("report document {id}")));
            }
            document_view(&app2, st, &id, "report")
        },
    )
    .await
}

async fn s3_put(
    AxState(app): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let q = query_map(q);
    if q.get("X-Amz-Signature") != Some(&app.signature(&id)) {
        return (StatusCode::FORBIDDEN, "SignatureDoesNotMatch").into_response();
    }
    let mut st = app.state.lock();
    let Some(d) = st.docs.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    d.content = Some(body.to_vec());
    st.counters.document_uploads += 1;
    StatusCode::OK.into_response()
}

async fn s3_get(AxState(app): S, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = query_map(q);
    if q.get("X-Amz-Signature") != Some(&app.signature(&id)) {
        return (StatusCode::FORBIDDEN, "SignatureDoesNotMatch").into_response();
    }
    let mut st = app.state.lock();
    let Some(content) = st.docs.get(&id).and_then(|d| d.content.clone()) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    st.counters.document_downloads += 1;
    (
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        content,
    )
        .into_response()
}

// ---------------------------------------------------------------- FBA and finances

async fn inventory_summaries(
    AxState(app): S,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "getInventorySummaries",
        false,
        None,
        None,
        |st, _| Ok((StatusCode::OK, st.inventory_summaries(&q)?)),
    )
    .await
}

async fn list_groups(AxState(app): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "listFinancialEventGroups",
        false,
        None,
        None,
        |st, _| Ok((StatusCode::OK, st.list_groups(&q)?)),
    )
    .await
}

async fn list_group_events(
    AxState(app): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_map(q);
    api(
        &app,
        &headers,
        "listFinancialEventsByGroupId",
        false,
        None,
        None,
        |st, _| Ok((StatusCode::OK, st.list_group_events(&id, &q)?)),
    )
    .await
}

// ---------------------------------------------------------------- control API

async fn c_create_order(AxState(app): S, axum::Json(spec): axum::Json<NewOrder>) -> Response {
    match app.state.lock().create_order(spec) {
        Ok(id) => (
            StatusCode::CREATED,
            axum::Json(json!({"AmazonOrderId": id})),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn c_order_status(
    AxState(app): S,
    Path(id): Path<String>,
    axum::Json(b): axum::Json<Value>,
) -> Response {
    let status = b
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match app.state.lock().set_order_status(&id, &status) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn c_listings(AxState(app): S) -> Response {
    let st = app.state.lock();
    let v: BTreeMap<&String, Value> = st
        .listings
        .iter()
        .map(|(k, l)| {
            (
                k,
                json!({"quantity": l.quantity, "price": l.price.map(|p| p.to_string())}),
            )
        })
        .collect();
    axum::Json(v).into_response()
}

async fn c_counters(AxState(app): S) -> Response {
    axum::Json(app.state.lock().counters.clone()).into_response()
}

async fn c_reset_counters(AxState(app): S) -> Response {
    app.state.lock().counters = Default::default();
    StatusCode::NO_CONTENT.into_response()
}

async fn c_fault(AxState(app): S, axum::Json(b): axum::Json<Value>) -> Response {
    let op = b
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or("*")
        .to_string();
    let times = b.get("times").and_then(Value::as_u64).unwrap_or(1) as u32;
    match b.get("fault").cloned().map(serde_json::from_value::<Fault>) {
        Some(Ok(f)) => {
            app.faults.lock().push(&op, f, times);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => ApiError::invalid("fault: {op, fault: {kind, …}, times}").into_response(),
    }
}

async fn c_clear_faults(AxState(app): S) -> Response {
    app.faults.lock().clear();
    StatusCode::NO_CONTENT.into_response()
}
