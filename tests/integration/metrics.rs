//! The metrics port over real HTTP: every metric the README lists, per-RPC counts by gRPC code,
//! solver phase timings, bound errors and build info, read back by a Prometheus text parser;
//! `/metrics` answers GET and HEAD only, and every other path is 404.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prometheus_parse::{Scrape, Value};
use theatre_optimiser::api::metrics::{PhaseTimer, PHASES};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::{ServerOptions, SideListeners};
use tonic::codegen::Bytes;
use tonic::Code;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::support::{default_service, loopback, sample, wait_until, with_metrics_port, TestServer};

/// One HTTP/1.1 request to the metrics port: status, content type and body.
pub async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Empty::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

/// Waits until the server answers on its main port: its other ports are bound by then.
async fn ready(server: &TestServer) {
    let mut client = server.client().await;
    let refused = client
        .propose_allocations(pb::ProposeAllocationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(f64::NAN, |b| b.count),
            Value::Summary(_) => f64::NAN,
        })
}

/// Set in the child process that runs the metrics test alone.
const ALONE: &str = "THEATRE_METRICS_TEST_ALONE";

/// Runs alone, in a child process of this test binary. The phase timer is a tracing layer, and
/// tracing caches per call site whether any subscriber listens: when other tests' threads reach
/// the same call sites at the same moment, that cache can leave the phase spans unseen here.
#[test]
fn the_metrics_port_serves_every_metric_and_a_prometheus_parser_reads_it() {
    const NAME: &str = "metrics::the_metrics_port_serves_every_metric_and_a_prometheus_parser_reads_it";
    if std::env::var_os(ALONE).is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        return runtime.block_on(every_metric_read_back());
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--test-threads=1", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "the test alone failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the test did not run alone:\n{stdout}"
    );
}

/// Runs on one thread so that the phase timer, installed for this test only, sees the solve
/// (the service hands its solve thread the handler's subscriber).
async fn every_metric_read_back() {
    let subscriber = tracing_subscriber::registry()
        .with(PhaseTimer.with_filter(tracing_subscriber::filter::filter_fn(PhaseTimer::filter)));
    let _scope = tracing::subscriber::set_default(subscriber);
    let (metrics_addr, server) = with_metrics_port().await;
    let mut client = server.client().await;
    let request = sample();
    client.propose_allocations(request.clone()).await.unwrap();
    let refused = client
        .propose_allocations(pb::ProposeAllocationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    // The per-RPC record is written when the answer's last frame has gone.
    assert!(
        wait_until(Duration::from_secs(10), || server
            .metrics
            .render()
            .contains("code=\"INVALID_ARGUMENT\""))
        .await
    );

    let (status, content_type, text) = http(metrics_addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();

    for metric in [
        "theatre_requests_total",
        "theatre_request_errors_total",
        "theatre_requests_refused_total",
        "theatre_solves_cancelled_total",
        "theatre_deadline_exceeded_total",
        "theatre_solves_in_flight",
        "theatre_queue_depth",
        "theatre_last_relative_gap",
        "theatre_solve_seconds_count",
        "theatre_bound_errors_total",
    ] {
        assert!(value(&scrape, metric, &[]).is_some(), "{metric} missing:\n{text}");
    }
    assert_eq!(value(&scrape, "theatre_requests_total", &[]), Some(2.0));
    assert_eq!(value(&scrape, "theatre_request_errors_total", &[]), Some(1.0));
    assert_eq!(value(&scrape, "theatre_solve_seconds_count", &[]), Some(1.0));
    assert_eq!(value(&scrape, "theatre_bound_errors_total", &[]), Some(0.0));
    let rpc = |code| [("rpc", "ProposeAllocations"), ("code", code)];
    assert_eq!(
        value(&scrape, "theatre_rpc_requests_total", &rpc("OK")),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "theatre_rpc_requests_total", &rpc("INVALID_ARGUMENT")),
        Some(1.0)
    );
    assert_eq!(value(&scrape, "theatre_rpc_seconds_count", &rpc("OK")), Some(1.0));
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(value(&scrape, "theatre_build_info", &version), Some(1.0));
    // Every phase of the solve was timed (the phase histograms are process-wide, hence >= 1).
    for phase in PHASES {
        let count = value(&scrape, "theatre_solve_phase_seconds_count", &[("phase", phase)]);
        assert!(
            count.is_some_and(|c| c >= 1.0),
            "phase {phase}: {count:?}\n{text}"
        );
    }
    // No label carries request data.
    for patient in &request.patients {
        assert!(!text.contains(&patient.id), "a patient id reached the metrics");
    }
    for session in &request.sessions {
        assert!(!text.contains(&session.id), "a session id reached the metrics");
    }
}

#[tokio::test]
async fn the_metrics_port_answers_get_and_head_on_metrics_only() {
    let (metrics_addr, server) = with_metrics_port().await;
    ready(&server).await;
    let (status, _, body) = http(metrics_addr, "HEAD", "/metrics").await;
    assert_eq!((status, body.as_str()), (200, ""));
    for path in ["/", "/metrics/", "/metrics/x", "/favicon.ico"] {
        assert_eq!(http(metrics_addr, "GET", path).await.0, 404, "GET {path}");
    }
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(http(metrics_addr, method, "/metrics").await.0, 405, "{method}");
    }
}

/// The plaintext health port (for probes that cannot speak TLS) answers health, and nothing else.
#[tokio::test]
async fn the_health_port_answers_health_only() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let (listener, health_addr) = loopback().await;
    let options = ServerOptions::default();
    let side = SideListeners {
        metrics: None,
        health: Some(listener),
    };
    let server = TestServer::start_with_side(options.clone(), default_service(&options), side).await;
    ready(&server).await;
    let url = format!("http://{health_addr}");
    let mut health = HealthClient::new(
        tonic::transport::Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    for service in ["", "theatre.optimiser.v1.TheatreOptimiser"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let mut optimiser = pb::theatre_optimiser_client::TheatreOptimiserClient::connect(url)
        .await
        .unwrap();
    let refused = optimiser.propose_allocations(sample()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unimplemented);
}
