//! Shared helpers: the sample request, an in-process server, and the plan checker on responses.

use std::net::SocketAddr;
use std::sync::Arc;

use theatre_optimiser::check;
use theatre_optimiser::convert::response::from_response;
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::metrics::Metrics;
use theatre_optimiser::proto as pb;
use theatre_optimiser::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::server::{self, ServerOptions};
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub const SAMPLE: &str = include_str!("../../examples/sample-request.json");

pub fn sample() -> pb::ProposeAllocationsRequest {
    serde_json::from_str(SAMPLE).expect("sample parses")
}

/// A running in-process server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    pub handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(options: ServerOptions) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(listener, options, metrics.clone(), async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            metrics,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn client(&self) -> TheatreOptimiserClient<Channel> {
        TheatreOptimiserClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    pub fn channel_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signals shutdown and waits for the server to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Re-checks a response against its request with the independent checker, and checks that every
/// patient comes back exactly once. Panics with the violations.
pub fn assert_valid(request: &pb::ProposeAllocationsRequest, response: &pb::ProposeAllocationsResponse) {
    let req = PlanningRequest::try_from(request.clone()).expect("request valid");
    let plan = from_response(&req, response).expect("response readable");
    let violations = check::check(&req, &plan);
    assert!(
        violations.is_empty(),
        "plan checker found {} violation(s): {}",
        violations.len(),
        violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for s in &response.sessions {
        for c in &s.cases {
            *seen.entry(c.patient_id.as_str()).or_default() += 1;
        }
    }
    for u in &response.unallocated {
        assert!(!u.reasons.is_empty(), "unallocated without a reason");
        *seen.entry(u.patient_id.as_str()).or_default() += 1;
    }
    for p in &request.patients {
        assert_eq!(
            seen.get(p.id.as_str()),
            Some(&1),
            "a patient is not accounted for exactly once"
        );
    }
    assert_eq!(
        seen.len(),
        request.patients.len(),
        "the plan names patients outside the pool"
    );
}

pub fn objective(r: &pb::ProposeAllocationsResponse) -> f64 {
    r.solver.as_ref().unwrap().objective
}
