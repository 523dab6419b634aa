//! `journal export`: what the journal records, as CSV.
//!
//! The export covers every account in the file, because the command runs without credentials
//! and a journal shared by several accounts should be readable in one go; the `account` column
//! tells them apart. Columns, in order:
//!
//! `row,email,status,user_id,http_status,zoom_code,message,attempts` as in the results CSV,
//! with `status` `in_flight` for a hire whose create was sent by a run that never recorded its
//! outcome; then `account`, `submissions` (create calls marked for the hire over all runs),
//! and the times `first_seen_at`, `updated_at` and `done_at` (empty unless `created` or
//! `exists`), in RFC 3339 UTC.
//!
//! Rows are ordered by account, then by `updated_at`, then by row. `--since` keeps the hires
//! whose record changed at or after the given instant.

use std::io;
use std::path::Path;

use jiff::Timestamp;
use rusqlite::Connection;

use super::JournalError;
use super::error::SqliteContext;
use super::store::{ENTRY_COLUMNS, JournalEntry, entry_from_row, state_text, timestamp_text};

/// One line of the export.
#[derive(Debug, serde::Serialize)]
struct ExportRecord<'a> {
    row: u64,
    email: &'a str,
    status: &'static str,
    user_id: Option<&'a str>,
    http_status: Option<u16>,
    zoom_code: Option<i64>,
    message: &'a str,
    attempts: u32,
    account: &'a str,
    submissions: u32,
    first_seen_at: String,
    updated_at: String,
    done_at: Option<String>,
}

impl<'a> ExportRecord<'a> {
    fn new(account: &'a str, entry: &'a JournalEntry) -> ExportRecord<'a> {
        ExportRecord {
            row: entry.row,
            email: &entry.email,
            status: state_text(entry.state),
            user_id: entry.user_id.as_deref(),
            http_status: entry.http_status,
            zoom_code: entry.zoom_code,
            message: &entry.message,
            attempts: entry.attempts,
            account,
            submissions: entry.submissions,
            first_seen_at: entry.first_seen_at.to_string(),
            updated_at: entry.updated_at.to_string(),
            done_at: entry.done_at.map(|at| at.to_string()),
        }
    }
}

/// Writes the export of `connection`'s journal to `out`; returns the number of data rows.
///
/// One SELECT reads one snapshot, so a run writing meanwhile never shows half a batch.
pub(crate) fn write_csv(
    connection: &Connection,
    path: &Path,
    since: Option<Timestamp>,
    out: impl io::Write,
) -> Result<u64, JournalError> {
    const ACTION: &str = "read the hires for export";
    let mut statement = connection
        .prepare(&format!(
            "SELECT account, {ENTRY_COLUMNS} FROM hires
             WHERE ?1 IS NULL OR updated_at >= ?1
             ORDER BY account, updated_at, row"
        ))
        .context(ACTION, path)?;
    let mut rows = statement
        .query([since.map(timestamp_text)])
        .context(ACTION, path)?;

    let export_error = |source| JournalError::Export {
        path: path.to_owned(),
        source,
    };
    let mut writer = csv::Writer::from_writer(out);
    let mut written = 0;
    while let Some(row) = rows.next().context(ACTION, path)? {
        let account: String = row.get(0).context(ACTION, path)?;
        let entry = entry_from_row(row, 1).context(ACTION, path)?;
        writer
            .serialize(ExportRecord::new(&account, &entry))
            .map_err(export_error)?;
        written += 1;
    }
    if written == 0 {
        // With no record to serialize the header would be missing; a reader of the file
        // should still learn the columns.
        writer.write_record(HEADER).map_err(export_error)?;
    }
    writer.flush().map_err(|error| export_error(error.into()))?;
    Ok(written)
}

/// The column names, for an export with no rows.
const HEADER: [&str; 13] = [
    "row",
    "email",
    "status",
    "user_id",
    "http_status",
    "zoom_code",
    "message",
    "attempts",
    "account",
    "submissions",
    "first_seen_at",
    "updated_at",
    "done_at",
];
