//! The gRPC service: thin handlers that admit a request (size limits, a solve slot, the client's
//! deadline), plan it off the async runtime with [`crate::api::propose`] and answer. Errors map to
//! gRPC codes in `error.rs`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::answer::{propose_with, Solver};
use crate::api::desk;
use crate::api::error::{ProposeError, Queue, SizeLimit};
use crate::api::metrics::Metrics;
use crate::api::proto as pb;
use crate::api::proto::theatre_optimiser_server::TheatreOptimiser;
use crate::api::whatif;
use crate::api::worlds::Worlds;
use crate::planning::{Progress, ProgressSink, SolveOptions};

mod cores;
mod desk_calls;

use cores::Cores;

/// Worker threads for one solve when `running` solves (it included) share `cores` cores: an
/// equal share, at least one.
fn workers_for(cores: usize, running: usize) -> usize {
    (cores / running.max(1)).max(1)
}

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
    /// Worlds held for desk calls (`LoadWorld`) at once; a new one pushes out the least recently used.
    pub max_worlds: usize,
    /// A held world is forgotten after this long without a call that names it.
    pub world_idle: Duration,
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
            max_worlds: 16,
            world_idle: Duration::from_secs(15 * 60),
        }
    }
}

/// Scenarios a `CompareScenarios` request may name (each is planned, so each takes a solve slot).
pub const MAX_SCENARIOS: usize = 16;

/// Plans one validated-or-not request: [`crate::api::propose`] in production; tests inject others (a planner
/// that panics, say) through [`OptimiserService::with_planner`].
pub type Planner = Arc<
    dyn Fn(
            pb::ProposeAllocationsRequest,
            &SolveOptions,
        ) -> Result<pb::ProposeAllocationsResponse, ProposeError>
        + Send
        + Sync,
>;

/// The tonic service.
#[derive(Clone)]
pub struct OptimiserService {
    config: ServiceConfig,
    slots: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    planner: Planner,
    /// Worlds held for desk calls (`LoadWorld`).
    worlds: Arc<Worlds>,
    /// Set once the shutdown grace period is over: every solve stops.
    stopping: Arc<watch::Sender<bool>>,
    /// The cores running solves are placed on.
    cores: Arc<Cores>,
}

impl OptimiserService {
    pub fn new(config: ServiceConfig, metrics: Arc<Metrics>) -> Self {
        Self::with_solver(config, metrics, Arc::new(crate::planning::solve::plan))
    }

    /// The service as [`OptimiserService::new`] builds it (validation, the plan checker and its
    /// baseline fallback, conversion), with another solver in place of the planner's (a test
    /// seam).
    pub fn with_solver(config: ServiceConfig, metrics: Arc<Metrics>, solver: Arc<Solver>) -> Self {
        let planner: Planner = Arc::new(move |request, opts| propose_with(request, opts, &*solver));
        Self::with_planner(config, metrics, planner)
    }

    /// The service with another planner in place of [`crate::api::propose`] (a test seam; production uses
    /// [`OptimiserService::new`]).
    pub fn with_planner(config: ServiceConfig, metrics: Arc<Metrics>, planner: Planner) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent_solves.max(1)));
        let worlds = Arc::new(Worlds::new(config.max_worlds, config.world_idle));
        OptimiserService {
            worlds,
            config,
            slots,
            metrics,
            planner,
            stopping: Arc::new(watch::Sender::new(false)),
            cores: Cores::of_process(),
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn check_size(&self, r: &pb::ProposeAllocationsRequest) -> Result<(), ProposeError> {
        if r.sessions.len() > self.config.max_sessions {
            return Err(ProposeError::TooLarge(SizeLimit {
                what: "sessions",
                count: r.sessions.len(),
                limit: self.config.max_sessions,
            }));
        }
        if r.patients.len() > self.config.max_patients {
            return Err(ProposeError::TooLarge(SizeLimit {
                what: "patients",
                count: r.patients.len(),
                limit: self.config.max_patients,
            }));
        }
        Ok(())
    }

    /// Waits for a solve slot, or refuses at once when the queue is full.
    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ProposeError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // The guard leaves the queue however the wait ends, the client going away included.
        let place = QueuePlace::enter(&self.metrics);
        if place.depth > self.config.max_queued {
            self.metrics.refused.inc();
            return Err(ProposeError::Busy(Queue {
                running: self.config.max_concurrent_solves,
                waiting: self.config.max_queued,
            }));
        }
        let permit = self.slots.clone().acquire_owned().await;
        drop(place);
        permit.map_err(|_| ProposeError::Internal("solve slots closed".into()))
    }

    /// Plans one request within the client's deadline. Dropping the returned future (the client
    /// went away) cancels the solve; so do the deadline passing and the end of the shutdown grace
    /// period, which answer DEADLINE_EXCEEDED and UNAVAILABLE.
    async fn run(
        &self,
        request: pb::ProposeAllocationsRequest,
        deadline: Option<Duration>,
        progress: Option<ProgressSink>,
    ) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
        self.check_size(&request)?;
        let arrived = Instant::now();
        let why = Arc::new(AtomicU8::new(CLIENT_GONE));
        let mut work = Box::pin(self.queue_and_solve(request, arrived, deadline, progress, why.clone()));
        // Answer just before tonic's own timer (which would say CANCELLED) with the proper code.
        let expires =
            deadline.map(|d| tokio::time::Instant::from_std(arrived + d.saturating_sub(ANSWER_SLACK)));
        let mut stopping = self.stopping.subscribe();
        tokio::select! {
            out = &mut work => out,
            _ = sleep_until(expires) => {
                why.store(DEADLINE, Ordering::Relaxed);
                drop(work);
                self.metrics.deadline_exceeded.inc();
                tracing::info!("the client's deadline passed before a plan was ready");
                Err(ProposeError::DeadlineExceeded)
            }
            _ = stopping.wait_for(|stop| *stop) => {
                why.store(SHUTDOWN, Ordering::Relaxed);
                drop(work);
                Err(ProposeError::ShuttingDown)
            }
        }
    }

    async fn queue_and_solve(
        &self,
        request: pb::ProposeAllocationsRequest,
        arrived: Instant,
        deadline: Option<Duration>,
        progress: Option<ProgressSink>,
        why: Arc<AtomicU8>,
    ) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
        let permit = self.slot().await?;
        // The cores are shared among the solves running now (this one included): a solve on a
        // busy service takes fewer worker threads, so they do not outnumber the cores. The plan
        // is the same with any number of workers; only its speed changes.
        let running = self.config.max_concurrent_solves.max(1) - self.slots.available_permits();
        let workers = workers_for(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            running,
        );
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop {
            flag: cancel.clone(),
            metrics: self.metrics.clone(),
            why,
            armed: true,
        };
        // The plan must be ready a margin before the client's deadline (counted from arrival).
        let solve_by = deadline.map(|d| arrived + d.saturating_sub(self.config.deadline_margin));
        let mut opts = SolveOptions {
            cancel,
            time_limit: None,
            progress,
            workers: Some(workers),
        };
        // The solve's thread and its helpers run on cores of their own while others are busy.
        let placement = self.cores.take(workers);
        let metrics = self.metrics.clone();
        let planner = self.planner.clone();
        // The blocking thread logs under the handler's span and to the handler's subscriber.
        let span = tracing::Span::current();
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        metrics.in_flight.inc();
        let result = tokio::task::spawn_blocking(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let _entered = span.enter();
                let _permit = permit;
                let started = Instant::now();
                opts.time_limit = solve_by.map(|t| t.saturating_duration_since(started));
                let out = placement.run(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| planner(request, &opts)))
                });
                drop(placement);
                metrics.in_flight.dec();
                // The panic payload is not logged: it could quote request data.
                let out = out.unwrap_or_else(|_| {
                    tracing::error!("the solve panicked; answering INTERNAL");
                    Err(ProposeError::Internal("the solve panicked".into()))
                });
                match &out {
                    Ok(r) => {
                        if let Some(s) = &r.solver {
                            metrics.observe_solve(started.elapsed().as_secs_f64(), s);
                        }
                    }
                    Err(e @ (ProposeError::Plan(_) | ProposeError::Internal(_))) => {
                        tracing::warn!(error = %e, "solve failed")
                    }
                    Err(_) => {}
                }
                out
            })
        })
        .await
        .map_err(|e| ProposeError::Internal(format!("solve task failed: {e}")))?;
        guard.disarm();
        result
    }

    /// Stops every running and queued solve at once: they answer UNAVAILABLE (used when the
    /// shutdown grace period is over). New requests are refused the same way.
    pub fn stop_all(&self) {
        self.stopping.send_replace(true);
    }
}

/// Kept back from the client's deadline for sending the answer (see [`OptimiserService::run`]).
const ANSWER_SLACK: Duration = Duration::from_millis(50);

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A request's place in the queue for a solve slot; leaves the queue when dropped.
struct QueuePlace<'a> {
    metrics: &'a Metrics,
    /// Queue depth including this request.
    depth: usize,
}

impl<'a> QueuePlace<'a> {
    fn enter(metrics: &'a Metrics) -> Self {
        let depth = metrics.queue_enter();
        QueuePlace { metrics, depth }
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.metrics.queue_leave();
    }
}

/// Why a solve was abandoned before it finished.
const CLIENT_GONE: u8 = 0;
const DEADLINE: u8 = 1;
const SHUTDOWN: u8 = 2;

/// Sets the cancel flag when the solve is abandoned before it finished (the client went away,
/// its deadline passed, or the shutdown grace period ended), so no solver thread keeps working
/// for nobody.
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    why: Arc<AtomicU8>,
    armed: bool,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.flag.store(true, Ordering::Relaxed);
        match self.why.load(Ordering::Relaxed) {
            DEADLINE => tracing::debug!("deadline passed; solve stopped"),
            SHUTDOWN => {
                self.metrics.cancelled.inc();
                tracing::warn!("shutdown grace period over; solve cancelled");
            }
            _ => {
                self.metrics.cancelled.inc();
                tracing::info!("client went away; solve cancelled");
            }
        }
    }
}

/// The client's deadline from the `grpc-timeout` header.
pub fn grpc_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
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
        self.metrics.requests.inc();
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
            self.metrics.errors.inc();
        }
        Ok(Response::new(result?))
    }

    type ProposeAllocationsStreamStream = EventStream;

    async fn propose_allocations_stream(
        &self,
        request: Request<pb::ProposeAllocationsRequest>,
    ) -> Result<Response<Self::ProposeAllocationsStreamStream>, Status> {
        let deadline = grpc_timeout(&request);
        self.metrics.requests.inc();
        let request = request.into_inner();
        if let Err(e) = self.check_size(&request) {
            self.metrics.errors.inc();
            return Err(e.into());
        }
        let (tx, rx) = mpsc::channel(64);
        let progress_tx = tx.clone();
        let sink: ProgressSink = Arc::new(move |p: Progress| {
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
        // The solve runs under the call's span, so it continues the caller's trace.
        let span = tracing::info_span!(
            "propose_allocations_stream",
            sessions = request.sessions.len(),
            patients = request.patients.len()
        );
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let result = this.run(request, deadline, Some(sink));
                tokio::select! {
                    out = result => {
                        if out.is_err() {
                            this.metrics.errors.inc();
                        }
                        let event = out.map(|plan| pb::ProposeAllocationsEvent {
                            event: Some(pb::propose_allocations_event::Event::Plan(plan)),
                        });
                        let _ = tx.send(event.map_err(Status::from)).await;
                    }
                    _ = tx.closed() => {}
                }
            },
            span,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn compare_scenarios(
        &self,
        request: Request<pb::CompareScenariosRequest>,
    ) -> Result<Response<pb::CompareScenariosResponse>, Status> {
        let deadline = grpc_timeout(&request);
        self.metrics.requests.inc();
        let result = self.compare(request.into_inner(), deadline).await;
        if result.is_err() {
            self.metrics.errors.inc();
        }
        Ok(Response::new(result?))
    }

    async fn recommend_backfill(
        &self,
        request: Request<pb::RecommendBackfillRequest>,
    ) -> Result<Response<pb::RecommendBackfillResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!("recommend_backfill", held = !request.world_id.is_empty());
        let held = self.held(request.world.as_ref(), &request.world_id);
        let out = self.desk(held, span, move |held| desk::recommend_backfill(request, held));
        Ok(Response::new(out.await?))
    }

    async fn offer_dates(
        &self,
        request: Request<pb::OfferDatesRequest>,
    ) -> Result<Response<pb::OfferDatesResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!("offer_dates", held = !request.world_id.is_empty());
        let held = self.held(request.world.as_ref(), &request.world_id);
        let out = self.desk(held, span, move |held| desk::offer_dates(request, held));
        Ok(Response::new(out.await?))
    }

    async fn check_plan(
        &self,
        request: Request<pb::CheckPlanRequest>,
    ) -> Result<Response<pb::CheckPlanResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!(
            "check_plan",
            lists = request.lists.len(),
            held = !request.world_id.is_empty()
        );
        let held = self.held(request.world.as_ref(), &request.world_id);
        let out = self.desk(held, span, move |held| desk::check_plan(request, held));
        Ok(Response::new(out.await?))
    }

    async fn validate_request(
        &self,
        request: Request<pb::ValidateRequestRequest>,
    ) -> Result<Response<pb::ValidateRequestResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!("validate_request");
        let sized = self.world_size(request.world.as_ref()).map(|()| None);
        let out = self.desk(sized, span, move |_| Ok(desk::validate_request(request)));
        Ok(Response::new(out.await?))
    }

    async fn load_world(
        &self,
        request: Request<pb::LoadWorldRequest>,
    ) -> Result<Response<pb::LoadWorldResponse>, Status> {
        let out = self.hold_world(request.into_inner());
        Ok(Response::new(out.await?))
    }

    async fn unload_world(
        &self,
        request: Request<pb::UnloadWorldRequest>,
    ) -> Result<Response<pb::UnloadWorldResponse>, Status> {
        self.metrics.requests.inc();
        let unloaded = self.worlds.unload(&request.into_inner().world_id);
        Ok(Response::new(pb::UnloadWorldResponse { unloaded }))
    }
}

impl OptimiserService {
    async fn compare(
        &self,
        request: pb::CompareScenariosRequest,
        deadline: Option<Duration>,
    ) -> Result<pb::CompareScenariosResponse, ProposeError> {
        if request.scenarios.len() > MAX_SCENARIOS {
            return Err(ProposeError::TooLarge(SizeLimit {
                what: "scenarios",
                count: request.scenarios.len(),
                limit: MAX_SCENARIOS,
            }));
        }
        if let Some(base) = &request.base {
            self.check_size(base)?;
        }
        let requests = whatif::expand(&request)?;
        // A JoinSet aborts its tasks when dropped, so a client that goes away cancels every solve.
        let mut runs = tokio::task::JoinSet::new();
        let count = requests.len();
        for (i, (name, r)) in requests.into_iter().enumerate() {
            let this = self.clone();
            runs.spawn(tracing::Instrument::in_current_span(async move {
                (i, name, this.run(r, deadline, None).await)
            }));
        }
        let mut done: Vec<Option<(String, pb::ProposeAllocationsResponse)>> =
            (0..count).map(|_| None).collect();
        while let Some(joined) = runs.join_next().await {
            let (i, name, out) =
                joined.map_err(|e| ProposeError::Internal(format!("scenario task failed: {e}")))?;
            done[i] = Some((name, out?));
        }
        let plans = done
            .into_iter()
            .map(|p| p.expect("every scenario is planned"))
            .collect();
        Ok(whatif::compare(plans))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeout(value: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert("grpc-timeout", value.parse().unwrap());
        r
    }

    /// The solves running share the cores, each taking at least one worker.
    #[test]
    fn running_solves_share_the_cores() {
        assert_eq!(workers_for(2, 1), 2);
        assert_eq!(workers_for(2, 2), 1);
        assert_eq!(workers_for(2, 8), 1);
        assert_eq!(workers_for(8, 3), 2);
        assert_eq!(workers_for(1, 0), 1);
    }

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        let cases = [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("5S", Duration::from_secs(5)),
            ("250m", Duration::from_millis(250)),
            ("7u", Duration::from_micros(7)),
            ("9n", Duration::from_nanos(9)),
        ];
        for (raw, expected) in cases {
            assert_eq!(grpc_timeout(&with_timeout(raw)), Some(expected), "{raw}");
        }
        assert_eq!(grpc_timeout(&Request::new(())), None);
        for bad in ["", "S", "10", "10x", "-1S", "1.5S"] {
            let mut r = Request::new(());
            if let Ok(v) = bad.parse() {
                r.metadata_mut().insert("grpc-timeout", v);
            }
            assert_eq!(grpc_timeout(&r), None, "{bad:?}");
        }
        // Absurd values saturate instead of overflowing.
        assert!(grpc_timeout(&with_timeout("18446744073709551615H")).is_some());
    }

    #[test]
    fn a_queue_place_is_given_back_however_the_wait_ends() {
        let metrics = Metrics::default();
        {
            let first = QueuePlace::enter(&metrics);
            let second = QueuePlace::enter(&metrics);
            assert_eq!((first.depth, second.depth), (1, 2));
            assert_eq!(metrics.queue_depth(), 2);
        }
        assert_eq!(metrics.queue_depth(), 0);
    }
}
