//! The command line: argument definitions and what each subcommand does with them.
//!
//! This is the only layer that touches the terminal. The library below it returns outcomes
//! and reports; this module renders them and turns them into exit codes.

mod check;
mod check_report;
pub mod config;
mod config_report;
pub mod credentials;
mod generate;
mod journal;
mod logging;
mod progress;
mod roster_args;
mod run;
mod summary;

use std::path::{Path, PathBuf};

use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use config::{ConfigChoice, Settings};

use crate::outcome::exit_code;
use crate::sandbox;

pub use check::CheckArgs;
pub use logging::LogFormat;
pub use run::RunArgs;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every row created, exists, skipped (done by an earlier run) or duplicate
  1  internal error
  2  usage, configuration or whole-roster error: nothing was sent
  3  finished, with some rows invalid or failed: see the results
  4  some rows deferred (daily quota, repeated failures, a stop), none invalid or failed:
     run again later
  5  Zoom rejected the credentials
  130 quit at once by a second Ctrl-C: the results stop where it quit; run again";

const CHECK_EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every row valid, duplicate or left out
  2  usage or whole-roster error
  3  some rows invalid: see the report, or the results with --out";

const RUN_EXAMPLES: &str = "\
Examples:
  Try a roster against a sandbox in this process, with no Zoom account:
    zoom-onboard run hires.csv --sandbox
  A real run, credentials from a private file, results kept by date:
    zoom-onboard run hires.csv --credentials ~/.config/zoom-onboard/credentials \\
      --plan business --out results-$(date +%F).csv
  A workbook whose email column has another name:
    zoom-onboard run hires.xlsx --sheet \"New hires\" --map email=\"Login Address\"

";

const CHECK_EXAMPLES: &str = "\
Examples:
  zoom-onboard check hires.csv
  zoom-onboard check export.csv --encoding windows-1252 --out checked.csv
  zoom-onboard check hires.csv --where \"Status=Hired|Onboarding\" --plan free

";

const SANDBOX_EXAMPLES: &str = "\
Examples:
  Serve on the default port, then point a run at it in another terminal:
    zoom-onboard sandbox
    ZOOM_ACCOUNT_ID=sandbox ZOOM_CLIENT_ID=sandbox ZOOM_CLIENT_SECRET=sandbox \\
      zoom-onboard run hires.csv --api-url http://127.0.0.1:8808/v2 \\
      --oauth-url http://127.0.0.1:8808/oauth/token
  A flaky, slow Zoom on the free plan:
    zoom-onboard sandbox --plan free --latency-ms 300 --error-rate 0.05 --seed 1";

/// Onboard new hires into Zoom in bulk from a CSV roster.
#[derive(Debug, Parser)]
#[command(name = "zoom-onboard", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// More log detail on stderr: -v for decisions (debug), -vv for everything (trace).
    /// `RUST_LOG`, when set, takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// The configuration file [default: zoom-onboard/config.toml in the user's configuration
    /// folder, if there is one]. Flags and environment variables win over it.
    #[arg(long, value_name = "PATH", global = true, env = config::ENV_CONFIG)]
    pub config: Option<PathBuf>,

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
    #[command(after_help = format!("{RUN_EXAMPLES}{EXIT_CODES_HELP}"))]
    Run(RunArgs),
    /// Read and check a roster as run would, without sending anything, and report what was
    /// found: how it was read, valid, invalid, duplicate and left-out rows, and the days of
    /// create quota it needs.
    #[command(after_help = format!("{CHECK_EXAMPLES}{CHECK_EXIT_CODES_HELP}"))]
    Check(CheckArgs),
    /// Serve a stand-in for Zoom's user API on this machine, until Ctrl-C.
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(sandbox::SandboxArgs),
    /// Read the journal: the durable record of what runs did.
    Journal(journal::JournalArgs),
    /// Print the settings run would use and where each came from: flag, environment,
    /// configuration file or default. Credentials are shown masked.
    Config(config_report::ConfigArgs),
    /// Print a shell completion script, e.g. `zoom-onboard completions bash >
    /// ~/.local/share/bash-completion/completions/zoom-onboard`.
    Completions(generate::CompletionsArgs),
    /// Print the man page, generated from this help.
    Man(generate::ManArgs),
}

/// Parses the process's arguments: the typed form, and clap's record of where each value came
/// from, which [`run`] needs to put the configuration file in its place.
#[must_use]
pub fn parse() -> (Cli, ArgMatches) {
    let matches = Cli::command().get_matches();
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => (cli, matches),
        Err(error) => error.exit(),
    }
}

/// Runs the parsed command and returns the process exit code. `matches` are the ones `cli` was
/// made from.
pub async fn run(cli: Cli, matches: &ArgMatches) -> u8 {
    let screen = progress::screen(cli.quiet, cli.verbose);
    if let Err(message) = start_logging(&cli, &screen) {
        eprintln!("error: {message}");
        return exit_code::SETUP;
    }
    let config = ConfigChoice::locate(cli.config.as_deref(), matches);
    let settings = |name: &str| resolve(matches.subcommand_matches(name), config.clone());
    match cli.command {
        Command::Run(mut args) => match settings("run") {
            Ok(settings) => {
                settings.apply_to_run(&mut args);
                run::execute(args, &screen).await
            }
            Err(code) => code,
        },
        Command::Check(mut args) => match settings("check") {
            Ok(settings) => {
                settings.apply_to_check(&mut args);
                check::execute(&args)
            }
            Err(code) => code,
        },
        Command::Journal(mut args) => {
            let export = matches
                .subcommand_matches("journal")
                .and_then(|journal| journal.subcommand_matches("export"));
            let journal::JournalCommand::Export(export_args) = &mut args.command;
            match resolve(export, config) {
                Ok(settings) => {
                    settings.apply_to_export(export_args);
                    journal::execute(args)
                }
                Err(code) => code,
            }
        }
        Command::Config(args) => match resolve(Some(&run_defaults()), config) {
            Ok(settings) => config_report::execute(&args, &settings),
            Err(code) => code,
        },
        Command::Completions(args) => generate::completions(&args),
        Command::Man(args) => generate::man(&args),
        Command::Sandbox(args) => match sandbox::serve(args).await {
            Ok(()) => exit_code::DONE,
            Err(error) => {
                eprintln!("error: {error:#}");
                exit_code::SETUP
            }
        },
    }
}

/// Reads the configuration file and resolves the settings of a subcommand, or prints why not
/// and gives the exit code.
fn resolve(matches: Option<&ArgMatches>, config: ConfigChoice) -> Result<Settings, u8> {
    let file = config.read().map_err(|error| {
        eprintln!("error: {error}");
        exit_code::SETUP
    })?;
    let empty = ArgMatches::default();
    Ok(Settings::resolve(matches.unwrap_or(&empty), config, file))
}

/// `run`'s arguments as they stand with no flags: the environment and the defaults only. The
/// `config` command reports these, so that it shows exactly what `run` would resolve, from the
/// same definitions.
fn run_defaults() -> ArgMatches {
    let command = Cli::command();
    let run = command
        .find_subcommand("run")
        .expect("run is a subcommand")
        .clone()
        .mut_arg("roster", |roster| roster.required(false));
    // Only an environment variable with a bad value can fail here; run would refuse it too.
    run.try_get_matches_from(["run"])
        .unwrap_or_else(|error| error.exit())
}

/// Starts logging as the global options ask, refusing a log file that is the roster.
fn start_logging(cli: &Cli, screen: &indicatif::MultiProgress) -> Result<(), String> {
    if let Some(path) = &cli.log_file {
        let roster: Option<&Path> = match &cli.command {
            Command::Run(args) => Some(&args.roster),
            Command::Check(args) => Some(&args.roster),
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
