//! Traces over OTLP. The real binary serves with its exporter pointed at an in-process OTLP trace
//! receiver on 127.0.0.1:0; a `ProposeAllocations` call carrying a W3C `traceparent` arrives as
//! spans of the caller's trace (the request span the child of the caller's span, the solve's
//! spans beneath it) with no patient identifier or date in them. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` unset the receiver is never contacted. The binary runs as a
//! subprocess because the exporter belongs to the process-wide tracing subscriber.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use theatre_optimiser::api::metrics::PHASES;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;

use crate::support::{assert_valid, patient_private_values, sample};

/// The caller's trace and span, as a booking system would send them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const REQUEST_SPAN: &str = "theatre.optimiser.v1.TheatreOptimiser/ProposeAllocations";

/// An OTLP trace receiver: every export request kept, every connection counted.
#[derive(Clone, Default)]
struct Receiver {
    exports: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    connections: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.exports.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Receiver {
    async fn start() -> (Receiver, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = Receiver::default();
        let counted = receiver.connections.clone();
        let incoming = TcpListenerStream::new(listener).map(move |connection| {
            counted.fetch_add(1, Ordering::SeqCst);
            connection
        });
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(incoming);
        tokio::spawn(server);
        (receiver, addr)
    }

    fn exports(&self) -> Vec<ExportTraceServiceRequest> {
        self.exports.lock().unwrap().clone()
    }
}

/// The binary serving on 127.0.0.1:0 with these variables (and no other OTLP variable).
struct Served {
    child: Child,
    addr: SocketAddr,
    logs: std::thread::JoinHandle<String>,
}

fn serve(vars: &[(&str, String)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_theatre-optimiser"));
    command
        .args(["--log-format", "json", "serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") || name.starts_with("THEATRE_") {
            command.env_remove(name);
        }
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let stderr = child.stderr.take().unwrap();
    let (found, addr) = mpsc::channel();
    // The address is read from the `serving` log line; the rest of stderr is kept for messages.
    let logs = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["fields"]["message"] == "serving" {
                    if let Some(a) = v["fields"]["addr"].as_str().and_then(|a| a.parse().ok()) {
                        let _ = found.send(a);
                    }
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let addr = addr
        .recv_timeout(Duration::from_secs(120))
        .expect("the server logs its address");
    Served { child, addr, logs }
}

impl Served {
    /// SIGTERM, as Kubernetes stops a pod; the process drains, flushes its traces and exits 0.
    fn stop(mut self) -> String {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let logs = self.logs.join().unwrap();
        assert!(status.success(), "the server exited with {status}:\n{logs}");
        logs
    }
}

/// `ProposeAllocations` on the sample, as the caller's span; the plan is checked.
async fn propose_with_traceparent(addr: SocketAddr) {
    let request = sample();
    let mut client = TheatreOptimiserClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut call = tonic::Request::new(request.clone());
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01");
    call.metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    call.metadata_mut()
        .insert("tracestate", "ward=theatres".parse().unwrap());
    let plan = client.propose_allocations(call).await.unwrap().into_inner();
    assert_valid(&request, &plan);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_trace_continues_into_the_request_and_the_solve_without_patient_data() {
    let (receiver, otlp) = Receiver::start().await;
    let served = serve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}")),
        ("OTEL_SERVICE_NAME", "theatre-optimiser-under-test".into()),
    ]);
    propose_with_traceparent(served.addr).await;
    let logs = served.stop();

    let exports = receiver.exports();
    let spans: Vec<&Span> = exports
        .iter()
        .flat_map(|e| &e.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert!(!spans.is_empty(), "no spans arrived; the server's log:\n{logs}");
    for resource in exports.iter().flat_map(|e| &e.resource_spans) {
        let attributes = &resource.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attribute(attributes, "service.name"),
            Some(&Value::StringValue("theatre-optimiser-under-test".into()))
        );
    }
    // Only the one call was made: every span belongs to the caller's trace.
    for span in &spans {
        assert_eq!(hex(&span.trace_id), TRACE_ID, "span {:?}", span.name);
    }
    let requests: Vec<&&Span> = spans.iter().filter(|s| s.name == REQUEST_SPAN).collect();
    assert_eq!(requests.len(), 1, "one request span");
    let request_span = requests[0];
    assert_eq!(hex(&request_span.parent_span_id), CALLER_SPAN_ID);
    assert_eq!(request_span.kind, SpanKind::Server as i32);
    assert_eq!(
        attribute(&request_span.attributes, "rpc.method"),
        Some(&Value::StringValue("ProposeAllocations".into()))
    );
    // Every other span descends from the request span.
    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), *s)).collect();
    for span in &spans {
        let mut at = *span;
        while at.span_id != request_span.span_id {
            at = by_id
                .get(&at.parent_span_id)
                .unwrap_or_else(|| panic!("span {:?} does not descend from the request span", span.name));
        }
    }
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    eprintln!("{} spans arrived: {names:?}", spans.len());
    // The handler and every planning phase the metrics time.
    for expected in std::iter::once("propose_allocations").chain(PHASES) {
        assert!(names.contains(&expected), "no {expected:?} span in {names:?}");
    }
    let handler = spans.iter().find(|s| s.name == "propose_allocations").unwrap();
    // A count arrives as the exporter encodes an unsigned integer: a number or its digits.
    let patients = match attribute(&handler.attributes, "patients") {
        Some(Value::IntValue(n)) => n.to_string(),
        Some(Value::StringValue(n)) => n.clone(),
        other => panic!("patients recorded as {other:?}"),
    };
    assert_eq!(patients, sample().patients.len().to_string());

    // Names, attributes, events and the resource: nothing of any patient.
    let everything = format!("{exports:?}");
    let leaks: Vec<String> = patient_private_values(&sample())
        .into_iter()
        .filter(|value| everything.contains(value.as_str()))
        .collect();
    assert!(leaks.is_empty(), "patient data in the exported spans: {leaks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_endpoint_variable_no_trace_is_sent() {
    let (receiver, otlp) = Receiver::start().await;
    // The exporter would take this endpoint, but tracing is off without
    // OTEL_EXPORTER_OTLP_ENDPOINT: nothing is built, so nothing connects.
    let served = serve(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", format!("http://{otlp}"))]);
    propose_with_traceparent(served.addr).await;
    served.stop();
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 0);
    assert!(receiver.exports().is_empty());
}
