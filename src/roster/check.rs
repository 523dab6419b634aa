//! Checking one data row against Zoom's rules and the rows before it, giving its verdict.
//!
//! This module owns the per-row decisions: which cell fills which field of the create call,
//! whether the row may be sent, and whether an earlier row already holds its email. The field
//! rules themselves live in [`crate::zoom::rules`], shared with the sandbox; this module only
//! applies them and words the answer for a person.
//!
//! # Decisions
//!
//! - A cell is trimmed of whitespace of every kind; an empty cell is an absent field.
//! - The type is a whole number, and `1.0` or `1,0` (a spreadsheet's number format) is read as
//!   `1`. Zoom's own words `Basic`, `Licensed` and `Unassigned` are accepted in any case. An
//!   empty cell takes the default.
//! - The password is read only on `autoCreate` rows; on any other row it is neither checked
//!   nor sent.
//! - A name holding U+FFFD or a `?` is refused: both are what a lossy conversion leaves where a
//!   letter was, and Zoom would keep them for good.
//! - A row is checked before it is compared with earlier rows, so a bad row is `invalid`
//!   rather than `duplicate`, and only a ready row claims its email: a corrected row after a
//!   broken one with the same email is the one sent.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use super::header::{ColumnChoice, Field};
use super::tokenize::trim_cell;
use crate::zoom::rules::{self, Action, CreateFields};
use crate::zoom::wire::UserInfo;

/// One data row of the roster and what is to be done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// The spreadsheet row number: the physical line the record starts on, so the header on
    /// line 1 makes the first data row 2, and a record with a multi-line cell is numbered by
    /// its first line.
    pub row: u64,
    /// The email cell, trimmed, as written.
    pub email: String,
    /// The cells as read (quotes removed, nothing trimmed), in roster column order.
    pub cells: Vec<String>,
    /// What is to be done with the row.
    pub verdict: Verdict,
}

/// The verdict on one data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every rule holds: submit it.
    Ready(Hire),
    /// A rule is broken; nothing is sent. The message names the field and the rule, e.g.
    /// `email: has no @`; several are joined by `; `.
    Invalid(String),
    /// An earlier row, ready to send, has the same email once trimmed and lowercased.
    Duplicate {
        /// The row number of that earlier row.
        first_row: u64,
    },
}

/// A checked row, ready to become a create call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hire {
    /// The row number, as in [`RosterRow::row`].
    pub row: u64,
    /// The action, in Zoom's spelling once serialised.
    pub action: Action,
    /// The body's `user_info`: trimmed, empty fields absent, the password only for
    /// `autoCreate`.
    pub user_info: UserInfo,
    /// The email trimmed and lowercased: the key duplicates are found by.
    pub email_key: String,
}

/// The emails seen so far, kept as 64-bit hashes so that memory stays small on long rosters.
///
/// A million emails take about 32 MB as a hash map of hash to row number; as strings they
/// would take three times that. The hash is `SipHash` keyed at random per run, so no roster can
/// be built to collide on purpose. By chance, two of a million distinct emails share a hash
/// with probability about 3 in 100 million, and the later row would be called a duplicate of
/// the earlier one, with both row numbers shown for a person to see.
pub(crate) struct SeenEmails {
    /// Hashes the email keys.
    keys: RandomState,
    /// Email hash to the row that first had it. The keys are already hashes, so the map does
    /// not hash them again.
    first_rows: HashMap<u64, u64, BuildHasherDefault<AlreadyHashed>>,
}

impl SeenEmails {
    pub(crate) fn new() -> SeenEmails {
        SeenEmails {
            keys: RandomState::new(),
            first_rows: HashMap::default(),
        }
    }

    /// Records `email_key` for `row`, or returns the row that had it first.
    pub(crate) fn claim(&mut self, email_key: &str, row: u64) -> Option<u64> {
        let hash = self.keys.hash_one(email_key);
        match self.first_rows.entry(hash) {
            std::collections::hash_map::Entry::Occupied(entry) => Some(*entry.get()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(row);
                None
            }
        }
    }
}

/// A hasher for keys that are hashes already: it passes them through.
#[derive(Default)]
pub(crate) struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Turns data records into verdicts.
pub(crate) struct Checker {
    /// Column positions of each field, by `Field as usize`.
    positions: [Option<usize>; Field::ALL.len()],
    /// Whether the full-name column is sent as the display name.
    full_name_as_display: bool,
    /// How many cells the header has.
    header_width: usize,
    default_action: Action,
    default_type: i64,
    seen: SeenEmails,
}

impl Checker {
    pub(crate) fn new(
        columns: &[ColumnChoice],
        header_width: usize,
        default_action: Action,
        default_type: i64,
    ) -> Checker {
        let mut positions = [None; Field::ALL.len()];
        for choice in columns {
            positions[choice.field as usize] = Some(choice.column.position);
        }
        let full_name_as_display = positions[Field::DisplayName as usize].is_none()
            && positions[Field::FullName as usize].is_some();
        Checker {
            positions,
            full_name_as_display,
            header_width,
            default_action,
            default_type,
            seen: SeenEmails::new(),
        }
    }

    /// Whether a full-name column is sent as `display_name`.
    pub(crate) fn full_name_as_display(&self) -> bool {
        self.full_name_as_display
    }

    /// The trimmed cell for `field`, empty when the roster has no such column or the row is
    /// short.
    fn cell<'a>(&self, cells: &'a [String], field: Field) -> &'a str {
        self.positions[field as usize]
            .and_then(|position| cells.get(position))
            .map_or("", |cell| trim_cell(cell))
    }

    /// Checks one record and gives its verdict.
    pub(crate) fn check(&mut self, row: u64, cells: Vec<String>) -> RosterRow {
        let email = self.cell(&cells, Field::Email).to_owned();
        let verdict = match self.hire(row, &cells) {
            Err(problems) => Verdict::Invalid(problems.join("; ")),
            Ok(hire) => match self.seen.claim(&hire.email_key, row) {
                Some(first_row) => Verdict::Duplicate { first_row },
                None => Verdict::Ready(hire),
            },
        };
        RosterRow {
            row,
            email,
            cells,
            verdict,
        }
    }

    /// Builds the hire for a row, or lists every problem with it.
    fn hire(&self, row: u64, cells: &[String]) -> Result<Hire, Vec<String>> {
        let mut problems = Vec::new();
        if let Some(problem) = self.surplus_problem(cells) {
            problems.push(problem);
        }

        let action_cell = self.cell(cells, Field::Action);
        let action = if action_cell.is_empty() {
            self.default_action
        } else if let Some(action) = Action::from_any_case(action_cell) {
            action
        } else {
            problems.push(format!(
                "action: \"{action_cell}\" is not an action (use create, autoCreate, custCreate \
                 or ssoCreate)"
            ));
            self.default_action
        };

        let type_cell = self.cell(cells, Field::UserType);
        let user_type = match parse_user_type(type_cell) {
            Ok(parsed) => parsed.unwrap_or(self.default_type),
            Err(problem) => {
                problems.push(format!("type: {problem}"));
                i64::from(rules::USER_TYPES[0])
            }
        };

        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let email = self.cell(cells, Field::Email);
        let first_name = optional(self.cell(cells, Field::FirstName));
        let last_name = optional(self.cell(cells, Field::LastName));
        let display_name = if self.full_name_as_display {
            optional(self.cell(cells, Field::FullName))
        } else {
            optional(self.cell(cells, Field::DisplayName))
        };
        let password = (action == Action::AutoCreate)
            .then(|| optional(self.cell(cells, Field::Password)))
            .flatten();

        let display_field = if self.full_name_as_display {
            "full_name"
        } else {
            "display_name"
        };
        for (field, value) in [
            ("email", Some(email)),
            ("password", password.as_deref()),
            ("first_name", first_name.as_deref()),
            ("last_name", last_name.as_deref()),
            (display_field, display_name.as_deref()),
        ] {
            if let Some(problem) =
                value.and_then(|value| lost_letter(value, !matches!(field, "email" | "password")))
            {
                problems.push(format!("{field}: {problem}"));
            }
        }

        let fields = CreateFields {
            action,
            user_type,
            email,
            first_name: first_name.as_deref(),
            last_name: last_name.as_deref(),
            display_name: display_name.as_deref(),
            password: password.as_deref(),
        };
        for problem in rules::check_create(&fields) {
            let field = problem
                .field
                .strip_prefix("user_info.")
                .unwrap_or(problem.field);
            let field = if field == "display_name" {
                display_field
            } else {
                field
            };
            problems.push(format!("{field}: {}", problem.rule));
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Hire {
            row,
            action,
            email_key: email.to_lowercase(),
            user_info: UserInfo {
                email: email.to_owned(),
                user_type,
                first_name,
                last_name,
                display_name,
                password,
            },
        })
    }

    /// A row longer than the header is refused unless every surplus cell is empty.
    fn surplus_problem(&self, cells: &[String]) -> Option<String> {
        let surplus = cells.get(self.header_width..)?;
        if surplus.iter().all(|cell| trim_cell(cell).is_empty()) {
            return None;
        }
        Some(format!(
            "row: has {} cells but the header has {}; a cell holding the delimiter needs quotes",
            cells.len(),
            self.header_width
        ))
    }
}

/// Parses a type cell: `Ok(None)` when empty.
fn parse_user_type(cell: &str) -> Result<Option<i64>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    let named = match cell.to_lowercase().as_str() {
        "basic" => Some(1),
        "licensed" => Some(2),
        "unassigned" => Some(4),
        _ => None,
    };
    if named.is_some() {
        return Ok(named);
    }
    // Spreadsheets write whole numbers as `1.0` (or `1,0` where the comma is the decimal mark).
    let whole = match cell.split_once(['.', ',']) {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => {
            whole
        }
        _ => cell,
    };
    whole
        .parse::<i64>()
        .map(Some)
        .map_err(|_| format!("\"{cell}\" is not a user type (use 1, 2, 4 or 99)"))
}

/// Refuses what a lossy conversion leaves where a letter was: U+FFFD anywhere, and `?` in a
/// name, where it never belongs.
fn lost_letter(value: &str, is_name: bool) -> Option<&'static str> {
    if value.contains('\u{fffd}') {
        return Some(
            "holds U+FFFD where a letter was lost in a conversion; export the roster again as \
             UTF-8",
        );
    }
    if is_name && value.contains('?') {
        return Some(
            "holds ? where a letter was probably lost in a conversion; export the roster again \
             as UTF-8, or name its encoding with --encoding",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::header::{ChosenBy, Column};

    fn checker(headers: &[(Field, usize)], width: usize) -> Checker {
        let columns: Vec<ColumnChoice> = headers
            .iter()
            .map(|&(field, position)| ColumnChoice {
                field,
                column: Column::new(position, field.as_str()),
                chosen_by: ChosenBy::Header,
            })
            .collect();
        Checker::new(&columns, width, Action::Create, 1)
    }

    fn standard() -> Checker {
        checker(
            &[
                (Field::Email, 0),
                (Field::FirstName, 1),
                (Field::LastName, 2),
                (Field::UserType, 3),
                (Field::Action, 4),
                (Field::Password, 5),
            ],
            6,
        )
    }

    fn cells(text: &[&str]) -> Vec<String> {
        text.iter().map(|&cell| cell.to_owned()).collect()
    }

    fn verdict(checker: &mut Checker, row: u64, text: &[&str]) -> Verdict {
        checker.check(row, cells(text)).verdict
    }

    fn invalid(checker: &mut Checker, text: &[&str]) -> String {
        match verdict(checker, 9, text) {
            Verdict::Invalid(message) => message,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_good_row_becomes_a_trimmed_hire_with_empty_fields_absent() {
        let mut checker = standard();
        let Verdict::Ready(hire) = verdict(
            &mut checker,
            2,
            &[" Ann@Example.com\u{a0}", "Ann ", "", "", "", "Secret123"],
        ) else {
            panic!("not ready");
        };
        assert_eq!(hire.row, 2);
        assert_eq!(hire.action, Action::Create);
        assert_eq!(hire.email_key, "ann@example.com");
        assert_eq!(hire.user_info.email, "Ann@Example.com");
        assert_eq!(hire.user_info.first_name.as_deref(), Some("Ann"));
        assert_eq!(hire.user_info.last_name, None);
        assert_eq!(hire.user_info.user_type, 1);
        assert_eq!(
            hire.user_info.password, None,
            "a create row sends no password"
        );
    }

    #[test]
    fn messages_name_the_field_and_the_rule() {
        let mut checker = standard();
        assert_eq!(invalid(&mut checker, &["nobody"]), "email: has no @");
        assert_eq!(
            invalid(&mut checker, &["a b@c.co"]),
            "email: contains a space"
        );
        let long = "x".repeat(65);
        assert_eq!(
            invalid(&mut checker, &["a@b.co", &long]),
            "first_name: is longer than 64 characters"
        );
        assert_eq!(
            invalid(&mut checker, &["a@b.co", "", "", "7"]),
            "type: 7 is not a user type (use 1, 2, 4 or 99)"
        );
        assert_eq!(
            invalid(&mut checker, &["a@b.co", "", "", "Pro"]),
            "type: \"Pro\" is not a user type (use 1, 2, 4 or 99)"
        );
        assert_eq!(
            invalid(&mut checker, &["a@b.co", "", "", "", "invite"]),
            "action: \"invite\" is not an action (use create, autoCreate, custCreate or ssoCreate)"
        );
        assert_eq!(
            invalid(&mut checker, &["a@b.co", "Jos\u{fffd}"]),
            "first_name: holds U+FFFD where a letter was lost in a conversion; export the \
             roster again as UTF-8"
        );
        assert!(invalid(&mut checker, &["a@b.co", "", "Garc?a"]).starts_with("last_name: holds ?"));
    }

    #[test]
    fn type_parsing() {
        assert_eq!(parse_user_type(""), Ok(None));
        assert_eq!(parse_user_type("2"), Ok(Some(2)));
        assert_eq!(parse_user_type("1.0"), Ok(Some(1)));
        assert_eq!(parse_user_type("99,00"), Ok(Some(99)));
        assert_eq!(parse_user_type("Licensed"), Ok(Some(2)));
        assert!(parse_user_type("1.5").is_err());
        assert!(parse_user_type("1.").is_err());
    }

    #[test]
    fn actions_in_any_case_and_passwords_only_for_auto_create() {
        let mut checker = standard();
        let Verdict::Ready(hire) = verdict(
            &mut checker,
            2,
            &["a@b.co", "", "", "", "AUTOCREATE", "Secret123"],
        ) else {
            panic!("not ready");
        };
        assert_eq!(hire.action, Action::AutoCreate);
        assert_eq!(hire.user_info.password.as_deref(), Some("Secret123"));
        assert!(matches!(
            verdict(&mut checker, 3, &["b@b.co", "", "", "", "create", "x"]),
            Verdict::Ready(_)
        ));
        assert_eq!(
            invalid(&mut checker, &["c@b.co", "", "", "", "autocreate", "short"]),
            "password: must be 8 to 32 characters"
        );
        assert_eq!(
            invalid(&mut checker, &["c@b.co", "", "", "99"]),
            "type: 99 is allowed only with ssoCreate"
        );
    }

    #[test]
    fn later_rows_with_the_same_email_are_duplicates_of_the_first_ready_one() {
        let mut checker = standard();
        assert!(matches!(
            verdict(&mut checker, 2, &["Ann@x.com", "", "", "7"]),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            verdict(&mut checker, 3, &["ann@x.com"]),
            Verdict::Ready(_)
        ));
        assert_eq!(
            verdict(&mut checker, 5, &[" ANN@X.COM "]),
            Verdict::Duplicate { first_row: 3 }
        );
    }

    #[test]
    fn long_rows_are_invalid_unless_the_surplus_is_empty() {
        let mut checker = checker(&[(Field::Email, 0), (Field::FirstName, 1)], 2);
        assert!(matches!(
            verdict(&mut checker, 2, &["a@b.co", "Ann", " ", ""]),
            Verdict::Ready(_)
        ));
        assert_eq!(
            invalid(&mut checker, &["c@b.co", "Smith", " Ann"]),
            "row: has 3 cells but the header has 2; a cell holding the delimiter needs quotes"
        );
        assert!(
            matches!(verdict(&mut checker, 4, &["d@b.co"]), Verdict::Ready(_)),
            "short row"
        );
    }

    #[test]
    fn a_full_name_alone_is_sent_as_the_display_name() {
        let mut checker = checker(&[(Field::Email, 0), (Field::FullName, 1)], 2);
        let Verdict::Ready(hire) = verdict(&mut checker, 2, &["a@b.co", "Ann Lee"]) else {
            panic!("not ready");
        };
        assert_eq!(hire.user_info.display_name.as_deref(), Some("Ann Lee"));
    }
}
