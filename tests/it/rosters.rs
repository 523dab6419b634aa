//! Rosters as HR systems and spreadsheets write them, each built byte for byte here, run end to
//! end through `zoom-onboard run` against the sandbox, and read by `zoom-onboard check`.
//!
//! Each test asserts the statuses, the exact `user_info` the sandbox received, and the exit
//! code.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::support::{Finished, check_file, received, run_file, sandbox_args, start};
use zoom_onboard::sandbox::Sandbox;

/// (row, status) of every results line, in order.
fn statuses(finished: &Finished) -> Vec<(u64, &str)> {
    finished
        .results
        .iter()
        .map(|line| (line.row, line.status.as_str()))
        .collect()
}

/// Runs a roster of `bytes` and returns what happened and what the sandbox received.
async fn run_roster(bytes: &[u8], extra: &[&str]) -> (Finished, Vec<Value>, Sandbox) {
    let sandbox = start(sandbox_args()).await;
    let finished = run_file(&sandbox, "roster.csv", bytes, extra).await;
    let users = received(&sandbox);
    (finished, users, sandbox)
}

/// Asserts that no request carried U+FFFD or a `?` in a name.
fn assert_no_lost_letters(users: &[Value]) {
    for user in users {
        let text = user.to_string();
        assert!(!text.contains('\u{fffd}'), "U+FFFD sent: {text}");
        for field in ["first_name", "last_name", "display_name"] {
            if let Some(name) = user[field].as_str() {
                assert!(!name.contains('?'), "? sent in {field}: {text}");
            }
        }
    }
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_utf8_byte_order_mark_is_not_part_of_the_first_header() {
    let bytes = b"\xEF\xBB\xBFEmail,First Name\r\nann@example.com,Ren\xC3\xA9e\r\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(2, "created")]);
    assert_eq!(
        users,
        [json!({"email": "ann@example.com", "type": 1, "first_name": "Renée"})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn utf16_with_a_byte_order_mark_is_decoded_either_way_round() {
    for big_endian in [false, true] {
        let text = "Email\tFirst Name\tLast Name\r\nzoe@example.com\tZoë\tŁukasiewicz\r\n";
        let (finished, users, _sandbox) = run_roster(&utf16(text, big_endian), &[]).await;
        assert_eq!(finished.code, 0, "{}", finished.stderr);
        assert_eq!(statuses(&finished), [(2, "created")]);
        assert_eq!(
            users,
            [json!({
                "email": "zoe@example.com",
                "type": 1,
                "first_name": "Zoë",
                "last_name": "Łukasiewicz"
            })]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_1252_is_decoded_with_encoding() {
    let bytes = b"Email,First Name,Last Name\r\njose@example.com,Jos\xE9,M\xFCller\r\n";
    let (finished, users, _sandbox) = run_roster(bytes, &["--encoding", "windows-1252"]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(
        users,
        [
            json!({"email": "jose@example.com", "type": 1, "first_name": "José", "last_name": "Müller"})
        ]
    );
    assert_no_lost_letters(&users);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_byte_deep_in_the_file_stops_the_run_before_anything_is_sent() {
    let mut bytes = b"Email,First Name\n".to_vec();
    for index in 0..400 {
        bytes.extend_from_slice(format!("hire{index}@example.com,Hire\n").as_bytes());
    }
    bytes.extend_from_slice(b"jose@example.com,Jos\xE9\n");
    let (finished, users, sandbox) = run_roster(&bytes, &[]).await;
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains("line 402 is not valid UTF-8: byte 0xE9"),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains("--encoding windows-1252"),
        "{}",
        finished.stderr
    );
    assert!(users.is_empty());
    assert_eq!(sandbox.stats().create_requests, 0);
    assert!(finished.results.is_empty(), "no results file");
}

#[tokio::test(flavor = "multi_thread")]
async fn semicolons_and_tabs_are_detected_from_the_header() {
    for d in [";", "\t"] {
        let text = format!("Email{d}First Name{d}Last Name\nann@example.com{d}Ann{d}Lee, Jr.\n");
        let (finished, users, _sandbox) = run_roster(text.as_bytes(), &[]).await;
        assert_eq!(finished.code, 0, "{}", finished.stderr);
        assert_eq!(
            users,
            [
                json!({"email": "ann@example.com", "type": 1, "first_name": "Ann", "last_name": "Lee, Jr."})
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn title_rows_and_a_version_row_above_the_header_are_skipped() {
    let bytes = b"New hires: December 2026,,\n\
                  Generated by Workday on 2026-12-01,,\n\
                  version:v1.0,,\n\
                  Email,First Name,Last Name\n\
                  ann@example.com,Ann,Lee\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(5, "created")]);
    assert_eq!(
        users,
        [json!({"email": "ann@example.com", "type": 1, "first_name": "Ann", "last_name": "Lee"})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_label_row_under_the_header_is_skipped() {
    let bytes = b"Email,First Name,Last Name\n\
                  Required,Required,Optional\n\
                  ann@example.com,Ann,Lee\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(3, "created")]);
    assert_eq!(users.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_break_spaces_in_headers_and_cells_are_trimmed() {
    let bytes = "Email\u{a0},\u{a0}First\u{a0}Name\n\u{a0}ann@example.com\u{a0},Ann\u{a0}\n";
    let (finished, users, _sandbox) = run_roster(bytes.as_bytes(), &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.results[0].email, "ann@example.com");
    assert_eq!(
        users,
        [json!({"email": "ann@example.com", "type": 1, "first_name": "Ann"})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blank_and_delimiter_only_lines_are_skipped_and_not_counted() {
    let bytes = b"Email,First Name\n\n,,\nann@example.com,Ann\n ,\n\r\nbob@example.com,Bob\n,\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(4, "created"), (7, "created")]);
    assert_eq!(users.len(), 2);
    assert!(finished.stderr.contains("2 rows in"), "{}", finished.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn short_rows_are_padded_and_long_rows_invalid_unless_the_surplus_is_empty() {
    let bytes = b"Email,First Name,Last Name\n\
                  short@example.com,Sam\n\
                  padded@example.com,Pat,Ode,,\n\
                  long@example.com,Lee,Smith,Ann\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 3, "{}", finished.stderr);
    assert_eq!(
        statuses(&finished),
        [(2, "created"), (3, "created"), (4, "invalid")]
    );
    assert_eq!(
        finished.results[2].message,
        "row: has 4 cells but the header has 3; a cell holding the delimiter needs quotes"
    );
    assert_eq!(
        users,
        [
            json!({"email": "padded@example.com", "type": 1, "first_name": "Pat", "last_name": "Ode"}),
            json!({"email": "short@example.com", "type": 1, "first_name": "Sam"}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_line_cell_keeps_the_spreadsheet_row_numbers() {
    let bytes = b"Email,First Name,Notes\n\
                  ann@example.com,Ann,\"starts Monday\nremote, \"\"EU\"\" team\"\n\
                  bob@example.com,Bob,\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    // In a spreadsheet the two-line cell is one row, so Bob is on row 3.
    assert_eq!(statuses(&finished), [(2, "created"), (3, "created")]);
    assert_eq!(users.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unterminated_quote_stops_the_run_before_anything_is_sent() {
    let bytes =
        b"Email,First Name\nann@example.com,Ann\nbob@example.com,\"Bob\ncy@example.com,Cy\n";
    let (finished, users, sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains("quote opened on line 3 is never closed"),
        "{}",
        finished.stderr
    );
    assert!(users.is_empty());
    assert_eq!(sandbox.stats().create_requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_space_inside_an_email_makes_the_row_invalid() {
    let bytes = b"Email,First Name\nann lee@example.com,Ann\nbob@example.com,Bob\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 3, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(2, "invalid"), (3, "created")]);
    assert_eq!(finished.results[0].message, "email: contains a space");
    assert_eq!(
        users,
        [json!({"email": "bob@example.com", "type": 1, "first_name": "Bob"})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_is_ignored_on_create_rows_and_sent_on_auto_create_rows() {
    let bytes = b"Email,First Name,Password,Action\n\
                  ann@example.com,Ann,short,create\n\
                  bob@example.com,Bob,Secret-pass-123,autoCreate\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(2, "created"), (3, "created")]);
    assert_eq!(
        users,
        [
            json!({"email": "ann@example.com", "type": 1, "first_name": "Ann"}),
            json!({"email": "bob@example.com", "type": 1, "first_name": "Bob", "password": "Secret-pass-123"}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn where_and_skip_where_choose_the_new_hires_of_a_full_staff_export() {
    let bytes = b"Email,First Name,Status,Hire Date\n\
                  ann@example.com,Ann,Hired,2026-12-01\n\
                  bob@example.com,Bob,Active,2019-03-04\n\
                  cy@example.com,Cy,onboarding,2026-12-14\n\
                  di@example.com,Di,Hired,2026-11-30\n\
                  ann@example.com,Ann,Terminated,2020-01-01\n";
    let (finished, users, _sandbox) = run_roster(
        bytes,
        &[
            "--where",
            "status=(?i)hired|onboarding",
            "--skip-where",
            "Hire Date=2026-11-.*",
        ],
    )
    .await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(2, "created"), (4, "created")]);
    assert!(
        finished.stderr.contains("left out         3"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        users,
        [
            json!({"email": "ann@example.com", "type": 1, "first_name": "Ann"}),
            json!({"email": "cy@example.com", "type": 1, "first_name": "Cy"}),
        ]
    );

    let (finished, users, _sandbox) = run_roster(bytes, &["--where", "Stage=Hired"]).await;
    assert_eq!(finished.code, 2);
    assert!(
        finished
            .stderr
            .starts_with("error: --where names no column Stage of the header on line 1"),
        "{}",
        finished.stderr
    );
    assert!(users.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn zooms_import_template_runs_without_a_map() {
    let bytes =
        b"Email,First Name,Last Name,Department,Manager,User Group,IM Group,Job Title,Location\n\
                  ann.lee@example.com,Ann,Lee,Sales,boss@example.com,,,Account Executive,Berlin\n\
                  bo.chen@example.com,Bo,Chen,Support,boss@example.com,,,Agent,Austin\n";
    let (finished, users, _sandbox) = run_roster(bytes, &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(
        users,
        [
            json!({"email": "ann.lee@example.com", "type": 1, "first_name": "Ann", "last_name": "Lee"}),
            json!({"email": "bo.chen@example.com", "type": 1, "first_name": "Bo", "last_name": "Chen"}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn google_workspaces_upload_sheet_runs_without_a_map() {
    let bytes = "First Name [Required],Last Name [Required],Email Address [Required],\
                 Password [Required],Password Hash Function [UPLOAD ONLY],Org Unit Path [Required],\
                 New Primary Email [UPLOAD ONLY],Recovery Email,Home Secondary Email,\
                 Work Secondary Email,Recovery Phone [MUST BE IN THE E.164 FORMAT],Work Phone,\
                 Employee ID,Employee Type,Employee Title,Manager Email,Department,Cost Center\n\
                 Siobhán,Ó Briain,siobhan@example.com,Welcome-2026!,,/,,siobhan@home.example,,,\
                 +35312345678,,00042,Full time,Engineer,boss@example.com,R&D,4711\n";
    let (finished, users, _sandbox) = run_roster(bytes.as_bytes(), &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(
        users,
        [json!({
            "email": "siobhan@example.com",
            "type": 1,
            "first_name": "Siobhán",
            "last_name": "Ó Briain"
        })],
        "the password column is not sent on a create row"
    );
    assert_no_lost_letters(&users);
}

#[tokio::test(flavor = "multi_thread")]
async fn microsoft_entras_bulk_create_sheet_runs_without_a_map() {
    let bytes = "version:v1.0\r\n\
                 Name [displayName] Required,User name [userPrincipalName] Required,\
                 Initial password [passwordProfile] Required,\
                 Block sign in (Yes/No) [accountEnabled] Required,First name [givenName],\
                 Last name [surname],Job title [jobTitle],Department [department],\
                 Usage location [usageLocation]\r\n\
                 Example: Chris Green,chris@contoso.onmicrosoft.com,Password1,No,Chris,Green,\
                 IT Manager,Information Technology,US\r\n\
                 Zoë Ångström,zoe@example.com,Tmp-Pass-99,No,Zoë,Ångström,Analyst,Finance,SE\r\n";
    let (finished, users, _sandbox) = run_roster(bytes.as_bytes(), &[]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(4, "created")]);
    assert_eq!(
        users,
        [json!({
            "email": "zoe@example.com",
            "type": 1,
            "first_name": "Zoë",
            "last_name": "Ångström",
            "display_name": "Zoë Ångström"
        })]
    );
    assert_no_lost_letters(&users);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_german_excel_export_runs_without_a_map() {
    // Excel on a German Windows: semicolons, Windows-1252, CRLF, and `E-Mail-Adresse`.
    let bytes = b"Personalnummer;Vorname;Nachname;E-Mail-Adresse;Abteilung;Eintrittsdatum\r\n\
                  00017;J\xFCrgen;Gr\xF6\xDFer;juergen.groesser@example.de;Einkauf;01.12.2026\r\n\
                  00018;Fran\xE7oise;L\xE9vy;francoise.levy@example.de;Vertrieb;01.12.2026\r\n";
    let (finished, users, _sandbox) = run_roster(bytes, &["--encoding", "windows-1252"]).await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(
        users,
        [
            json!({"email": "francoise.levy@example.de", "type": 1, "first_name": "Françoise", "last_name": "Lévy"}),
            json!({"email": "juergen.groesser@example.de", "type": 1, "first_name": "Jürgen", "last_name": "Größer"}),
        ]
    );
    assert_no_lost_letters(&users);
}

/// An `.xlsx` roster written here with `rust_xlsxwriter`: a title row, typed cells and a gap.
fn workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let sheet = workbook.add_worksheet().set_name("Staff").unwrap();
    sheet.write(0, 0, "New hires, December").unwrap();
    for (column, header) in [
        "Employee ID",
        "Email",
        "First Name",
        "Last Name",
        "User Type",
        "Hire Date",
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write(2, column as u16, header).unwrap();
    }
    let people = [
        (
            "00042",
            "ann@example.com",
            "Ann",
            "Ñúñez",
            2.0,
            (2026, 12, 1),
        ),
        ("00043", "bob@example.com", "Bob", "Lee", 1.0, (2026, 11, 3)),
        ("00044", "cy@example.com", "Cy", "Vo", 1.0, (2026, 12, 15)),
    ];
    for (index, (id, email, first, last, user_type, (year, month, day))) in
        people.into_iter().enumerate()
    {
        // Row 6 (index 5) is left empty, as a gap in the sheet.
        let row = if index == 2 { 6 } else { 3 + index as u32 };
        sheet.write(row, 0, id).unwrap();
        sheet.write(row, 1, email).unwrap();
        sheet.write(row, 2, first).unwrap();
        sheet.write(row, 3, last).unwrap();
        sheet.write(row, 4, user_type).unwrap();
        let hired = ExcelDateTime::from_ymd(year, month, day).unwrap();
        sheet.write_with_format(row, 5, &hired, &date).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xlsx_roster_runs_end_to_end() {
    let sandbox = start(sandbox_args()).await;
    let finished = run_file(
        &sandbox,
        "staff.xlsx",
        &workbook(),
        &[
            "--where",
            "Hire Date=2026-12-.*",
            "--skip-where",
            "Employee ID=00099",
        ],
    )
    .await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(4, "created"), (7, "created")]);
    assert_eq!(
        received(&sandbox),
        [
            json!({"email": "ann@example.com", "type": 2, "first_name": "Ann", "last_name": "Ñúñez"}),
            json!({"email": "cy@example.com", "type": 1, "first_name": "Cy", "last_name": "Vo"}),
        ]
    );

    let checked = check_file(
        "staff.xlsx",
        &workbook(),
        &["--sheet", "staff", "--where", "Employee ID=0004[23]"],
    )
    .await;
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked
            .stdout
            .contains("workbook   xlsx, sheet \"Staff\" (given by --sheet)"),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("header     row 3 "),
        "{}",
        checked.stdout
    );
    let rows: Vec<u64> = checked.results.iter().map(|line| line.row).collect();
    assert_eq!(rows, [4, 5], "leading zeros kept for --where");

    let missing = check_file("staff.xlsx", &workbook(), &["--sheet", "Hires"]).await;
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("no sheet named \"Hires\" in the workbook\nsheets found: \"Staff\""),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_how_a_messy_roster_was_read_and_what_its_rows_are() {
    let bytes = b"Staff export\r\n\
                  Email;Vorname;Nachname;Status;User Type\r\n\
                  ann@example.com;Ann;Lee;Hired;1\r\n\
                  bob@example;Bob;Ray;Hired;\r\n\
                  ;;;;\r\n\
                  ANN@example.com ;Ann;Lee;Hired;\r\n\
                  cy@example.com;Cy;Vo;Left;\r\n\
                  di@example.com;Di;Wu;Hired;Pro\r\n\
                  ed@example.com;Ed;Ox;Hired;Max\r\n\
                  fay@example.com;Fay;Jo;Hired;2\r\n";
    let checked = check_file("messy.csv", bytes, &["--skip-where", "status=Left"]).await;
    assert_eq!(checked.code, 3, "{}", checked.stderr);
    let expected = [
        "encoding   UTF-8 (detected: the whole file is valid UTF-8)",
        "delimiter  semicolon (detected from the header row)",
        "header     row 2 (found: the first row naming an email and another known column)",
        "columns    email        A \"Email\" (by its header)",
        "           first_name   B \"Vorname\" (by its header)",
        "           last_name    C \"Nachname\" (by its header)",
        "           type         E \"User Type\" (by its header)",
        "rows kept  --skip-where status=Left: column D \"Status\"",
        "rows       6 data rows",
        "  valid              2",
        "  invalid            3",
        "            2  type: \"Pro\" is not a user type (use 1, 2, 4 or 99)  (first on row 8)",
        "            1  email: has no valid domain after the @  (first on row 4)",
        "  duplicate          1",
        "  left out           1  (by --where/--skip-where; not in the results)",
        "quota      2 create rows: at plan pro (1,500 a day) this fits in 1 day",
    ];
    for line in expected {
        assert!(
            checked.stdout.contains(line),
            "{line:?} in\n{}",
            checked.stdout
        );
    }
    let lines: Vec<(u64, &str, &str)> = checked
        .results
        .iter()
        .map(|line| (line.row, line.status.as_str(), line.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "deferred", "valid: not sent (check only)"),
            (4, "invalid", "email: has no valid domain after the @"),
            (6, "duplicate", "same email as row 3: not sent again"),
            (
                8,
                "invalid",
                "type: \"Pro\" is not a user type (use 1, 2, 4 or 99)"
            ),
            (
                9,
                "invalid",
                "type: \"Max\" is not a user type (use 1, 2, 4 or 99)"
            ),
            (10, "deferred", "valid: not sent (check only)"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_exits_0_when_clean_and_2_for_a_whole_roster_problem() {
    let clean = check_file(
        "clean.csv",
        b"Email,First Name\na@example.com,A\nA@example.com,A\n",
        &["--plan", "free"],
    )
    .await;
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(
        clean
            .stdout
            .contains("quota      1 create row: at plan free (50 a day) this fits in 1 day"),
        "{}",
        clean.stdout
    );

    let big = (0..1_734).fold(String::from("Email\n"), |mut roster, index| {
        let _ = writeln!(roster, "hire{index}@example.com");
        roster
    });
    let quota = check_file("big.csv", big.as_bytes(), &[]).await;
    assert!(
        quota
            .stdout
            .contains("1,734 create rows: at plan pro (1,500 a day) this takes 2 days"),
        "{}",
        quota.stdout
    );

    let unterminated = check_file("bad.csv", b"Email,Name\na@example.com,\"A\n", &[]).await;
    assert_eq!(unterminated.code, 2);
    assert!(
        unterminated
            .stderr
            .contains("quote opened on line 2 is never closed"),
        "{}",
        unterminated.stderr
    );
    assert!(
        !unterminated.wrote_results,
        "no results for a roster refused whole"
    );
    assert!(unterminated.stdout.is_empty());

    let no_email = check_file("names.csv", b"Name,Department\nAnn,Sales\n", &[]).await;
    assert_eq!(no_email.code, 2);
    assert!(
        no_email.stderr.contains("no email column"),
        "{}",
        no_email.stderr
    );
}

/// A minimal `.ods` roster, written here as its XML inside a stored ZIP archive: a title row, a
/// header, and typed cells (a float type, a date, an identifier with leading zeros as text).
fn open_document_sheet() -> Vec<u8> {
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;

    let text = |value: &str| {
        format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{value}</text:p></table:table-cell>"
        )
    };
    let float = |value: &str| {
        format!(
            "<table:table-cell office:value-type=\"float\" office:value=\"{value}\"><text:p>{value}</text:p></table:table-cell>"
        )
    };
    let date = |value: &str| {
        format!(
            "<table:table-cell office:value-type=\"date\" office:date-value=\"{value}\"><text:p>{value}</text:p></table:table-cell>"
        )
    };
    let row = |cells: &[String]| format!("<table:table-row>{}</table:table-row>", cells.concat());
    let rows = [
        row(&[text("Onboarding list")]),
        row(&[
            text("Email"),
            text("Vorname"),
            text("Nachname"),
            text("Benutzertyp"),
            text("Start"),
            text("ID"),
        ]),
        row(&[
            text("ann@example.com"),
            text("Anneliese"),
            text("Weiß"),
            float("2"),
            date("2026-12-01"),
            text("00042"),
        ]),
        row(&[
            text("bob@example.com"),
            text("Bob"),
            text("Öz"),
            float("1.0"),
            date("2026-11-02"),
            text("00043"),
        ]),
    ];
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <office:document-content \
         xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
         <office:body><office:spreadsheet><table:table table:name=\"Neu\">{}</table:table>\
         </office:spreadsheet></office:body></office:document-content>",
        rows.concat()
    );
    let manifest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" \
         manifest:version=\"1.2\">\
         <manifest:file-entry manifest:full-path=\"/\" \
         manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
         <manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
         </manifest:manifest>";

    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_str()),
    ] {
        archive.start_file(name, stored).unwrap();
        archive.write_all(body.as_bytes()).unwrap();
    }
    archive.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ods_roster_runs_end_to_end() {
    let sandbox = start(sandbox_args()).await;
    let finished = run_file(
        &sandbox,
        "neu.ods",
        &open_document_sheet(),
        &["--where", "Start=2026-12-01", "--where", "ID=00042"],
    )
    .await;
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(statuses(&finished), [(3, "created")]);
    assert_eq!(
        received(&sandbox),
        [
            json!({"email": "ann@example.com", "type": 2, "first_name": "Anneliese", "last_name": "Weiß"})
        ]
    );

    let checked = check_file("neu.ods", &open_document_sheet(), &[]).await;
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked
            .stdout
            .contains("workbook   ods, sheet \"Neu\" (the first sheet)"),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("  valid              2"),
        "{}",
        checked.stdout
    );
}
