//! The command line: argument definitions and what each subcommand does with them.
//!
//! This is the only layer that touches the terminal. The library below it returns outcomes
//! and reports; this module renders them and turns them into exit codes.

mod check;
mod check_report;
mod journal;
mod logging;
mod progress;
mod roster_args;
mod run;
mod summary;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::outcome::exit_code;
use crate::sandbox;

pub use check::CheckArgs;
pub use logging::LogFormat;
pub use run::RunArgs;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every row created, exists or duplicate
  1  internal error
  2  usage, configuration or whole-roster error: nothing was sent
  3  finished, with some rows invalid or failed: see the results
  4  some rows deferred (daily quota, repeated failures, a stop), none invalid or failed:
     run again later
  5  Zoom rejected the credentials";

const CHECK_EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every row valid, duplicate or left out
  2  usage or whole-roster error
  3  some rows invalid: see the report, or the results with --out";

/// Onboard new hires into Zoom in bulk from a CSV roster.
#[derive(Debug, Parser)]
#[command(name = "zoom-onboard", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// More log detail on stderr: -v for decisions (debug), -vv for everything (trace).
    /// `RUST_LOG`, when set, takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No progress bar. Warnings, errors and the summary still go to stderr. The bar is also
    /// left out when stderr is not a terminal, and with -v.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// How log lines are written: text for people, or json, one object a line with the level,
    /// the fields and the row span, for log shippers.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text,
          global = true)]
    pub log_format: LogFormat,

    /// Write log lines to this file instead of stderr. It is created readable by its owner
    /// only: debug lines name the hires.
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create every hire of a roster in Zoom and write a results CSV.
    #[command(after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// Read and check a roster as run would, without sending anything, and report what was
    /// found: how it was read, valid, invalid, duplicate and left-out rows, and the days of
    /// create quota it needs.
    #[command(after_help = CHECK_EXIT_CODES_HELP)]
    Check(CheckArgs),
    /// Serve a stand-in for Zoom's user API on this machine, until Ctrl-C.
    Sandbox(sandbox::SandboxArgs),
    /// Read the journal: the durable record of what runs did.
    Journal(journal::JournalArgs),
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let screen = progress::screen(cli.quiet, cli.verbose);
    if let Err(message) = start_logging(&cli, &screen) {
        eprintln!("error: {message}");
        return exit_code::SETUP;
    }
    match cli.command {
        Command::Run(args) => run::execute(args, &screen).await,
        Command::Check(args) => check::execute(&args),
        Command::Journal(args) => journal::execute(args),
        Command::Sandbox(args) => match sandbox::serve(args).await {
            Ok(()) => exit_code::DONE,
            Err(error) => {
                eprintln!("error: {error:#}");
                exit_code::SETUP
            }
        },
    }
}

/// Starts logging as the global options ask, refusing a log file that is the roster.
fn start_logging(cli: &Cli, screen: &indicatif::MultiProgress) -> Result<(), String> {
    if let Some(path) = &cli.log_file {
        let roster: Option<&Path> = match &cli.command {
            Command::Run(args) => Some(&args.roster),
            Command::Check(args) => Some(&args.roster),
            Command::Sandbox(_) | Command::Journal(_) => None,
        };
        let roster: Vec<(&Path, &str)> = roster.iter().map(|path| (*path, "roster")).collect();
        crate::results::check_output_apart(path, "--log-file", &roster)?;
    }
    logging::start(
        &logging::LogOptions {
            verbose: cli.verbose,
            format: cli.log_format,
            file: cli.log_file.as_deref(),
        },
        screen,
    )
}

/// An error's message with its causes, for stderr: `what failed: why: why deeper`, then any hint
/// lines the message carries.
pub(crate) fn error_text(error: &dyn std::error::Error) -> String {
    let message = error.to_string();
    let (first, hints) = message.split_once('\n').unwrap_or((&message, ""));
    let mut text = first.to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if !hints.is_empty() {
        text.push('\n');
        text.push_str(hints);
    }
    text
}
