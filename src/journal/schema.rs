//! The journal's tables, their versions, and how an older journal is brought up to date.
//!
//! The schema version lives in `PRAGMA user_version` and the file is marked as ours with
//! `PRAGMA application_id`, so a stray `SQLite` file given as `--state` is refused rather than
//! written into. Each entry of [`MIGRATIONS`] takes the schema from one version to the next; an
//! open applies the missing ones in one transaction.
//!
//! # Tables (version 1)
//!
//! - `hires`: one row per (account, normalised email). `state` is `in_flight` or a status word
//!   of the results CSV. Times are RFC 3339 UTC text with exactly six fractional digits, so
//!   that text order is time order.
//! - `quota`: creates spent per (account, UTC day), the day as `YYYY-MM-DD`.

use std::path::Path;

use rusqlite::Connection;

use super::JournalError;
use super::error::SqliteContext;

/// `PRAGMA application_id` of a journal: "ZOOB" in ASCII.
pub(crate) const APPLICATION_ID: i64 = 0x5A4F_4F42;

/// The schema version this build writes, which is also the number of migrations.
pub(crate) const VERSION: i64 = 1;

/// The migrations, in order; entry `n` takes the schema from version `n` to `n + 1`.
///
/// Append only: a released entry is never edited, because journals in the field have run it.
const MIGRATIONS: [&str; VERSION as usize] = [r"
    CREATE TABLE hires (
        account       TEXT    NOT NULL,
        email_key     TEXT    NOT NULL,
        state         TEXT    NOT NULL,
        row           INTEGER NOT NULL,
        email         TEXT    NOT NULL,
        user_id       TEXT,
        http_status   INTEGER,
        zoom_code     INTEGER,
        message       TEXT    NOT NULL DEFAULT '',
        attempts      INTEGER NOT NULL DEFAULT 0,
        submissions   INTEGER NOT NULL DEFAULT 0,
        content_hash  TEXT    NOT NULL,
        first_seen_at TEXT    NOT NULL,
        updated_at    TEXT    NOT NULL,
        done_at       TEXT,
        PRIMARY KEY (account, email_key)
    ) WITHOUT ROWID;

    CREATE INDEX hires_by_update ON hires (updated_at);

    CREATE TABLE quota (
        account TEXT    NOT NULL,
        day     TEXT    NOT NULL,
        spent   INTEGER NOT NULL,
        PRIMARY KEY (account, day)
    ) WITHOUT ROWID;
"];

/// Checks that `connection` holds a journal this build can use, and brings it up to date.
///
/// An empty database becomes a new journal. With `writable` false nothing is changed, and a
/// journal older than [`VERSION`] is read as it is only if it is already current.
pub(crate) fn prepare(
    connection: &mut Connection,
    path: &Path,
    writable: bool,
) -> Result<(), JournalError> {
    let application_id: i64 = pragma(connection, path, "application_id")?;
    let version: i64 = pragma(connection, path, "user_version")?;
    let has_tables: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table')",
            [],
            |row| row.get(0),
        )
        .context("read the schema", path)?;

    let ours = application_id == APPLICATION_ID || (application_id == 0 && !has_tables);
    if !ours {
        return Err(JournalError::NotAJournal {
            path: path.to_owned(),
        });
    }
    if version > VERSION {
        return Err(JournalError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: VERSION,
        });
    }
    if version == VERSION {
        return Ok(());
    }
    if !writable {
        // A read-only open cannot migrate; an empty or older file has nothing it could show.
        return Err(JournalError::NotAJournal {
            path: path.to_owned(),
        });
    }

    migrate(connection, path, version)
}

/// Applies the migrations after `from` and stamps the file, all in one transaction.
fn migrate(connection: &mut Connection, path: &Path, from: i64) -> Result<(), JournalError> {
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .context("begin the schema upgrade", path)?;
    for migration in MIGRATIONS.iter().skip(from as usize) {
        transaction
            .execute_batch(migration)
            .context("upgrade the schema", path)?;
    }
    // Pragmas take no bound parameters; both values are constants of this module.
    transaction
        .execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"
        ))
        .context("stamp the schema version", path)?;
    transaction
        .commit()
        .context("commit the schema upgrade", path)
}

/// Reads one integer pragma.
fn pragma(connection: &Connection, path: &Path, name: &str) -> Result<i64, JournalError> {
    connection
        .pragma_query_value(None, name, |row| row.get(0))
        .context("read the schema version", path)
}
