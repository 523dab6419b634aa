//! The results CSV: one line per roster data row, in roster order, written as rows complete.
//!
//! The file holds people's addresses, so it is created readable by its owner only. It is meant
//! for spreadsheets, so a cell that a spreadsheet would run as a formula is defused with a
//! leading `'`; what was sent to Zoom is not affected.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::outcome::Outcome;

/// The results CSV's columns, in order.
pub const COLUMNS: [&str; 8] = [
    "row",
    "email",
    "status",
    "user_id",
    "http_status",
    "zoom_code",
    "message",
    "attempts",
];

/// Writes outcomes to the results CSV.
pub struct ResultsWriter {
    csv: csv::Writer<File>,
    path: PathBuf,
}

impl ResultsWriter {
    /// Creates (or truncates) the results file, readable by its owner only, and writes the
    /// header.
    pub fn create(path: &Path) -> io::Result<ResultsWriter> {
        let file = create_private(path)?;
        let mut csv = csv::Writer::from_writer(file);
        csv.write_record(COLUMNS)?;
        csv.flush()?;
        Ok(ResultsWriter {
            csv,
            path: path.to_owned(),
        })
    }

    /// Where the results go.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one outcome. Call [`ResultsWriter::flush`] to make it reach the disk.
    pub fn write(&mut self, outcome: &Outcome) -> io::Result<()> {
        let row = outcome.row.to_string();
        let http_status = outcome
            .http_status
            .map(|s| s.to_string())
            .unwrap_or_default();
        let zoom_code = outcome.zoom_code.map(|c| c.to_string()).unwrap_or_default();
        let attempts = outcome.attempts.to_string();
        let record = [
            row.as_str(),
            &defuse_formula(&outcome.email),
            outcome.status.as_str(),
            &defuse_formula(outcome.user_id.as_deref().unwrap_or("")),
            &http_status,
            &zoom_code,
            &defuse_formula(&outcome.message),
            &attempts,
        ];
        self.csv.write_record(record)?;
        Ok(())
    }

    /// Flushes written outcomes to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()
    }
}

/// Checks that `out` may be written: it is not one of `inputs` (under any name or link), and
/// if it exists it is a regular file, not a link, device or folder.
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<(), String> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !meta.file_type().is_file() {
        return Err(format!(
            "{} is not a regular file\nhint: name a new file or an existing ordinary one",
            out.display()
        ));
    }
    for input in inputs {
        if same_file(out, input) {
            return Err(format!(
                "{} is the roster itself: writing there would destroy it\nhint: give --out \
                 another path",
                out.display()
            ));
        }
    }
    Ok(())
}

/// Checks that `out`, given with `flag`, may be written: as [`check_output`], and it is none of
/// `others`, each named by what it is (`"roster"`, `"results file"`), whether or not they exist
/// yet.
pub fn check_output_apart(out: &Path, flag: &str, others: &[(&Path, &str)]) -> Result<(), String> {
    for (other, what) in others {
        if out == *other || same_file(out, other) {
            return Err(format!(
                "{} is also the {what}: writing there would destroy it\nhint: give {flag} another \
                 path",
                out.display()
            ));
        }
    }
    check_output(out, &[])
}

/// Whether two paths name the same file, links and different spellings included.
fn same_file(one: &Path, other: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(one), std::fs::metadata(other)) {
            (Ok(one), Ok(other)) => one.dev() == other.dev() && one.ino() == other.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (one.canonicalize(), other.canonicalize()) {
            (Ok(one), Ok(other)) => one == other,
            _ => false,
        }
    }
}

/// Creates or truncates a file that only its owner may read or write. An existing path that is
/// not a regular file (a link, a device) is refused rather than followed or re-permissioned.
pub fn create_private(path: &Path) -> io::Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: refusing to write through it",
        ));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // The mode above applies only to a new file; an existing one is tightened too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// Prefixes a cell with `'` when a spreadsheet would read it as a formula.
#[must_use]
pub fn defuse_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    #[test]
    fn formulas_are_defused_and_messages_stay_one_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        let mut writer = ResultsWriter::create(&path).unwrap();
        writer
            .write(&Outcome::unsent(
                2,
                "=HYPERLINK(\"x\")@evil.com".into(),
                Status::Invalid,
                "bad, \"quoted\"\nmessage".into(),
            ))
            .unwrap();
        writer.flush().unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[1], "'=HYPERLINK(\"x\")@evil.com");
        assert_eq!(&record[6], "bad, \"quoted\"\nmessage");
        assert_eq!(record.len(), COLUMNS.len());
    }

    #[test]
    fn every_formula_lead_is_defused() {
        for lead in ['=', '+', '-', '@', '\t', '\r'] {
            let cell = format!("{lead}cmd");
            assert_eq!(defuse_formula(&cell), format!("'{cell}"));
        }
        assert_eq!(defuse_formula("ann@example.com"), "ann@example.com");
        assert_eq!(defuse_formula(""), "");
    }

    #[cfg(unix)]
    #[test]
    fn results_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        ResultsWriter::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
