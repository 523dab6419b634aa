//! The journal: the durable record of what was done, kept between runs.
//!
//! A run opens the journal for one Zoom account ([`Journal::open`]), reads what earlier runs
//! recorded about each hire ([`Journal::hire`], [`Journal::hires`]) and records, in batches
//! ([`Journal::record_batch`]), each hire's mark before its create is sent and its outcome
//! after, plus the creates spent against the daily quota per UTC day.
//!
//! This module does not decide what to write or when; the run's writer does. Nor does it
//! normalise emails or hash rows: it stores the keys and hashes it is given.
//!
//! # What a record means to the next run
//!
//! Records are keyed by (account, normalised email).
//!
//! - `created` / `exists`: done for good; the next run skips the hire. No later write changes
//!   such a record: the guard is in the SQL, so a late `deferred` cannot undo it.
//! - `deferred`: tried again.
//! - `failed`: tried again only when the row's content hash differs from the stored one (the
//!   caller compares).
//! - in flight: a run died between sending the create and recording its answer; look the user
//!   up before sending again. A submission that ends without knowing whether Zoom created the
//!   user should leave its hire in flight rather than record `deferred`, for the same reason.
//!
//! # Guarantees
//!
//! - One run at a time per journal: an OS-level lock that dies with its process
//!   ([`JournalError::Busy`] for the second run).
//! - A batch is one transaction, synced to disk before `record_batch` returns.
//! - Owner-only files on Unix.
//!
//! # Export
//!
//! [`Journal::export`] and [`JournalReader::export`] (which needs no lock and no account, so
//! it works during a run) write the hires of every account as CSV, with the columns
//!
//! `row,email,status,user_id,http_status,zoom_code,message,attempts` as in the results CSV,
//! where `status` is `in_flight` for a hire whose create was sent by a run that never recorded
//! its outcome; then `account`; `submissions`, the create calls marked for the hire over all
//! runs; and the times `first_seen_at`, `updated_at` and `done_at` (empty unless `created` or
//! `exists`), in RFC 3339 UTC. Rows are ordered by account, then `updated_at`, then row; a
//! `since` instant keeps the hires whose record changed at or after it.

mod error;
mod export;
mod lock;
mod schema;
mod store;
#[cfg(test)]
mod testing;

pub use crate::zoom::rate_limit::utc_day;
pub use error::JournalError;
pub use lock::files_of;
pub use store::{EntryState, Journal, JournalEntry, JournalReader, JournalWrite};
