//! The terminal while a command works: progress bars on stderr for long solves, and log lines
//! written around them (plain text when stderr is not a terminal).

use std::io::IsTerminal;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use theatre_optimiser::api::metrics::PhaseTimer;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::trace::Exporter;
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::planning::{Progress, ProgressSink};

use super::LogFormat;

/// The progress bars on stderr; log lines are written around them (see [`LogWriter`]).
pub fn progress_bars() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// Writes log lines to stderr with any progress bars lifted out of the way and redrawn after.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        progress_bars().suspend(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        progress_bars().suspend(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Logs to stderr (filtered by `RUST_LOG`), times the planning phases for the metrics whatever
/// the log level, and exports spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the
/// exporter is returned, to be shut down (flushed) when the command ends.
pub fn init_tracing(format: LogFormat) -> anyhow::Result<Option<Exporter>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| LogWriter);
    let logs = match format {
        LogFormat::Json => logs.json().with_filter(filter).boxed(),
        LogFormat::Text => logs.with_filter(filter).boxed(),
    };
    let phases = PhaseTimer.with_filter(tracing_subscriber::filter::filter_fn(PhaseTimer::filter));
    let exporter = Exporter::from_env()?;
    let spans = exporter.as_ref().map(Exporter::layer);
    tracing_subscriber::registry()
        .with(logs)
        .with(phases)
        .with(spans)
        .init();
    Ok(exporter)
}

/// The wall-clock limit the request's policy sets (for the progress bar's length).
pub fn time_limit_of(request: &pb::ProposeAllocationsRequest) -> Duration {
    let seconds = PlanningRequest::try_from(request.clone())
        .map(|r| r.policy.solver.time_limit_seconds)
        .unwrap_or(10.0);
    Duration::from_secs_f64(seconds.clamp(0.1, 86_400.0))
}

/// A progress bar for one solve, fed by `SolveOptions.progress`. It appears only when the solve
/// is still running after one second and stderr is a terminal; it is cleared when the solve ends.
pub struct Ticker {
    latest: Arc<Mutex<Option<Progress>>>,
    done: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Ticker {
    const DELAY: Duration = Duration::from_secs(1);

    pub fn start(multi: &MultiProgress, label: &str, limit: Duration) -> Ticker {
        let latest: Arc<Mutex<Option<Progress>>> = Arc::default();
        let (done, stopped) = mpsc::channel::<()>();
        let (multi, label, seen) = (multi.clone(), label.to_string(), latest.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            if !matches!(
                stopped.recv_timeout(Ticker::DELAY),
                Err(mpsc::RecvTimeoutError::Timeout)
            ) || !std::io::stderr().is_terminal()
            {
                return;
            }
            let bar = multi.add(ProgressBar::new(limit.as_millis().max(1) as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:30}] {used:>4} of {limit}  {msg}")
                    .map(|s| {
                        s.with_key(
                            "used",
                            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{:.0}s", state.pos() as f64 / 1000.0);
                            },
                        )
                        .with_key("limit", {
                            let limit = limit.as_secs_f64();
                            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{limit:.0}s limit");
                            }
                        })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(label);
            loop {
                let elapsed = started.elapsed();
                bar.set_position((elapsed.as_millis() as u64).min(bar.length().unwrap_or(1)));
                if let Some(p) = *seen.lock().unwrap_or_else(|e| e.into_inner()) {
                    bar.set_message(format!(
                        "{}: objective {:.3}, bound {:.3}, gap {:.2}%",
                        p.phase,
                        p.best_objective,
                        p.best_bound,
                        p.relative_gap * 100.0
                    ));
                }
                match stopped.recv_timeout(Duration::from_millis(150)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            }
            bar.finish_and_clear();
        });
        Ticker { latest, done, thread }
    }

    pub fn sink(&self) -> ProgressSink {
        let latest = self.latest.clone();
        Arc::new(move |p: Progress| {
            *latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        })
    }

    pub fn finish(self) {
        let _ = self.done.send(());
        let _ = self.thread.join();
    }
}
