//! Production behaviour over a real socket: client deadlines, cancellation, the bounded queue,
//! size limits, TLS and mutual TLS, bearer tokens, graceful shutdown, logs without patient data,
//! and a failing solve that costs only its own request.
//!
//! Trust-scale requests (430 lists, 2,400 patients) make solves that run to their time limit, so
//! a test that sets a long limit and finishes well inside it proves the solve was stopped early.
//! Time bounds are generous fractions of those limits, never tight wall-clock targets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prost::Message;
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::{ServerOptions, TlsPaths};
use theatre_optimiser::api::service::{OptimiserService, Planner, ServiceConfig, MAX_SCENARIOS};
use theatre_optimiser::api::{self, ProposeError};
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::planning::{PlanError, SolveOptions, SolverError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

use crate::support::{assert_valid, sample, trust_request, wait_until, TestServer};

const SERVICE_NAME: &str = "theatre.optimiser.v1.TheatreOptimiser";
const BIG: usize = 64 * 1024 * 1024;

/// A plaintext client that takes trust-scale plans (larger than tonic's default 4 MiB limit).
async fn client(server: &TestServer) -> TheatreOptimiserClient<Channel> {
    server
        .client()
        .await
        .max_decoding_message_size(BIG)
        .max_encoding_message_size(BIG)
}

fn in_flight(m: &Metrics) -> i64 {
    m.in_flight.load(Ordering::SeqCst)
}

fn cancelled(m: &Metrics) -> u64 {
    m.cancelled.load(Ordering::SeqCst)
}

/// A free port on loopback (bound then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /metrics` over plain HTTP/1.1; the body.
async fn scrape(addr: SocketAddr) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    socket.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn is_plan(plan: &pb::ProposeAllocationsResponse) -> bool {
    plan.status == pb::PlanStatus::Optimal as i32 || plan.status == pb::PlanStatus::Feasible as i32
}

// (a) ------------------------------------------------------------------------------------------

/// The client's deadline becomes the solver's time limit (less the service's margin), and a solve
/// that reaches its limit answers with its incumbent: a checked plan, FEASIBLE, stopped by the
/// time limit, never a cancellation. The seam records the limit the service handed over and
/// makes it expire at once (the real solver with a zero limit), so the test is exact on any
/// machine; the client's 60 s deadline is only a hang guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deadline_becomes_the_time_limit_and_the_incumbent_is_answered() {
    let given: Arc<Mutex<Vec<Option<Duration>>>> = Arc::default();
    let solver: Arc<api::Solver> = {
        let given = given.clone();
        Arc::new(move |req: &PlanningRequest, opts: &SolveOptions| {
            given.lock().unwrap().push(opts.time_limit);
            let expired = SolveOptions {
                time_limit: Some(Duration::ZERO),
                ..opts.clone()
            };
            theatre_optimiser::planning::solve::plan(req, &expired)
        })
    };
    let config = ServiceConfig::default();
    let margin = config.deadline_margin;
    let service = OptimiserService::with_solver(config, Arc::new(Metrics::default()), solver);
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    // The policy would let the solver run for a minute.
    let mut request = theatre_optimiser::synth::generate(theatre_optimiser::synth::Scale::Theatre, 1);
    request
        .policy
        .get_or_insert_with(Default::default)
        .time_limit_seconds = Some(60.0);
    let deadline = Duration::from_secs(60);
    let mut call = tonic::Request::new(request.clone());
    call.set_timeout(deadline);
    let plan = client
        .propose_allocations(call)
        .await
        .unwrap_or_else(|s| panic!("no plan: {:?} {}", s.code(), s.message()))
        .into_inner();
    let limits = given.lock().unwrap().clone();
    assert_eq!(limits.len(), 1, "one solve");
    let limit = limits[0].expect("the service hands the client's deadline to the solver");
    assert!(
        limit <= deadline - margin,
        "time limit {limit:?} for a {deadline:?} deadline"
    );
    assert_eq!(plan.status, pb::PlanStatus::Feasible as i32);
    let stats = plan.solver.as_ref().unwrap();
    assert_ne!(stats.stop_reason, "cancelled");
    assert!(stats.relative_gap > 0.0);
    assert_valid(&request, &plan);
    assert_eq!(
        cancelled(&server.metrics),
        0,
        "a time limit is not a cancellation"
    );
}

/// A planner that ignores its time limit and works until it is cancelled (at most 60 s), noting
/// whether the cancel flag reached it.
fn stubborn_planner(saw_cancel: Arc<AtomicBool>) -> Planner {
    Arc::new(move |_, opts: &SolveOptions| {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if opts.cancel.load(Ordering::SeqCst) {
                saw_cancel.store(true, Ordering::SeqCst);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(ProposeError::Internal("stopped".into()))
    })
}

#[tokio::test]
async fn a_solve_that_overruns_the_deadline_answers_deadline_exceeded_and_is_stopped() {
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let service = OptimiserService::with_planner(
        ServiceConfig::default(),
        Arc::new(Metrics::default()),
        stubborn_planner(saw_cancel.clone()),
    );
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    let mut call = tonic::Request::new(sample());
    call.set_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let status = client.propose_allocations(call).await.unwrap_err();
    // DEADLINE_EXCEEDED from the service, not tonic's CANCELLED "Timeout expired".
    assert_eq!(status.code(), Code::DeadlineExceeded, "{}", status.message());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await,
        "the solve was not stopped"
    );
    assert!(saw_cancel.load(Ordering::SeqCst));
    assert_eq!(server.metrics.deadline_exceeded.load(Ordering::SeqCst), 1);
    assert_eq!(
        cancelled(&server.metrics),
        0,
        "a deadline is not a client going away"
    );
}

// (b) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_its_solve() {
    let metrics_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let options = ServerOptions {
        metrics_addr: Some(metrics_addr),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let call = tokio::spawn(async move { client.propose_allocations(trust_request(60.0)).await });
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await,
        "the solve never started"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!call.is_finished(), "a 60 s solve finished within a second");
    // Dropping the call future resets the stream: the client has gone away.
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    let dropped = Instant::now();
    // The solve may take up to 60 s; stopping well inside that is the cancellation at work.
    assert!(
        wait_until(Duration::from_secs(30), || {
            cancelled(&server.metrics) == 1 && in_flight(&server.metrics) == 0
        })
        .await,
        "cancelled {} in flight {} after {:?}",
        cancelled(&server.metrics),
        in_flight(&server.metrics),
        dropped.elapsed()
    );
    eprintln!("cancelled solve released after {:?}", dropped.elapsed());
    // The same on the metrics port, in the Prometheus text format.
    let text = scrape(metrics_addr).await;
    assert!(text.contains("theatre_solves_cancelled_total 1\n"), "{text}");
    assert!(text.contains("theatre_solves_in_flight 0\n"), "{text}");
    assert!(text.contains("theatre_requests_total 1\n"), "{text}");
    assert!(text.contains("# TYPE theatre_solve_seconds histogram"), "{text}");
}

// (c) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_with_resource_exhausted_and_retry_info() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_concurrent_solves: 1,
            max_queued: 1,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    // Four slow requests at once: one runs, one waits, two are refused.
    let mut calls = Vec::new();
    for _ in 0..4 {
        let mut client = client(&server).await;
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            let out = client.propose_allocations(trust_request(60.0)).await;
            (out, started.elapsed())
        }));
    }
    let mut refused = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused.len() < 2 && Instant::now() < deadline {
        let mut i = 0;
        while i < calls.len() {
            if calls[i].is_finished() {
                refused.push(calls.remove(i).await.unwrap());
            } else {
                i += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refused.len(), 2, "expected two refusals within 30 s");
    for (out, elapsed) in &refused {
        let status = out.as_ref().expect_err("refused");
        assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
        assert!(status.message().contains("retry"), "{}", status.message());
        let retry = status
            .get_error_details()
            .retry_info()
            .cloned()
            .expect("RetryInfo");
        assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO));
        // Refused without waiting for the running solve (60 s) to finish.
        assert!(*elapsed < Duration::from_secs(20), "refused after {elapsed:?}");
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(server.metrics.refused.load(Ordering::SeqCst), 2);
    assert_eq!(in_flight(&server.metrics), 1);
    assert_eq!(server.metrics.queue_depth(), 1);
    // Both remaining clients go away: the running solve stops and the queue empties.
    for call in calls.drain(..) {
        call.abort();
    }
    assert!(
        wait_until(Duration::from_secs(30), || {
            in_flight(&server.metrics) == 0 && server.metrics.queue_depth() == 0
        })
        .await,
        "in flight {} queued {}",
        in_flight(&server.metrics),
        server.metrics.queue_depth()
    );
    // The slot and the queue place are free again: the next request is planned.
    let mut client = client(&server).await;
    let plan = client.propose_allocations(sample()).await.unwrap().into_inner();
    assert_valid(&sample(), &plan);
}

#[tokio::test]
async fn with_no_queue_a_second_request_is_refused_while_one_solves() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_concurrent_solves: 1,
            max_queued: 0,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut first = client(&server).await;
    let running = tokio::spawn(async move { first.propose_allocations(trust_request(60.0)).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);
    let mut second = client(&server).await;
    let status = second.propose_allocations(sample()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    running.abort();
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await);
    assert!(second.propose_allocations(sample()).await.is_ok());
}

// (d) ------------------------------------------------------------------------------------------

fn assert_no_patient_data(request: &pb::ProposeAllocationsRequest, text: &str) {
    for p in &request.patients {
        assert!(!text.contains(&p.id), "a patient id in: {text}");
    }
}

#[tokio::test]
async fn requests_over_the_size_limits_are_refused_with_the_limit_named() {
    let request = sample();
    assert_eq!((request.sessions.len(), request.patients.len()), (16, 52));
    let options = ServerOptions {
        service: ServiceConfig {
            max_sessions: 10,
            max_patients: 40,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("16 sessions; the limit is 10"),
        "{}",
        status.message()
    );
    assert_no_patient_data(&request, status.message());

    let mut fewer_sessions = request.clone();
    fewer_sessions.sessions.truncate(10);
    let status = client.propose_allocations(fewer_sessions).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("52 patients; the limit is 40"),
        "{}",
        status.message()
    );

    // The streaming and scenario RPCs apply the same limits.
    let status = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the limit is 10"),
        "{}",
        status.message()
    );
    let compare = pb::CompareScenariosRequest {
        base: Some(request.clone()),
        scenarios: Vec::new(),
    };
    let status = client.compare_scenarios(compare).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the limit is 10"),
        "{}",
        status.message()
    );
    assert_eq!(server.metrics.in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(server.metrics.errors.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn too_many_scenarios_are_refused() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = client(&server).await;
    let scenarios = (0..=MAX_SCENARIOS)
        .map(|i| pb::Scenario {
            name: format!("s{i}"),
            changes: Vec::new(),
        })
        .collect();
    let request = pb::CompareScenariosRequest {
        base: Some(sample()),
        scenarios,
    };
    let status = client.compare_scenarios(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains(&format!("the limit is {MAX_SCENARIOS}")),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_message_over_the_byte_limit_is_refused() {
    let limit = 128 * 1024;
    let small = sample();
    let large = trust_request(10.0);
    assert!(small.encoded_len() < limit / 4, "{}", small.encoded_len());
    assert!(large.encoded_len() > limit, "{}", large.encoded_len());
    let options = ServerOptions {
        max_message_bytes: limit,
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let status = client.propose_allocations(large.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{}", status.message());
    assert!(
        status.message().contains(&limit.to_string()),
        "{}",
        status.message()
    );
    assert_no_patient_data(&large, status.message());
    assert_eq!(in_flight(&server.metrics), 0);
    // A request under the limit on the same connection is planned.
    let plan = client
        .propose_allocations(small.clone())
        .await
        .unwrap()
        .into_inner();
    assert_valid(&small, &plan);
}

// (e) ------------------------------------------------------------------------------------------

/// PEM files for a test CA, a server certificate for localhost / 127.0.0.1, a client certificate
/// signed by the CA, and a client certificate from an unrelated CA.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn generate() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
            KeyPair, KeyUsagePurpose, SanType,
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let leaf = |issuer: &CertifiedIssuer<'static, KeyPair>, client: bool| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            params.extended_key_usages = vec![if client {
                ExtendedKeyUsagePurpose::ClientAuth
            } else {
                ExtendedKeyUsagePurpose::ServerAuth
            }];
            let cert = params.signed_by(&key, &**issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let trusted = ca("theatre-optimiser test CA");
        let other = ca("unrelated CA");
        write("ca.pem", trusted.pem());
        write("other-ca.pem", other.pem());
        let (cert, key) = leaf(&trusted, false);
        write("server.pem", cert);
        write("server.key", key);
        let (cert, key) = leaf(&trusted, true);
        write("client.pem", cert);
        write("client.key", key);
        let (cert, key) = leaf(&other, true);
        write("rogue.pem", cert);
        write("rogue.key", key);
        Pki { dir }
    }

    fn server_tls(&self, mutual: bool) -> TlsPaths {
        TlsPaths {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: mutual.then(|| self.path("ca.pem")),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects over TLS (trusting `ca`, optionally presenting `identity`) and plans the sample with
/// the baseline planner; the error says which step failed.
async fn plan_over_tls(
    addr: SocketAddr,
    ca: &str,
    identity: Option<(String, String)>,
    token: Option<&str>,
) -> Result<pb::ProposeAllocationsResponse, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| format!("tls config: {e}"))?
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut client = TheatreOptimiserClient::new(channel);
    let mut request = sample();
    request.planner = pb::Planner::Baseline as i32;
    let mut request = tonic::Request::new(request);
    request.set_timeout(Duration::from_secs(30));
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    client
        .propose_allocations(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| format!("call: {:?} {}", s.code(), s.message()))
}

async fn plan_in_plaintext(addr: SocketAddr) -> Result<(), String> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut request = tonic::Request::new(sample());
    request.set_timeout(Duration::from_secs(30));
    TheatreOptimiserClient::new(channel)
        .propose_allocations(request)
        .await
        .map(|_| ())
        .map_err(|s| format!("call: {:?}", s.code()))
}

#[tokio::test]
async fn tls_serves_trusting_clients_and_refuses_plaintext_and_strangers() {
    let pki = Pki::generate();
    let options = ServerOptions {
        tls: Some(pki.server_tls(false)),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let plan = plan_over_tls(server.addr, &pki.read("ca.pem"), None, None)
        .await
        .expect("a TLS client that trusts the CA is served");
    assert_eq!(plan.planner, pb::Planner::Baseline as i32);
    // A client that does not trust the server's CA refuses the server.
    let err = plan_over_tls(server.addr, &pki.read("other-ca.pem"), None, None)
        .await
        .expect_err("an untrusted server certificate");
    eprintln!("untrusted CA: {err}");
    // A plaintext client gets nowhere with a TLS server.
    let err = plan_in_plaintext(server.addr)
        .await
        .expect_err("plaintext refused by a TLS server");
    eprintln!("plaintext to TLS: {err}");
    assert_eq!(server.metrics.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_configured_ca() {
    let pki = Pki::generate();
    let options = ServerOptions {
        tls: Some(pki.server_tls(true)),
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let ca = pki.read("ca.pem");
    let client_id = (pki.read("client.pem"), pki.read("client.key"));
    let rogue_id = (pki.read("rogue.pem"), pki.read("rogue.key"));

    let plan = plan_over_tls(server.addr, &ca, Some(client_id.clone()), Some("s3cret"))
        .await
        .expect("a client with a certificate from the CA and the token is served");
    assert_valid(&sample(), &plan);
    let err = plan_over_tls(server.addr, &ca, None, Some("s3cret"))
        .await
        .expect_err("no client certificate under mutual TLS");
    eprintln!("no client certificate: {err}");
    let err = plan_over_tls(server.addr, &ca, Some(rogue_id), Some("s3cret"))
        .await
        .expect_err("a client certificate from another CA");
    eprintln!("client certificate from another CA: {err}");
    // The certificate does not stand in for the token.
    let err = plan_over_tls(server.addr, &ca, Some(client_id), None)
        .await
        .expect_err("the token is still required");
    assert!(err.contains("Unauthenticated"), "{err}");
    assert!(plan_in_plaintext(server.addr).await.is_err());
    assert_eq!(server.metrics.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_token_guards_every_planning_rpc_but_not_health() {
    let options = ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let status = client
        .propose_allocations_stream(sample())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let compare = pb::CompareScenariosRequest {
        base: Some(sample()),
        scenarios: Vec::new(),
    };
    let status = client.compare_scenarios(compare).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // "Bearer" with another case or a prefix of the token is not accepted.
    for wrong in ["bearer s3cret", "Bearer s3cre", "Bearer s3cret ", "s3cret"] {
        let mut request = tonic::Request::new(sample());
        request
            .metadata_mut()
            .insert("authorization", wrong.parse().unwrap());
        let status = client.propose_allocations(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{wrong:?}");
    }
    assert_eq!(server.metrics.requests.load(Ordering::SeqCst), 0);
    // Probes need no token.
    let mut health = HealthClient::new(
        Channel::from_shared(server.channel_url())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let reply = health
        .check(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status, 1, "SERVING");
}

// (f) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_goes_not_serving_and_finishes_the_running_solve() {
    let options = ServerOptions {
        grace: Duration::from_secs(120),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let request = trust_request(5.0);
    let sent = request.clone();
    let call = tokio::spawn(async move { client.propose_allocations(sent).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);

    let channel = Channel::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, 1, "SERVING");
    // The whole server (the empty name, what a probe naming no service asks about) too.
    let mut overall = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.message().await.unwrap().unwrap().status, 1, "SERVING");

    let signalled = Instant::now();
    server.begin_shutdown();
    let next = tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .expect("a health update after the shutdown signal")
        .unwrap()
        .unwrap();
    assert_eq!(next.status, 2, "NOT_SERVING");
    let next = tokio::time::timeout(Duration::from_secs(30), overall.message())
        .await
        .expect("an overall health update after the shutdown signal")
        .unwrap()
        .unwrap();
    assert_eq!(next.status, 2, "overall NOT_SERVING");
    // An open watch would hold the drain; a real prober closes it too.
    drop((watch, overall, health));

    let plan = call
        .await
        .unwrap()
        .expect("the running solve completes during shutdown")
        .into_inner();
    assert!(is_plan(&plan));
    assert_valid(&request, &plan);
    assert_eq!(cancelled(&server.metrics), 0);
    let handle = server.handle.take().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), handle)
        .await
        .expect("the server stops once the solve is done, long before the 120 s grace");
    out.unwrap().unwrap();
    eprintln!("shutdown drained in {:?}", signalled.elapsed());
    // Nothing is accepted any more.
    assert!(TheatreOptimiserClient::connect(server.channel_url())
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solve_still_running_when_the_grace_period_ends_is_cancelled() {
    let options = ServerOptions {
        grace: Duration::from_secs(1),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let call = tokio::spawn(async move { client.propose_allocations(trust_request(60.0)).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);
    server.begin_shutdown();
    let handle = server.handle.take().unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("the server stops after its grace period, not after the 60 s solve")
        .unwrap()
        .unwrap();
    let status = call
        .await
        .unwrap()
        .expect_err("the client gets an error, not a plan or a hang");
    assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await,
        "the abandoned solve is stopped"
    );
    assert_eq!(cancelled(&server.metrics), 1);
}

// (g) ------------------------------------------------------------------------------------------

/// Everything every thread of this test binary logs, at TRACE, once the capture is installed.
struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    on: Arc<AtomicBool>,
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>, Arc<AtomicBool>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.1.load(Ordering::Relaxed) {
            self.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a global TRACE subscriber (text and JSON, span events included, no timestamps so a
/// date in the logs can only come from the data) writing to a buffer. Global, because solves run
/// on blocking-pool and solver threads.
fn log_capture() -> &'static LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        use tracing_subscriber::fmt::format::FmtSpan;
        use tracing_subscriber::prelude::*;
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let on = Arc::new(AtomicBool::new(true));
        let (b, o) = (buffer.clone(), on.clone());
        let text = tracing_subscriber::fmt::layer()
            .without_time()
            .with_span_events(FmtSpan::FULL)
            .with_thread_names(true)
            .with_writer(move || CaptureWriter(b.clone(), o.clone()));
        let (b, o) = (buffer.clone(), on.clone());
        let json = tracing_subscriber::fmt::layer()
            .json()
            .without_time()
            .with_span_events(FmtSpan::FULL)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || CaptureWriter(b.clone(), o.clone()));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(text)
            .with(json);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        LogCapture { buffer, on }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_full_solve_at_trace_name_no_patient_and_no_patient_date() {
    let capture = log_capture();
    let request = sample();

    // In process, the same path as the CLI's `solve`, on a thread of its own.
    let offline = request.clone();
    let plan = std::thread::spawn(move || {
        let _span = tracing::info_span!("offline_solve").entered();
        api::propose(offline, &SolveOptions::default())
    })
    .join()
    .unwrap()
    .expect("the sample is planned");
    assert_valid(&request, &plan);

    // Over a real socket, the stream included.
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = client(&server).await;
    let plan = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_valid(&request, &plan);
    let mut stream = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    // A refused request and a failing solve log too.
    let mut bad = request.clone();
    bad.patients[0].age_months = -1;
    assert!(client.propose_allocations(bad).await.is_err());
    let id = request.patients[0].id.clone();
    let planner: Planner = Arc::new(move |_, _| panic!("cannot plan {id}"));
    let failing = TestServer::start_with_service(
        ServerOptions::default(),
        OptimiserService::with_planner(ServiceConfig::default(), Arc::new(Metrics::default()), planner),
    )
    .await;
    let status = self::client(&failing)
        .await
        .propose_allocations(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);

    let logs = String::from_utf8(std::mem::take(&mut *capture.buffer.lock().unwrap())).unwrap();
    // Later tests in this binary need not fill the buffer.
    capture.on.store(false, Ordering::Relaxed);
    // The capture worked: spans and events of every stage, from every kind of thread.
    for expected in [
        "propose_allocations",
        "offline_solve",
        "validate",
        "extract",
        "optimiser finished",
        "the solve panicked",
        "\"level\":\"TRACE\"",
    ] {
        assert!(logs.contains(expected), "no {expected:?} in the captured logs");
    }
    let mut leaks = Vec::new();
    for p in &request.patients {
        let mut private = vec![p.id.as_str(), p.date_listed.as_str(), p.rtt_clock_start.as_str()];
        if let Some(date) = p.preop.as_ref().and_then(|pre| pre.date.as_deref()) {
            private.push(date);
        }
        for value in private.into_iter().filter(|v| !v.is_empty()) {
            if logs.contains(value) {
                leaks.push(value.to_string());
            }
        }
    }
    leaks.sort();
    leaks.dedup();
    let context: Vec<&str> = leaks
        .iter()
        .filter_map(|v| logs.lines().find(|l| l.contains(v.as_str())))
        .take(3)
        .collect();
    assert!(
        leaks.is_empty(),
        "patient data in the logs: {leaks:?}; e.g. {context:#?}"
    );
    eprintln!("{} bytes of TRACE logs, no patient data", logs.len());
}

// (h) ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_panicking_or_failing_solve_answers_internal_and_the_server_keeps_serving() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    // First call panics (quoting a patient id), second fails in the solver, the rest plan.
    let planner: Planner = Arc::new(
        move |request: pb::ProposeAllocationsRequest, opts: &SolveOptions| match seen
            .fetch_add(1, Ordering::SeqCst)
        {
            0 => panic!("boom on {}", request.patients[0].id),
            1 => Err(ProposeError::Plan(PlanError::Solver(SolverError::Stopped(
                highs::HighsModelStatus::SolveError,
            )))),
            _ => api::propose(request, opts),
        },
    );
    // One slot and no queue: a leaked permit after the panic would refuse the next request.
    let config = ServiceConfig {
        max_concurrent_solves: 1,
        max_queued: 0,
        ..ServiceConfig::default()
    };
    let service = OptimiserService::with_planner(config, Arc::new(Metrics::default()), planner);
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    let request = sample();

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains("panicked"), "{}", status.message());
    assert_no_patient_data(&request, status.message());

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().contains("solver failure"),
        "{}",
        status.message()
    );

    let plan = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_valid(&request, &plan);
    // The stream reports the same way.
    let mut stream = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(event) = stream.message().await.unwrap() {
        last = event.event;
    }
    assert!(matches!(
        last,
        Some(pb::propose_allocations_event::Event::Plan(_))
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(server.metrics.errors.load(Ordering::SeqCst), 2);
    assert_eq!(in_flight(&server.metrics), 0);
}
