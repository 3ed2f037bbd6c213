//! Test support: the sample request, an in-process server, and the plan checker on responses
//! (`plan` reads a response back into a domain plan).

use std::net::SocketAddr;
use std::sync::Arc;

use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::{self, ServerOptions, SideListeners};
use theatre_optimiser::api::service::OptimiserService;
use theatre_optimiser::check;
use theatre_optimiser::domain::PlanningRequest;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub mod files;
pub mod grpc_json;
pub mod oracle;
mod plan;
pub mod planting;
pub use plan::from_response;

pub const SAMPLE: &str = include_str!("../../../examples/sample-request.json");

/// What must never leave the service about a request's patients: their identifiers and their own
/// dates (listed, RTT clock start, pre-op assessment).
pub fn patient_private_values(request: &pb::ProposeAllocationsRequest) -> Vec<String> {
    let mut private = Vec::new();
    for p in &request.patients {
        private.extend([p.id.clone(), p.date_listed.clone(), p.rtt_clock_start.clone()]);
        if let Some(date) = p.preop.as_ref().and_then(|pre| pre.date.clone()) {
            private.push(date);
        }
    }
    private.retain(|v| !v.is_empty());
    private.sort();
    private.dedup();
    private
}

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
        let service = default_service(&options);
        Self::start_with_service(options, service).await
    }

    /// A server around a service built by the test (e.g. with an injected planner).
    pub async fn start_with_service(options: ServerOptions, service: OptimiserService) -> TestServer {
        Self::start_with_side(options, service, SideListeners::default()).await
    }

    /// A server with metrics and health ports on listeners the test bound (see [`loopback`]).
    pub async fn start_with_side(
        options: ServerOptions,
        service: OptimiserService,
        side: SideListeners,
    ) -> TestServer {
        let (listener, addr) = loopback().await;
        let metrics = service.metrics().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve_with_listeners(
            listener,
            side,
            options,
            service,
            async {
                let _ = rx.await;
            },
        ));
        TestServer {
            addr,
            metrics,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Signals shutdown without waiting; `handle` then resolves when the server has stopped.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
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

/// A streamed plan read to its end: the last event, when it is the plan.
pub async fn streamed_plan(
    client: &mut TheatreOptimiserClient<Channel>,
    request: &pb::ProposeAllocationsRequest,
) -> Option<pb::ProposeAllocationsResponse> {
    let mut stream = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(event) = stream.message().await.unwrap() {
        last = event.event;
    }
    match last {
        Some(pb::propose_allocations_event::Event::Plan(plan)) => Some(plan),
        _ => None,
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

/// A generated trust-scale request (430 lists, 2,400 patients) whose solve runs to the given
/// policy time limit.
pub fn trust_request(time_limit_seconds: f64) -> pb::ProposeAllocationsRequest {
    let mut request = theatre_optimiser::synth::generate(theatre_optimiser::synth::Scale::Trust, 1);
    request
        .policy
        .get_or_insert_with(Default::default)
        .time_limit_seconds = Some(time_limit_seconds);
    request
}

/// A listener on a port of loopback the system chose, kept bound (so no other test can take the
/// port between choosing and serving), and its address.
pub async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A server with default options and a metrics port on a listener bound here, and that port's
/// address.
pub async fn with_metrics_port() -> (SocketAddr, TestServer) {
    let (listener, metrics_addr) = loopback().await;
    let options = ServerOptions::default();
    let side = SideListeners {
        metrics: Some(listener),
        health: None,
    };
    let server = TestServer::start_with_side(options.clone(), default_service(&options), side).await;
    (metrics_addr, server)
}

/// The service `server::serve` builds from `options`.
pub fn default_service(options: &ServerOptions) -> OptimiserService {
    OptimiserService::new(options.service.clone(), Arc::new(Metrics::default()))
}

/// Polls `condition` every 50 ms until it holds or `limit` passes; returns whether it held.
pub async fn wait_until(limit: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The held bookings of a world as plan lists, with `list` in place of its session's.
pub fn held_with(
    world: &pb::ProposeAllocationsRequest,
    list: Option<&pb::SessionPlan>,
) -> Vec<pb::PlannedList> {
    let mut lists: Vec<pb::PlannedList> = Vec::new();
    for b in &world.existing_bookings {
        match lists.iter_mut().find(|l| l.session_id == b.session_id) {
            Some(l) => l.patient_ids.push(b.patient_id.clone()),
            None => lists.push(pb::PlannedList {
                session_id: b.session_id.clone(),
                patient_ids: vec![b.patient_id.clone()],
            }),
        }
    }
    if let Some(list) = list {
        lists.retain(|l| l.session_id != list.session_id);
        lists.push(pb::PlannedList {
            session_id: list.session_id.clone(),
            patient_ids: list.cases.iter().map(|c| c.patient_id.clone()).collect(),
        });
    }
    lists
}

/// The first pool patient of `specialty` with no booking held.
pub fn unbooked_child(world: &pb::ProposeAllocationsRequest, specialty: &str) -> pb::Patient {
    let booked: std::collections::BTreeSet<&str> = world
        .existing_bookings
        .iter()
        .map(|b| b.patient_id.as_str())
        .collect();
    world
        .patients
        .iter()
        .find(|p| !booked.contains(p.id.as_str()) && p.specialty == specialty)
        .expect("an unbooked child of the specialty")
        .clone()
}
