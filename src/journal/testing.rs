//! Shorthands for the journal's tests: a fresh journal path and writes with few words.

use std::path::PathBuf;

use jiff::Timestamp;
use tempfile::TempDir;

use super::JournalWrite;
use crate::outcome::Status;

/// A journal path inside a new temporary folder, in a subfolder that does not exist yet.
pub(crate) fn journal_path() -> (TempDir, PathBuf) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("state").join("journal.sqlite3");
    (folder, path)
}

/// An instant from RFC 3339 text.
pub(crate) fn at(text: &str) -> Timestamp {
    text.parse().expect("a valid RFC 3339 instant")
}

/// An in-flight mark for `key@example.com` on `row`.
pub(crate) fn in_flight(key: &str, row: u64, when: &str) -> JournalWrite {
    JournalWrite::InFlight {
        email_key: format!("{key}@example.com"),
        row,
        email: format!("{key}@Example.com"),
        content_hash: format!("hash-{row}"),
        at: at(when),
    }
}

/// An outcome for `key@example.com` on `row`, with a user id when the status is `created`.
pub(crate) fn outcome(key: &str, row: u64, status: Status, when: &str) -> JournalWrite {
    let created = status == Status::Created;
    JournalWrite::Outcome {
        email_key: format!("{key}@example.com"),
        row,
        email: format!("{key}@Example.com"),
        status,
        user_id: created.then(|| format!("id-{key}")),
        http_status: Some(if created { 201 } else { 429 }),
        zoom_code: (!created).then_some(429),
        message: if created {
            String::new()
        } else {
            "daily quota used up".to_owned()
        },
        attempts: 1,
        content_hash: format!("hash-{row}"),
        at: at(when),
    }
}
