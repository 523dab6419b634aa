//! `journal export`: what the journal records, as CSV. The columns and order are described in
//! the [module docs](super#export); this file writes them.
//!
//! The export covers every account in the file, because the command runs without credentials
//! and a journal shared by several accounts should be readable in one go.

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
        let header = crate::results::COLUMNS.iter().chain(&EXTRA_COLUMNS);
        writer.write_record(header).map_err(export_error)?;
    }
    writer.flush().map_err(|error| export_error(error.into()))?;
    Ok(written)
}

/// The columns the export adds after the results CSV's own.
const EXTRA_COLUMNS: [&str; 5] = [
    "account",
    "submissions",
    "first_seen_at",
    "updated_at",
    "done_at",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::testing::{at, in_flight, journal_path, outcome};
    use crate::journal::{Journal, JournalReader, JournalWrite};
    use crate::outcome::Status;

    fn export_text(journal: &Journal, since: Option<&str>) -> (u64, String) {
        let mut out = Vec::new();
        let written = journal.export(since.map(at), &mut out).unwrap();
        (written, String::from_utf8(out).unwrap())
    }

    /// Two accounts: `a` with a done, a failed and an in-flight hire; `b` with a deferred one.
    fn sample_journal(path: &Path) {
        let mut journal = Journal::open(path, "a").unwrap();
        journal
            .record_batch(&[
                in_flight("ada", 2, "2026-12-01T10:00:00Z"),
                outcome("ada", 2, Status::Created, "2026-12-01T10:00:01.25Z"),
                in_flight("bob", 3, "2026-12-01T10:00:02Z"),
                JournalWrite::Outcome {
                    email_key: "bob@example.com".to_owned(),
                    row: 3,
                    email: "bob@Example.com".to_owned(),
                    status: Status::Failed,
                    user_id: None,
                    http_status: Some(400),
                    zoom_code: Some(300),
                    message: "Zoom said \"no\", twice".to_owned(),
                    attempts: 2,
                    content_hash: "hash-3".to_owned(),
                    at: at("2026-12-02T08:00:00Z"),
                },
                in_flight("cy", 4, "2026-12-01T10:00:03Z"),
            ])
            .unwrap();
        drop(journal);
        let mut journal = Journal::open(path, "b").unwrap();
        journal
            .record_batch(&[outcome("dee", 9, Status::Deferred, "2026-12-01T09:00:00Z")])
            .unwrap();
    }

    const HEADER_LINE: &str = "row,email,status,user_id,http_status,zoom_code,message,attempts,\
        account,submissions,first_seen_at,updated_at,done_at\n";

    #[test]
    fn the_export_lists_every_account_with_results_columns_and_times() {
        let (_folder, path) = journal_path();
        sample_journal(&path);
        let journal = Journal::open(&path, "a").unwrap();

        let (written, text) = export_text(&journal, None);

        assert_eq!(written, 4);
        let expected = [
            HEADER_LINE,
            "2,ada@Example.com,created,id-ada,201,,,1,a,1,\
             2026-12-01T10:00:00Z,2026-12-01T10:00:01.25Z,2026-12-01T10:00:01.25Z\n",
            "4,cy@Example.com,in_flight,,,,,0,a,1,\
             2026-12-01T10:00:03Z,2026-12-01T10:00:03Z,\n",
            "3,bob@Example.com,failed,,400,300,\"Zoom said \"\"no\"\", twice\",2,a,1,\
             2026-12-01T10:00:02Z,2026-12-02T08:00:00Z,\n",
            "9,dee@Example.com,deferred,,429,429,daily quota used up,1,b,0,\
             2026-12-01T09:00:00Z,2026-12-01T09:00:00Z,\n",
        ]
        .concat();
        assert_eq!(text, expected);
    }

    #[test]
    fn since_keeps_the_hires_changed_at_or_after_it() {
        let (_folder, path) = journal_path();
        sample_journal(&path);
        let journal = Journal::open(&path, "a").unwrap();

        let (written, text) = export_text(&journal, Some("2026-12-01T10:00:03Z"));

        assert_eq!(written, 2);
        let rows: Vec<&str> = text.lines().skip(1).map(|line| &line[..2]).collect();
        assert_eq!(rows, ["4,", "3,"]);
    }

    #[test]
    fn an_empty_export_still_has_its_header() {
        let (_folder, path) = journal_path();
        let journal = Journal::open(&path, "a").unwrap();

        assert_eq!(export_text(&journal, None), (0, HEADER_LINE.to_owned()));
    }

    #[test]
    fn a_reader_exports_while_a_run_holds_the_journal() {
        let (_folder, path) = journal_path();
        sample_journal(&path);
        let mut run = Journal::open(&path, "a").unwrap();
        let reader = JournalReader::open(&path).unwrap();
        run.record_batch(&[in_flight("eve", 5, "2026-12-03T00:00:00Z")])
            .unwrap();

        let mut out = Vec::new();
        let written = reader.export(None, &mut out).unwrap();

        assert_eq!(written, 5, "the batch committed before the export is in it");
        assert_eq!(reader.path(), path);
        let mut from_run = Vec::new();
        run.export(None, &mut from_run).unwrap();
        assert_eq!(out, from_run);
    }

    #[test]
    fn a_reader_creates_nothing_where_there_is_no_journal() {
        let (_folder, path) = journal_path();

        let error = JournalReader::open(&path).unwrap_err();

        assert!(matches!(error, JournalError::Missing { .. }), "{error:?}");
        assert!(!path.parent().unwrap().exists());
    }
}
