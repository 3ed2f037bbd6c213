//! Traces: the request span around every optimiser call, continuing the caller's W3C trace
//! context (`traceparent`, `tracestate` in the gRPC metadata), and the OTLP exporter that sends
//! the spans to a collector over gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Without that
//! variable nothing is built: no exporter, no thread, no connection.
//!
//! Spans carry names, counts and the RPC's name only; events (log lines) are never exported, so
//! no patient identifier or date can reach a collector through them.

use std::task::{Context, Poll};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tonic::server::NamedService;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The variable that turns the exporter on (its value is the collector, e.g. `http://otel:4317`).
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The variable that names the service in the exported resource.
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
/// The service name when [`SERVICE_NAME_VAR`] is unset.
pub const DEFAULT_SERVICE_NAME: &str = "theatre-optimiser";

/// A gRPC service whose every call runs inside a request span (`rpc`), the child of the caller's
/// span when the call carries a valid `traceparent`. Handler spans and the solve's spans nest
/// under it.
#[derive(Clone)]
pub struct RequestSpan<S> {
    inner: S,
}

impl<S> RequestSpan<S> {
    pub fn new(inner: S) -> Self {
        RequestSpan { inner }
    }
}

impl<S: NamedService> NamedService for RequestSpan<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower_service::Service<http::Request<B>> for RequestSpan<S>
where
    S: tower_service::Service<http::Request<B>> + NamedService,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let span = request_span(S::NAME, request.uri().path(), request.headers());
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}

/// The span of one call: named `service/Method` for OpenTelemetry, of kind server.
fn request_span(service: &'static str, path: &str, headers: &http::HeaderMap) -> tracing::Span {
    let method = method_of(service, path);
    let span = tracing::info_span!(
        "rpc",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
    );
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Metadata(headers));
        // Without the OpenTelemetry layer (no exporter) there is no trace to continue.
        let _ = span.set_parent(parent);
    }
    span
}

/// The method a path names, only when it is the service's and looks like a method name (ASCII
/// letters): a caller cannot write arbitrary text into a span.
fn method_of<'a>(service: &str, path: &'a str) -> &'a str {
    path.strip_prefix('/')
        .and_then(|p| p.strip_prefix(service))
        .and_then(|p| p.strip_prefix('/'))
        .filter(|m| !m.is_empty() && m.len() <= 64 && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or("unknown")
}

/// gRPC metadata read by the W3C trace-context propagator.
struct Metadata<'a>(&'a http::HeaderMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The OTLP exporter: a tracer provider whose batch processor sends spans over gRPC.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// The exporter when [`ENDPOINT_VAR`] is set and not empty, `None` otherwise. The endpoint,
    /// headers, timeout and compression are read by the OTLP exporter from the standard
    /// `OTEL_EXPORTER_OTLP_*` variables (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` overrides the
    /// endpoint for traces). It must be built inside a Tokio runtime; it connects lazily.
    pub fn from_env() -> anyhow::Result<Option<Exporter>> {
        if std::env::var_os(ENDPOINT_VAR).is_none_or(|v| v.is_empty()) {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
        let name = std::env::var(SERVICE_NAME_VAR)
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(name).build())
            .build();
        Ok(Some(Exporter { provider }))
    }

    /// The tracing layer feeding the exporter: this crate's spans at DEBUG and above (the
    /// request, the handler, validation, and the solve's phases), never events.
    pub fn layer<S>(&self) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(DEFAULT_SERVICE_NAME))
            .with_threads(false)
            .with_filter(tracing_subscriber::filter::filter_fn(exported))
            .boxed()
    }

    /// Sends the spans still queued and stops the exporter (off the async runtime: the batch
    /// processor blocks until the collector answers or its timeout passes).
    pub async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the trace exporter did not shut down cleanly"),
            Err(e) => tracing::warn!(error = %e, "the trace exporter's shutdown failed"),
        }
    }
}

/// Which callsites reach the exporter: spans of this crate at DEBUG and above.
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_span()
        && *meta.level() <= tracing::Level::DEBUG
        && meta.target().split("::").next() == Some(env!("CARGO_CRATE_NAME"))
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    use super::*;

    const SERVICE: &str = "theatre.optimiser.v1.TheatreOptimiser";

    #[test]
    fn a_span_names_only_the_services_own_methods() {
        for (path, expected) in [
            (
                "/theatre.optimiser.v1.TheatreOptimiser/ProposeAllocations",
                "ProposeAllocations",
            ),
            ("/theatre.optimiser.v1.TheatreOptimiser/P0001", "unknown"),
            ("/theatre.optimiser.v1.TheatreOptimiser/Ada Lovelace", "unknown"),
            ("/other.Service/ProposeAllocations", "unknown"),
            ("/theatre.optimiser.v1.TheatreOptimiser/", "unknown"),
            (
                "/theatre.optimiser.v1.TheatreOptimiserX/ProposeAllocations",
                "unknown",
            ),
        ] {
            assert_eq!(method_of(SERVICE, path), expected, "{path}");
        }
    }

    #[test]
    fn the_callers_trace_context_is_read_from_the_metadata() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        headers.insert("tracestate", "ward=theatres".parse().unwrap());
        let cx = TraceContextPropagator::new().extract(&Metadata(&headers));
        let span = cx.span();
        let caller = span.span_context();
        assert!(caller.is_remote() && caller.is_sampled());
        assert_eq!(caller.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(caller.span_id().to_string(), "00f067aa0ba902b7");
        assert_eq!(caller.trace_state().get("ward"), Some("theatres"));
    }
}
