//! Reading and checking the roster: from a file of bytes to one verdict per data row.
//!
//! This module owns everything between the roster file and a checked [`Hire`]: decoding the
//! bytes, splitting records, finding the header, mapping columns to fields, and checking each
//! row against Zoom's rules and the rows before it. It sends nothing and prints nothing.
//!
//! - `decode`: the encoding and the streaming decoder.
//! - `tokenize`: records and cells, with the line each record starts on.
//! - `workbook`: records from a sheet of an `.xlsx` or `.ods` workbook, cells as typed.
//! - `source`: the record stream both of those are, so that everything after them is shared.
//! - `header`: the header row, the delimiter, the column spellings, the second label row.
//! - `select`: `--where` and `--skip-where`, which rows are hires at all.
//! - `check`: one row's verdict, and duplicate emails.
//! - `reader`: [`Roster`], [`RosterRows`] and [`preflight`], which put the above together.
//! - [`report`]: the counts `check` prints, invalid rows by reason, and the quota plan.
//! - `error`: [`RosterError`], the problems that stop a run.
//!
//! A row that breaks a rule is data ([`Verdict::Invalid`]), never an error: only a problem with
//! the file as a whole is a [`RosterError`].
//!
//! # Decisions, and where they are written down
//!
//! - Encoding order (byte order mark, `--encoding`, UTF-16 by NUL pattern, UTF-8): `decode`.
//! - Records are split by a small state machine in `csv-core`'s dialect rather than the `csv`
//!   crate, for start lines after blank rows, unclosed-quote errors and bounded cells:
//!   `tokenize`.
//! - Header spellings, weak spellings, the header search and the second-label-row rule:
//!   `header`.
//! - Type parsing (`1.0` is 1; `Basic`, `Licensed`, `Unassigned` by name), passwords only on
//!   `autoCreate`, U+FFFD and `?` refused in names, duplicates kept as 64-bit keyed hashes:
//!   `check`.
//! - A workbook is told by its first bytes, not its name; numbers, dates and leading zeros as a
//!   person typed them: `workbook`.
//! - Row filters match the whole trimmed cell. A row they leave out is counted
//!   ([`RosterRows::left_out`]) and is not checked, claims no email and gets no line in the
//!   results: "rows in = rows out" holds for the rows kept. Left-out rows are not hires of this
//!   run, and calling them `invalid` would send HR to fix rows that are not wrong: `select`.
//!
//! # Memory
//!
//! Reading holds one record at a time plus the top of the file (at most about 1 MiB) while the
//! header is chosen. The only thing that grows is the set of seen emails: 1,000,000 distinct
//! emails peaked at 59,360 KB resident for `zoom-onboard check` in a release build (the README
//! has the command). A workbook is the exception: `calamine` holds its sheet whole.

mod check;
mod decode;
mod error;
mod header;
mod reader;
pub mod report;
mod select;
mod source;
mod tokenize;
mod workbook;

pub use check::{Hire, RosterRow, Verdict};
pub use decode::{EncodingSource, encoding_for_label};
pub use error::{RosterError, visible};
pub use header::{ChosenBy, Column, ColumnChoice, Field, HEADER_SEARCH_RECORDS, UnknownField};
pub use reader::{
    Decided, Format, Layout, LeftOut, Preflight, Roster, RosterOptions, RosterRows, preflight,
};
pub use report::{QuotaPlan, Reason, RosterReport, Tally};
pub use select::{ChosenFilter, FilterKind, RowFilter};
pub use workbook::Sheet;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
