//! `serve`: the gRPC API. Every setting is a flag, an environment variable or a key of a TOML
//! config file; flags and environment win over the file, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::server::{self, ServerOptions, TlsPaths};
use theatre_optimiser::api::service::ServiceConfig;

#[derive(clap::Args, serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServeArgs {
    /// A TOML file with any of these settings (flags and environment variables win).
    #[arg(long, env = "THEATRE_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "THEATRE_ADDR")]
    addr: Option<SocketAddr>,
    /// Address for Prometheus metrics (GET /metrics).
    #[arg(long, env = "THEATRE_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Address for plaintext gRPC health checks only (for probes that cannot speak TLS).
    #[arg(long, env = "THEATRE_HEALTH_ADDR")]
    health_addr: Option<SocketAddr>,
    #[arg(long, env = "THEATRE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    #[arg(long, env = "THEATRE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// CA for client certificates: enables mutual TLS.
    #[arg(long, env = "THEATRE_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
    /// Bearer token clients must send (prefer the environment variable to the flag).
    #[arg(long, env = "THEATRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Allow plaintext on a non-loopback address (e.g. behind a TLS-terminating mesh).
    #[arg(long, env = "THEATRE_ALLOW_PLAINTEXT")]
    allow_plaintext: Option<bool>,
    #[arg(long, env = "THEATRE_MAX_CONCURRENT_SOLVES")]
    max_concurrent_solves: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_QUEUED")]
    max_queued: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_SESSIONS")]
    max_sessions: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_PATIENTS")]
    max_patients: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_MESSAGE_BYTES")]
    max_message_bytes: Option<usize>,
    #[arg(long, env = "THEATRE_GRACE_SECONDS")]
    grace_seconds: Option<f64>,
    /// Worlds held for desk calls (LoadWorld) at once.
    #[arg(long, env = "THEATRE_MAX_WORLDS")]
    max_worlds: Option<usize>,
    /// Seconds a held world is kept without a call that names it.
    #[arg(long, env = "THEATRE_WORLD_IDLE_SECONDS")]
    world_idle_seconds: Option<u64>,
}

impl ServeArgs {
    /// Flags and environment over the config file over defaults.
    fn resolve(self) -> Result<(SocketAddr, ServerOptions)> {
        let file: ServeArgs = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => ServeArgs::default(),
        };
        let d = ServerOptions::default();
        let s = ServiceConfig::default();
        let addr = self
            .addr
            .or(file.addr)
            .unwrap_or_else(|| "127.0.0.1:50051".parse().expect("address"));
        let cert = self.tls_cert.or(file.tls_cert);
        let key = self.tls_key.or(file.tls_key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsPaths {
                cert,
                key,
                client_ca: self.tls_client_ca.or(file.tls_client_ca),
            }),
            (None, None) => None,
            _ => anyhow::bail!("TLS needs both --tls-cert and --tls-key"),
        };
        let options = ServerOptions {
            tls,
            token: self.token.or(file.token).filter(|t| !t.is_empty()),
            allow_plaintext: self.allow_plaintext.or(file.allow_plaintext).unwrap_or(false),
            max_message_bytes: self
                .max_message_bytes
                .or(file.max_message_bytes)
                .unwrap_or(d.max_message_bytes),
            metrics_addr: self.metrics_addr.or(file.metrics_addr),
            health_addr: self.health_addr.or(file.health_addr),
            grace: Duration::from_secs_f64(
                self.grace_seconds
                    .or(file.grace_seconds)
                    .unwrap_or(d.grace.as_secs_f64()),
            ),
            keepalive_interval: d.keepalive_interval,
            keepalive_timeout: d.keepalive_timeout,
            service: ServiceConfig {
                max_concurrent_solves: self
                    .max_concurrent_solves
                    .or(file.max_concurrent_solves)
                    .unwrap_or(s.max_concurrent_solves),
                max_queued: self.max_queued.or(file.max_queued).unwrap_or(s.max_queued),
                max_sessions: self.max_sessions.or(file.max_sessions).unwrap_or(s.max_sessions),
                max_patients: self.max_patients.or(file.max_patients).unwrap_or(s.max_patients),
                deadline_margin: s.deadline_margin,
                max_worlds: self.max_worlds.or(file.max_worlds).unwrap_or(s.max_worlds),
                world_idle: self
                    .world_idle_seconds
                    .or(file.world_idle_seconds)
                    .map_or(s.world_idle, Duration::from_secs),
            },
        };
        Ok((addr, options))
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    let (addr, options) = args.resolve()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    server::serve(
        listener,
        options,
        Arc::new(Metrics::default()),
        server::shutdown_signal(),
    )
    .await
}
