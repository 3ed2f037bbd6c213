//! `theatre-optimiser`: parses the command line, starts logging (and the trace exporter, when
//! configured), runs the command (`cli/`) and flushes the traces.

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let exporter = cli::progress::init_tracing(cli.log_format)?;
    let outcome = cli.command.run().await;
    // The spans still queued are sent before the process ends (after `serve` has drained).
    if let Some(exporter) = exporter {
        exporter.shutdown().await;
    }
    outcome
}
