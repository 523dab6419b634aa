//! `zoom-onboard check`: read and check a roster exactly as `run` would, send nothing, and
//! report what was found.
//!
//! The report goes to stdout, since it is what the command is for; errors go to stderr.

use std::path::{Path, PathBuf};

use crate::outcome::{Outcome, Status, exit_code};
use crate::results::ResultsWriter;
use crate::roster::{self, QuotaPlan, Roster, RosterRow, Tally};
use crate::zoom::plan::Plan;

use super::check_report::{self, CheckedRoster};
use super::roster_args::RosterArgs;

/// The message of a valid row in `check --out`'s results.
pub const CHECK_ONLY: &str = "valid: not sent (check only)";

/// Options of `zoom-onboard check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The roster: a CSV file, or a workbook (.xlsx, .ods).
    pub roster: PathBuf,

    /// Also write a results CSV, as `run` writes it: invalid and duplicate rows with their
    /// messages, and valid rows as `deferred` with the message "valid: not sent (check
    /// only)", since nothing was sent.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// The account's Zoom plan, whose daily create quota the quota plan uses.
    #[arg(long, value_enum, default_value_t = Plan::Pro, env = super::config::ENV_PLAN)]
    pub plan: Plan,

    /// How to read the roster.
    #[command(flatten)]
    pub reading: RosterArgs,
}

/// Runs `zoom-onboard check` and returns the exit code: 0 when every row is valid, duplicate
/// or left out, 3 when some are invalid, 2 for a whole-roster problem.
pub fn execute(args: &CheckArgs) -> u8 {
    let options = match args.reading.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    // The same two passes as `run`: the first finds whole-roster problems anywhere in the file
    // before a line of results is written.
    let roster = match roster::preflight(&args.roster, &options)
        .and_then(|_| Roster::open(&args.roster, &options))
    {
        Ok(roster) => roster,
        Err(error) => {
            eprintln!("error: {}", super::error_text(&error));
            return exit_code::SETUP;
        }
    };
    if let Some(out) = &args.out
        && let Err(message) = crate::results::check_output(out, &[&args.roster])
    {
        eprintln!("error: {message}");
        return exit_code::SETUP;
    }
    let mut results = match args.out.as_deref().map(ResultsWriter::create).transpose() {
        Ok(results) => results,
        Err(error) => {
            let out = args.out.as_deref().unwrap_or(Path::new(""));
            eprintln!(
                "error: cannot create the results file {}: {error}",
                out.display()
            );
            return exit_code::SETUP;
        }
    };

    let layout = roster.layout().clone();
    let rows = roster.rows();
    let left_out = rows.left_out();
    let mut tally = Tally::new();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                eprintln!("error: {}", super::error_text(&error));
                return exit_code::SETUP;
            }
        };
        tally.add(&row);
        if let Some(results) = &mut results
            && let Err(error) = results.write(&outcome(&row))
        {
            eprintln!(
                "error: cannot write the results file {}: {error}",
                results.path().display()
            );
            return exit_code::INTERNAL;
        }
    }
    if let Some(results) = &mut results
        && let Err(error) = results.flush()
    {
        eprintln!(
            "error: cannot write the results file {}: {error}",
            results.path().display()
        );
        return exit_code::INTERNAL;
    }

    let report = tally.finish(left_out.count());
    print!(
        "{}",
        check_report::render(&CheckedRoster {
            roster: &args.roster,
            layout: &layout,
            report: &report,
            quota: QuotaPlan::new(report.create_rows, args.plan),
            results: args.out.as_deref(),
        })
    );
    if report.invalid > 0 {
        exit_code::ROWS_NEED_FIXING
    } else {
        exit_code::DONE
    }
}

/// A row's line in check's results: as `run` would write an unsent row, and a valid row as
/// `deferred`, not sent.
fn outcome(row: &RosterRow) -> Outcome {
    Outcome::of_unsent_row(row).unwrap_or_else(|| {
        Outcome::unsent(
            row.row,
            row.email.clone(),
            Status::Deferred,
            CHECK_ONLY.to_owned(),
        )
    })
}
