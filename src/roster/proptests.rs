//! Property tests over generated rosters: random header spellings, column orders, delimiters,
//! quoting, line endings, encodings, preambles and blank rows.
//!
//! For every roster: reading never panics, every data row is yielded exactly once with the
//! spreadsheet row number it was written on, and every name arrives byte for byte.

use std::io::Cursor;

use proptest::prelude::*;

use super::tokenize::trim_cell;
use super::*;

/// One generated person.
#[derive(Debug, Clone)]
struct Person {
    first: String,
    last: String,
    /// The department cell: free text, where line breaks and tabs stand.
    note: String,
}

/// A name: letters from several scripts, and the characters that make CSV hard (delimiters,
/// quotes, inner spaces). Trimmed as the reader trims, never empty, and within Zoom's limits,
/// so that every generated person is valid. Line breaks and tabs, which no valid name holds,
/// stand in the note column.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-zéßøÅçñŁ王 ,;\"'\\-]{1,16}"
        .prop_map(|raw| trim_cell(&raw).to_owned())
        .prop_filter("a name", |name| {
            !name.is_empty()
                && name.chars().filter(|&c| c == '王').count() <= 5
                && !name.to_lowercase().starts_with("example")
        })
}

fn person() -> impl Strategy<Value = Person> {
    (name(), name(), "[A-Za-z ,;\"\t\n]{0,12}").prop_map(|(first, last, note)| Person {
        first,
        last,
        note,
    })
}

const EMAIL_HEADERS: &[&str] = &[
    "email",
    "Email",
    "E-Mail",
    " Email Address [Required] ",
    "Work Email",
    "Email - Primary Work",
    "User name [userPrincipalName] Required",
    "Email\u{a0}",
];
const FIRST_HEADERS: &[&str] = &[
    "first_name",
    "First Name",
    "Vorname",
    "First name [givenName]",
];
const LAST_HEADERS: &[&str] = &["last_name", "LAST NAME", "Nachname", "Last name [surname]"];
const PREAMBLES: &[&str] = &["Staff report", "version:v1.0", "", "Run: 2026-12-01"];

/// How one roster is written.
#[derive(Debug, Clone)]
struct Shape {
    delimiter: u8,
    crlf: bool,
    encoding: usize,
    email_header: usize,
    first_header: usize,
    last_header: usize,
    /// The order of the columns email, first, last, department.
    order: Vec<usize>,
    preamble: Vec<usize>,
    /// For each person: quote every cell, and blank rows before the person.
    quote_all: Vec<bool>,
    blanks_before: Vec<u8>,
}

fn shape(people: usize) -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(vec![b',', b';', b'\t']),
        any::<bool>(),
        0..5_usize,
        0..EMAIL_HEADERS.len(),
        0..FIRST_HEADERS.len(),
        0..LAST_HEADERS.len(),
        Just(vec![0_usize, 1, 2, 3]).prop_shuffle(),
        prop::collection::vec(0..PREAMBLES.len(), 0..3),
        prop::collection::vec(any::<bool>(), people),
        prop::collection::vec(0..4_u8, people),
    )
        .prop_map(
            |(
                delimiter,
                crlf,
                encoding,
                email_header,
                first_header,
                last_header,
                order,
                preamble,
                quote_all,
                blanks_before,
            )| {
                Shape {
                    delimiter,
                    crlf,
                    encoding,
                    email_header,
                    first_header,
                    last_header,
                    order,
                    preamble,
                    quote_all,
                    blanks_before,
                }
            },
        )
}

/// Writes one record, quoting what must be quoted.
fn write_record(text: &mut String, cells: &[&str], delimiter: u8, quote_all: bool, newline: &str) {
    let delimiter = char::from(delimiter);
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            text.push(delimiter);
        }
        let must = cell.contains([delimiter, '"', '\n', '\r', '\t']);
        if must || quote_all {
            text.push('"');
            text.push_str(&cell.replace('"', "\"\""));
            text.push('"');
        } else {
            text.push_str(cell);
        }
    }
    text.push_str(newline);
}

/// Writes the roster and returns its bytes, its options and each person's spreadsheet row: one
/// row a record or blank line, whatever line breaks its cells hold.
fn write_roster(people: &[Person], shape: &Shape) -> (Vec<u8>, RosterOptions, Vec<u64>) {
    let newline = if shape.crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    let mut line = 1;
    for &preamble in &shape.preamble {
        text.push_str(PREAMBLES[preamble]);
        text.push_str(newline);
        line += 1;
    }
    let headers = [
        EMAIL_HEADERS[shape.email_header],
        FIRST_HEADERS[shape.first_header],
        LAST_HEADERS[shape.last_header],
        "Department",
    ];
    let ordered: Vec<&str> = shape.order.iter().map(|&column| headers[column]).collect();
    write_record(&mut text, &ordered, shape.delimiter, false, newline);
    line += 1;

    let mut rows = Vec::new();
    for (index, person) in people.iter().enumerate() {
        for _ in 0..shape.blanks_before[index] {
            let blank = if index % 2 == 0 {
                String::new()
            } else {
                char::from(shape.delimiter).to_string().repeat(3)
            };
            text.push_str(&blank);
            text.push_str(newline);
            line += 1;
        }
        let email = format!("person{index}@example.com");
        let cells = [
            email.as_str(),
            person.first.as_str(),
            person.last.as_str(),
            person.note.as_str(),
        ];
        let ordered: Vec<&str> = shape.order.iter().map(|&column| cells[column]).collect();
        rows.push(line);
        write_record(
            &mut text,
            &ordered,
            shape.delimiter,
            shape.quote_all[index],
            newline,
        );
        line += 1;
    }

    let mut options = RosterOptions::default();
    let bytes = match shape.encoding {
        1 => [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
        2 => utf16(&text, u16::to_le_bytes, [0xFF, 0xFE]),
        3 => utf16(&text, u16::to_be_bytes, [0xFE, 0xFF]),
        4 => {
            let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
            if unmappable {
                text.into_bytes()
            } else {
                options.encoding = Some(encoding_rs::WINDOWS_1252);
                encoded.into_owned()
            }
        }
        _ => text.into_bytes(),
    };
    (bytes, options, rows)
}

fn utf16(text: &str, unit_bytes: fn(u16) -> [u8; 2], mark: [u8; 2]) -> Vec<u8> {
    let mut bytes = mark.to_vec();
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit_bytes(unit));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_row_is_yielded_once_with_its_row_number_and_exact_names(
        (people, shape) in prop::collection::vec(person(), 1..12)
            .prop_flat_map(|people| { let count = people.len(); (Just(people), shape(count)) })
    ) {
        let (bytes, options, expected_rows) = write_roster(&people, &shape);
        let roster = Roster::from_reader(Box::new(Cursor::new(bytes)), &options)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(roster.layout().delimiter(), Some(shape.delimiter));
        let rows: Vec<RosterRow> = roster
            .rows()
            .collect::<Result<_, _>>()
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let numbers: Vec<u64> = rows.iter().map(|row| row.row).collect();
        prop_assert_eq!(numbers, expected_rows);
        for (row, person) in rows.iter().zip(&people) {
            let Verdict::Ready(hire) = &row.verdict else {
                return Err(TestCaseError::fail(format!("row {} is {:?}", row.row, row.verdict)));
            };
            prop_assert_eq!(hire.user_info.first_name.as_deref(), Some(person.first.as_str()));
            prop_assert_eq!(hire.user_info.last_name.as_deref(), Some(person.last.as_str()));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(roster) = Roster::from_reader(Box::new(Cursor::new(bytes)), &RosterOptions::default()) {
            for row in roster.rows().map_while(Result::ok) {
                if let Verdict::Ready(hire) = row.verdict {
                    let clean = !hire.user_info.email.contains(char::REPLACEMENT_CHARACTER);
                    prop_assert!(clean, "U+FFFD reached a hire");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_under_a_header_never_panics(body in "[a-z@.,;\"\t\n\r é]{0,300}") {
        let text = format!("email,first_name\n{body}");
        if let Ok(roster) = Roster::from_reader(Box::new(Cursor::new(text.into_bytes())), &RosterOptions::default()) {
            let rows: Vec<_> = roster.rows().collect();
            prop_assert!(rows.iter().filter(|row| row.is_err()).count() <= 1);
        }
    }
}
