//! Opening a roster and streaming its rows: the public entry points of the module.
//!
//! [`Roster::open`] reads only the top of the file: enough to choose the encoding, the
//! delimiter and the header, and to map the columns. [`Roster::rows`] then streams the rest one
//! record at a time, so memory does not grow with the file (the set of seen emails aside, see
//! `check`). Text and workbooks differ only until the header is found; after it, both are a
//! `RecordSource`. [`preflight`] is the same read without the checks, run to the end before anything
//! is sent, so that a problem deep in the file stops the run before its first create call.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::Encoding;

use super::check::{Checker, RosterRow};
use super::decode::{Decoded, EncodingSource, choose_encoding};
use super::error::RosterError;
use super::header::{ColumnChoice, Field, choose_header, find_header, is_label_row, map_columns};
use super::select::{ChosenFilter, RowFilter, Selection};
use super::source::RecordSource;
use super::tokenize::{Record, Tokenizer, read_error};
use super::workbook::{self, Sheet};
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
    /// The sheet of a workbook roster (`--sheet`); `None` reads the first sheet.
    pub sheet: Option<String>,
    /// Which data rows are hires (`--where`, `--skip-where`); empty keeps every row.
    pub filters: Vec<RowFilter>,
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
            sheet: None,
            filters: Vec::new(),
        }
    }
}

/// How a setting of the reader was arrived at, for reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// A command-line option gave it.
    ByOption,
    /// The reader found it in the file.
    Detected,
}

impl Decided {
    fn from_option<T>(option: Option<&T>) -> Decided {
        if option.is_some() {
            Decided::ByOption
        } else {
            Decided::Detected
        }
    }
}

/// What kind of file the roster is, and how it is read.
#[derive(Debug, Clone)]
pub enum Format {
    /// Delimited text (CSV, semicolon- or tab-separated).
    Text {
        /// The encoding the roster is read in.
        encoding: &'static Encoding,
        /// How the encoding was chosen.
        encoding_source: EncodingSource,
        /// The cell delimiter.
        delimiter: u8,
        /// How the delimiter was chosen.
        delimiter_decided: Decided,
    },
    /// One sheet of a workbook.
    Workbook(Sheet),
}

/// What the reader chose, for reporting (`check` prints it).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The kind of file, and its encoding and delimiter or its sheet.
    pub format: Format,
    /// The header's line (the sheet's row number in a workbook).
    pub header_row: u64,
    /// How the header row was chosen.
    pub header_decided: Decided,
    /// The line of a second label row under the header, skipped, if there was one.
    pub label_row: Option<u64>,
    /// The header cells as written.
    pub headers: Vec<String>,
    /// Which column fills which field, in field order.
    pub columns: Vec<ColumnChoice>,
    /// Whether the full-name column is sent as `display_name`.
    pub full_name_as_display: bool,
    /// The row filters, with the columns they read.
    pub filters: Vec<ChosenFilter>,
}

impl Layout {
    /// The encoding of a text roster; `None` for a workbook.
    #[must_use]
    pub fn encoding(&self) -> Option<&'static Encoding> {
        match self.format {
            Format::Text { encoding, .. } => Some(encoding),
            Format::Workbook(_) => None,
        }
    }

    /// The encoding's name, e.g. `UTF-8` or `windows-1252`; `None` for a workbook.
    #[must_use]
    pub fn encoding_name(&self) -> Option<&'static str> {
        self.encoding().map(Encoding::name)
    }

    /// The delimiter of a text roster; `None` for a workbook.
    #[must_use]
    pub fn delimiter(&self) -> Option<u8> {
        match self.format {
            Format::Text { delimiter, .. } => Some(delimiter),
            Format::Workbook(_) => None,
        }
    }

    /// The delimiter in words: `comma`, `semicolon`, `tab`, or the character itself; `None`
    /// for a workbook.
    #[must_use]
    pub fn delimiter_name(&self) -> Option<String> {
        self.delimiter().map(|delimiter| match delimiter {
            b',' => "comma".to_owned(),
            b';' => "semicolon".to_owned(),
            b'\t' => "tab".to_owned(),
            other => format!("\"{}\"", char::from(other)),
        })
    }

    /// The column chosen for `field`, if any.
    #[must_use]
    pub fn column(&self, field: Field) -> Option<&ColumnChoice> {
        self.columns.iter().find(|choice| choice.field == field)
    }
}

/// How many data rows `--where` and `--skip-where` have left out so far.
///
/// A handle shared between [`RosterRows`], which counts on whatever thread reads the rows, and
/// whoever reports, which reads the count once the rows are all read. Each count is a single
/// relaxed atomic add: no other memory is published through it.
#[derive(Debug, Clone, Default)]
pub struct LeftOut(Arc<AtomicU64>);

impl LeftOut {
    /// Rows left out so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
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
    /// Opens the roster, reads its top, finds the header and maps the columns.
    ///
    /// A file whose first bytes are a workbook's is read as one (see `workbook`); anything
    /// else is delimited text. Every whole-roster problem found in the top of the file is
    /// returned here; problems further down arrive from [`RosterRows`] or, earlier, from
    /// [`preflight`].
    pub fn open(path: &Path, options: &RosterOptions) -> Result<Roster, RosterError> {
        if let Some(delimiter) = options.delimiter.filter(|delimiter| !delimiter.is_ascii()) {
            return Err(RosterError::Delimiter { delimiter });
        }
        if workbook::sniff(path)? {
            return Roster::open_workbook(path, options);
        }
        if options.sheet.is_some() {
            return Err(RosterError::SheetOfText);
        }
        let file = File::open(path).map_err(|source| RosterError::Open {
            path: path.to_owned(),
            source,
        })?;
        Roster::from_reader(Box::new(file), options)
    }

    /// Reads a text roster from any byte stream; [`Roster::open`] is this on a file that is not
    /// a workbook.
    pub fn from_reader(
        mut raw: Box<dyn Read + Send>,
        options: &RosterOptions,
    ) -> Result<Roster, RosterError> {
        let mut head = Vec::new();
        raw.by_ref()
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|source| RosterError::Read { line: 1, source })?;
        if workbook::is_workbook(&head) {
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
        .ok_or_else(|| no_header(options))?;
        let header = guess.record;

        let text: Text = Box::new(BufReader::with_capacity(
            64 * 1024,
            Cursor::new(top).chain(decoded),
        ));
        let mut tokenizer = Tokenizer::new(text, guess.delimiter, cr_ends_line);
        while tokenizer
            .next_record()?
            .is_some_and(|record| record.line < header.line)
        {}
        let format = Format::Text {
            encoding,
            encoding_source,
            delimiter: guess.delimiter,
            delimiter_decided: Decided::from_option(options.delimiter.as_ref()),
        };
        Roster::after_header(format, header, Box::new(tokenizer), options)
    }

    /// Reads a workbook roster: one sheet, with the header found in its top rows.
    fn open_workbook(path: &Path, options: &RosterOptions) -> Result<Roster, RosterError> {
        let (sheet, mut records) = workbook::open_sheet(path, options.sheet.as_deref())?;
        let last_top_line = options.header_row.unwrap_or(0) + TOP_LINES;
        let mut top = Vec::new();
        while let Some(record) = records.next_record()? {
            if record.line > last_top_line {
                break;
            }
            top.push(record);
        }
        let (_, header) = find_header(&top, options.header_row, &options.column_map)
            .ok_or_else(|| no_header(options))?;
        drop(top);

        records.rewind();
        while records
            .next_record()?
            .is_some_and(|record| record.line < header.line)
        {}
        Roster::after_header(Format::Workbook(sheet), header, Box::new(records), options)
    }

    /// Maps the columns of the header, resolves the row filters, skips a second label row,
    /// and makes the roster ready to stream its rows from `source`, which stands just after
    /// the header.
    fn after_header(
        format: Format,
        header: Record,
        mut source: Box<dyn RecordSource>,
        options: &RosterOptions,
    ) -> Result<Roster, RosterError> {
        let columns = map_columns(&header.cells, header.line, &options.column_map)?;
        let email_position = columns
            .iter()
            .find(|choice| choice.field == Field::Email)
            .map(|choice| choice.column.position)
            .ok_or_else(|| RosterError::MissingEmailColumn {
                line: header.line,
                headers: header.cells.clone(),
            })?;
        let selection = Selection::new(&options.filters, &header.cells, header.line)?;

        let mut label_row = None;
        let mut pending = None;
        while let Some(record) = source.next_record()? {
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
            format,
            header_row: header.line,
            header_decided: Decided::from_option(options.header_row.as_ref()),
            label_row,
            headers: header.cells,
            columns,
            full_name_as_display: checker.full_name_as_display(),
            filters: selection.filters().to_vec(),
        };
        let rows = RosterRows {
            source,
            pending,
            checker,
            selection,
            left_out: LeftOut::default(),
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

/// The error for a roster in which no row could be the header.
fn no_header(options: &RosterOptions) -> RosterError {
    match options.header_row {
        Some(line) => RosterError::HeaderRowMissing { line },
        None => RosterError::Empty,
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
/// Blank and delimiter-only rows are skipped and not yielded; so are rows that `--where` and
/// `--skip-where` leave out, which are counted in [`RosterRows::left_out`]. An `Err` is a
/// whole-roster problem met mid-stream (a bad byte, an unclosed quote); nothing follows it.
pub struct RosterRows {
    source: Box<dyn RecordSource>,
    /// The first data row, read while looking for a label row under the header.
    pending: Option<Record>,
    checker: Checker,
    selection: Selection,
    left_out: LeftOut,
    layout: Layout,
}

impl RosterRows {
    /// What the reader chose, as [`Roster::layout`].
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A handle on the count of rows left out by `--where` and `--skip-where`, which stays
    /// readable after the rows are handed to another thread.
    #[must_use]
    pub fn left_out(&self) -> LeftOut {
        self.left_out.clone()
    }

    /// The next non-blank record that the row filters keep, unchecked.
    fn next_record(&mut self) -> Result<Option<Record>, RosterError> {
        loop {
            let record = match self.pending.take() {
                Some(record) => record,
                None => match self.source.next_record()? {
                    Some(record) => record,
                    None => return Ok(None),
                },
            };
            if record.is_blank() {
                continue;
            }
            if self.selection.keeps(&record.cells) {
                return Ok(Some(record));
            }
            self.left_out.add_one();
        }
    }
}

impl Iterator for RosterRows {
    type Item = Result<RosterRow, RosterError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(self.checker.check(record.row, record.cells))),
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
    /// How many data rows `--where` and `--skip-where` leave out.
    pub left_out: u64,
    /// What the reader chose.
    pub layout: Layout,
}

/// Reads the whole roster once, without checking rows, to find every whole-roster problem
/// before anything is sent: a bad byte or an unclosed quote anywhere, a missing or doubled
/// column, a filter on a column that is not there.
pub fn preflight(path: &Path, options: &RosterOptions) -> Result<Preflight, RosterError> {
    let roster = Roster::open(path, options)?;
    let layout = roster.layout.clone();
    let mut rows = roster.rows();
    let mut data_rows = 0;
    while rows.next_record()?.is_some() {
        data_rows += 1;
    }
    Ok(Preflight {
        data_rows,
        left_out: rows.left_out.count(),
        layout,
    })
}
