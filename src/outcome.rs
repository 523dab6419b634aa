//! What became of each roster row, and what the run's exit code is as a result.
//!
//! This module owns the outcome rules only; deciding an outcome from an HTTP answer lives with
//! the submission code, and writing outcomes out lives in `results`.

use std::fmt;

use crate::roster::{RosterRow, Verdict};

/// A row's final status, as written in the results CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Zoom answered 2xx with a user id.
    Created,
    /// The email already belongs to a user of this account (409, code 1005).
    Exists,
    /// An earlier run already created this hire, as the journal records; nothing was sent.
    Skipped,
    /// An earlier row of the same roster has the same email; nothing was sent.
    Duplicate,
    /// The row broke a field rule; nothing was sent.
    Invalid,
    /// Zoom refused the create for a reason a person must fix.
    Failed,
    /// Not done yet for a reason that passes: the daily quota, retries exhausted, a stop.
    Deferred,
}

impl Status {
    /// Every status, in the order the summary lists them.
    pub const ALL: [Status; 7] = [
        Status::Created,
        Status::Exists,
        Status::Skipped,
        Status::Duplicate,
        Status::Invalid,
        Status::Failed,
        Status::Deferred,
    ];

    /// The word written in the results CSV.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Exists => "exists",
            Status::Skipped => "skipped",
            Status::Duplicate => "duplicate",
            Status::Invalid => "invalid",
            Status::Failed => "failed",
            Status::Deferred => "deferred",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What became of one roster row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The spreadsheet row number; the header is row 1.
    pub row: u64,
    /// The email as it stood in the roster, trimmed.
    pub email: String,
    /// The final status.
    pub status: Status,
    /// Zoom's user id, when one is known.
    pub user_id: Option<String>,
    /// The HTTP status of the last answer, when anything was sent.
    pub http_status: Option<u16>,
    /// Zoom's error code of the last answer, when it had one.
    pub zoom_code: Option<i64>,
    /// Zoom's words or ours, in plain language.
    pub message: String,
    /// How many HTTP attempts the submission took.
    pub attempts: u32,
}

impl Outcome {
    /// An outcome for a row that was never sent.
    #[must_use]
    pub fn unsent(row: u64, email: String, status: Status, message: String) -> Outcome {
        Outcome {
            row,
            email,
            status,
            user_id: None,
            http_status: None,
            zoom_code: None,
            message,
            attempts: 0,
        }
    }

    /// The outcome of a row whose verdict settles it without sending anything: `invalid` with
    /// the checks' message, or `duplicate` naming the earlier row. `None` for a ready row.
    #[must_use]
    pub fn of_unsent_row(row: &RosterRow) -> Option<Outcome> {
        let (status, message) = match &row.verdict {
            Verdict::Ready(_) => return None,
            Verdict::Invalid(message) => (Status::Invalid, message.clone()),
            Verdict::Duplicate { first_row } => (
                Status::Duplicate,
                format!("same email as row {first_row}: not sent again"),
            ),
        };
        Some(Outcome::unsent(row.row, row.email.clone(), status, message))
    }
}

/// The process exit codes, as documented in `--help` and the README.
pub mod exit_code {
    /// Every row `created`, `exists`, `skipped` or `duplicate`.
    pub const DONE: u8 = 0;
    /// An internal error.
    pub const INTERNAL: u8 = 1;
    /// A usage, configuration or whole-roster error; nothing was sent.
    pub const SETUP: u8 = 2;
    /// Finished, with some rows `invalid` or `failed`: a person must fix them.
    pub const ROWS_NEED_FIXING: u8 = 3;
    /// Some rows `deferred` and none invalid or failed: run again later.
    pub const ROWS_DEFERRED: u8 = 4;
    /// Zoom rejected the credentials.
    pub const CREDENTIALS_REJECTED: u8 = 5;
    /// Quit at once by a second Ctrl-C: the results stop where it quit, the journal is sound.
    pub const QUIT_AT_ONCE: u8 = 130;
}

/// The exit code for a finished run, from its counts by status.
#[must_use]
pub fn exit_code_for(
    counts: &std::collections::BTreeMap<Status, u64>,
    credentials_rejected: bool,
) -> u8 {
    let has = |status| counts.get(&status).copied().unwrap_or(0) > 0;
    if credentials_rejected {
        exit_code::CREDENTIALS_REJECTED
    } else if has(Status::Invalid) || has(Status::Failed) {
        exit_code::ROWS_NEED_FIXING
    } else if has(Status::Deferred) {
        exit_code::ROWS_DEFERRED
    } else {
        exit_code::DONE
    }
}
