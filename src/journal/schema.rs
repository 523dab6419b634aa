//! The journal's tables, their versions, and how an older journal is brought up to date.
//!
//! The schema version lives in `PRAGMA user_version` and the file is marked as ours with
//! `PRAGMA application_id`, so a stray file given as `--state` is refused before anything is
//! written into it. Each entry of [`MIGRATIONS`] takes the schema from one version to the next;
//! an open applies the missing ones in one transaction.
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

/// Checks that `connection` holds a journal this build can use, changing nothing, and returns
/// its schema version: 0 for an empty database, which becomes a new journal.
pub(crate) fn check(connection: &Connection, path: &Path) -> Result<i64, JournalError> {
    let not_a_journal = || JournalError::NotAJournal {
        path: path.to_owned(),
    };
    let application_id = match pragma(connection, path, "application_id") {
        Err(JournalError::Sqlite {
            source: rusqlite::Error::SqliteFailure(error, _),
            ..
        }) if error.code == rusqlite::ErrorCode::NotADatabase => return Err(not_a_journal()),
        result => result?,
    };
    let version = pragma(connection, path, "user_version")?;
    let has_tables: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table')",
            [],
            |row| row.get(0),
        )
        .context("read the schema", path)?;

    let ours = application_id == APPLICATION_ID || (application_id == 0 && !has_tables);
    if !ours {
        return Err(not_a_journal());
    }
    if version > VERSION {
        return Err(JournalError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: VERSION,
        });
    }
    Ok(version)
}

/// Brings a journal checked by [`check`] from `version` up to [`VERSION`].
pub(crate) fn upgrade(
    connection: &mut Connection,
    path: &Path,
    version: i64,
) -> Result<(), JournalError> {
    if version == VERSION {
        return Ok(());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::journal::testing::journal_path;

    fn create_parent(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_new_journal_is_stamped_as_ours() {
        let (_folder, path) = journal_path();
        drop(Journal::open(&path, "account-a").unwrap());

        let connection = Connection::open(&path).unwrap();
        assert_eq!(
            pragma(&connection, &path, "application_id").unwrap(),
            APPLICATION_ID
        );
        assert_eq!(pragma(&connection, &path, "user_version").unwrap(), VERSION);
    }

    #[test]
    fn another_programs_database_is_refused_and_left_alone() {
        let (_folder, path) = journal_path();
        create_parent(&path);
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TABLE notes (text TEXT);")
            .unwrap();
        drop(other);

        let error = Journal::open(&path, "account-a").unwrap_err();

        assert!(
            matches!(error, JournalError::NotAJournal { .. }),
            "{error:?}"
        );
        let other = Connection::open(&path).unwrap();
        assert_eq!(pragma(&other, &path, "user_version").unwrap(), 0);
    }

    #[test]
    fn a_journal_from_a_newer_build_is_refused() {
        let (_folder, path) = journal_path();
        drop(Journal::open(&path, "account-a").unwrap());
        let newer = Connection::open(&path).unwrap();
        newer
            .execute_batch(&format!("PRAGMA user_version = {};", VERSION + 1))
            .unwrap();
        drop(newer);

        let error = Journal::open(&path, "account-a").unwrap_err();

        assert!(
            matches!(error, JournalError::NewerSchema { found, supported, .. }
                if found == VERSION + 1 && supported == VERSION),
            "{error:?}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_not_a_journal() {
        let (_folder, path) = journal_path();
        create_parent(&path);
        std::fs::write(&path, "row,email\n2,ada@example.com\n".repeat(100)).unwrap();

        let error = Journal::open(&path, "account-a").unwrap_err();

        assert!(
            matches!(error, JournalError::NotAJournal { .. }),
            "{error:?}"
        );
    }
}
