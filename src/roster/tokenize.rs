//! Splitting decoded roster text into records of cells, each with the line it starts on.
//!
//! The dialect is the one `csv-core` reads by default, which is what spreadsheets write: a cell
//! that starts with `"` is quoted and may hold delimiters and line breaks, `""` inside it is one
//! quote, and a quote anywhere else is an ordinary character. Blank lines are not records.
//!
//! This is a small state machine of its own rather than the `csv` crate because the roster
//! needs three things `csv` does not expose:
//!
//! - the line a record *starts* on, even after blank lines (`csv` reports where the previous
//!   record ended);
//! - an error for a quote that never closes (`csv` quietly reads the rest of the file into one
//!   cell);
//! - a bound on a quoted cell, so that such a quote cannot pull a million-row file into memory.
//!
//! Line breaks are `\n` or `\r\n`. A file whose first part has no `\n` at all but has `\r` (Excel
//! for Mac's old "CSV (Macintosh)") uses lone `\r` as its line break instead; anywhere else a
//! lone `\r` is an ordinary character, which cell trimming later removes.

use std::io::{self, BufRead};

use super::decode::DecodeFailure;
use super::error::RosterError;

/// A quoted cell spanning more lines than this is taken to be an unclosed quote.
pub(crate) const MAX_QUOTED_LINES: u64 = 1_000;

/// A quoted cell longer than this, in bytes, is taken to be an unclosed quote.
pub(crate) const MAX_QUOTED_BYTES: usize = 1024 * 1024;

/// One record: its cells as parsed (quotes removed, nothing trimmed) and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// The physical line (1-based) of the record's first character, for messages that send a
    /// person to a text editor.
    pub line: u64,
    /// The spreadsheet row (1-based) the record is on: like `line`, but a line break inside a
    /// quoted cell does not start a new row, as in a spreadsheet.
    pub row: u64,
    /// The cells, in column order.
    pub cells: Vec<String>,
}

impl Record {
    /// Whether every cell is empty once trimmed: a blank or delimiter-only row.
    pub(crate) fn is_blank(&self) -> bool {
        self.cells.iter().all(|cell| trim_cell(cell).is_empty())
    }
}

/// Trims what spreadsheets leave around a cell: whitespace of every kind (no-break spaces
/// included), stray carriage returns, zero-width spaces and byte order marks.
pub(crate) fn trim_cell(cell: &str) -> &str {
    cell.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
            )
    })
}

/// Where the state machine is within a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records: line breaks here are blank lines.
    StartRecord,
    /// At the start of a cell.
    StartCell,
    /// Inside an unquoted cell.
    InCell,
    /// Inside a quoted cell.
    InQuoted,
    /// Just after a quote inside a quoted cell: a second quote is a literal one.
    AfterQuote,
}

/// A record being read.
struct Partial {
    state: State,
    cells: Vec<String>,
    cell: Vec<u8>,
    /// The line the record starts on.
    start_line: u64,
    /// The spreadsheet row the record is on.
    start_row: u64,
    /// The line the open quoted cell starts on.
    quote_line: u64,
}

impl Partial {
    fn new(line: u64, row: u64) -> Partial {
        Partial {
            state: State::StartRecord,
            cells: Vec::new(),
            cell: Vec::new(),
            start_line: line,
            start_row: row,
            quote_line: 0,
        }
    }

    /// Ends the current cell.
    fn end_cell(&mut self) {
        self.cells.push(into_string(std::mem::take(&mut self.cell)));
    }

    /// Handles the first byte of a cell.
    fn start_cell(&mut self, byte: u8, delimiter: u8, line: u64) {
        self.state = if byte == b'"' {
            self.quote_line = line;
            State::InQuoted
        } else if byte == delimiter {
            self.end_cell();
            State::StartCell
        } else {
            self.cell.push(byte);
            State::InCell
        };
    }

    /// The finished record.
    fn finish(mut self) -> Record {
        self.end_cell();
        Record {
            line: self.start_line,
            row: self.start_row,
            cells: self.cells,
        }
    }
}

/// The position and line-break rules, kept apart from the input so that the scanning loop can
/// update them while it borrows the input's buffer.
struct Scanner {
    /// The cell separator, an ASCII byte.
    delimiter: u8,
    /// Whether a lone `\r` ends a line (see the module docs).
    cr_ends_line: bool,
    /// The line of the next byte.
    line: u64,
    /// The spreadsheet row of the next byte: lines less the breaks inside quoted cells.
    row: u64,
    /// Whether the previous byte was a `\r` that ended a line, so a `\n` after it is skipped.
    after_cr_break: bool,
}

impl Scanner {
    /// Feeds one byte to a record. Returns true when the byte ends the record.
    fn step(&mut self, partial: &mut Partial, byte: u8) -> Result<bool, RosterError> {
        if std::mem::take(&mut self.after_cr_break) && byte == b'\n' {
            return Ok(false);
        }
        let line_break = byte == b'\n' || (byte == b'\r' && self.cr_ends_line);
        self.after_cr_break = line_break && byte == b'\r';
        match partial.state {
            State::StartRecord if line_break => {
                self.line += 1;
                self.row += 1;
            }
            State::StartRecord => {
                partial.start_line = self.line;
                partial.start_row = self.row;
                partial.start_cell(byte, self.delimiter, self.line);
            }
            State::StartCell | State::InCell | State::AfterQuote if line_break => {
                self.line += 1;
                self.row += 1;
                if byte == b'\n' && partial.cell.last() == Some(&b'\r') {
                    partial.cell.pop();
                }
                return Ok(true);
            }
            State::StartCell => partial.start_cell(byte, self.delimiter, self.line),
            State::InCell if byte == self.delimiter => {
                partial.end_cell();
                partial.state = State::StartCell;
            }
            State::InCell => partial.cell.push(byte),
            State::InQuoted if byte == b'"' => partial.state = State::AfterQuote,
            State::InQuoted => {
                if line_break {
                    self.line += 1;
                }
                partial.cell.push(if line_break { b'\n' } else { byte });
                let too_long = self.line - partial.quote_line > MAX_QUOTED_LINES
                    || partial.cell.len() > MAX_QUOTED_BYTES;
                if too_long {
                    return Err(RosterError::UnterminatedQuote {
                        line: partial.quote_line,
                    });
                }
            }
            State::AfterQuote if byte == b'"' => {
                partial.cell.push(b'"');
                partial.state = State::InQuoted;
            }
            State::AfterQuote if byte == self.delimiter => {
                partial.end_cell();
                partial.state = State::StartCell;
            }
            State::AfterQuote => {
                partial.cell.push(byte);
                partial.state = State::InCell;
            }
        }
        Ok(false)
    }
}

/// Reads records from decoded text.
pub(crate) struct Tokenizer<R> {
    /// The decoded text.
    input: R,
    scanner: Scanner,
    /// Set once the input has ended or failed: no more records.
    done: bool,
}

impl<R: BufRead> Tokenizer<R> {
    /// Reads records from `input`, separating cells by `delimiter`.
    pub(crate) fn new(input: R, delimiter: u8, cr_ends_line: bool) -> Tokenizer<R> {
        let scanner = Scanner {
            delimiter,
            cr_ends_line,
            line: 1,
            row: 1,
            after_cr_break: false,
        };
        Tokenizer {
            input,
            scanner,
            done: false,
        }
    }

    /// Reads the next record, blank lines skipped. `None` at the end of the input.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, RosterError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_record();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_record(&mut self) -> Result<Option<Record>, RosterError> {
        let mut partial = Partial::new(self.scanner.line, self.scanner.row);
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(read_error(error, self.scanner.line)),
            };
            if buffer.is_empty() {
                return match partial.state {
                    State::StartRecord => Ok(None),
                    State::InQuoted => Err(RosterError::UnterminatedQuote {
                        line: partial.quote_line,
                    }),
                    _ => Ok(Some(partial.finish())),
                };
            }
            let mut used = 0;
            let mut ended = false;
            for &byte in buffer {
                used += 1;
                if self.scanner.step(&mut partial, byte)? {
                    ended = true;
                    break;
                }
            }
            self.input.consume(used);
            if ended {
                return Ok(Some(partial.finish()));
            }
        }
    }
}

/// Turns a read failure at `line` into a roster error, recovering a decoding failure's own
/// position.
pub(crate) fn read_error(error: io::Error, line: u64) -> RosterError {
    let is_decoding = error
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<DecodeFailure>);
    if is_decoding {
        if let Some(Ok(failure)) = error
            .into_inner()
            .map(<dyn std::error::Error + Send + Sync>::downcast::<DecodeFailure>)
        {
            return RosterError::Encoding {
                line: failure.line,
                encoding: failure.encoding,
                bytes: failure.bytes,
            };
        }
        unreachable!("the inner error was checked to be a decoding failure");
    }
    RosterError::Read {
        line,
        source: error,
    }
}

/// Turns a cell's bytes into text. The input was decoded to UTF-8 and cells split only at ASCII
/// bytes, so this cannot fail; were it ever to, the cell keeps U+FFFD, which the checks refuse.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, delimiter: u8) -> Vec<(u64, Vec<String>)> {
        let mut tokenizer = Tokenizer::new(text.as_bytes(), delimiter, false);
        let mut all = Vec::new();
        while let Some(record) = tokenizer.next_record().unwrap() {
            all.push((record.line, record.cells));
        }
        all
    }

    fn row(line: u64, cells: &[&str]) -> (u64, Vec<String>) {
        (line, cells.iter().map(|&cell| cell.to_owned()).collect())
    }

    #[test]
    fn records_start_where_they_start_after_blank_lines() {
        let text = "a,b\n\n\nc,d\r\n\r\ne,f";
        assert_eq!(
            records(text, b','),
            [
                row(1, &["a", "b"]),
                row(4, &["c", "d"]),
                row(5, &[""]),
                row(6, &["e", "f"])
            ]
        );
    }

    #[test]
    fn quoted_cells_hold_delimiters_quotes_and_line_breaks() {
        let text = "\"Smith, Ann\",\"say \"\"hi\"\"\"\n\"two\nlines\",x\ny,z\n";
        assert_eq!(
            records(text, b','),
            [
                row(1, &["Smith, Ann", "say \"hi\""]),
                row(2, &["two\nlines", "x"]),
                row(4, &["y", "z"])
            ]
        );
    }

    #[test]
    fn a_quote_inside_an_unquoted_cell_is_ordinary() {
        assert_eq!(
            records("O\"Neil,\"a\"b\n", b','),
            [row(1, &["O\"Neil", "ab"])]
        );
    }

    #[test]
    fn delimiters_and_trailing_cells() {
        assert_eq!(
            records("a;b;\n;;\n", b';'),
            [row(1, &["a", "b", ""]), row(2, &["", "", ""])]
        );
        assert_eq!(records("a\tb", b'\t'), [row(1, &["a", "b"])]);
    }

    #[test]
    fn lone_carriage_returns_end_lines_only_in_mac_files() {
        let mut tokenizer = Tokenizer::new(&b"a,b\r\rc,d\r"[..], b',', true);
        assert_eq!(tokenizer.next_record().unwrap().unwrap().line, 1);
        let record = tokenizer.next_record().unwrap().unwrap();
        assert_eq!((record.line, record.cells), row(3, &["c", "d"]));
        assert_eq!(records("a\r,b\n", b','), [row(1, &["a\r", "b"])]);
    }

    #[test]
    fn an_unclosed_quote_names_its_line() {
        let mut tokenizer = Tokenizer::new(&b"a,b\nc,\"d\ne,f\n"[..], b',', false);
        tokenizer.next_record().unwrap();
        assert!(matches!(
            tokenizer.next_record(),
            Err(RosterError::UnterminatedQuote { line: 2 })
        ));
        assert!(tokenizer.next_record().unwrap().is_none());
    }

    #[test]
    fn a_runaway_quote_stops_before_memory_grows() {
        let text = format!("a,\"b\n{}", "x,y\n".repeat(5_000));
        let mut tokenizer = Tokenizer::new(text.as_bytes(), b',', false);
        assert!(matches!(
            tokenizer.next_record(),
            Err(RosterError::UnterminatedQuote { line: 1 })
        ));
    }

    #[test]
    fn trimming_takes_no_break_spaces_and_stray_returns() {
        assert_eq!(trim_cell("\u{a0} Ann\u{200b}\r"), "Ann");
        assert_eq!(trim_cell("Ann Lee"), "Ann Lee");
    }
}
