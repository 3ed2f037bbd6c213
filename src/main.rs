//! `theatre-optimiser`: parses the command line, starts logging and runs the command (`cli/`).

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    cli::progress::init_tracing(cli.log_format);
    cli.command.run().await
}
