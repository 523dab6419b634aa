//! Opening a roster and streaming its rows: the public entry points of the module.
//!
//! [`Roster::open`] reads only the top of the file: enough to choose the encoding, the
//! delimiter and the header, and to map the columns. [`Roster::rows`] then streams the rest one
//! record at a time, so memory does not grow with the file (the set of seen emails aside, see
//! `check`). [`preflight`] is the same read without the checks, run to the end before anything
//! is sent, so that a problem deep in the file stops the run before its first create call.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use encoding_rs::Encoding;

use super::check::{Checker, RosterRow};
use super::decode::{Decoded, EncodingSource, choose_encoding};
use super::error::RosterError;
use super::header::{ColumnChoice, Field, choose_header, is_label_row, map_columns};
use super::tokenize::{Record, Tokenizer, read_error};
use crate::zoom::rules::Action;

/// How to read a roster: the command line's choices, with `None` meaning "find out".
#[derive(Debug, Clone)]
pub struct RosterOptions {
    /// The action for rows without an action cell (`--action`).
    pub default_action: Action,
    /// The user type for rows without a type cell (`--type`).
    pub default_type: i64,
    /// The encoding (`--encoding`); `None` detects it. A byte order mark still wins.
    pub encoding: Option<&'static Encoding>,
    /// The delimiter (`--delimiter`), an ASCII byte; `None` detects comma, semicolon or tab.
    pub delimiter: Option<u8>,
    /// The header's line, from 1 (`--header-row`); `None` finds it.
    pub header_row: Option<u64>,
    /// Columns named by hand (`--map field=HEADER`); a later entry for a field wins.
    pub column_map: Vec<(Field, String)>,
}

impl Default for RosterOptions {
    fn default() -> RosterOptions {
        RosterOptions {
            default_action: Action::Create,
            default_type: 1,
            encoding: None,
            delimiter: None,
            header_row: None,
            column_map: Vec::new(),
        }
    }
}

/// What the reader chose, for reporting (`check` prints it).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The encoding the roster is read in.
    pub encoding: &'static Encoding,
    /// How the encoding was chosen.
    pub encoding_source: EncodingSource,
    /// The cell delimiter.
    pub delimiter: u8,
    /// The header's line.
    pub header_row: u64,
    /// The line of a second label row under the header, skipped, if there was one.
    pub label_row: Option<u64>,
    /// The header cells as written.
    pub headers: Vec<String>,
    /// Which column fills which field, in field order.
    pub columns: Vec<ColumnChoice>,
    /// Whether the full-name column is sent as `display_name`.
    pub full_name_as_display: bool,
}

impl Layout {
    /// The encoding's name, e.g. `UTF-8` or `windows-1252`.
    #[must_use]
    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    /// The delimiter in words: `comma`, `semicolon`, `tab`, or the character itself.
    #[must_use]
    pub fn delimiter_name(&self) -> String {
        match self.delimiter {
            b',' => "comma".to_owned(),
            b';' => "semicolon".to_owned(),
            b'\t' => "tab".to_owned(),
            other => format!("\"{}\"", char::from(other)),
        }
    }

    /// The column chosen for `field`, if any.
    #[must_use]
    pub fn column(&self, field: Field) -> Option<&ColumnChoice> {
        self.columns.iter().find(|choice| choice.field == field)
    }
}

/// The decoded text of a roster, as the tokenizer reads it.
type Text = Box<dyn BufRead + Send>;

/// How many lines from the top are read before the header and delimiter are chosen, beyond any
/// `--header-row`.
const TOP_LINES: u64 = 2 * super::header::HEADER_SEARCH_RECORDS as u64;

/// The most bytes read from the top, unless `--header-row` points further down.
const TOP_BYTES: usize = 1024 * 1024;

/// An opened roster whose header is found and columns mapped, ready to stream its rows.
pub struct Roster {
    layout: Layout,
    rows: RosterRows,
}

impl Roster {
    /// Opens the roster, decodes its top, finds the header and maps the columns.
    ///
    /// Every whole-roster problem found in the top of the file is returned here; problems
    /// further down arrive from [`RosterRows`] or, earlier, from [`preflight`].
    pub fn open(path: &Path, options: &RosterOptions) -> Result<Roster, RosterError> {
        if let Some(delimiter) = options.delimiter.filter(|delimiter| !delimiter.is_ascii()) {
            return Err(RosterError::Delimiter { delimiter });
        }
        let file = File::open(path).map_err(|source| RosterError::Open {
            path: path.to_owned(),
            source,
        })?;
        Roster::from_reader(Box::new(file), options)
    }

    /// Reads a roster from any byte stream; [`Roster::open`] is this on a file.
    pub fn from_reader(
        mut raw: Box<dyn Read + Send>,
        options: &RosterOptions,
    ) -> Result<Roster, RosterError> {
        let mut head = Vec::new();
        raw.by_ref()
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|source| RosterError::Read { line: 1, source })?;
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xD0\xCF\x11\xE0") {
            return Err(RosterError::Workbook);
        }
        let (encoding, encoding_source, mark) = choose_encoding(&head, options.encoding);
        head.drain(..mark);
        let mut decoded = Decoded::new(Cursor::new(head).chain(raw), encoding);

        let (top, complete) = read_top(&mut decoded, options.header_row)?;
        let cr_ends_line = !top.contains(&b'\n') && top.contains(&b'\r');
        let read_top_with = |delimiter| tokenize_top(&top, delimiter, cr_ends_line, complete);
        let guess = choose_header(
            read_top_with,
            options.delimiter,
            options.header_row,
            &options.column_map,
        )
        .ok_or(match options.header_row {
            Some(line) => RosterError::HeaderRowMissing { line },
            None => RosterError::Empty,
        })?;
        let header = guess.record;
        let columns = map_columns(&header.cells, header.line, &options.column_map)?;

        let text: Text = Box::new(BufReader::with_capacity(
            64 * 1024,
            Cursor::new(top).chain(decoded),
        ));
        let mut tokenizer = Tokenizer::new(text, guess.delimiter, cr_ends_line);
        while tokenizer
            .next_record()?
            .is_some_and(|record| record.line < header.line)
        {}

        let email_position = columns
            .iter()
            .find(|choice| choice.field == Field::Email)
            .map(|choice| choice.column.position)
            .ok_or_else(|| RosterError::MissingEmailColumn {
                line: header.line,
                headers: header.cells.clone(),
            })?;
        let mut label_row = None;
        let mut pending = None;
        while let Some(record) = tokenizer.next_record()? {
            if record.is_blank() {
                continue;
            }
            if is_label_row(&record.cells, email_position) {
                label_row = Some(record.line);
            } else {
                pending = Some(record);
            }
            break;
        }

        let checker = Checker::new(
            &columns,
            header.cells.len(),
            options.default_action,
            options.default_type,
        );
        let layout = Layout {
            encoding,
            encoding_source,
            delimiter: guess.delimiter,
            header_row: header.line,
            label_row,
            headers: header.cells,
            columns,
            full_name_as_display: checker.full_name_as_display(),
        };
        let rows = RosterRows {
            tokenizer,
            pending,
            checker,
            layout: layout.clone(),
        };
        Ok(Roster { layout, rows })
    }

    /// What the reader chose: encoding, delimiter, header row and column mapping.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Streams the data rows, checked, in roster order.
    #[must_use]
    pub fn rows(self) -> RosterRows {
        self.rows
    }
}

/// Reads decoded text from the top of the roster: at least [`TOP_LINES`] lines past any
/// `--header-row`, up to [`TOP_BYTES`]. Returns the text and whether it is the whole roster.
fn read_top<R: Read>(
    decoded: &mut Decoded<R>,
    header_row: Option<u64>,
) -> Result<(Vec<u8>, bool), RosterError> {
    let wanted_lines = header_row.unwrap_or(0) + TOP_LINES;
    let mut top = Vec::new();
    let (mut line_feeds, mut returns) = (0, 0);
    let mut chunk = vec![0; 8192];
    loop {
        let count = match decoded.read(&mut chunk) {
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(read_error(error, line_feeds.max(returns) + 1)),
        };
        if count == 0 {
            return Ok((top, true));
        }
        let read = &chunk[..count];
        // A file ends its lines with `\n`, `\r\n` or (old Mac) `\r`: the larger count is right.
        for &byte in read {
            match byte {
                b'\n' => line_feeds += 1,
                b'\r' => returns += 1,
                _ => {}
            }
        }
        let lines = line_feeds.max(returns);
        top.extend_from_slice(read);
        let past_header = header_row.is_none_or(|line| lines > line);
        if lines >= wanted_lines || (top.len() >= TOP_BYTES && past_header) {
            return Ok((top, false));
        }
    }
}

/// Tokenizes the top of the roster with one delimiter, for choosing the header. When the top
/// is not the whole roster its last record may be cut short, so it is left out; a problem is
/// left for the real read to report.
fn tokenize_top(top: &[u8], delimiter: u8, cr_ends_line: bool, complete: bool) -> Vec<Record> {
    let mut tokenizer = Tokenizer::new(top, delimiter, cr_ends_line);
    let mut records = Vec::new();
    while let Ok(Some(record)) = tokenizer.next_record() {
        records.push(record);
    }
    if !complete {
        records.pop();
    }
    records
}

/// The data rows of a roster, checked, streamed in roster order.
///
/// Blank and delimiter-only rows are skipped and not yielded. An `Err` is a whole-roster
/// problem met mid-stream (a bad byte, an unclosed quote); nothing follows it.
pub struct RosterRows {
    tokenizer: Tokenizer<Text>,
    /// The first data row, read while looking for a label row under the header.
    pending: Option<Record>,
    checker: Checker,
    layout: Layout,
}

impl RosterRows {
    /// What the reader chose, as [`Roster::layout`].
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The next non-blank record, unchecked.
    fn next_record(&mut self) -> Result<Option<Record>, RosterError> {
        if let Some(record) = self.pending.take() {
            return Ok(Some(record));
        }
        while let Some(record) = self.tokenizer.next_record()? {
            if !record.is_blank() {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }
}

impl Iterator for RosterRows {
    type Item = Result<RosterRow, RosterError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(self.checker.check(record.line, record.cells))),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

/// What the first pass found.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// How many data rows [`Roster::rows`] will yield.
    pub data_rows: u64,
    /// What the reader chose.
    pub layout: Layout,
}

/// Reads the whole roster once, without checking rows, to find every whole-roster problem
/// before anything is sent: a bad byte or an unclosed quote anywhere, a missing or doubled
/// column.
pub fn preflight(path: &Path, options: &RosterOptions) -> Result<Preflight, RosterError> {
    let roster = Roster::open(path, options)?;
    let layout = roster.layout.clone();
    let mut rows = roster.rows();
    let mut data_rows = 0;
    while rows.next_record()?.is_some() {
        data_rows += 1;
    }
    Ok(Preflight { data_rows, layout })
}
