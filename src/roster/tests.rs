//! Whole rosters, built byte for byte, read through the public API.

use std::io::{Cursor, Write};

use super::*;
use crate::zoom::rules::Action;

fn open_bytes(bytes: &[u8], options: &RosterOptions) -> Result<Roster, RosterError> {
    Roster::from_reader(Box::new(Cursor::new(bytes.to_vec())), options)
}

fn read(bytes: &[u8]) -> (Layout, Vec<RosterRow>) {
    read_with(bytes, &RosterOptions::default())
}

fn read_with(bytes: &[u8], options: &RosterOptions) -> (Layout, Vec<RosterRow>) {
    let roster = open_bytes(bytes, options).expect("roster opens");
    let layout = roster.layout().clone();
    let rows = roster
        .rows()
        .collect::<Result<Vec<_>, _>>()
        .expect("rows read");
    (layout, rows)
}

fn error_of(bytes: &[u8], options: &RosterOptions) -> RosterError {
    match open_bytes(bytes, options) {
        Err(error) => error,
        Ok(roster) => roster
            .rows()
            .find_map(Result::err)
            .expect("a whole-roster error"),
    }
}

fn hire(row: &RosterRow) -> &Hire {
    match &row.verdict {
        Verdict::Ready(hire) => hire,
        other => panic!("row {} is not ready: {other:?}", row.row),
    }
}

/// (row, email, first, last, display) for every ready row.
fn people(rows: &[RosterRow]) -> Vec<(u64, String, String, String, String)> {
    rows.iter()
        .filter_map(|row| match &row.verdict {
            Verdict::Ready(hire) => Some(hire),
            _ => None,
        })
        .map(|hire| {
            let info = &hire.user_info;
            let text = |value: &Option<String>| value.clone().unwrap_or_default();
            (
                hire.row,
                info.email.clone(),
                text(&info.first_name),
                text(&info.last_name),
                text(&info.display_name),
            )
        })
        .collect()
}

fn person(
    row: u64,
    email: &str,
    first: &str,
    last: &str,
    display: &str,
) -> (u64, String, String, String, String) {
    (row, email.into(), first.into(), last.into(), display.into())
}

#[test]
fn plain_comma_roster_with_checks_and_duplicates() {
    let text = "email,first_name,last_name,type,action\n\
                ann@example.com,Ann,Lee,2,\n\
                bob@example,Bob,,,\n\
                ,,,,\n\
                \n\
                ANN@example.com ,Ann,Again,,\n\
                cy@example.com,Cy,Wu,1.0,AutoCreate\n";
    let (layout, rows) = read(text.as_bytes());
    assert_eq!((layout.header_row, layout.delimiter()), (1, Some(b',')));
    let numbers: Vec<u64> = rows.iter().map(|row| row.row).collect();
    assert_eq!(numbers, [2, 3, 6, 7]);
    assert_eq!(hire(&rows[0]).user_info.user_type, 2);
    assert_eq!(
        rows[1].verdict,
        Verdict::Invalid("email: has no valid domain after the @".into())
    );
    assert_eq!(rows[2].verdict, Verdict::Duplicate { first_row: 2 });
    assert_eq!(rows[2].email, "ANN@example.com");
    assert_eq!(
        rows[3].verdict,
        Verdict::Invalid("password: is required for autoCreate".into())
    );
}

#[test]
fn zoom_import_template() {
    let text = "Email,First Name,Last Name,Department,Manager,User Group,Job Title,Location\r\n\
                ann@example.com,Ann,Lee,Sales,Bob,,AE,Berlin\r\n";
    let (layout, rows) = read(text.as_bytes());
    assert_eq!(
        people(&rows),
        [person(2, "ann@example.com", "Ann", "Lee", "")]
    );
    assert_eq!(layout.columns.len(), 3);
    assert_eq!(rows[0].cells.len(), 8);
}

#[test]
fn google_workspace_upload_sheet() {
    let text = "First Name [Required],Last Name [Required],Email Address [Required],\
                Password [Required],Org Unit Path [Required],New Primary Email [UPLOAD ONLY],\
                Recovery Email,Home Secondary Email,Employee ID\n\
                Zoë,Ångström,zoe@example.com,Secret123,/,,zoe@gmail.com,z@home.example,E1\n";
    let (_, rows) = read(text.as_bytes());
    assert_eq!(
        people(&rows),
        [person(2, "zoe@example.com", "Zoë", "Ångström", "")]
    );
    assert_eq!(hire(&rows[0]).user_info.password, None);
}

#[test]
fn microsoft_entra_bulk_create_sheet_with_version_and_examples_rows() {
    let text = "version:v1.0\r\n\
                Name [displayName] Required,User name [userPrincipalName] Required,\
                Initial password [passwordProfile] Required,Block sign in (Yes/No) \
                [accountEnabled] Required,First name [givenName],Last name [surname],\
                Job title [jobTitle]\r\n\
                Example: Chris Green,chris@contoso.com,Password1,No,Chris,Green,Manager\r\n\
                Dana Ortiz,dana@example.com,Str0ngPass,No,Dana,Ortiz,Engineer\r\n";
    let (layout, rows) = read(text.as_bytes());
    assert_eq!(layout.header_row, 2);
    assert_eq!(layout.label_row, Some(3));
    assert_eq!(
        people(&rows),
        [person(4, "dana@example.com", "Dana", "Ortiz", "Dana Ortiz")]
    );
}

#[test]
fn a_utf8_roster_is_read_as_utf8_even_with_a_legacy_encoding_option() {
    // Regression: a nightly job's --encoding windows-1252 turned "Jürgen" into "JÃ¼rgen" once
    // the HR system started exporting UTF-8.
    let text = "email,first_name\njuergen@example.de,J\u{fc}rgen\n";
    let options = RosterOptions {
        encoding: encoding_for_label("windows-1252"),
        ..RosterOptions::default()
    };
    let (layout, rows) = read_with(text.as_bytes(), &options);
    assert_eq!(layout.encoding_name(), Some("UTF-8"));
    assert_eq!(people(&rows)[0].2, "Jürgen");
}

#[test]
fn german_excel_semicolon_export_in_windows_1252() {
    let text = "Mitarbeiterliste Stand 01.12.2026;;;\r\n\
                ;;;\r\n\
                Personalnummer;Vorname;Nachname;E-Mail\r\n\
                4711;J\u{fc}rgen;M\u{fc}ller-L\u{fc}denscheid;juergen@example.de\r\n\
                4712;\"Fran\u{e7}ois; Jr.\";Stra\u{df}er;francois@example.de\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let options = RosterOptions {
        encoding: encoding_for_label("windows-1252"),
        ..RosterOptions::default()
    };
    let (layout, rows) = read_with(&bytes, &options);
    assert_eq!(
        (layout.header_row, layout.delimiter_name().unwrap()),
        (3, "semicolon".to_owned())
    );
    assert_eq!(layout.encoding_name(), Some("windows-1252"));
    assert_eq!(
        people(&rows),
        [
            person(4, "juergen@example.de", "Jürgen", "Müller-Lüdenscheid", ""),
            person(5, "francois@example.de", "François; Jr.", "Straßer", ""),
        ]
    );

    let error = error_of(&bytes, &RosterOptions::default());
    let message = error.to_string();
    assert!(
        message.starts_with("line 4 is not valid UTF-8: byte 0xFC"),
        "{message}"
    );
    assert!(message.contains("\nhint: ") && message.contains("--encoding windows-1252"));
}

#[test]
fn byte_order_marks_utf8_and_utf16() {
    let text = "Email\tFull Name\r\nann@example.com\tAnn Lee\r\n";
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(text.as_bytes());
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
        be.extend_from_slice(&unit.to_be_bytes());
    }
    let no_mark = le[2..].to_vec();
    for (bytes, encoding) in [
        (utf8, "UTF-8"),
        (le, "UTF-16LE"),
        (be, "UTF-16BE"),
        (no_mark, "UTF-16LE"),
    ] {
        let (layout, rows) = read(&bytes);
        assert_eq!(layout.encoding_name(), Some(encoding));
        assert_eq!(layout.delimiter(), Some(b'\t'));
        assert_eq!(
            layout.headers[0], "Email",
            "the mark is not part of the header"
        );
        assert!(layout.full_name_as_display);
        assert_eq!(
            people(&rows),
            [person(2, "ann@example.com", "", "", "Ann Lee")]
        );
    }
}

#[test]
fn a_bad_byte_deep_in_the_file_is_found_by_preflight() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "email,name").unwrap();
    for index in 0..50_000 {
        writeln!(file, "user{index}@example.com,User {index}").unwrap();
    }
    file.write_all(b"late@example.com,Ren\xE9\n").unwrap();
    writeln!(file, "last@example.com,Last").unwrap();
    let error = preflight(file.path(), &RosterOptions::default()).unwrap_err();
    assert!(
        matches!(error, RosterError::Encoding { line: 50_002, .. }),
        "{error}"
    );

    let clean = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        clean.path(),
        "title\n\nemail,name\n\na@b.co,A\n,\nb@b.co,B\n",
    )
    .unwrap();
    let found = preflight(clean.path(), &RosterOptions::default()).unwrap();
    assert_eq!(found.data_rows, 2);
    assert_eq!(found.layout.header_row, 3);
}

#[test]
fn multi_line_cells_keep_spreadsheet_row_numbers() {
    let text = "email,first_name,notes\n\
                a@b.co,Ann,\"line one\nline two\nline three\"\n\
                c@b.co,Cy,\n";
    let (_, rows) = read(text.as_bytes());
    let numbers: Vec<u64> = rows.iter().map(|row| row.row).collect();
    // A spreadsheet shows the three-line cell in one row, so the next person is on row 3; the
    // physical line (5) was reported before, which sent people to the wrong row.
    assert_eq!(numbers, [2, 3]);
}

#[test]
fn an_unterminated_quote_points_at_its_line() {
    let text = "email,first_name\na@b.co,Ann\nc@b.co,\"Cy\nd@b.co,Di\n";
    let error = error_of(text.as_bytes(), &RosterOptions::default());
    assert!(
        matches!(error, RosterError::UnterminatedQuote { line: 3 }),
        "{error}"
    );
}

#[test]
fn missing_email_column_shows_headers_and_how_to_map() {
    let text = "Name,Mail\u{a0}Addr,Dept\nAnn,ann@example.com,Sales\n";
    let error = error_of(text.as_bytes(), &RosterOptions::default());
    let message = error.to_string();
    assert_eq!(
        message,
        "no email column in the header on line 1\n\
         headers found: A \"Name\", B \"Mail\\u{a0}Addr\", C \"Dept\"\n\
         hint: name the column that holds the work email, e.g. --map email=\"Mail Addr\""
    );
    let options = RosterOptions {
        column_map: vec![(Field::Email, "Mail Addr".into())],
        ..RosterOptions::default()
    };
    let (_, rows) = read_with(text.as_bytes(), &options);
    assert_eq!(people(&rows), [person(2, "ann@example.com", "", "", "Ann")]);
}

#[test]
fn two_email_columns_are_an_error_unless_mapped() {
    let text = "Email,Work Email,First Name\na@b.co,a@c.co,Ann\n";
    let error = error_of(text.as_bytes(), &RosterOptions::default());
    assert!(matches!(
        error,
        RosterError::DuplicateColumn {
            field: Field::Email,
            ..
        }
    ));
    let options = RosterOptions {
        column_map: vec![(Field::Email, "Work Email".into())],
        ..RosterOptions::default()
    };
    let (_, rows) = read_with(text.as_bytes(), &options);
    assert_eq!(rows[0].email, "a@c.co");
}

#[test]
fn header_row_option_and_defaults() {
    let text = "a,b\nx,y\nwho,mail\nAnn,ann@example.com\n";
    let options = RosterOptions {
        header_row: Some(3),
        default_type: 2,
        default_action: Action::CustCreate,
        column_map: vec![
            (Field::Email, "mail".into()),
            (Field::FirstName, "who".into()),
        ],
        ..RosterOptions::default()
    };
    let (layout, rows) = read_with(text.as_bytes(), &options);
    assert_eq!(layout.header_row, 3);
    let hire = hire(&rows[0]);
    assert_eq!(
        (hire.action, hire.user_info.user_type),
        (Action::CustCreate, 2)
    );

    let missing = RosterOptions {
        header_row: Some(40),
        ..RosterOptions::default()
    };
    assert!(matches!(
        error_of(text.as_bytes(), &missing),
        RosterError::HeaderRowMissing { line: 40 }
    ));
}

#[test]
fn a_repeated_label_row_under_the_header_is_skipped_but_a_bad_row_is_not() {
    let text = "Email,First Name\nEmail Address,First\nann@example.com,Ann\n";
    let (layout, rows) = read(text.as_bytes());
    assert_eq!(layout.label_row, Some(2));
    assert_eq!(rows.len(), 1);

    let text = "Email,First Name\nnot an address,Ann\n";
    let (layout, rows) = read(text.as_bytes());
    assert_eq!(layout.label_row, None);
    assert!(matches!(rows[0].verdict, Verdict::Invalid(_)));
}

#[test]
fn old_mac_line_breaks_and_stray_spaces() {
    let text = "Email,First Name\r\u{a0}ann@example.com\u{a0},\u{a0}Ann \r\rbo@example.com,Bo\r";
    let (_, rows) = read(text.as_bytes());
    assert_eq!(
        people(&rows),
        [
            person(2, "ann@example.com", "Ann", "", ""),
            person(4, "bo@example.com", "Bo", "", "")
        ]
    );
}

#[test]
fn a_workbook_is_refused_with_advice() {
    let error = error_of(b"PK\x03\x04rest-of-zip", &RosterOptions::default());
    assert!(matches!(error, RosterError::Workbook));
}

#[test]
fn an_empty_file_is_an_error() {
    for bytes in [&b""[..], b",,\n,,\n", b"\n\n"] {
        let error = error_of(bytes, &RosterOptions::default());
        assert!(matches!(error, RosterError::Empty), "{error:?}");
    }
}

#[test]
fn rows_can_be_read_on_a_blocking_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Roster>();
    assert_send::<RosterRows>();
}

#[test]
fn rows_left_out_are_counted_not_checked_and_claim_no_email() {
    let text = "Email,Status\n\
                ann@example.com,Left\n\
                not-an-email,Left\n\
                ann@example.com,Hired\n\
                \n\
                bob@example.com,hired\n";
    let options = RosterOptions {
        filters: vec![RowFilter::parse(FilterKind::Where, "status=Hired").unwrap()],
        ..RosterOptions::default()
    };
    let roster = open_bytes(text.as_bytes(), &options).unwrap();
    assert_eq!(roster.layout().filters[0].column.position, 1);
    let rows = roster.rows();
    let left_out = rows.left_out();
    let rows: Vec<RosterRow> = rows.collect::<Result<_, _>>().unwrap();
    assert_eq!(
        people(&rows),
        [person(4, "ann@example.com", "", "", "")],
        "the left-out row 2 does not make row 4 a duplicate"
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(left_out.count(), 3, "blank rows are not counted");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let found = preflight(file.path(), &options).unwrap();
    assert_eq!((found.data_rows, found.left_out), (1, 3));
}

#[test]
fn sheet_is_refused_for_a_text_roster() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"Email\nann@example.com\n").unwrap();
    let options = RosterOptions {
        sheet: Some("Staff".into()),
        ..RosterOptions::default()
    };
    let error = Roster::open(file.path(), &options).err().unwrap();
    assert!(matches!(error, RosterError::SheetOfText), "{error:?}");
}
