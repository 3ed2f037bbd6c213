//! What the service logs: a full solve traced at TRACE names no patient and no patient's date.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use theatre_optimiser::api;
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::{OptimiserService, Planner, ServiceConfig};
use theatre_optimiser::planning::SolveOptions;
use tonic::Code;

use crate::service::client;
use crate::support::{assert_valid, patient_private_values, sample, streamed_plan, TestServer};

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
    assert!(streamed_plan(&mut client, &request).await.is_some());
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
    let leaks: Vec<String> = patient_private_values(&request)
        .into_iter()
        .filter(|value| logs.contains(value.as_str()))
        .collect();
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
