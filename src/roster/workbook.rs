//! Reading a roster from a spreadsheet workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`).
//!
//! This module owns opening the workbook with `calamine`, choosing the sheet, and turning each
//! cell into the text a person would have typed into it. It yields [`Record`]s like the CSV
//! tokenizer does, so the header search, the column mapping and the checks are the same code
//! for both.
//!
//! # Decisions
//!
//! - A file is a workbook when its first bytes say so (a ZIP archive, as `.xlsx` and `.ods`
//!   are, or an OLE compound file, as `.xls` is), whatever its name: HR systems often save
//!   tab-separated text under a `.xls` name, and that is read as text.
//! - The first sheet is read unless `--sheet NAME` names another (compared exactly, then
//!   ignoring case).
//! - A record's row number is the sheet's row number, and its first cell is column A, so
//!   positions in messages match what the spreadsheet shows.
//! - Cells come out as a person would type them: text as written (leading zeros kept); a
//!   whole number as `1`, not `1.0`; other numbers to 15 significant digits, as a spreadsheet
//!   shows them; dates as `YYYY-MM-DD`, with ` HH:MM:SS` only when there is a time of day;
//!   booleans as `TRUE`/`FALSE`; formula errors as the spreadsheet shows them (`#N/A`).
//! - A number cell that only *displays* leading zeros through its number format (a ZIP code
//!   typed as a number) is read as the number: the zeros are not in the file. Store such
//!   identifiers as text.
//!
//! # Memory
//!
//! `calamine` reads a whole sheet into memory before its first cell can be seen, so a workbook
//! roster is held whole while it is read, unlike a CSV roster, which streams. A sheet holds at
//! most 1,048,576 rows; a roster too large to hold is better saved as CSV.

use std::io::{BufReader, Read};
use std::path::Path;

use calamine::{Data, Range, Reader, Sheets, open_workbook_auto};

use super::error::RosterError;
use super::source::RecordSource;
use super::tokenize::Record;

/// Whether the first bytes of a file are those of a workbook: a ZIP archive (`.xlsx`, `.ods`)
/// or an OLE compound file (`.xls`).
pub(crate) fn is_workbook(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xD0\xCF\x11\xE0")
}

/// Reads the first bytes of the file at `path`, to tell a workbook from text.
pub(crate) fn sniff(path: &Path) -> Result<bool, RosterError> {
    let file = std::fs::File::open(path).map_err(|source| RosterError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut head = Vec::with_capacity(8);
    BufReader::new(file)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|source| RosterError::Read { line: 1, source })?;
    Ok(is_workbook(&head))
}

/// The sheet a roster is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The kind of workbook: `xlsx`, `xlsb`, `xls` or `ods`.
    pub kind: &'static str,
    /// The sheet's name.
    pub name: String,
    /// Whether `--sheet` chose it (otherwise it is the first sheet).
    pub named: bool,
}

/// Opens the workbook at `path` and reads the sheet `wanted`, or the first sheet.
pub(crate) fn open_sheet(
    path: &Path,
    wanted: Option<&str>,
) -> Result<(Sheet, SheetRecords), RosterError> {
    let unreadable = |source| RosterError::WorkbookUnreadable {
        path: path.to_owned(),
        source,
    };
    let mut workbook = open_workbook_auto(path).map_err(unreadable)?;
    let kind = match &workbook {
        Sheets::Xls(_) => "xls",
        Sheets::Xlsx(_) => "xlsx",
        Sheets::Xlsb(_) => "xlsb",
        Sheets::Ods(_) => "ods",
    };
    let names = workbook.sheet_names();
    let name = match wanted {
        None => names.first().cloned().ok_or(RosterError::Empty)?,
        Some(wanted) => names
            .iter()
            .find(|name| name.as_str() == wanted)
            .or_else(|| names.iter().find(|name| name.eq_ignore_ascii_case(wanted)))
            .cloned()
            .ok_or_else(|| RosterError::SheetMissing {
                sheet: wanted.to_owned(),
                sheets: names.clone(),
            })?,
    };
    let range = workbook.worksheet_range(&name).map_err(unreadable)?;
    let sheet = Sheet {
        kind,
        name,
        named: wanted.is_some(),
    };
    Ok((sheet, SheetRecords::new(range)))
}

/// The rows of one sheet as records, numbered as the sheet numbers them.
pub(crate) struct SheetRecords {
    range: Range<Data>,
    /// The sheet row number (from 1) of the range's first row.
    first_line: u64,
    /// Empty cells to put in front of each row, so that the first cell is column A.
    leading_columns: usize,
    /// The next row to yield, relative to the range.
    next: usize,
}

impl SheetRecords {
    fn new(range: Range<Data>) -> SheetRecords {
        let (row, column) = range.start().unwrap_or((0, 0));
        SheetRecords {
            range,
            first_line: u64::from(row) + 1,
            leading_columns: column as usize,
            next: 0,
        }
    }

    /// Goes back to the sheet's first row.
    pub(crate) fn rewind(&mut self) {
        self.next = 0;
    }
}

impl RecordSource for SheetRecords {
    fn next_record(&mut self) -> Result<Option<Record>, RosterError> {
        if self.next >= self.range.height() {
            return Ok(None);
        }
        let row = self.next;
        self.next += 1;
        let mut cells = vec![String::new(); self.leading_columns];
        cells.extend((0..self.range.width()).map(|column| {
            self.range
                .get((row, column))
                .map_or_else(String::new, cell_text)
        }));
        // Trailing empty cells are what a CSV export would leave off too.
        while cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        let line = self.first_line + row as u64;
        Ok(Some(Record {
            line,
            row: line,
            cells,
        }))
    }
}

/// The text a person would have typed into a cell (see the module docs).
pub(crate) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        Data::Float(number) => number_text(*number),
        Data::Bool(true) => "TRUE".to_owned(),
        Data::Bool(false) => "FALSE".to_owned(),
        Data::Error(error) => error.to_string(),
        Data::DateTime(moment) if moment.is_duration() => duration_text(moment.as_f64()),
        Data::DateTime(moment) => {
            let (year, month, day, hour, minute, second, _) = moment.to_ymd_hms_milli();
            let time = format!("{hour:02}:{minute:02}:{second:02}");
            if moment.as_f64() < 1.0 {
                time
            } else if (hour, minute, second) == (0, 0, 0) {
                format!("{year:04}-{month:02}-{day:02}")
            } else {
                format!("{year:04}-{month:02}-{day:02} {time}")
            }
        }
        Data::DateTimeIso(text) => iso_text(text),
    }
}

/// A number as a spreadsheet shows it in a general cell: whole numbers without a fraction,
/// others to 15 significant digits with trailing zeros dropped.
fn number_text(number: f64) -> String {
    if !number.is_finite() {
        return number.to_string();
    }
    if number.fract() == 0.0 && number.abs() < 1e15 {
        return format!("{}", number as i64);
    }
    let magnitude = number.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).clamp(0, 30) as usize;
    let text = format!("{number:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A duration in days as `H:MM:SS`, hours running past 24.
fn duration_text(days: f64) -> String {
    let seconds = (days * 86_400.0).round() as i64;
    let sign = if seconds < 0 { "-" } else { "" };
    let seconds = seconds.abs();
    format!(
        "{sign}{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// An ISO 8601 date or date-time from an `OpenDocument` cell, as a person would type it: the date
/// alone at midnight, otherwise with a space before the time.
fn iso_text(text: &str) -> String {
    match text.split_once('T') {
        Some((date, time)) if time.trim_start_matches(['0', ':', '.']).is_empty() => {
            date.to_owned()
        }
        Some((date, time)) => format!("{date} {time}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cells_read_as_a_person_typed_them() {
        let date = |serial| {
            cell_text(&Data::DateTime(ExcelDateTime::new(
                serial,
                ExcelDateTimeType::DateTime,
                false,
            )))
        };
        assert_eq!(cell_text(&Data::Float(1.0)), "1");
        assert_eq!(cell_text(&Data::Float(4_155_550_100.0)), "4155550100");
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(cell_text(&Data::Float(-2.5)), "-2.5");
        assert_eq!(cell_text(&Data::Int(42)), "42");
        assert_eq!(cell_text(&Data::String("00123".into())), "00123");
        assert_eq!(cell_text(&Data::Bool(true)), "TRUE");
        assert_eq!(cell_text(&Data::Error(CellErrorType::NA)), "#N/A");
        assert_eq!(date(46_357.0), "2026-12-01");
        assert_eq!(date(46_357.5), "2026-12-01 12:00:00");
        assert_eq!(date(0.25), "06:00:00");
        assert_eq!(
            cell_text(&Data::DateTimeIso("2026-12-01T00:00:00".into())),
            "2026-12-01"
        );
        assert_eq!(
            cell_text(&Data::DateTimeIso("2026-12-01T09:30:00".into())),
            "2026-12-01 09:30:00"
        );
        assert_eq!(
            cell_text(&Data::DateTimeIso("2026-12-01".into())),
            "2026-12-01"
        );
        assert_eq!(duration_text(1.5), "36:00:00");
    }

    #[test]
    fn workbooks_are_told_by_their_first_bytes() {
        assert!(is_workbook(b"PK\x03\x04rest"));
        assert!(is_workbook(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"));
        assert!(!is_workbook(b"Email\tName\n"));
    }
}
