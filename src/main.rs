//! The `zoom-onboard` binary: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use zoom_onboard::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
