//! The journal's one error type.
//!
//! Every variant names the journal's path, because a user may keep several journals (`--state`)
//! and the first question on any failure is "which file?". The cause is carried in `source()`,
//! never repeated in the message.

use std::io;
use std::path::PathBuf;

/// What went wrong opening, reading or writing a journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another live process holds the journal's run lock. The CLI maps this to exit 2.
    #[error(
        "journal {} is in use by another run\n\
         hint: wait for that run to finish; runs that share a journal take turns",
        path.display()
    )]
    Busy {
        /// The journal's database file.
        path: PathBuf,
    },

    /// A read-only open found no journal at the path.
    #[error("no journal at {}", path.display())]
    Missing {
        /// The path that was looked at.
        path: PathBuf,
    },

    /// A file-system step failed: creating the folder, the file, the lock, or setting modes.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, as a verb phrase: `create the folder`, `lock`, ...
        action: &'static str,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The file is an `SQLite` database, but not one this program wrote.
    #[error(
        "{} is not a zoom-onboard journal\n\
         hint: point --state at a new file or at a journal an earlier run wrote",
        path.display()
    )]
    NotAJournal {
        /// The database file.
        path: PathBuf,
    },

    /// The journal path is a link, a device or a folder: it is not opened, and its mode is not
    /// touched.
    #[error(
        "{} is not a regular file, so it cannot be a journal\n\
         hint: point --state at a new file or at a journal an earlier run wrote (not a link)",
        path.display()
    )]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },

    /// The journal's database is damaged.
    #[error(
        "journal {} is damaged: {detail}\n\
         hint: keep a copy, then start a new journal with --state (the old one can still be \
         read with sqlite3 to recover what it knew)",
        path.display()
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What `SQLite`'s check said first.
        detail: String,
    },

    /// The journal was written by a newer build whose schema this one does not know.
    #[error(
        "journal {} has schema version {found}, newer than the {supported} this build knows\n\
         hint: run a newer zoom-onboard, or use a separate journal",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build writes.
        supported: i64,
    },

    /// `SQLite` would not put the journal in WAL mode, as happens on some network file systems.
    #[error(
        "journal {} cannot use write-ahead logging; it stayed in {mode} mode\n\
         hint: keep the journal on a local disk",
        path.display()
    )]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode `SQLite` kept.
        mode: String,
    },

    /// `SQLite` refused a step.
    #[error("journal {}: cannot {action}", path.display())]
    Sqlite {
        /// What was being done, as a verb phrase: `record a batch`, `read a hire`, ...
        action: &'static str,
        /// The database file.
        path: PathBuf,
        /// `SQLite`'s error.
        #[source]
        source: rusqlite::Error,
    },

    /// Writing the CSV export failed.
    #[error("cannot write the export of journal {}", path.display())]
    Export {
        /// The database file.
        path: PathBuf,
        /// The CSV writer's error, which wraps any I/O error of the destination.
        #[source]
        source: csv::Error,
    },
}

/// Attaches an action and a path to `SQLite` errors, so every call site stays one line.
pub(crate) trait SqliteContext<T> {
    /// Wraps an `SQLite` error as [`JournalError::Sqlite`].
    fn context(self, action: &'static str, path: &std::path::Path) -> Result<T, JournalError>;
}

impl<T> SqliteContext<T> for Result<T, rusqlite::Error> {
    fn context(self, action: &'static str, path: &std::path::Path) -> Result<T, JournalError> {
        self.map_err(|source| JournalError::Sqlite {
            action,
            path: path.to_owned(),
            source,
        })
    }
}
