//! Whole-roster problems: the ones that stop a run before anything is sent.
//!
//! A bad row is not here. It becomes [`Verdict::Invalid`](super::Verdict::Invalid) and the run
//! goes on. What is here is wrong with the file as a whole: it cannot be opened or decoded, a
//! quote never closes, or its header does not say where the email is. Every variant names the
//! place to look (a path, a line, a column) and, on its own line, what to do about it.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use super::header::{Column, Field};

/// A problem with the roster as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// The roster file could not be opened.
    #[error("cannot open roster {}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// Why the system refused.
        #[source]
        source: io::Error,
    },

    /// Reading the roster failed part way.
    #[error("cannot read roster at line {line}")]
    Read {
        /// The line being read when it failed.
        line: u64,
        /// Why the read failed.
        #[source]
        source: io::Error,
    },

    /// A byte sequence is not valid in the roster's encoding.
    #[error(
        "line {line} is not valid {encoding}: {bytes} cannot be decoded\nhint: {}",
        encoding_hint(.encoding)
    )]
    Encoding {
        /// The physical line holding the bad bytes.
        line: u64,
        /// The encoding the roster was being read in, e.g. `UTF-8`.
        encoding: &'static str,
        /// The bad bytes in hex, e.g. `byte 0xE9`.
        bytes: String,
    },

    /// A workbook was given as a stream of bytes; a workbook is read only from a file.
    #[error(
        "roster is a spreadsheet workbook, which is read only from a file\n\
         hint: give the workbook's path, or save the sheet as \"CSV UTF-8\" and use that"
    )]
    Workbook,

    /// The workbook could not be read.
    #[error("cannot read workbook {}", path.display())]
    WorkbookUnreadable {
        /// The path given.
        path: PathBuf,
        /// What the workbook reader found wrong.
        #[source]
        source: calamine::Error,
    },

    /// `--sheet` names a sheet the workbook does not have.
    #[error("no sheet named \"{}\" in the workbook\nsheets found: {}", visible(.sheet), list_sheets(.sheets))]
    SheetMissing {
        /// The sheet asked for.
        sheet: String,
        /// The workbook's sheets, in order.
        sheets: Vec<String>,
    },

    /// `--sheet` was given for a roster that is not a workbook.
    #[error(
        "--sheet applies only to workbooks, and this roster is delimited text\n\
         hint: leave out --sheet"
    )]
    SheetOfText,

    /// `--where` or `--skip-where` names a column the header does not have.
    #[error(
        "{option} names no column {} of the header on line {line}\nheaders found: {}",
        quote_for_shell(.column),
        list_headers(.headers)
    )]
    FilterColumnMissing {
        /// `--where` or `--skip-where`.
        option: &'static str,
        /// The column as given.
        column: String,
        /// The header's line.
        line: u64,
        /// The header cells as written.
        headers: Vec<String>,
    },

    /// `--delimiter` named a byte that is not an ASCII character.
    #[error("delimiter 0x{delimiter:02X} is not an ASCII character\nhint: use , ; or TAB")]
    Delimiter {
        /// The byte given.
        delimiter: u8,
    },

    /// A quoted cell never closes, so the rest of the file would read as one cell.
    #[error(
        "quote opened on line {line} is never closed\n\
         hint: a cell that starts with \" must end with \"; write a quote inside it as \"\""
    )]
    UnterminatedQuote {
        /// The line where the quoted cell starts.
        line: u64,
    },

    /// The roster holds no rows at all.
    #[error("roster is empty: it has no header and no rows")]
    Empty,

    /// `--header-row N` points at a line where no row starts.
    #[error(
        "no row starts on line {line}, so it cannot be the header\n\
         hint: --header-row counts lines from 1, as a spreadsheet numbers its rows"
    )]
    HeaderRowMissing {
        /// The line asked for.
        line: u64,
    },

    /// No header row names an email column.
    #[error(
        "no email column in the header on line {line}\nheaders found: {}\n\
         hint: name the column that holds the work email, e.g. --map email={}",
        list_headers(.headers),
        suggest_header(.headers)
    )]
    MissingEmailColumn {
        /// The line taken as the header (the best candidate when none named an email).
        line: u64,
        /// The header cells as written.
        headers: Vec<String>,
    },

    /// Two columns both map to one field and nothing says which to use.
    #[error(
        "columns {} and {} both look like the {field} column (header on line {line})\n\
         hint: choose one with --map {field}={}",
        first.describe(),
        second.describe(),
        quote_for_shell(&second.header)
    )]
    DuplicateColumn {
        /// The field both columns map to.
        field: Field,
        /// The header's line.
        line: u64,
        /// The first column found.
        first: Column,
        /// The second column found.
        second: Column,
    },

    /// `--map field=HEADER` names a header the roster does not have.
    #[error(
        "--map {field}={} names no column of the header on line {line}\nheaders found: {}",
        quote_for_shell(.header),
        list_headers(.headers)
    )]
    MappedColumnMissing {
        /// The field being mapped.
        field: Field,
        /// The header text given to `--map`.
        header: String,
        /// The header's line.
        line: u64,
        /// The header cells as written.
        headers: Vec<String>,
    },
}

/// The advice for a decoding failure, depending on what was being decoded.
fn encoding_hint(encoding: &str) -> &'static str {
    match encoding {
        "UTF-8" => {
            "the roster is not UTF-8; if Excel on Windows saved it, try --encoding windows-1252 \
             (or name its encoding with --encoding LABEL, e.g. iso-8859-2, shift_jis)"
        }
        "UTF-16LE" | "UTF-16BE" => {
            "the file is damaged, or is not UTF-16 despite its byte order mark"
        }
        _ => "check that --encoding names the encoding the roster was saved in",
    }
}

/// Lists header cells with their column letters, invisible characters made visible.
fn list_headers(headers: &[String]) -> String {
    if headers.is_empty() {
        return "(none)".to_owned();
    }
    headers
        .iter()
        .enumerate()
        .map(|(position, header)| Column::new(position, header).describe())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lists sheet names, quoted, invisible characters made visible.
fn list_sheets(sheets: &[String]) -> String {
    if sheets.is_empty() {
        return "(none)".to_owned();
    }
    sheets
        .iter()
        .map(|sheet| format!("\"{}\"", visible(sheet)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Picks the header most likely to be the email for the `--map` example in a hint.
fn suggest_header(headers: &[String]) -> String {
    let likely = headers
        .iter()
        .find(|header| header.to_lowercase().contains("mail"))
        .or_else(|| headers.iter().find(|header| !header.trim().is_empty()))
        .map_or("HEADER", String::as_str);
    // `--map` compares headers loosely, so the example can be typed without the invisible
    // characters that made the header hard to match in the first place.
    let typable: String = likely
        .chars()
        .filter(|&c| !is_invisible(c) || c.is_whitespace())
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    quote_for_shell(typable.trim())
}

/// Whether a character would not show, or would look like a plain space, when printed.
fn is_invisible(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}' | '\u{fffd}'
        )
}

/// Writes a header as it would be typed on a command line: quoted when it holds anything but
/// letters, digits and `_`.
pub(crate) fn quote_for_shell(header: &str) -> String {
    if !header.is_empty() && header.chars().all(|c| c.is_alphanumeric() || c == '_') {
        header.to_owned()
    } else {
        format!("\"{}\"", visible(header).replace('"', "\\\""))
    }
}

/// Makes invisible and look-alike characters visible as `\u{..}` escapes, so a header such as
/// `Email` followed by a no-break space can be told from plain `Email`.
#[must_use]
pub fn visible(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) {
            // Writing to a `String` cannot fail.
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_no_break_spaces_and_zero_widths() {
        assert_eq!(visible("E\u{a0}mail\u{200b}"), "E\\u{a0}mail\\u{200b}");
        assert_eq!(visible("First Name"), "First Name");
    }

    #[test]
    fn missing_email_message_lists_headers_and_shows_map() {
        let error = RosterError::MissingEmailColumn {
            line: 2,
            headers: vec!["Name".into(), "Mail\u{a0}Addr".into()],
        };
        let text = error.to_string();
        assert!(
            text.starts_with("no email column in the header on line 2\n"),
            "{text}"
        );
        assert!(text.contains("A \"Name\", B \"Mail\\u{a0}Addr\""), "{text}");
        assert!(text.contains("hint: name the column"), "{text}");
        assert!(text.contains("--map email=\"Mail Addr\""), "{text}");
    }
}
