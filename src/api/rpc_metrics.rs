//! Per-RPC metrics as a wrapper around a gRPC service: every call is counted and timed under its
//! method name and the gRPC code it answered, read from the response headers (an error answered
//! at once) or trailers (after a body), so no handler needs to know. The latency runs until the
//! answer's last frame, which for a stream is its end.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame};
use tonic::body::Body as TonicBody;
use tonic::codegen::Bytes;
use tonic::server::NamedService;
use tonic::Code;

use crate::api::metrics::Metrics;

/// A gRPC service whose calls are recorded in [`Metrics`].
#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> RpcMetrics<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        RpcMetrics { inner, metrics }
    }
}

impl<S: NamedService> NamedService for RpcMetrics<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower_service::Service<http::Request<TonicBody>> for RpcMetrics<S>
where
    S: tower_service::Service<
            http::Request<TonicBody>,
            Response = http::Response<B>,
            Error = std::convert::Infallible,
        > + Send,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<TonicBody>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<TonicBody>) -> Self::Future {
        let started = Instant::now();
        // The method is the last path segment; it becomes a label only once the service has
        // answered something other than UNIMPLEMENTED, so a caller cannot invent label values.
        let method = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        // Dropped before an answer (the client went away), the call counts as CANCELLED.
        let mut call = Call {
            metrics: self.metrics.clone(),
            method,
            started,
            code: None,
            recorded: false,
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            let (parts, body) = response.into_parts();
            if let Some(code) = code_of(&parts.headers) {
                call.code = Some(code);
            }
            let body = TonicBody::new(Recorded {
                inner: Box::pin(body),
                call,
            });
            Ok(http::Response::from_parts(parts, body))
        })
    }
}

/// One call in progress: recorded once, when its body ends or is dropped.
struct Call {
    metrics: Arc<Metrics>,
    method: String,
    started: Instant,
    code: Option<Code>,
    recorded: bool,
}

impl Call {
    fn record(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        // A body dropped before its trailers: the client went away.
        let code = self.code.unwrap_or(Code::Cancelled);
        let rpc = if code == Code::Unimplemented {
            "unknown"
        } else {
            self.method.as_str()
        };
        self.metrics
            .observe_rpc(rpc, code, self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.record();
    }
}

fn code_of(headers: &http::HeaderMap) -> Option<Code> {
    let raw = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Code::from_i32(raw))
}

/// The response body, passed through unchanged, watching for the trailers' `grpc-status`.
struct Recorded<B> {
    inner: Pin<Box<B>>,
    call: Call,
}

impl<B: Body> Body for Recorded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = this.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(code_of) {
                    this.call.code = Some(code);
                    this.call.record();
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.call.code.get_or_insert(Code::Internal);
                this.call.record();
            }
            Poll::Ready(None) => {
                // Ended without trailers: the code came in the headers (trailers-only answer).
                this.call.code.get_or_insert(Code::Unknown);
                this.call.record();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
