//! `demo`: starts the server on loopback, sends the shipped sample week through a real gRPC
//! client and prints the lists.

use std::sync::Arc;

use anyhow::{Context, Result};
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::{self, ServerOptions};
use theatre_optimiser::io::summary;

/// The sample request compiled into the binary: a children's day-surgery week at two sites.
const SAMPLE_REQUEST: &str = include_str!("../../examples/sample-request.json");

pub async fn run() -> Result<()> {
    let request: pb::ProposeAllocationsRequest =
        serde_json::from_str(SAMPLE_REQUEST).context("the shipped sample")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        ServerOptions::default(),
        Arc::new(Metrics::default()),
        async {
            let _ = stop_rx.await;
        },
    ));
    eprintln!(
        "demo: server on {addr}; sending the sample week ({} lists, {} patients)",
        request.sessions.len(),
        request.patients.len()
    );
    let mut client =
        pb::theatre_optimiser_client::TheatreOptimiserClient::connect(format!("http://{addr}")).await?;
    let plan = client.propose_allocations(request).await?.into_inner();
    println!("{}", summary::text(&plan));
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}
