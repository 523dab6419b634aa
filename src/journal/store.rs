//! The journal itself: opening it for a run, reading a hire's record, and recording batches.
//!
//! This module owns the SQL of reads and writes. Where the file lives, how it is locked and
//! what its tables look like are [`super::lock`]'s and [`super::schema`]'s; the CSV export is
//! [`super::export`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::JournalError;
use super::error::SqliteContext;
use super::lock::{self, RunLock};
use super::{export, schema};
use crate::outcome::Status;

/// The `state` text of a hire whose create was sent and whose outcome is not yet recorded.
const IN_FLIGHT: &str = "in_flight";

/// How long a write waits on a reader's lock before failing.
///
/// Only one run writes (the run lock sees to that), but a concurrent `journal export` reads,
/// and a WAL checkpoint briefly waits for such readers to move on.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Statuses that end a hire for good: once recorded, no later write changes the record.
///
/// The guards of [`INSERT_IN_FLIGHT`] and [`UPSERT_OUTCOME`] spell the same list in SQL; a
/// test keeps them in step.
const DONE_STATUSES: [Status; 2] = [Status::Created, Status::Exists];

/// Marks a hire in flight, unless it is already done.
const INSERT_IN_FLIGHT: &str = "
    INSERT INTO hires (account, email_key, state, row, email, content_hash, submissions,
                       first_seen_at, updated_at)
    VALUES (?1, ?2, 'in_flight', ?3, ?4, ?5, 1, ?6, ?6)
    ON CONFLICT (account, email_key) DO UPDATE SET
        state = 'in_flight', row = excluded.row, email = excluded.email,
        content_hash = excluded.content_hash, user_id = NULL, http_status = NULL,
        zoom_code = NULL, message = '', attempts = 0, submissions = submissions + 1,
        updated_at = excluded.updated_at
    WHERE state NOT IN ('created', 'exists')";

/// Records a hire's outcome, unless it is already done.
const UPSERT_OUTCOME: &str = "
    INSERT INTO hires (account, email_key, state, row, email, user_id, http_status, zoom_code,
                       message, attempts, content_hash, first_seen_at, updated_at, done_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12,
            CASE WHEN ?3 IN ('created', 'exists') THEN ?12 END)
    ON CONFLICT (account, email_key) DO UPDATE SET
        state = excluded.state, row = excluded.row, email = excluded.email,
        user_id = excluded.user_id, http_status = excluded.http_status,
        zoom_code = excluded.zoom_code, message = excluded.message,
        attempts = excluded.attempts, content_hash = excluded.content_hash,
        updated_at = excluded.updated_at, done_at = excluded.done_at
    WHERE state NOT IN ('created', 'exists')";

/// Adds creates to a day's count.
const ADD_QUOTA_SPENT: &str = "
    INSERT INTO quota (account, day, spent) VALUES (?1, ?2, ?3)
    ON CONFLICT (account, day) DO UPDATE SET spent = spent + excluded.spent";

/// Takes creates back off a day's count, never below zero.
const RETURN_QUOTA: &str = "
    UPDATE quota SET spent = max(0, spent - ?3) WHERE account = ?1 AND day = ?2";

/// Raises a day's count to at least the limit.
const EXHAUST_QUOTA: &str = "
    INSERT INTO quota (account, day, spent) VALUES (?1, ?2, ?3)
    ON CONFLICT (account, day) DO UPDATE SET spent = max(spent, excluded.spent)";

/// The columns [`entry_from_row`] reads, in its order.
pub(crate) const ENTRY_COLUMNS: &str = "state, row, email, user_id, http_status, zoom_code, \
     message, attempts, submissions, content_hash, first_seen_at, updated_at, done_at";

/// The journal of one run: the database connection and the run lock, for one account.
///
/// There is one owner: the connection is not `Sync`, so the run gives the journal to its writer
/// (a thread, or a task under `spawn_blocking`) and sends it writes. Dropping the journal
/// closes the database and releases the lock; [`Journal::close`] does the same and reports
/// errors.
#[derive(Debug)]
pub struct Journal {
    /// The connection, in WAL mode with `synchronous = FULL`.
    connection: Connection,
    /// The database file, held open with an exclusive lock; declared after the connection so
    /// that it is closed only once the database is.
    _database_lock: std::fs::File,
    /// Held for the journal's lifetime; declared after the connection so that it is released
    /// only once the database is closed.
    _lock: RunLock,
    /// The database file.
    path: PathBuf,
    /// The Zoom account every read and write of this journal is keyed by.
    account: String,
}

/// One change to the journal, recorded with others in [`Journal::record_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalWrite {
    /// A create is about to be sent for this hire. It must be recorded, and the batch returned,
    /// before the create goes out: a later run that finds a hire still in flight knows the
    /// create may have reached Zoom and looks the user up before sending again.
    ///
    /// Ignored for a hire that is already `created` or `exists`.
    InFlight {
        /// The normalised email, the hire's key within the account.
        email_key: String,
        /// The roster row number, as in the results CSV.
        row: u64,
        /// The email as it stood in the roster, for the export.
        email: String,
        /// The hash of the row's content, compared by a later run to retry a `failed` hire.
        content_hash: String,
        /// When the mark was made.
        at: Timestamp,
    },
    /// A hire's outcome, as it goes into the results CSV.
    ///
    /// Ignored for a hire that is already `created` or `exists`, so a late `deferred` or a
    /// repeated submission never undoes a done hire.
    Outcome {
        /// The normalised email, the hire's key within the account.
        email_key: String,
        /// The roster row number.
        row: u64,
        /// The email as it stood in the roster.
        email: String,
        /// The status.
        status: Status,
        /// Zoom's user id, when known.
        user_id: Option<String>,
        /// The HTTP status of the last answer, when anything was sent.
        http_status: Option<u16>,
        /// Zoom's error code of the last answer, when it had one.
        zoom_code: Option<i64>,
        /// Zoom's words or ours.
        message: String,
        /// How many HTTP attempts the submission took.
        attempts: u32,
        /// The hash of the row's content.
        content_hash: String,
        /// When the outcome was known.
        at: Timestamp,
    },
    /// Creates spent against the daily quota on a UTC day, added to what is recorded.
    QuotaSpent {
        /// The UTC day; see [`utc_day`].
        day: Date,
        /// How many creates were spent.
        count: u64,
    },
    /// Creates counted on a UTC day that Zoom turned away before counting them (a per-second
    /// 429, a refused token): taken back off the day's count.
    QuotaReturned {
        /// The UTC day.
        day: Date,
        /// How many creates to take back.
        count: u64,
    },
    /// Zoom answered with the daily-quota 429: nothing is left that day, whatever was counted.
    QuotaExhausted {
        /// The UTC day.
        day: Date,
        /// The daily limit; the day's count is raised to at least this.
        limit: u64,
    },
}

/// Where a hire stands in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// A create was (or may have been) sent and no outcome was recorded: a run crashed or was
    /// killed. Look the user up before sending again.
    InFlight,
    /// The last outcome recorded for the hire.
    Outcome(Status),
}

/// What the journal knows about one hire of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// In flight, or the last outcome.
    pub state: EntryState,
    /// The roster row number of the last write.
    pub row: u64,
    /// The email as it stood in the roster at the last write.
    pub email: String,
    /// Zoom's user id, when known.
    pub user_id: Option<String>,
    /// The HTTP status of the last answer.
    pub http_status: Option<u16>,
    /// Zoom's error code of the last answer.
    pub zoom_code: Option<i64>,
    /// The last outcome's message; empty while in flight.
    pub message: String,
    /// The last submission's attempt count; zero while in flight.
    pub attempts: u32,
    /// How many times a create was marked in flight for this hire, over all runs: an upper
    /// bound on the create calls the hire has cost.
    pub submissions: u32,
    /// The content hash of the last write.
    pub content_hash: String,
    /// When the journal first heard of the hire.
    pub first_seen_at: Timestamp,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// When the hire became `created` or `exists`.
    pub done_at: Option<Timestamp>,
}

impl JournalEntry {
    /// Whether the hire is done for good (`created` or `exists`): a later run skips it.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.state, EntryState::Outcome(status) if DONE_STATUSES.contains(&status))
    }
}

impl Journal {
    /// Opens (or creates) the journal at `path` for a run against `account`, and takes the run
    /// lock.
    ///
    /// Missing parent folders are created (mode 0700 on Unix), and the database, its WAL
    /// companions and the lock file are set to mode 0600 whatever the umask. A second open of
    /// the same journal while this one is alive, in this process or another, fails with
    /// [`JournalError::Busy`] at once rather than waiting.
    ///
    /// # Durability
    ///
    /// The database is in WAL mode with `synchronous = FULL`: every committed batch is synced
    /// to disk before [`Journal::record_batch`] returns. `NORMAL` would survive a killed process
    /// but may lose the last commits on power loss or an OS crash, and an in-flight mark lost
    /// that way would let a later run resend a create without looking first. The price is one
    /// sync per batch, which batching keeps small.
    pub fn open(path: &Path, account: &str) -> Result<Journal, JournalError> {
        // Nothing is opened, created or re-permissioned before the path is known to be a
        // regular file that is new, empty or a SQLite database: `--state` aimed at a device,
        // a link or a roster must leave it as it was.
        lock::refuse_unusual(path)?;
        refuse_foreign(path)?;
        lock::create_parent_dirs(path)?;
        let lock = RunLock::acquire(path)?;

        // Creating the file ourselves, owner-only, means `SQLite`'s WAL and shared-memory files,
        // which it creates with the database file's mode, are owner-only from the start too.
        let database = lock::create_owner_only(path)?;
        // The lock file is found by name; a second name for the same database (a hard link)
        // would find another. The database file itself is locked too, so that the second run
        // is refused whatever it calls the journal. flock and SQLite's own byte-range locks do
        // not interact.
        match database.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Busy {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(JournalError::Io {
                    action: "lock",
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let mut connection = Connection::open(path).context("open the database", path)?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .context("set the busy timeout", path)?;
        let version = schema::check(&connection, path)?;
        check_integrity(&connection, path)?;
        configure(&connection, path)?;
        schema::upgrade(&mut connection, path, version)?;
        lock::restrict_companions(path)?;

        Ok(Journal {
            connection,
            _database_lock: database,
            _lock: lock,
            path: path.to_owned(),
            account: account.to_owned(),
        })
    }

    /// The journal's default location: `zoom-onboard/journal.sqlite3` in the platform's local
    /// data folder, e.g. `~/.local/share/zoom-onboard/journal.sqlite3` on Linux.
    ///
    /// The local rather than the roaming folder, because the journal and its lock describe
    /// runs made from this machine. `None` when the platform has no such folder (no home).
    #[must_use]
    pub fn default_path() -> Option<PathBuf> {
        dirs::data_local_dir().map(|data| data.join("zoom-onboard").join("journal.sqlite3"))
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The account this journal reads and writes for.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The account's record of the hire with this normalised email, if any.
    pub fn hire(&self, email_key: &str) -> Result<Option<JournalEntry>, JournalError> {
        read_hire(&self.connection, &self.path, &self.account, email_key)
    }

    /// Every record of the account, by normalised email: for a run that loads what it needs
    /// once at the start instead of asking row by row.
    pub fn hires(&self) -> Result<HashMap<String, JournalEntry>, JournalError> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT email_key, {ENTRY_COLUMNS} FROM hires WHERE account = ?1"
            ))
            .context("read the hires", &self.path)?;
        statement
            .query_map([&self.account], |row| {
                Ok((row.get(0)?, entry_from_row(row, 1)?))
            })
            .and_then(Iterator::collect)
            .context("read the hires", &self.path)
    }

    /// Records `writes` in one transaction, in order. On return they are on disk.
    ///
    /// Either all of the batch is recorded or, on an error, none of it.
    pub fn record_batch(&mut self, writes: &[JournalWrite]) -> Result<(), JournalError> {
        const ACTION: &str = "record a batch";
        if writes.is_empty() {
            return Ok(());
        }
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context(ACTION, &self.path)?;
        for write in writes {
            let changed = apply(&transaction, &self.account, write).context(ACTION, &self.path)?;
            if changed == 0 {
                tracing::debug!(
                    row = write_row(write),
                    "journal kept a done hire as it was; a later write for it was ignored"
                );
            }
        }
        transaction.commit().context(ACTION, &self.path)
    }

    /// How many creates the account has spent on a UTC day, as recorded.
    pub fn quota_spent(&self, day: Date) -> Result<u64, JournalError> {
        self.connection
            .prepare_cached("SELECT spent FROM quota WHERE account = ?1 AND day = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![self.account, day.to_string()], |row| row.get(0))
                    .or_else(|error| match error {
                        rusqlite::Error::QueryReturnedNoRows => Ok(0),
                        error => Err(error),
                    })
            })
            .context("read the quota", &self.path)
    }

    /// Writes the hires of every account changed at or after `since` (all of them for `None`)
    /// as CSV to `out`, and returns how many rows were written. The columns are listed in the
    /// [module docs](super#export).
    pub fn export(
        &self,
        since: Option<Timestamp>,
        out: impl std::io::Write,
    ) -> Result<u64, JournalError> {
        export::write_csv(&self.connection, &self.path, since, out)
    }

    /// Closes the database and releases the lock, reporting what dropping would swallow.
    pub fn close(self) -> Result<(), JournalError> {
        let Journal {
            connection,
            _lock,
            path,
            ..
        } = self;
        connection
            .close()
            .map_err(|(_, error)| error)
            .context("close the database", &path)
    }
}

/// Reads one hire's record of `account`.
fn read_hire(
    connection: &Connection,
    path: &Path,
    account: &str,
    email_key: &str,
) -> Result<Option<JournalEntry>, JournalError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM hires WHERE account = ?1 AND email_key = ?2"
        ))
        .context("read a hire", path)?;
    let mut rows = statement
        .query(params![account, email_key])
        .context("read a hire", path)?;
    let row = rows.next().context("read a hire", path)?;
    row.map(|row| entry_from_row(row, 0))
        .transpose()
        .context("read a hire", path)
}

/// Refuses an existing, non-empty file that is not a `SQLite` database, before anything changes
/// it.
fn refuse_foreign(path: &Path) -> Result<(), JournalError> {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut head = [0_u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(count) => read += count,
        }
    }
    if read == 0 || head == *b"SQLite format 3\0" {
        Ok(())
    } else {
        Err(JournalError::NotAJournal {
            path: path.to_owned(),
        })
    }
}

/// Runs `SQLite`'s quick check, so that a damaged journal stops the run before anything is sent
/// rather than part-way.
fn check_integrity(connection: &Connection, path: &Path) -> Result<(), JournalError> {
    let verdict: String = connection
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(|error| JournalError::Damaged {
            path: path.to_owned(),
            detail: error.to_string(),
        })?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(JournalError::Damaged {
            path: path.to_owned(),
            detail: verdict,
        })
    }
}

/// Sets the connection's pragmas for a writing run.
fn configure(connection: &Connection, path: &Path) -> Result<(), JournalError> {
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .context("switch to WAL mode", path)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // `SQLite` falls back silently where WAL cannot work (some network file systems); the
        // batching and the concurrent export both assume it, so refuse instead.
        return Err(JournalError::NoWal {
            path: path.to_owned(),
            mode,
        });
    }
    connection
        .pragma_update(None, "synchronous", "FULL")
        .context("set synchronous = FULL", path)
}

/// Applies one write inside the batch's transaction, returning the rows it changed.
fn apply(
    transaction: &rusqlite::Transaction<'_>,
    account: &str,
    write: &JournalWrite,
) -> rusqlite::Result<usize> {
    match write {
        JournalWrite::InFlight {
            email_key,
            row,
            email,
            content_hash,
            at,
        } => transaction
            .prepare_cached(INSERT_IN_FLIGHT)?
            .execute(params![
                account,
                email_key,
                row,
                email,
                content_hash,
                timestamp_text(*at),
            ]),
        JournalWrite::Outcome {
            email_key,
            row,
            email,
            status,
            user_id,
            http_status,
            zoom_code,
            message,
            attempts,
            content_hash,
            at,
        } => transaction.prepare_cached(UPSERT_OUTCOME)?.execute(params![
            account,
            email_key,
            status.as_str(),
            row,
            email,
            user_id,
            http_status,
            zoom_code,
            message,
            attempts,
            content_hash,
            timestamp_text(*at),
        ]),
        JournalWrite::QuotaSpent { day, count } => transaction
            .prepare_cached(ADD_QUOTA_SPENT)?
            .execute(params![account, day.to_string(), count]),
        JournalWrite::QuotaReturned { day, count } => transaction
            .prepare_cached(RETURN_QUOTA)?
            .execute(params![account, day.to_string(), count]),
        JournalWrite::QuotaExhausted { day, limit } => transaction
            .prepare_cached(EXHAUST_QUOTA)?
            .execute(params![account, day.to_string(), limit]),
    }
}

/// The roster row a write is about, for logs; none for quota writes.
fn write_row(write: &JournalWrite) -> Option<u64> {
    match write {
        JournalWrite::InFlight { row, .. } | JournalWrite::Outcome { row, .. } => Some(*row),
        JournalWrite::QuotaSpent { .. }
        | JournalWrite::QuotaReturned { .. }
        | JournalWrite::QuotaExhausted { .. } => None,
    }
}

/// An instant as stored: RFC 3339 in UTC with exactly six fractional digits, so that the text
/// order of stored times is their time order.
pub(crate) fn timestamp_text(at: Timestamp) -> String {
    format!("{at:.6}")
}

/// Reads a [`JournalEntry`] from the [`ENTRY_COLUMNS`] of `row`, starting at column `first`.
pub(crate) fn entry_from_row(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<JournalEntry> {
    let state_text: String = row.get(first)?;
    let timestamp = |index: usize| -> rusqlite::Result<Option<Timestamp>> {
        row.get::<_, Option<String>>(index)?
            .map(|text| text.parse::<Timestamp>())
            .transpose()
            .map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(index, Type::Text, error.into())
            })
    };
    let state = parse_state(&state_text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            first,
            Type::Text,
            format!("unknown hire state {state_text:?}").into(),
        )
    })?;
    let required = |index: usize| {
        timestamp(index)?.ok_or(rusqlite::Error::InvalidColumnType(
            index,
            "a time".to_owned(),
            Type::Null,
        ))
    };

    Ok(JournalEntry {
        state,
        row: row.get(first + 1)?,
        email: row.get(first + 2)?,
        user_id: row.get(first + 3)?,
        http_status: row.get(first + 4)?,
        zoom_code: row.get(first + 5)?,
        message: row.get(first + 6)?,
        attempts: row.get(first + 7)?,
        submissions: row.get(first + 8)?,
        content_hash: row.get(first + 9)?,
        first_seen_at: required(first + 10)?,
        updated_at: required(first + 11)?,
        done_at: timestamp(first + 12)?,
    })
}

/// Reads a stored `state`.
fn parse_state(text: &str) -> Option<EntryState> {
    if text == IN_FLIGHT {
        return Some(EntryState::InFlight);
    }
    Status::ALL
        .into_iter()
        .find(|status| status.as_str() == text)
        .map(EntryState::Outcome)
}

/// The `state` text of an entry, as stored and exported.
pub(crate) fn state_text(state: EntryState) -> &'static str {
    match state {
        EntryState::InFlight => IN_FLIGHT,
        EntryState::Outcome(status) => status.as_str(),
    }
}

/// A read-only view of a journal, for `journal export`: no run lock, no account.
///
/// It can be opened while a run writes (WAL readers see the last committed batch), and needs
/// no credentials, because it reads every account.
#[derive(Debug)]
pub struct JournalReader {
    /// A read-only connection.
    connection: Connection,
    /// The database file.
    path: PathBuf,
}

impl JournalReader {
    /// Opens an existing journal read-only. Nothing is created or changed.
    pub fn open(path: &Path) -> Result<JournalReader, JournalError> {
        if !path.is_file() {
            return Err(JournalError::Missing {
                path: path.to_owned(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection =
            Connection::open_with_flags(path, flags).context("open the database", path)?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .context("set the busy timeout", path)?;
        if schema::check(&connection, path)? != schema::VERSION {
            // Reading cannot upgrade. Today the only older version is 0, an empty database.
            return Err(JournalError::NotAJournal {
                path: path.to_owned(),
            });
        }
        Ok(JournalReader {
            connection,
            path: path.to_owned(),
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record of the hire with this normalised email in `account`, if any. A run's reader
    /// uses this beside the run's own [`Journal`], which its writer owns.
    pub fn hire(
        &self,
        account: &str,
        email_key: &str,
    ) -> Result<Option<JournalEntry>, JournalError> {
        read_hire(&self.connection, &self.path, account, email_key)
    }

    /// As [`Journal::export`].
    pub fn export(
        &self,
        since: Option<Timestamp>,
        out: impl std::io::Write,
    ) -> Result<u64, JournalError> {
        export::write_csv(&self.connection, &self.path, since, out)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    use super::*;
    use crate::journal::testing::{at, in_flight, journal_path, outcome};
    use crate::journal::utc_day;

    const ACCOUNT: &str = "account-a";

    fn key(name: &str) -> String {
        format!("{name}@example.com")
    }

    fn spent(day: Date, count: u64) -> JournalWrite {
        JournalWrite::QuotaSpent { day, count }
    }

    fn exhausted(day: Date, limit: u64) -> JournalWrite {
        JournalWrite::QuotaExhausted { day, limit }
    }

    #[test]
    fn open_creates_the_folders_and_a_current_journal() {
        let (_folder, path) = journal_path();
        let journal = Journal::open(&path, ACCOUNT).unwrap();

        assert_eq!(journal.path(), path);
        assert_eq!(journal.account(), ACCOUNT);
        let version: i64 = journal
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, schema::VERSION);
        let mode: String = journal
            .connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let synchronous: i64 = journal
            .connection
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
        assert_eq!(journal.hire(&key("nobody")).unwrap(), None);
    }

    #[test]
    fn default_path_is_in_a_zoom_onboard_folder() {
        if let Some(path) = Journal::default_path() {
            assert!(
                path.ends_with("zoom-onboard/journal.sqlite3"),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn an_in_flight_mark_survives_dropping_and_reopening() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[in_flight("ada", 2, "2026-12-01T10:00:00Z")])
            .unwrap();
        drop(journal);

        let journal = Journal::open(&path, ACCOUNT).unwrap();
        let entry = journal.hire(&key("ada")).unwrap().unwrap();
        assert_eq!(entry.state, EntryState::InFlight);
        assert_eq!(entry.row, 2);
        assert_eq!(entry.email, "ada@Example.com");
        assert_eq!(entry.content_hash, "hash-2");
        assert_eq!(entry.submissions, 1);
        assert_eq!(entry.updated_at, at("2026-12-01T10:00:00Z"));
        assert!(!entry.is_done());
    }

    #[test]
    fn an_outcome_keeps_every_field_and_the_first_seen_time() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[
                in_flight("ada", 2, "2026-12-01T10:00:00Z"),
                JournalWrite::Outcome {
                    email_key: key("ada"),
                    row: 2,
                    email: "ada@Example.com".to_owned(),
                    status: Status::Failed,
                    user_id: None,
                    http_status: Some(400),
                    zoom_code: Some(300),
                    message: "invalid field".to_owned(),
                    attempts: 3,
                    content_hash: "hash-2".to_owned(),
                    at: at("2026-12-01T10:00:01.5Z"),
                },
            ])
            .unwrap();

        let entry = journal.hire(&key("ada")).unwrap().unwrap();
        assert_eq!(
            entry,
            JournalEntry {
                state: EntryState::Outcome(Status::Failed),
                row: 2,
                email: "ada@Example.com".to_owned(),
                user_id: None,
                http_status: Some(400),
                zoom_code: Some(300),
                message: "invalid field".to_owned(),
                attempts: 3,
                submissions: 1,
                content_hash: "hash-2".to_owned(),
                first_seen_at: at("2026-12-01T10:00:00Z"),
                updated_at: at("2026-12-01T10:00:01.5Z"),
                done_at: None,
            }
        );
    }

    #[test]
    fn a_retried_hire_counts_its_submissions_and_records_when_it_was_done() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[
                in_flight("ada", 2, "2026-12-01T10:00:00Z"),
                outcome("ada", 2, Status::Deferred, "2026-12-01T10:00:01Z"),
            ])
            .unwrap();
        journal
            .record_batch(&[
                in_flight("ada", 7, "2026-12-02T09:00:00Z"),
                outcome("ada", 7, Status::Created, "2026-12-02T09:00:01Z"),
            ])
            .unwrap();

        let entry = journal.hire(&key("ada")).unwrap().unwrap();
        assert!(entry.is_done());
        assert_eq!(entry.row, 7);
        assert_eq!(entry.user_id.as_deref(), Some("id-ada"));
        assert_eq!(entry.submissions, 2);
        assert_eq!(entry.first_seen_at, at("2026-12-01T10:00:00Z"));
        assert_eq!(entry.done_at, Some(at("2026-12-02T09:00:01Z")));
    }

    #[test]
    fn a_late_write_never_undoes_a_done_hire() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[outcome("ada", 2, Status::Created, "2026-12-01T10:00:00Z")])
            .unwrap();
        let done = journal.hire(&key("ada")).unwrap().unwrap();

        journal
            .record_batch(&[
                outcome("ada", 2, Status::Deferred, "2026-12-01T10:00:05Z"),
                in_flight("ada", 3, "2026-12-01T10:00:06Z"),
                outcome("ada", 3, Status::Failed, "2026-12-01T10:00:07Z"),
                outcome("ada", 3, Status::Exists, "2026-12-01T10:00:08Z"),
            ])
            .unwrap();

        assert_eq!(journal.hire(&key("ada")).unwrap().unwrap(), done);
    }

    #[test]
    fn accounts_do_not_see_each_others_hires() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[outcome("ada", 2, Status::Created, "2026-12-01T10:00:00Z")])
            .unwrap();
        drop(journal);

        let mut other = Journal::open(&path, "account-b").unwrap();
        assert_eq!(other.hire(&key("ada")).unwrap(), None);
        other
            .record_batch(&[outcome("ada", 4, Status::Deferred, "2026-12-01T11:00:00Z")])
            .unwrap();
        let entry = other.hire(&key("ada")).unwrap().unwrap();
        assert_eq!(entry.state, EntryState::Outcome(Status::Deferred));
    }

    #[test]
    fn hires_loads_the_whole_account_by_key() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal
            .record_batch(&[
                outcome("ada", 2, Status::Created, "2026-12-01T10:00:00Z"),
                in_flight("bob", 3, "2026-12-01T10:00:00Z"),
            ])
            .unwrap();
        drop(journal);
        let mut other = Journal::open(&path, "account-b").unwrap();
        other
            .record_batch(&[in_flight("cy", 4, "2026-12-01T10:00:00Z")])
            .unwrap();
        drop(other);

        let journal = Journal::open(&path, ACCOUNT).unwrap();
        let hires = journal.hires().unwrap();
        let mut keys: Vec<&str> = hires.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["ada@example.com", "bob@example.com"]);
        assert_eq!(hires[&key("bob")].state, EntryState::InFlight);
    }

    #[test]
    fn a_batch_with_a_bad_write_records_nothing() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        let too_big = JournalWrite::QuotaSpent {
            day: jiff::civil::date(2026, 12, 1),
            count: u64::MAX,
        };

        let error = journal
            .record_batch(&[in_flight("ada", 2, "2026-12-01T10:00:00Z"), too_big])
            .unwrap_err();

        assert!(matches!(error, JournalError::Sqlite { .. }), "{error:?}");
        assert_eq!(journal.hire(&key("ada")).unwrap(), None);
        journal
            .record_batch(&[in_flight("ada", 2, "2026-12-01T10:00:00Z")])
            .unwrap();
    }

    #[test]
    fn quota_is_counted_per_utc_day() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        let first = jiff::civil::date(2026, 12, 1);
        let second = jiff::civil::date(2026, 12, 2);
        journal
            .record_batch(&[spent(first, 40), spent(first, 2), spent(second, 5)])
            .unwrap();
        drop(journal);

        let journal = Journal::open(&path, ACCOUNT).unwrap();
        assert_eq!(journal.quota_spent(first).unwrap(), 42);
        assert_eq!(journal.quota_spent(second).unwrap(), 5);
        assert_eq!(
            journal.quota_spent(jiff::civil::date(2026, 12, 3)).unwrap(),
            0
        );
    }

    #[test]
    fn a_daily_429_leaves_nothing_that_day_and_never_lowers_the_count() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        let day = jiff::civil::date(2026, 12, 1);
        let busier = jiff::civil::date(2026, 12, 2);
        journal
            .record_batch(&[
                spent(day, 30),
                exhausted(day, 100),
                spent(busier, 120),
                exhausted(busier, 100),
                exhausted(jiff::civil::date(2026, 12, 3), 100),
            ])
            .unwrap();

        assert_eq!(journal.quota_spent(day).unwrap(), 100);
        assert_eq!(journal.quota_spent(busier).unwrap(), 120);
        assert_eq!(
            journal.quota_spent(jiff::civil::date(2026, 12, 3)).unwrap(),
            100
        );
    }

    #[test]
    fn quota_is_kept_per_account() {
        let (_folder, path) = journal_path();
        let day = jiff::civil::date(2026, 12, 1);
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        journal.record_batch(&[spent(day, 7)]).unwrap();
        drop(journal);

        let journal = Journal::open(&path, "account-b").unwrap();
        assert_eq!(journal.quota_spent(day).unwrap(), 0);
    }

    #[test]
    fn the_utc_day_turns_at_midnight_utc() {
        assert_eq!(
            utc_day(at("2026-12-01T23:59:59.999Z")),
            jiff::civil::date(2026, 12, 1)
        );
        assert_eq!(
            utc_day(at("2026-12-02T00:00:00Z")),
            jiff::civil::date(2026, 12, 2)
        );
        assert_eq!(
            utc_day(at("2026-12-01T20:00:00-05:00")),
            jiff::civil::date(2026, 12, 2)
        );
    }

    #[test]
    fn stored_times_sort_as_text_in_time_order() {
        let earlier = timestamp_text(at("2026-12-01T10:00:00Z"));
        let later = timestamp_text(at("2026-12-01T10:00:00.5Z"));
        assert!(earlier < later, "{earlier} < {later}");
        assert_eq!(earlier.len(), later.len());
    }

    #[test]
    fn the_sql_guards_name_the_done_statuses() {
        let guard = format!(
            "state NOT IN ({})",
            DONE_STATUSES.map(|status| format!("'{status}'")).join(", ")
        );
        assert!(INSERT_IN_FLIGHT.contains(&guard));
        assert!(UPSERT_OUTCOME.contains(&guard));
    }

    /// Environment variable that turns [`crash_child`] into the process the crash test kills.
    const CRASH_CHILD: &str = "ZOOM_ONBOARD_JOURNAL_CRASH_CHILD";

    /// Not a test on its own: the child of [`a_killed_run_leaves_its_mark_and_no_lock`].
    #[test]
    #[ignore = "run only as the child process of the crash test"]
    fn crash_child() {
        let Some(path) = std::env::var_os(CRASH_CHILD) else {
            return;
        };
        let mut journal = Journal::open(Path::new(&path), ACCOUNT).unwrap();
        journal
            .record_batch(&[in_flight("ada", 2, "2026-12-01T10:00:00Z")])
            .unwrap();
        println!("ready");
        std::thread::sleep(Duration::from_secs(60));
    }

    /// Kills the child process however the test ends, so a failed assertion leaves no sleeper.
    struct KillOnDrop(std::process::Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_killed_run_leaves_its_mark_and_no_lock() {
        let (_folder, path) = journal_path();
        let test_name = format!("{}::crash_child", module_path!())
            .split_once("::")
            .map(|(_, name)| name.to_owned())
            .unwrap();
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
                .args([test_name.as_str(), "--exact", "--ignored", "--nocapture"])
                .env(CRASH_CHILD, &path)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stdout = BufReader::new(child.0.stdout.take().unwrap());
        let ready = stdout
            .lines()
            .map_while(Result::ok)
            .any(|line| line == "ready");
        assert!(ready, "the child never reported its mark recorded");
        assert!(matches!(
            Journal::open(&path, ACCOUNT),
            Err(JournalError::Busy { .. })
        ));

        // `Child::kill` is SIGKILL on Unix: no destructor, no SQLite close, no unlock.
        child.0.kill().unwrap();
        child.0.wait().unwrap();

        let mut export = Vec::new();
        JournalReader::open(&path)
            .unwrap()
            .export(None, &mut export)
            .unwrap();
        let export = String::from_utf8(export).unwrap();
        assert!(export.contains(",in_flight,"), "{export}");
        let journal = Journal::open(&path, ACCOUNT).unwrap();
        let entry = journal.hire(&key("ada")).unwrap().unwrap();
        assert_eq!(entry.state, EntryState::InFlight);
    }

    /// Prints what a batch of 100 writes costs on this machine's disk; no timing is asserted.
    #[test]
    #[ignore = "a measurement, not a check: cargo test --lib record_batch_cost -- --ignored --nocapture"]
    fn record_batch_cost() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("journal.sqlite3");
        let mut journal = Journal::open(&path, ACCOUNT).unwrap();
        let mut costs = Vec::new();
        for batch in 0..50_u64 {
            let writes: Vec<JournalWrite> = (0..50)
                .flat_map(|index| {
                    let row = batch * 50 + index;
                    let name = format!("hire{row}");
                    [
                        in_flight(&name, row, "2026-12-01T10:00:00Z"),
                        outcome(&name, row, Status::Created, "2026-12-01T10:00:01Z"),
                    ]
                })
                .collect();
            let started = std::time::Instant::now();
            journal.record_batch(&writes).unwrap();
            costs.push(started.elapsed());
        }
        costs.sort_unstable();
        println!(
            "100 writes per batch: median {:?}, worst {:?}",
            costs[costs.len() / 2],
            costs[costs.len() - 1]
        );
    }
}
