//! Operator metrics: counters, the solve-time histogram, queue depth and the last gap, rendered in
//! the Prometheus text format and served on their own port.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds of the solve-seconds histogram buckets.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub refused: AtomicU64,
    pub cancelled: AtomicU64,
    pub deadline_exceeded: AtomicU64,
    pub in_flight: AtomicI64,
    queued: AtomicI64,
    solves: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    last_gap: f64,
}

impl Metrics {
    /// Counts a request entering the queue; returns the queue depth including it.
    pub fn queue_enter(&self) -> usize {
        (self.queued.fetch_add(1, Ordering::SeqCst) + 1).max(0) as usize
    }

    pub fn queue_leave(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn queue_depth(&self) -> i64 {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn observe_solve(&self, seconds: f64, gap: f64) {
        let mut h = self.solves.lock().expect("metrics");
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
        h.last_gap = gap;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            &mut out,
            "theatre_requests_total",
            "Planning requests received.",
            self.requests.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "theatre_request_errors_total",
            "Requests answered with an error.",
            self.errors.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "theatre_requests_refused_total",
            "Requests refused because the queue was full.",
            self.refused.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "theatre_solves_cancelled_total",
            "Solves stopped because the client went away or the shutdown grace period ended.",
            self.cancelled.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "theatre_deadline_exceeded_total",
            "Requests answered DEADLINE_EXCEEDED: no plan was ready within the client's deadline.",
            self.deadline_exceeded.load(Ordering::Relaxed),
        );
        let _ = writeln!(out, "# HELP theatre_solves_in_flight Solves running now.\n# TYPE theatre_solves_in_flight gauge\ntheatre_solves_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP theatre_queue_depth Requests waiting for a solve slot.\n# TYPE theatre_queue_depth gauge\ntheatre_queue_depth {}", self.queue_depth().max(0));
        let h = self.solves.lock().expect("metrics");
        let _ = writeln!(out, "# HELP theatre_last_relative_gap Relative gap of the last plan.\n# TYPE theatre_last_relative_gap gauge\ntheatre_last_relative_gap {}", h.last_gap);
        let _ = writeln!(
            out,
            "# HELP theatre_solve_seconds Time to plan a request.\n# TYPE theatre_solve_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "theatre_solve_seconds_bucket{{le=\"{bound}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(out, "theatre_solve_seconds_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(
            out,
            "theatre_solve_seconds_sum {}\ntheatre_solve_seconds_count {}",
            h.sum, h.count
        );
        out
    }
}

/// Serves `GET /metrics` (any path) on the listener until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), socket.read(&mut buf)).await;
            let body = metrics.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.requests.fetch_add(3, Ordering::Relaxed);
        m.observe_solve(0.2, 0.01);
        let text = m.render();
        assert!(text.contains("theatre_requests_total 3"));
        assert!(text.contains("theatre_solve_seconds_bucket{le=\"0.25\"} 1"));
        assert!(text.contains("theatre_solve_seconds_bucket{le=\"0.1\"} 0"));
        assert!(text.contains("theatre_solve_seconds_count 1"));
    }
}
