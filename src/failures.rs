//! The failures CSV: the rows a person must fix, in the roster's own columns, ready to run again.
//!
//! Every row whose outcome is `invalid` or `failed` gets a line here as well as in the results:
//! the roster's header and cells as they were, plus an `error` column saying what is wrong.
//! Fixed in a spreadsheet, the file is a roster in its own right: `zoom-onboard run` reads it
//! unchanged, finds the same header, ignores the `error` column, and sends only those rows.
//!
//! # Decisions
//!
//! - The file is always created when a run starts, even when no row turns out to need fixing
//!   (it then holds only the header). A nightly job gets a stable path, and a failures file
//!   left by an earlier run can never be mistaken for this run's.
//! - Password cells are blanked: the file is meant to be mailed around and edited. A fixed
//!   `autoCreate` row needs its password typed in again.
//! - Cells a spreadsheet would run as a formula are defused with a leading `'`, as in the
//!   results; the `'` stays if the cell is not edited, so such a cell is sent with it.
//! - The roster's delimiter is kept (a semicolon roster came from a spreadsheet set up for
//!   semicolons), a workbook's failures are comma-separated, and the text is UTF-8 with a byte
//!   order mark, which is how Excel knows to read it as UTF-8. The roster reader skips the mark.
//! - An `error` column already at the end of the header (a failures file run again) is reused
//!   rather than doubled.
//! - A row with more cells than the header keeps them all: the header's width of cells, the
//!   error, then the surplus, which a person has to merge back anyway.
//! - The file holds people's addresses, so it is created readable by its owner only.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::outcome::{Outcome, Status};
use crate::results::{create_private, defuse_formula};
use crate::roster::{Field, Layout};

/// The name of the column that says what is wrong with a row.
pub const ERROR_COLUMN: &str = "error";

/// Whether a row with `status` is written to the failures file.
#[must_use]
pub fn needs_fixing(status: Status) -> bool {
    matches!(status, Status::Invalid | Status::Failed)
}

/// Writes the rows a person must fix.
pub struct FailuresWriter {
    csv: csv::Writer<File>,
    path: PathBuf,
    /// The header's width, `error` column excluded.
    width: usize,
    /// Where the `error` column is.
    error_column: usize,
    /// Columns whose cells are blanked: the password.
    blanked: Vec<usize>,
    /// The email column, for a row whose cells were not kept.
    email_column: Option<usize>,
    /// The roster's last column is an `error` column, whose old cells are replaced.
    reused: bool,
}

impl FailuresWriter {
    /// Creates (or truncates) the failures file, readable by its owner only, and writes the
    /// roster's header with an `error` column.
    pub fn create(path: &Path, layout: &Layout) -> io::Result<FailuresWriter> {
        let mut file = create_private(path)?;
        file.write_all("\u{feff}".as_bytes())?;
        let mut headers = layout.headers.clone();
        let reused = headers
            .last()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case(ERROR_COLUMN));
        if reused {
            headers.pop();
        }
        let width = headers.len();
        let column_of = |field| layout.column(field).map(|choice| choice.column.position);
        let mut csv = csv::WriterBuilder::new()
            .delimiter(layout.delimiter().unwrap_or(b','))
            .flexible(true)
            .from_writer(file);
        let mut header: Vec<String> = headers
            .iter()
            .map(|cell| defuse_formula(cell).into_owned())
            .collect();
        header.push(ERROR_COLUMN.to_owned());
        csv.write_record(&header)?;
        csv.flush()?;
        Ok(FailuresWriter {
            csv,
            path: path.to_owned(),
            width,
            error_column: width,
            blanked: column_of(Field::Password).into_iter().collect(),
            email_column: column_of(Field::Email),
            reused,
        })
    }

    /// Where the failures go.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the row of `outcome` with its original `cells`. Without the cells (which the
    /// pipeline keeps for every row that can fail) only the email is written.
    pub fn write(&mut self, outcome: &Outcome, cells: Option<&[String]>) -> io::Result<()> {
        let mut line: Vec<String> = if let Some(cells) = cells {
            cells.to_vec()
        } else {
            let mut line = vec![String::new(); self.width];
            if let Some(email) = self.email_column.and_then(|at| line.get_mut(at)) {
                email.clone_from(&outcome.email);
            }
            line
        };
        if self.reused && line.len() > self.width {
            line.remove(self.width);
        }
        if line.len() < self.width {
            line.resize(self.width, String::new());
        }
        for &column in &self.blanked {
            if let Some(cell) = line.get_mut(column) {
                cell.clear();
            }
        }
        line.insert(self.error_column, error_text(outcome));
        let line: Vec<String> = line
            .iter()
            .map(|cell| defuse_formula(cell).into_owned())
            .collect();
        self.csv.write_record(&line)?;
        Ok(())
    }

    /// Flushes written rows to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()
    }
}

/// What the `error` cell says: the roster row, and Zoom's answer for a refused create.
fn error_text(outcome: &Outcome) -> String {
    let answer = match (outcome.status, outcome.http_status, outcome.zoom_code) {
        (Status::Failed, Some(http), Some(code)) => {
            format!("zoom refused it (HTTP {http}, code {code}): ")
        }
        (Status::Failed, Some(http), None) => format!("zoom refused it (HTTP {http}): "),
        _ => String::new(),
    };
    format!("row {}: {answer}{}", outcome.row, outcome.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::{Roster, RosterOptions};

    fn layout_of(roster: &str) -> Layout {
        Roster::from_reader(
            Box::new(std::io::Cursor::new(roster.as_bytes().to_vec())),
            &RosterOptions::default(),
        )
        .unwrap()
        .layout()
        .clone()
    }

    #[test]
    fn passwords_are_blanked_formulas_defused_and_the_error_added() {
        let layout = layout_of("Email,First Name,Password\na@example.com,Ann,Secret123\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failures.csv");
        let mut writer = FailuresWriter::create(&path, &layout).unwrap();
        let outcome = Outcome::unsent(
            2,
            "a@example.com".into(),
            Status::Invalid,
            "first_name: bad".into(),
        );
        let cells = ["a@example.com", "=cmd()", "Secret123"].map(str::to_owned);
        writer.write(&outcome, Some(&cells)).unwrap();
        writer.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "\u{feff}Email,First Name,Password,error\n\
             a@example.com,'=cmd(),,row 2: first_name: bad\n"
        );
    }

    #[test]
    fn an_error_column_at_the_end_is_reused() {
        let layout = layout_of("Email,First Name,error\na@example.com,Ann,old\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failures.csv");
        let mut writer = FailuresWriter::create(&path, &layout).unwrap();
        let outcome = Outcome::unsent(2, "a@example.com".into(), Status::Invalid, "new".into());
        let cells = ["a@example.com", "Ann", "old"].map(str::to_owned);
        writer.write(&outcome, Some(&cells)).unwrap();
        writer.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "\u{feff}Email,First Name,error\na@example.com,Ann,row 2: new\n"
        );
    }
}
