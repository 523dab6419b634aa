//! The one-run-at-a-time lock of a journal, and the owner-only file modes.
//!
//! The lock is an exclusive advisory lock (`flock` on Unix, `LockFileEx` on Windows) on a
//! sibling file, `<journal>.lock`. The operating system drops it when the holding process
//! exits for any reason, SIGKILL included, so a crashed run never leaves a stale lock behind,
//! which a pid file would. It lives on its own file rather than on the database so that it
//! cannot interact with `SQLite`'s own byte-range locks, and so that a second run is refused
//! before it touches the database at all.
//!
//! This module does not own the database; it owns the lock file and file permissions only.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::JournalError;

/// The held run lock of one journal. Dropping it releases the lock.
///
/// The lock file itself is left in place on release: deleting it would let a run that opened
/// the old file and a run that created a new one both believe they hold the lock.
#[derive(Debug)]
pub(crate) struct RunLock {
    /// Kept open for the lock's lifetime; closing it releases the lock.
    _file: File,
}

impl RunLock {
    /// Takes the lock for the journal at `journal`, failing at once with
    /// [`JournalError::Busy`] if another open journal holds it, in this process or any other.
    pub(crate) fn acquire(journal: &Path) -> Result<RunLock, JournalError> {
        let lock_path = lock_path(journal);
        let file = create_owner_only(&lock_path)?;
        let attempt = file.try_lock();
        match attempt {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(JournalError::Busy {
                path: journal.to_owned(),
            }),
            Err(TryLockError::Error(source)) => Err(JournalError::Io {
                action: "lock",
                path: lock_path,
                source,
            }),
        }
    }
}

/// The lock file's path: the journal's file name with `.lock` appended.
pub(crate) fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Every file a journal keeps: the database, its WAL companions and its lock file.
#[must_use]
pub fn files_of(journal: &Path) -> Vec<PathBuf> {
    let mut files = vec![journal.to_owned(), lock_path(journal)];
    files.extend(companion_paths(journal));
    files
}

/// The paths of `SQLite`'s companion files in WAL mode.
pub(crate) fn companion_paths(journal: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut name = journal.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// Creates the parent folders of `path`, owner-only on Unix for the folders made here.
///
/// Folders that already exist keep their modes: they may be shared on purpose.
pub(crate) fn create_parent_dirs(path: &Path) -> Result<(), JournalError> {
    let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    else {
        return Ok(());
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(parent).map_err(|source| JournalError::Io {
        action: "create the folder",
        path: parent.to_owned(),
        source,
    })
}

/// Refuses a path that exists but is not a regular file (a link, a device, a folder), before
/// anything opens it or changes its mode.
pub(crate) fn refuse_unusual(path: &Path) -> Result<(), JournalError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(JournalError::NotAFile {
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Opens `path` for writing, creating it if need be, and makes it owner-only. A path that
/// exists but is not a regular file is refused first.
pub(crate) fn create_owner_only(path: &Path) -> Result<File, JournalError> {
    refuse_unusual(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|source| JournalError::Io {
        action: "create",
        path: path.to_owned(),
        source,
    })?;
    restrict_to_owner(path)?;
    Ok(file)
}

/// Sets the mode of an existing file to 0600 on Unix, whatever the umask and the old mode.
///
/// The journal holds people's email addresses, so every open tightens its files again rather
/// than trusting that nobody loosened them. Windows has no mode bits; there the per-user data
/// folder's default access list is what keeps the journal private.
pub(crate) fn restrict_to_owner(path: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| {
            JournalError::Io {
                action: "set owner-only permissions on",
                path: path.to_owned(),
                source,
            }
        })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Tightens the WAL companions that exist right now; a missing one is not an error.
pub(crate) fn restrict_companions(journal: &Path) -> Result<(), JournalError> {
    for companion in companion_paths(journal) {
        match restrict_to_owner(&companion) {
            Err(JournalError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            result => result?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::journal::testing::{in_flight, journal_path};

    #[test]
    fn a_second_open_is_busy_until_the_first_is_dropped() {
        let (_folder, path) = journal_path();
        let first = Journal::open(&path, "account-a").unwrap();

        let error = Journal::open(&path, "account-b").unwrap_err();
        assert!(matches!(&error, JournalError::Busy { path: busy } if *busy == path));
        let message = error.to_string();
        assert!(message.starts_with(&format!("journal {} is in use", path.display())));
        assert!(message.contains("\nhint: "), "{message}");

        drop(first);
        Journal::open(&path, "account-b").unwrap();
    }

    #[test]
    fn the_lock_holds_whatever_the_path_is_spelled() {
        let (folder, path) = journal_path();
        let _first = Journal::open(&path, "account-a").unwrap();
        let roundabout = folder.path().join("state/../state/./journal.sqlite3");

        assert!(matches!(
            Journal::open(&roundabout, "account-a"),
            Err(JournalError::Busy { .. })
        ));
    }

    #[test]
    fn closing_releases_the_lock() {
        let (_folder, path) = journal_path();
        Journal::open(&path, "account-a").unwrap().close().unwrap();
        Journal::open(&path, "account-a").unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_files_are_owner_only() {
        let (_folder, path) = journal_path();
        let mut journal = Journal::open(&path, "account-a").unwrap();
        journal
            .record_batch(&[in_flight("ada", 2, "2026-12-01T10:00:00Z")])
            .unwrap();

        let [wal, shm] = companion_paths(&path);
        for file in [&path, &wal, &shm, &lock_path(&path)] {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn opening_tightens_a_loosened_journal() {
        use std::os::unix::fs::PermissionsExt;
        let (_folder, path) = journal_path();
        Journal::open(&path, "account-a").unwrap().close().unwrap();
        for file in [&path, &lock_path(&path)] {
            fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
        }

        let _journal = Journal::open(&path, "account-a").unwrap();
        let [wal, shm] = companion_paths(&path);
        for file in [&path, &wal, &shm, &lock_path(&path)] {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }
}
