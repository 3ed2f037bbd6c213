//! The gRPC service: thin handlers that validate, convert, plan off the async runtime within the
//! concurrency limit, and convert back. Errors map to a small set of gRPC codes in one place.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::convert::response::to_response;
use crate::convert::InvalidRequest;
use crate::domain::PlanningRequest;
use crate::metrics::Metrics;
use crate::proto as pb;
use crate::proto::theatre_optimiser_server::TheatreOptimiser;
use crate::scenario;
use crate::solve::{self, SolveError, SolveOptions};

/// Limits and capacity of one service instance.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Solves that run at once (default: cores).
    pub max_concurrent_solves: usize,
    /// Requests that may wait for a solve slot; beyond it they are refused at once.
    pub max_queued: usize,
    pub max_sessions: usize,
    pub max_patients: usize,
    /// Kept back from the client's deadline to convert and send the answer.
    pub deadline_margin: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServiceConfig {
            max_concurrent_solves: cores,
            max_queued: 4 * cores,
            max_sessions: 5_000,
            max_patients: 50_000,
            deadline_margin: Duration::from_millis(250),
        }
    }
}

/// Why a request could not be answered with a plan.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    #[error("request too large: {0}")]
    TooLarge(String),
    #[error("server busy: {0}")]
    Busy(String),
    #[error(transparent)]
    Solve(#[from] SolveError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ProposeError> for Status {
    fn from(e: ProposeError) -> Status {
        match e {
            ProposeError::Invalid(InvalidRequest(violations)) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let msg = format!(
                    "invalid request: {} violation(s); see BadRequest details",
                    violations.len()
                );
                Status::with_error_details(Code::InvalidArgument, msg, details)
            }
            ProposeError::TooLarge(msg) => Status::invalid_argument(msg),
            ProposeError::Busy(msg) => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(Duration::from_secs(2)));
                Status::with_error_details(Code::ResourceExhausted, msg, details)
            }
            ProposeError::Solve(e) => Status::internal(e.to_string()),
            ProposeError::Internal(msg) => Status::internal(msg),
        }
    }
}

/// Validates and plans one request; the same path for the service and the offline CLI.
pub fn propose(
    request: pb::ProposeAllocationsRequest,
    opts: &SolveOptions,
) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
    let req = {
        let _span = tracing::info_span!("validate").entered();
        PlanningRequest::try_from(request)?
    };
    let plan = solve::plan_checked(&req, opts)?;
    let _span = tracing::info_span!("extract").entered();
    Ok(to_response(&req, &plan))
}

/// The tonic service.
#[derive(Clone)]
pub struct OptimiserService {
    config: ServiceConfig,
    slots: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl OptimiserService {
    pub fn new(config: ServiceConfig, metrics: Arc<Metrics>) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent_solves.max(1)));
        OptimiserService {
            config,
            slots,
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn check_size(&self, r: &pb::ProposeAllocationsRequest) -> Result<(), ProposeError> {
        if r.sessions.len() > self.config.max_sessions {
            return Err(ProposeError::TooLarge(format!(
                "{} sessions; the limit is {} per request",
                r.sessions.len(),
                self.config.max_sessions
            )));
        }
        if r.patients.len() > self.config.max_patients {
            return Err(ProposeError::TooLarge(format!(
                "{} patients; the limit is {} per request",
                r.patients.len(),
                self.config.max_patients
            )));
        }
        Ok(())
    }

    /// Waits for a solve slot, or refuses at once when the queue is full.
    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ProposeError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.metrics.queue_enter();
        if queued > self.config.max_queued {
            self.metrics.queue_leave();
            self.metrics.refused.fetch_add(1, Ordering::Relaxed);
            return Err(ProposeError::Busy(format!(
                "{} solves running and {} waiting; retry shortly",
                self.config.max_concurrent_solves, self.config.max_queued
            )));
        }
        let permit = self.slots.clone().acquire_owned().await;
        self.metrics.queue_leave();
        permit.map_err(|_| ProposeError::Internal("solve slots closed".into()))
    }

    /// Runs a plan off the runtime; dropping the returned future (client gone) cancels the solve.
    async fn run(
        &self,
        request: pb::ProposeAllocationsRequest,
        deadline: Option<Duration>,
        progress: Option<solve::ProgressSink>,
    ) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
        self.check_size(&request)?;
        let arrived = Instant::now();
        let permit = self.slot().await?;
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop {
            flag: cancel.clone(),
            metrics: self.metrics.clone(),
            armed: true,
        };
        let time_limit = deadline.map(|d| d.saturating_sub(arrived.elapsed() + self.config.deadline_margin));
        let opts = SolveOptions {
            cancel,
            time_limit,
            progress,
            workers: None,
        };
        let metrics = self.metrics.clone();
        let span = tracing::Span::current();
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let result = tokio::task::spawn_blocking(move || {
            let _entered = span.entered();
            let _permit = permit;
            let started = Instant::now();
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| propose(request, &opts)));
            metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
            let out = out.unwrap_or_else(|_| Err(ProposeError::Internal("the solve panicked".into())));
            if let Ok(r) = &out {
                if let Some(s) = &r.solver {
                    metrics.observe_solve(started.elapsed().as_secs_f64(), s.relative_gap);
                }
            }
            out
        })
        .await
        .map_err(|e| ProposeError::Internal(format!("solve task failed: {e}")))?;
        guard.disarm();
        result
    }
}

/// Sets the cancel flag when the handler future is dropped before the solve finished (the
/// client went away), so no solver thread keeps working for nobody.
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    armed: bool,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::Relaxed);
            self.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
            tracing::info!("client went away; solve cancelled");
        }
    }
}

/// The client's deadline from the `grpc-timeout` header.
pub fn grpc_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::ProposeAllocationsEvent, Status>> + Send>>;

#[tonic::async_trait]
impl TheatreOptimiser for OptimiserService {
    async fn propose_allocations(
        &self,
        request: Request<pb::ProposeAllocationsRequest>,
    ) -> Result<Response<pb::ProposeAllocationsResponse>, Status> {
        let deadline = grpc_timeout(&request);
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!(
            "propose_allocations",
            sessions = request.get_ref().sessions.len(),
            patients = request.get_ref().patients.len()
        );
        let _e = span.enter();
        drop(_e);
        let result =
            tracing::Instrument::instrument(self.run(request.into_inner(), deadline, None), span).await;
        if result.is_err() {
            self.metrics.errors.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Response::new(result?))
    }

    type ProposeAllocationsStreamStream = EventStream;

    async fn propose_allocations_stream(
        &self,
        request: Request<pb::ProposeAllocationsRequest>,
    ) -> Result<Response<Self::ProposeAllocationsStreamStream>, Status> {
        let deadline = grpc_timeout(&request);
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let request = request.into_inner();
        self.check_size(&request)?;
        let (tx, rx) = mpsc::channel(64);
        let progress_tx = tx.clone();
        let sink: solve::ProgressSink = Arc::new(move |p: solve::Progress| {
            let event = pb::ProposeAllocationsEvent {
                event: Some(pb::propose_allocations_event::Event::Progress(pb::Progress {
                    phase: p.phase.to_string(),
                    best_objective: p.best_objective,
                    best_bound: p.best_bound,
                    relative_gap: p.relative_gap,
                    elapsed_seconds: p.elapsed_seconds,
                })),
            };
            // A full channel drops a progress event; the plan itself is never dropped.
            let _ = progress_tx.try_send(Ok(event));
        });
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.run(request, deadline, Some(sink));
            tokio::select! {
                out = result => {
                    let event = out.map(|plan| pb::ProposeAllocationsEvent {
                        event: Some(pb::propose_allocations_event::Event::Plan(plan)),
                    });
                    let _ = tx.send(event.map_err(Status::from)).await;
                }
                _ = tx.closed() => {}
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn compare_scenarios(
        &self,
        request: Request<pb::CompareScenariosRequest>,
    ) -> Result<Response<pb::CompareScenariosResponse>, Status> {
        let deadline = grpc_timeout(&request);
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let request = request.into_inner();
        let requests = scenario::expand(&request).map_err(Status::from)?;
        let runs = requests
            .into_iter()
            .map(|(name, r)| {
                let this = self.clone();
                async move { (name, this.run(r, deadline, None).await) }
            })
            .collect::<Vec<_>>();
        let mut plans = Vec::new();
        for (name, out) in futures_join_all(runs).await {
            plans.push((name, out?));
        }
        Ok(Response::new(scenario::compare(plans)))
    }
}

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("scenario task"));
    }
    out
}
