//! The command line: argument definitions and what each subcommand does with them.
//!
//! This is the only layer that touches the terminal. The library below it emits outcomes and
//! events; this module renders them.

use clap::{Parser, Subcommand};

use crate::sandbox;

/// Onboard new hires into Zoom in bulk from a CSV roster.
#[derive(Debug, Parser)]
#[command(name = "zoom-onboard", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a stand-in for Zoom's user API on this machine, until Ctrl-C.
    Sandbox(sandbox::SandboxArgs),
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Sandbox(args) => {
            sandbox::serve(args).await?;
            Ok(0)
        }
    }
}
