//! `zoom-onboard journal`: reading the journal.

use std::io::Write as _;
use std::path::PathBuf;

use crate::journal::{Journal, JournalReader};
use crate::outcome::exit_code;

/// Options of `zoom-onboard journal`.
#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    /// What to do with the journal.
    #[command(subcommand)]
    pub command: JournalCommand,
}

/// The journal's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Write what was done as CSV: the results columns plus the account, the create calls
    /// marked over all runs, and when each hire was first seen, last changed and done.
    Export(ExportArgs),
}

/// Options of `zoom-onboard journal export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The journal [default: zoom-onboard/journal.sqlite3 in the user's data folder].
    #[arg(long, value_name = "PATH", env = super::config::ENV_STATE)]
    pub state: Option<PathBuf>,

    /// Only hires whose record changed on or after this UTC date (YYYY-MM-DD) or instant
    /// (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<jiff::Timestamp>,

    /// Write to this file instead of standard output. It is created readable by its owner only.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

fn parse_since(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| date.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|midnight| midnight.timestamp())
        .ok_or_else(|| {
            "expected a date like 2026-12-01 or an instant like 2026-12-01T09:00:00Z".to_owned()
        })
}

/// Runs `zoom-onboard journal` and returns the exit code.
pub fn execute(args: JournalArgs) -> u8 {
    match args.command {
        JournalCommand::Export(args) => match export(&args) {
            Ok(()) => exit_code::DONE,
            Err(message) => {
                eprintln!("error: {message}");
                exit_code::SETUP
            }
        },
    }
}

fn export(args: &ExportArgs) -> Result<(), String> {
    let path =
        args.state.clone().or_else(Journal::default_path).ok_or(
            "no data folder for the journal on this system\nhint: name it with --state PATH",
        )?;
    let reader = JournalReader::open(&path).map_err(|error| error.to_string())?;
    let written = if let Some(out) = &args.out {
        let journal_files = crate::journal::files_of(&path);
        let taken: Vec<(&std::path::Path, &str)> = journal_files
            .iter()
            .map(|file| (file.as_path(), "journal"))
            .collect();
        crate::results::check_output_apart(out, "--out", &taken)?;
        let file = crate::results::create_private(out)
            .map_err(|error| format!("cannot create {}: {error}", out.display()))?;
        reader.export(args.since, std::io::BufWriter::new(file))
    } else {
        let stdout = std::io::stdout();
        let written = reader.export(args.since, stdout.lock());
        let _ = stdout.lock().flush();
        written
    }
    .map_err(|error| error.to_string())?;
    eprintln!("{written} hires exported from {}", path.display());
    Ok(())
}
