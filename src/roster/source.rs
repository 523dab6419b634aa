//! Where records come from: delimited text or a workbook's sheet, behind one small trait.
//!
//! This module owns the seam between the two kinds of roster file and everything after them.
//! Finding the header, mapping columns, choosing rows and checking them see only [`Record`]s
//! (cells and the spreadsheet row they start on), so a workbook goes through the same path as a
//! CSV file without being written back out as text.

use std::io::BufRead;

use super::error::RosterError;
use super::tokenize::{Record, Tokenizer};

/// A stream of records in roster order, blank ones included.
pub(crate) trait RecordSource: Send {
    /// The next record, `None` at the end, or a whole-roster problem met on the way (nothing
    /// follows an `Err`).
    fn next_record(&mut self) -> Result<Option<Record>, RosterError>;
}

impl<R: BufRead + Send> RecordSource for Tokenizer<R> {
    fn next_record(&mut self) -> Result<Option<Record>, RosterError> {
        Tokenizer::next_record(self)
    }
}
