//! What earlier runs did about a hire, as the journal records it, and what this run does next.
//!
//! - `created` / `exists`: done; the row is `skipped` and nothing is sent.
//! - `failed`: sent again only when the row's content changed since, or with `--retry-failed`;
//!   otherwise it is `failed` again with the earlier refusal, and nothing is sent.
//! - `deferred`, or no record: sent.
//! - in flight (a run died mid-create): sent, but only after a look-up finds no such user.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::journal::{EntryState, JournalEntry};
use crate::outcome::{Outcome, Status};
use crate::roster::Hire;
use crate::zoom::wire::CreateUserRequest;

/// What to do with a hire, given its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Submit it. `unsure` when an earlier run may already have created the user.
    Submit {
        /// Look the user up before the first create.
        unsure: bool,
    },
    /// Settled by an earlier run: this outcome, and nothing is sent.
    Settled(Outcome),
}

/// Decides what to do with `hire`, whose record (if any) is `entry`.
#[must_use]
pub fn decide(
    hire: &Hire,
    entry: Option<&JournalEntry>,
    content_hash: &str,
    retry_failed: bool,
) -> Decision {
    let Some(entry) = entry else {
        return Decision::Submit { unsure: false };
    };
    match entry.state {
        EntryState::InFlight => Decision::Submit { unsure: true },
        EntryState::Outcome(status @ (Status::Created | Status::Exists | Status::Skipped)) => {
            let day = entry
                .done_at
                .unwrap_or(entry.updated_at)
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            Decision::Settled(Outcome {
                user_id: entry.user_id.clone(),
                message: format!("already {status} on {day} by an earlier run: not sent again"),
                ..Outcome::unsent(
                    hire.row,
                    hire.user_info.email.clone(),
                    Status::Skipped,
                    String::new(),
                )
            })
        }
        EntryState::Outcome(Status::Failed)
            if !retry_failed && entry.content_hash == content_hash =>
        {
            let day = entry
                .updated_at
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            Decision::Settled(Outcome {
                http_status: entry.http_status,
                zoom_code: entry.zoom_code,
                message: format!(
                    "{} (refused on {day}; the row is unchanged, so it was not sent again: fix \
                     it, or use --retry-failed)",
                    entry.message
                ),
                ..Outcome::unsent(
                    hire.row,
                    hire.user_info.email.clone(),
                    Status::Failed,
                    String::new(),
                )
            })
        }
        EntryState::Outcome(_) => Decision::Submit { unsure: false },
    }
}

/// A stable hash of what would be sent for `hire`, to notice a row that changed between runs.
///
/// The password is left out, so that the journal holds nothing derived from it.
#[must_use]
pub fn content_hash(hire: &Hire) -> String {
    let mut request = CreateUserRequest {
        action: hire.action,
        user_info: hire.user_info.clone(),
    };
    request.user_info.password = None;
    let json = serde_json::to_vec(&request).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..16]
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
