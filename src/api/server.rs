//! The server: the optimiser service (protobuf or JSON messages) behind an optional bearer-token interceptor, with gRPC health,
//! server reflection, message-size limits, optional TLS / mutual TLS, Prometheus metrics on their
//! own port, and graceful shutdown (health goes NOT_SERVING first, running solves finish within a
//! grace period).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Status};

use crate::api::grpc_json::{ByContentType, TheatreOptimiserJsonServer};
use crate::api::metrics::Metrics;
use crate::api::proto::theatre_optimiser_server::TheatreOptimiserServer;
use crate::api::proto::FILE_DESCRIPTOR_SET;
use crate::api::rpc_metrics::RpcMetrics;
use crate::api::service::{OptimiserService, ServiceConfig};
use crate::api::trace::RequestSpan;

/// TLS material, PEM files.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub tls: Option<TlsPaths>,
    /// Bearer token every optimiser call must carry (`authorization: Bearer <token>`).
    pub token: Option<String>,
    /// Plaintext on a non-loopback address is refused unless the operator says so.
    pub allow_plaintext: bool,
    pub max_message_bytes: usize,
    pub metrics_addr: Option<SocketAddr>,
    /// Address for plaintext gRPC health only (grpc.health.v1), for probes that cannot speak TLS
    /// such as Kubernetes' gRPC probes; it answers as the main port does.
    pub health_addr: Option<SocketAddr>,
    /// How long running solves may take to finish after a shutdown signal.
    pub grace: Duration,
    /// HTTP/2 keepalive: how often the server pings a connection, and how long it waits for the
    /// answer before it closes the connection (and so cancels its solves).
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    pub service: ServiceConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            tls: None,
            token: None,
            allow_plaintext: false,
            max_message_bytes: 64 * 1024 * 1024,
            metrics_addr: None,
            health_addr: None,
            grace: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            service: ServiceConfig::default(),
        }
    }
}

/// After the grace period: time for cancelled solves to answer and their connections to close.
const FINAL_DRAIN: Duration = Duration::from_secs(5);

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Serves on `listener` until `shutdown` resolves, then drains within the grace period.
pub async fn serve(
    listener: TcpListener,
    options: ServerOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = OptimiserService::new(options.service.clone(), metrics);
    serve_with_service(listener, options, service, shutdown).await
}

/// [`serve`] with a service built by the caller (e.g. with a test planner); `options.service` is
/// ignored in favour of the service's own configuration, and metrics are the service's.
pub async fn serve_with_service(
    listener: TcpListener,
    options: ServerOptions,
    service: OptimiserService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let side = SideListeners {
        metrics: bind_side("metrics", options.metrics_addr).await?,
        health: bind_side("health", options.health_addr).await?,
    };
    serve_with_listeners(listener, side, options, service, shutdown).await
}

/// The metrics and plaintext health ports, bound by the caller.
#[derive(Debug, Default)]
pub struct SideListeners {
    pub metrics: Option<TcpListener>,
    pub health: Option<TcpListener>,
}

async fn bind_side(what: &str, addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    match addr {
        Some(addr) => Ok(Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {what} on {addr}"))?,
        )),
        None => Ok(None),
    }
}

/// [`serve_with_service`] on listeners the caller has bound (e.g. on port 0, keeping the port
/// it got); `options.metrics_addr` and `options.health_addr` are ignored in favour of `side`.
pub async fn serve_with_listeners(
    listener: TcpListener,
    side: SideListeners,
    options: ServerOptions,
    service: OptimiserService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = service.metrics().clone();
    let addr = listener.local_addr()?;
    if options.tls.is_none() && !addr.ip().is_loopback() && !options.allow_plaintext {
        bail!("refusing plaintext gRPC on non-loopback address {addr}: configure TLS (--tls-cert/--tls-key) or pass --allow-plaintext");
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<TheatreOptimiserServer<OptimiserService>>()
        .await;
    // Reflection in both versions: grpcurl and older tools still ask for v1alpha.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let token = options.token.clone().map(|t| Arc::new(format!("Bearer {t}")));
    let auth = move |request: Request<()>| -> Result<Request<()>, Status> {
        match &token {
            None => Ok(request),
            Some(expected) => {
                let given = request
                    .metadata()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                if given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
                    Ok(request)
                } else {
                    Err(Status::unauthenticated("missing or wrong bearer token"))
                }
            }
        }
    };
    let stopper = service.clone();
    let json = TheatreOptimiserJsonServer::new(service.clone())
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let optimiser = TheatreOptimiserServer::new(service)
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    // Protobuf and JSON messages (`application/grpc+json`), one service.
    let optimiser = ByContentType::new(optimiser, json);
    let optimiser = tonic::service::interceptor::InterceptedService::new(optimiser, auth);
    let optimiser = RpcMetrics::new(optimiser, metrics.clone());
    // Every call in a request span, continuing the caller's trace.
    let optimiser = RequestSpan::new(optimiser);

    // HTTP/2 pings find clients that vanished without closing their connection (a cut network),
    // so their solves are cancelled rather than run to the time limit for nobody.
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(options.keepalive_interval))
        .http2_keepalive_timeout(Some(options.keepalive_timeout));
    if let Some(tls) = &options.tls {
        let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &tls.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        builder = builder.tls_config(config)?;
    }

    let metrics_task = match side.metrics {
        Some(l) => {
            tracing::info!(addr = %l.local_addr()?, "metrics listening");
            Some(tokio::spawn(crate::api::metrics::serve(l, metrics.clone())))
        }
        None => None,
    };

    let health_task = match side.health {
        Some(l) => {
            tracing::info!(addr = %l.local_addr()?, "plaintext health listening");
            let health = Server::builder()
                .add_service(health_service.clone())
                .serve_with_incoming(no_delay(l));
            Some(tokio::spawn(health))
        }
        None => None,
    };

    // On shutdown: NOT_SERVING first, then stop accepting; tonic waits for running calls.
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let reporter = health_reporter.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: health NOT_SERVING, draining running solves");
        reporter
            .set_not_serving::<TheatreOptimiserServer<OptimiserService>>()
            .await;
        // The whole server too: probes that name no service (the Kubernetes default) ask for "".
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        let _ = drained_tx.send(());
    };
    let config = stopper.config();
    tracing::info!(
        %addr,
        tls = options.tls.is_some(),
        mutual_tls = options.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        auth = options.token.is_some(),
        max_concurrent_solves = config.max_concurrent_solves,
        max_queued = config.max_queued,
        max_sessions = config.max_sessions,
        max_patients = config.max_patients,
        max_message_bytes = options.max_message_bytes,
        grace_seconds = options.grace.as_secs_f64(),
        max_worlds = config.max_worlds,
        world_idle_seconds = config.world_idle.as_secs(),
        "serving"
    );
    let router = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(optimiser)
        .serve_with_incoming_shutdown(no_delay(listener), signal);
    let grace = options.grace;
    tokio::pin!(router);
    tokio::select! {
        out = &mut router => out?,
        _ = async { let _ = drained_rx.await; tokio::time::sleep(grace).await } => {
            // Connections outlive this future, so stop their solves explicitly: each answers
            // UNAVAILABLE, its connection then closes, and the drain completes.
            tracing::warn!(grace_seconds = grace.as_secs_f64(), "grace period over; cancelling running solves");
            stopper.stop_all();
            if tokio::time::timeout(FINAL_DRAIN, &mut router).await.is_err() {
                tracing::warn!("connections still open after the grace period; stopping anyway");
            }
        }
    }
    if let Some(task) = metrics_task {
        task.abort();
    }
    if let Some(task) = health_task {
        task.abort();
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The connections a listener accepts, each sending its writes at once (`TCP_NODELAY`). With
/// Nagle's algorithm on, an answer written in more than one segment waited for the client's
/// delayed acknowledgement (about 40 ms on Linux) before its last segment left.
fn no_delay(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    use super::no_delay;

    /// Every accepted connection sends at once: without it an answer's last segment waited
    /// for the client's delayed acknowledgement.
    #[tokio::test]
    async fn accepted_connections_send_without_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = no_delay(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
