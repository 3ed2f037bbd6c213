//! Operator metrics, kept in a `prometheus-client` registry and served over HTTP (axum) at
//! `GET /metrics` on their own port: request counters, queue and in-flight gauges, the solve-time
//! histogram, per-RPC counts and latencies by gRPC code, solver phase timings, bound errors and
//! build info. No label ever holds request data: labels are RPC names, gRPC codes and phase names.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use tracing::span;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Upper bounds of the solve-seconds histogram buckets.
const SOLVE_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Upper bounds of the per-RPC latency buckets (refusals answer in microseconds, solves in seconds).
const RPC_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds of the solver-phase buckets.
const PHASE_BUCKETS: [f64; 12] = [
    0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

/// The spans of a request's path timed as solver phases (`theatre_solve_phase_seconds`).
pub const PHASES: [&str; 7] = [
    "validate",
    "eligibility",
    "baseline",
    "solve",
    "plan_build",
    "check",
    "extract",
];

/// Labels of the per-RPC metrics: the method name and the gRPC code it answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub rpc: String,
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

type PhaseFamily = Family<PhaseLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub requests: Counter,
    pub errors: Counter,
    pub refused: Counter,
    pub cancelled: Counter,
    pub deadline_exceeded: Counter,
    pub bound_errors: Counter,
    pub in_flight: Gauge,
    queued: Gauge,
    last_gap: Gauge<f64, AtomicU64>,
    solve_seconds: Histogram,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_seconds: Family<RpcLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Counter::default();
        let errors = Counter::default();
        let refused = Counter::default();
        let cancelled = Counter::default();
        let deadline_exceeded = Counter::default();
        let bound_errors = Counter::default();
        let in_flight = Gauge::default();
        let queued = Gauge::default();
        let last_gap = Gauge::<f64, AtomicU64>::default();
        let solve_seconds = Histogram::new(SOLVE_BUCKETS);
        let rpc_requests = Family::<RpcLabels, Counter>::default();
        let rpc_seconds = Family::<RpcLabels, Histogram>::new_with_constructor(rpc_histogram as fn() -> _);
        // Counter names take `_total` from the library.
        registry.register(
            "theatre_requests",
            "Planning requests received.",
            requests.clone(),
        );
        registry.register(
            "theatre_request_errors",
            "Requests answered with an error.",
            errors.clone(),
        );
        registry.register(
            "theatre_requests_refused",
            "Requests refused because the queue was full.",
            refused.clone(),
        );
        registry.register(
            "theatre_solves_cancelled",
            "Solves stopped because the client went away or the shutdown grace period ended.",
            cancelled.clone(),
        );
        registry.register(
            "theatre_deadline_exceeded",
            "Requests answered DEADLINE_EXCEEDED: no plan was ready within the client's deadline.",
            deadline_exceeded.clone(),
        );
        registry.register(
            "theatre_bound_errors",
            "A solve's proven bound fell below its own plan's value: a solver bug.",
            bound_errors.clone(),
        );
        registry.register(
            "theatre_solves_in_flight",
            "Solves running now.",
            in_flight.clone(),
        );
        registry.register(
            "theatre_queue_depth",
            "Requests waiting for a solve slot.",
            queued.clone(),
        );
        registry.register(
            "theatre_last_relative_gap",
            "Relative gap of the last plan.",
            last_gap.clone(),
        );
        registry.register(
            "theatre_solve_seconds",
            "Time to plan a request.",
            solve_seconds.clone(),
        );
        registry.register(
            "theatre_rpc_requests",
            "gRPC calls answered, by method and gRPC code.",
            rpc_requests.clone(),
        );
        registry.register(
            "theatre_rpc_seconds",
            "gRPC call latency until the answer's last byte, by method and gRPC code.",
            rpc_seconds.clone(),
        );
        registry.register(
            "theatre_solve_phase_seconds",
            "Time spent in each phase of planning a request (process-wide).",
            phase_seconds().clone(),
        );
        registry.register(
            "theatre_build",
            "The running build.",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                (
                    "profile",
                    if cfg!(debug_assertions) {
                        "debug"
                    } else {
                        "release"
                    },
                ),
            ]),
        );
        Metrics {
            registry,
            requests,
            errors,
            refused,
            cancelled,
            deadline_exceeded,
            bound_errors,
            in_flight,
            queued,
            last_gap,
            solve_seconds,
            rpc_requests,
            rpc_seconds,
        }
    }
}

fn rpc_histogram() -> Histogram {
    Histogram::new(RPC_BUCKETS)
}

fn phase_histogram() -> Histogram {
    Histogram::new(PHASE_BUCKETS)
}

/// The phase histograms: one per process, since phases are timed by a tracing layer
/// ([`PhaseTimer`]) that the process installs once.
fn phase_seconds() -> &'static PhaseFamily {
    static PHASES_SECONDS: OnceLock<PhaseFamily> = OnceLock::new();
    PHASES_SECONDS.get_or_init(|| Family::new_with_constructor(phase_histogram as fn() -> _))
}

impl Metrics {
    /// Counts a request entering the queue; returns the queue depth including it.
    pub fn queue_enter(&self) -> usize {
        (self.queued.inc() + 1).max(0) as usize
    }

    pub fn queue_leave(&self) {
        self.queued.dec();
    }

    pub fn queue_depth(&self) -> i64 {
        self.queued.get()
    }

    /// Records a planned request: its time, its gap, and any bound errors its solver reported.
    pub fn observe_solve(&self, seconds: f64, stats: &crate::api::proto::SolverStats) {
        self.solve_seconds.observe(seconds);
        self.last_gap.set(stats.relative_gap);
        self.bound_errors.inc_by(u64::from(stats.bound_errors));
    }

    /// Records one answered gRPC call. `rpc` must come from a fixed set (the service's method
    /// names), never from the request.
    pub fn observe_rpc(&self, rpc: &str, code: tonic::Code, seconds: f64) {
        let labels = RpcLabels {
            rpc: rpc.to_string(),
            code: code_name(code),
        };
        self.rpc_requests.get_or_create(&labels).inc();
        self.rpc_seconds.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition (OpenMetrics, which Prometheus scrapes).
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The gRPC code's canonical name, as Prometheus labels usually spell it.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A tracing layer that times the spans named in [`PHASES`] into `theatre_solve_phase_seconds`.
/// Install it beside the log layer with [`PhaseTimer::filter`] as its own filter, so that the
/// phase spans are timed whatever the log level.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhaseTimer;

struct Started(Instant);

impl PhaseTimer {
    /// Which callsites this layer needs: the phase spans of this crate only.
    pub fn filter(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_span()
            && metadata.target().starts_with("theatre_optimiser")
            && PHASES.contains(&metadata.name())
    }
}

impl<S> tracing_subscriber::Layer<S> for PhaseTimer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if !Self::filter(attrs.metadata()) {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(phase) = PHASES.iter().find(|p| **p == span.name()) else {
            return;
        };
        let elapsed = span.extensions().get::<Started>().map(|Started(at)| at.elapsed());
        if let Some(elapsed) = elapsed {
            phase_seconds()
                .get_or_create(&PhaseLabels { phase })
                .observe(elapsed.as_secs_f64());
        }
    }
}

/// Serves `GET /metrics` (and `HEAD`) on the listener until the task is dropped; any other path
/// is 404, any other method on `/metrics` 405.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use axum::http::header::CONTENT_TYPE;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_rpc_and_build_info() {
        let m = Metrics::default();
        m.requests.inc_by(3);
        m.observe_solve(
            0.2,
            &crate::api::proto::SolverStats {
                relative_gap: 0.01,
                ..Default::default()
            },
        );
        m.observe_rpc("ProposeAllocations", tonic::Code::InvalidArgument, 0.003);
        let text = m.render();
        assert!(text.contains("theatre_requests_total 3"), "{text}");
        assert!(
            text.contains("theatre_solve_seconds_bucket{le=\"0.25\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("theatre_solve_seconds_bucket{le=\"0.1\"} 0"),
            "{text}"
        );
        assert!(text.contains("theatre_solve_seconds_count 1"), "{text}");
        assert!(text
            .contains("theatre_rpc_requests_total{rpc=\"ProposeAllocations\",code=\"INVALID_ARGUMENT\"} 1"));
        assert!(text.contains("theatre_build_info{version=\""), "{text}");
        assert!(text.contains("theatre_bound_errors_total 0"), "{text}");
    }

    #[test]
    fn a_solve_reporting_bound_errors_counts_them() {
        let m = Metrics::default();
        let stats = |bound_errors| crate::api::proto::SolverStats {
            bound_errors,
            ..Default::default()
        };
        m.observe_solve(0.1, &stats(0));
        assert_eq!(m.bound_errors.get(), 0);
        m.observe_solve(0.1, &stats(2));
        m.observe_solve(0.1, &stats(1));
        assert_eq!(m.bound_errors.get(), 3);
        assert!(m.render().contains("theatre_bound_errors_total 3"));
    }
}
