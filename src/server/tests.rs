use super::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util_shim::collect;
use parking_lot::Mutex;
use tower::ServiceExt;

/// A sink that records what it got and answers as told.
struct Recorder {
    got: Mutex<Vec<WebhookRequest>>,
    answer: Result<WebhookReply, WebhookError>,
    delay: Duration,
}

#[async_trait::async_trait]
impl WebhookSink for Recorder {
    async fn deliver(&self, request: WebhookRequest) -> Result<WebhookReply, WebhookError> {
        tokio::time::sleep(self.delay).await;
        self.got.lock().push(request);
        self.answer.clone()
    }
}

fn cfg() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes: 1024,
        request_timeout: Duration::from_millis(300),
    }
}

fn app(
    answer: Result<WebhookReply, WebhookError>,
    delay: Duration,
) -> (Router, Arc<Recorder>, Arc<Readiness>) {
    let sink = Arc::new(Recorder {
        got: Mutex::new(Vec::new()),
        answer,
        delay,
    });
    let readiness = Readiness::new(&[ODOO, STORE]);
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let state = AppState {
        readiness: readiness.clone(),
        metrics: recorder.handle(),
        webhooks: sink.clone(),
    };
    (router(state, &cfg()), sink, readiness)
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, collect(resp.into_body()).await)
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let (app, _, _) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    assert_eq!(
        call(&app, get_req("/healthz")).await,
        (StatusCode::OK, "ok\n".into())
    );
}

#[tokio::test]
async fn readyz_reports_each_component() {
    let (app, _, readiness) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    let (status, body) = call(&app, get_req("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"]["odoo"]["reason"], "not checked yet");

    readiness.set_ok(STORE);
    readiness.set_failed(ODOO, "connection refused (https://odoo.example.com)");
    let (status, body) = call(&app, get_req("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["checks"]["store"]["ok"], true);
    assert_eq!(
        v["checks"]["odoo"]["reason"],
        "connection refused (https://odoo.example.com)"
    );

    readiness.set_ok(ODOO);
    let (status, body) = call(&app, get_req("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(readiness.is_ready());
}

#[tokio::test]
async fn metrics_render_prometheus_text() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("odoo_channels_test_total", "channel" => "shop").increment(3);
    });
    let state = AppState {
        readiness: Readiness::new(&[]),
        metrics: handle,
        webhooks: Arc::new(NoWebhooks),
    };
    let app = router(state, &cfg());
    let resp = app.clone().oneshot(get_req("/metrics")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = collect(resp.into_body()).await;
    assert!(
        body.contains("odoo_channels_test_total{channel=\"shop\"} 3"),
        "{body}"
    );
}

#[tokio::test]
async fn webhook_hands_raw_request_to_the_sink() {
    let (app, sink, _) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    let body = r#"{"id": 1, "note": "caf\u00e9"}"#;
    let req = Request::post("/webhooks/shop?topic=orders%2Fcreate")
        .header("x-shopify-hmac-sha256", "abc=")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(call(&app, req).await, (StatusCode::OK, "ok\n".into()));
    let got = sink.got.lock();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].channel, "shop");
    assert_eq!(got[0].query.as_deref(), Some("topic=orders%2Fcreate"));
    assert_eq!(got[0].headers["x-shopify-hmac-sha256"], "abc=");
    assert_eq!(&got[0].body[..], body.as_bytes());
}

#[tokio::test]
async fn webhook_errors_map_to_statuses() {
    for (err, status) in [
        (
            WebhookError::UnknownChannel("zz".into()),
            StatusCode::NOT_FOUND,
        ),
        (
            WebhookError::Unauthorized("bad hmac".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            WebhookError::BadRequest("not json".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            WebhookError::Unavailable("store down".into()),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ] {
        let (app, _, _) = app(Err(err.clone()), Duration::ZERO);
        let req = Request::post("/webhooks/zz")
            .body(Body::from("{}"))
            .unwrap();
        let (got, body) = call(&app, req).await;
        assert_eq!(got, status, "{err:?}");
        assert_eq!(body, format!("{err}\n"));
    }
    let (app, _, _) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    let (status, _) = call(&app, get_req("/webhooks/shop")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(&app, get_req("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversize_bodies_get_413_and_never_reach_the_sink() {
    let (app, sink, _) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    // declared length over the limit
    let req = Request::post("/webhooks/shop")
        .body(Body::from(vec![b'x'; 1025]))
        .unwrap();
    assert_eq!(call(&app, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // streamed without a length
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..3).map(|_| Ok(Bytes::from(vec![b'y'; 600]))).collect();
    let req = Request::post("/webhooks/shop")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert_eq!(call(&app, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(sink.got.lock().is_empty());
    // exactly at the limit is fine
    let req = Request::post("/webhooks/shop")
        .body(Body::from(vec![b'x'; 1024]))
        .unwrap();
    assert_eq!(call(&app, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn slow_sink_times_out() {
    let (app, _, _) = app(Ok(WebhookReply::accepted()), Duration::from_secs(5));
    let req = Request::post("/webhooks/shop")
        .body(Body::from("{}"))
        .unwrap();
    let started = std::time::Instant::now();
    let (status, _) = call(&app, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let (app, _, _) = app(Ok(WebhookReply::accepted()), Duration::ZERO);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        app,
        async {
            let _ = rx.await;
        },
        Duration::from_secs(2),
    ));
    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Body collection without adding http-body-util as a dependency: axum re-exports enough.
mod http_body_util_shim {
    pub async fn collect(body: axum::body::Body) -> String {
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
