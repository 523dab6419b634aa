//! Finding the header row and deciding which column holds which field.
//!
//! This module owns the column vocabulary: the [`Field`]s a roster can fill, the spellings that
//! name each one, which row is the header, which delimiter the file uses, and whether the row
//! under the header is a second row of labels. It reads records; it does not read files.
//!
//! # Matching a header cell
//!
//! A cell is compared after stripping what templates decorate headers with: surrounding
//! quotes, `*`, anything in `[...]` or `(...)`, and a leading or trailing `Required`,
//! `Optional` or `Mandatory`. What is left is lowercased and every character that is not a
//! letter or digit is dropped, so `First Name`, `first_name`, `FIRST-NAME`, `FirstName` and
//! `First\u{a0}Name` are all `firstname`.
//!
//! A bracketed property name (`[givenName]`, `[userPrincipalName]`), as Microsoft Entra writes
//! them, names the column by itself, whatever the words around it say.
//!
//! A column whose header speaks of a personal, private, home, recovery, secondary, alternate,
//! other, backup, emergency, manager or supervisor address is never taken for the email; the
//! whole header is looked at, decorations included, so `E-Mail (privat)` stays out too.
//!
//! Some spellings are *weak*: `userPrincipalName`, `login`, the legal or preferred variants of
//! first and last names, and any other header ending in `email`. A weak column fills its field
//! only when no ordinary spelling does, so an export holding both `mail` and
//! `userPrincipalName` uses `mail`. Two columns of the same strength for one field is an error
//! unless `--map` chooses.
//!
//! # Finding the header
//!
//! The header is the first row, among the first [`HEADER_SEARCH_RECORDS`] records, that names an
//! email column together with another known column. Title rows, report prompts and
//! Entra's `version:v1.0` row above it never satisfy that and are skipped. When no row does,
//! the first row naming an email column alone is taken; when none names one at all, the
//! missing-email error reports the row that looked most like a header. `--header-row` skips the
//! search.
//!
//! # The second label row
//!
//! The row directly under the header is skipped, once, when it is plainly not a person:
//!
//! - its first non-empty cell begins with `example` (Entra's examples row); or
//! - its email is at a Microsoft documentation domain (`contoso`, `fabrikam`), as in Entra's
//!   examples; or
//! - its email cell holds no `@` and either names a column itself (a repeated header, or a row
//!   of system field names) or every non-empty cell is a marker such as `Required`.
//!
//! Any other row with a bad email stays a data row and is reported invalid: a person is never
//! dropped silently.
//!
//! # Choosing the delimiter
//!
//! Comma, semicolon and tab are each tried on the first lines of the file, quotes respected.
//! The one under which a header is found wins; when more than one finds it, the one splitting
//! it into the most cells. With no header found, the one splitting the first plausible row
//! into the most cells wins.

use std::fmt;
use std::str::FromStr;

use super::error::{RosterError, visible};
use super::tokenize::{Record, trim_cell};

/// How many records from the top of the file are searched for the header.
pub const HEADER_SEARCH_RECORDS: usize = 64;

/// A field of a create call that a roster column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The work email address; required.
    Email,
    /// The first name.
    FirstName,
    /// The last name.
    LastName,
    /// The display name.
    DisplayName,
    /// A whole name in one cell, sent as the display name when no display-name column exists.
    FullName,
    /// Zoom's user type number.
    UserType,
    /// The password, used only for `autoCreate` rows.
    Password,
    /// The create action.
    Action,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 8] = [
        Field::Email,
        Field::FirstName,
        Field::LastName,
        Field::DisplayName,
        Field::FullName,
        Field::UserType,
        Field::Password,
        Field::Action,
    ];

    /// The field's name as `--map` takes it and messages print it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::DisplayName => "display_name",
            Field::FullName => "full_name",
            Field::UserType => "type",
            Field::Password => "password",
            Field::Action => "action",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The error for a `--map` field name that is not a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a field\nhint: use email, first_name, last_name, display_name, full_name, \
     type, password or action"
)]
pub struct UnknownField(pub String);

impl FromStr for Field {
    type Err = UnknownField;

    /// Parses a field name loosely: `first_name`, `First Name` and `first-name` are one field,
    /// and `user_type` is `type`.
    fn from_str(text: &str) -> Result<Field, UnknownField> {
        let key = squash(text);
        let field = match key.as_str() {
            "type" | "usertype" => Field::UserType,
            "name" | "fullname" => Field::FullName,
            _ => {
                return Field::ALL
                    .into_iter()
                    .find(|field| squash(field.as_str()) == key)
                    .ok_or_else(|| UnknownField(text.to_owned()));
            }
        };
        Ok(field)
    }
}

/// One column of the header: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's position, from 0.
    pub position: usize,
    /// The header cell as written.
    pub header: String,
}

impl Column {
    /// A column at `position` headed `header`.
    #[must_use]
    pub fn new(position: usize, header: &str) -> Column {
        Column {
            position,
            header: header.to_owned(),
        }
    }

    /// The spreadsheet letter of the column: A, B, ..., Z, AA, AB, ...
    #[must_use]
    pub fn letter(&self) -> String {
        let mut number = self.position + 1;
        let mut letters = Vec::new();
        while number > 0 {
            let remainder = (number - 1) % 26;
            letters.push(char::from(b'A' + remainder as u8));
            number = (number - 1) / 26;
        }
        letters.iter().rev().collect()
    }

    /// The column as messages show it: its letter and its header, invisible characters made
    /// visible, e.g. `C "Email\u{a0}"`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("{} \"{}\"", self.letter(), visible(&self.header))
    }
}

/// How a column came to fill its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `--map` named it.
    Map,
    /// Its header is a spelling of the field.
    Header,
}

/// One field and the column that fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnChoice {
    /// The field.
    pub field: Field,
    /// The column.
    pub column: Column,
    /// How it was chosen.
    pub chosen_by: ChosenBy,
}

/// How firmly a header spelling names its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// Used only when no ordinary spelling is present.
    Weak,
    /// An ordinary spelling.
    Ordinary,
}

/// Lowercases and keeps only letters and digits: the form header spellings are compared in.
pub(crate) fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Header spellings, squashed, and the field each names.
const SPELLINGS: &[(&str, Field)] = &[
    // Zoom's template, HR systems, Google Workspace, Okta, JumpCloud, German Excel.
    ("email", Field::Email),
    ("emailaddress", Field::Email),
    ("emailaddresses", Field::Email),
    ("mail", Field::Email),
    ("mailaddress", Field::Email),
    ("emailid", Field::Email),
    ("workemail", Field::Email),
    ("workemailaddress", Field::Email),
    ("businessemail", Field::Email),
    ("businessemailaddress", Field::Email),
    ("companyemail", Field::Email),
    ("corporateemail", Field::Email),
    ("officeemail", Field::Email),
    ("officialemail", Field::Email),
    ("primaryemail", Field::Email),
    ("primaryemailaddress", Field::Email),
    ("primaryworkemail", Field::Email),
    ("emailwork", Field::Email),
    ("emailprimary", Field::Email),
    ("emailprimarywork", Field::Email),
    ("emailbusiness", Field::Email),
    ("workcontactworkemail", Field::Email),
    ("workcontactemail", Field::Email),
    ("employeeemail", Field::Email),
    ("useremail", Field::Email),
    ("emailadresse", Field::Email),
    ("emailadressegeschäftlich", Field::Email),
    ("geschäftlicheemail", Field::Email),
    ("geschäftlicheemailadresse", Field::Email),
    ("dienstlicheemail", Field::Email),
    ("firstname", Field::FirstName),
    ("first", Field::FirstName),
    ("givenname", Field::FirstName),
    ("forename", Field::FirstName),
    ("vorname", Field::FirstName),
    ("lastname", Field::LastName),
    ("last", Field::LastName),
    ("surname", Field::LastName),
    ("familyname", Field::LastName),
    ("sn", Field::LastName),
    ("nachname", Field::LastName),
    ("familienname", Field::LastName),
    ("displayname", Field::DisplayName),
    ("anzeigename", Field::DisplayName),
    ("fullname", Field::FullName),
    ("name", Field::FullName),
    ("employeename", Field::FullName),
    ("employeefullname", Field::FullName),
    ("workername", Field::FullName),
    ("legalname", Field::FullName),
    ("legalfullname", Field::FullName),
    ("type", Field::UserType),
    ("usertype", Field::UserType),
    ("zoomusertype", Field::UserType),
    ("zoomtype", Field::UserType),
    ("licensetype", Field::UserType),
    ("licencetype", Field::UserType),
    ("zoomlicense", Field::UserType),
    ("zoomlicence", Field::UserType),
    ("benutzertyp", Field::UserType),
    ("password", Field::Password),
    ("initialpassword", Field::Password),
    ("temporarypassword", Field::Password),
    ("passwort", Field::Password),
    ("kennwort", Field::Password),
    ("action", Field::Action),
    ("createaction", Field::Action),
    ("zoomaction", Field::Action),
];

/// Spellings that fill their field only when no ordinary spelling does.
const WEAK_SPELLINGS: &[(&str, Field)] = &[
    ("userprincipalname", Field::Email),
    ("upn", Field::Email),
    ("login", Field::Email),
    ("legalfirstname", Field::FirstName),
    ("legalnamefirstname", Field::FirstName),
    ("preferredfirstname", Field::FirstName),
    ("preferrednamefirstname", Field::FirstName),
    ("legallastname", Field::LastName),
    ("legalnamelastname", Field::LastName),
    ("preferredlastname", Field::LastName),
    ("preferrednamelastname", Field::LastName),
];

/// Microsoft Entra property names, lowercased, as they appear in brackets.
const PROPERTIES: &[(&str, Field, Strength)] = &[
    ("userprincipalname", Field::Email, Strength::Weak),
    ("mail", Field::Email, Strength::Ordinary),
    ("email", Field::Email, Strength::Ordinary),
    ("givenname", Field::FirstName, Strength::Ordinary),
    ("surname", Field::LastName, Strength::Ordinary),
    ("displayname", Field::DisplayName, Strength::Ordinary),
    ("passwordprofile", Field::Password, Strength::Ordinary),
];

/// Words that make an email column someone else's address, or not the work one.
const NOT_THE_WORK_EMAIL: &[&str] = &[
    "personal",
    "private",
    "privat",
    "persönlich",
    "home",
    "recovery",
    "secondary",
    "second",
    "alternate",
    "alternative",
    "other",
    "backup",
    "emergency",
    "manager",
    "supervisor",
    "newprimary",
    "spouse",
    "parent",
    "guardian",
    "reportsto",
];

/// Decoration words that templates put before or after a header's name.
const MARKERS: &[&str] = &["required", "optional", "mandatory", "uploadonly", "pflicht"];

/// What a header cell names, and how firmly.
fn recognise(header: &str) -> Option<(Field, Strength)> {
    let header =
        trim_cell(header).trim_matches(|c| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’'));
    if let Some(found) = bracketed_property(header) {
        return Some(found);
    }
    let key = strip_markers(&squash(&strip_decorations(header)));
    let mut found = SPELLINGS
        .iter()
        .find(|(spelling, _)| *spelling == key)
        .map(|&(_, field)| (field, Strength::Ordinary))
        .or_else(|| {
            WEAK_SPELLINGS
                .iter()
                .find(|(spelling, _)| *spelling == key)
                .map(|&(_, field)| (field, Strength::Weak))
        });
    if found.is_none() && (key.ends_with("email") || key.ends_with("emailaddress")) {
        found = Some((Field::Email, Strength::Weak));
    }
    if found.is_some_and(|(field, _)| field == Field::Email) {
        let whole = squash(header);
        if NOT_THE_WORK_EMAIL.iter().any(|word| whole.contains(word)) {
            return None;
        }
    }
    found
}

/// Finds a known property name in brackets, such as Entra's `[givenName]`.
fn bracketed_property(header: &str) -> Option<(Field, Strength)> {
    let mut rest = header;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']')?;
        let inside = after[..close].trim().to_lowercase();
        if let Some(&(_, field, strength)) = PROPERTIES.iter().find(|(name, ..)| *name == inside) {
            return Some((field, strength));
        }
        rest = &after[close + 1..];
    }
    None
}

/// Removes bracketed and parenthesised parts and asterisks.
fn strip_decorations(header: &str) -> String {
    let mut kept = String::with_capacity(header.len());
    let mut depth = 0_u32;
    for c in header.chars() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            '*' => {}
            _ if depth == 0 => kept.push(c),
            _ => {}
        }
    }
    kept
}

/// Removes a leading or trailing marker word from a squashed header.
fn strip_markers(key: &str) -> String {
    let mut key = key;
    for marker in MARKERS {
        if key.len() > marker.len() {
            key = key.strip_suffix(marker).unwrap_or(key);
            key = key.strip_prefix(marker).unwrap_or(key);
        }
    }
    key.to_owned()
}

/// Whether a `--map` header text names this header cell: equal once trimmed, or once squashed.
pub(crate) fn map_matches(wanted: &str, header: &str) -> bool {
    let header = trim_cell(header);
    let wanted = trim_cell(wanted);
    header == wanted || (!squash(wanted).is_empty() && squash(wanted) == squash(header))
}

/// Fields recognised in a row, `--map` taken into account, without resolving conflicts.
fn fields_named(cells: &[String], column_map: &[(Field, String)]) -> Vec<Field> {
    cells
        .iter()
        .filter_map(|cell| {
            column_map
                .iter()
                .rev()
                .find(|(_, wanted)| map_matches(wanted, cell))
                .map(|&(field, _)| field)
                .or_else(|| recognise(cell).map(|(field, _)| field))
        })
        .collect()
}

/// Maps header cells to fields: `--map` first, then recognised spellings.
///
/// A later `--map` for the same field replaces an earlier one. A full-name column found by its
/// spelling is dropped when a first- or last-name column exists.
pub(crate) fn map_columns(
    headers: &[String],
    line: u64,
    column_map: &[(Field, String)],
) -> Result<Vec<ColumnChoice>, RosterError> {
    let mut choices: Vec<ColumnChoice> = Vec::new();
    let mut taken = vec![false; headers.len()];
    for (index, (field, wanted)) in column_map.iter().enumerate() {
        if column_map[index + 1..]
            .iter()
            .any(|(later, _)| later == field)
        {
            continue;
        }
        let position = headers
            .iter()
            .position(|header| trim_cell(header) == trim_cell(wanted))
            .or_else(|| {
                headers
                    .iter()
                    .position(|header| map_matches(wanted, header))
            })
            .ok_or_else(|| RosterError::MappedColumnMissing {
                field: *field,
                header: wanted.clone(),
                line,
                headers: headers.to_vec(),
            })?;
        taken[position] = true;
        choices.push(ColumnChoice {
            field: *field,
            column: Column::new(position, &headers[position]),
            chosen_by: ChosenBy::Map,
        });
    }

    let mut found: Vec<(Field, Strength, Column)> = Vec::new();
    for (position, header) in headers.iter().enumerate() {
        if taken[position] {
            continue;
        }
        if let Some((field, strength)) = recognise(header)
            && choices.iter().all(|choice| choice.field != field)
        {
            found.push((field, strength, Column::new(position, header)));
        }
    }
    for field in Field::ALL {
        let Some(strongest) = found.iter().filter(|f| f.0 == field).map(|f| f.1).max() else {
            continue;
        };
        let mut columns = found
            .iter()
            .filter(|f| f.0 == field && f.1 == strongest)
            .map(|f| f.2.clone());
        let first = columns.next().expect("the strongest exists");
        if let Some(second) = columns.next() {
            return Err(RosterError::DuplicateColumn {
                field,
                line,
                first,
                second,
            });
        }
        choices.push(ColumnChoice {
            field,
            column: first,
            chosen_by: ChosenBy::Header,
        });
    }

    let has = |wanted: Field, choices: &[ColumnChoice]| choices.iter().any(|c| c.field == wanted);
    if has(Field::FirstName, &choices) || has(Field::LastName, &choices) {
        choices.retain(|c| c.field != Field::FullName || c.chosen_by == ChosenBy::Map);
    }
    if !has(Field::Email, &choices) {
        return Err(RosterError::MissingEmailColumn {
            line,
            headers: headers.to_vec(),
        });
    }
    choices.sort_by_key(|choice| choice.field);
    Ok(choices)
}

/// How well a row serves as the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum HeaderQuality {
    /// Names nothing known, or only one thing: the best of these is reported when nothing
    /// better exists, ranked by its number of non-empty cells.
    Plausible(usize),
    /// Names an email column alone.
    EmailOnly,
    /// Names an email column and another known column.
    Full,
}

/// Grades one row as a header candidate.
fn grade(cells: &[String], column_map: &[(Field, String)]) -> HeaderQuality {
    let fields = fields_named(cells, column_map);
    if fields.contains(&Field::Email) {
        if fields.iter().any(|&field| field != Field::Email) {
            HeaderQuality::Full
        } else {
            HeaderQuality::EmailOnly
        }
    } else {
        HeaderQuality::Plausible(
            cells
                .iter()
                .filter(|cell| !trim_cell(cell).is_empty())
                .count(),
        )
    }
}

/// The header row chosen from the top of the file, and the delimiter it was read with.
#[derive(Debug, Clone)]
pub(crate) struct HeaderGuess {
    /// The delimiter.
    pub delimiter: u8,
    /// The header record, or the best candidate when it names no email column.
    pub record: Record,
}

/// Picks the header among `records` (the top of the file read with one delimiter, or the top
/// of a sheet).
pub(crate) fn find_header(
    records: &[Record],
    header_row: Option<u64>,
    column_map: &[(Field, String)],
) -> Option<(HeaderQuality, Record)> {
    if let Some(line) = header_row {
        let record = records.iter().find(|record| record.line == line)?;
        return Some((grade(&record.cells, column_map), record.clone()));
    }
    let mut best: Option<(HeaderQuality, &Record)> = None;
    // A row of nothing but delimiters is blank whichever delimiter it is read with.
    let blank = |record: &&Record| {
        record.cells.iter().all(|cell| {
            trim_cell(cell)
                .chars()
                .all(|c| matches!(c, ',' | ';' | '\t'))
        })
    };
    let candidates = records.iter().filter(|record| !blank(record));
    for record in candidates.take(HEADER_SEARCH_RECORDS) {
        let quality = grade(&record.cells, column_map);
        if quality == HeaderQuality::Full {
            return Some((quality, record.clone()));
        }
        if best.is_none_or(|(best_quality, _)| quality > best_quality) {
            best = Some((quality, record));
        }
    }
    best.map(|(quality, record)| (quality, record.clone()))
}

/// Chooses the delimiter and the header from the top of the file, read once per delimiter.
///
/// `read_top` tokenizes the top of the file with the delimiter given. `None` means the file
/// has no records at all.
pub(crate) fn choose_header(
    mut read_top: impl FnMut(u8) -> Vec<Record>,
    delimiter: Option<u8>,
    header_row: Option<u64>,
    column_map: &[(Field, String)],
) -> Option<HeaderGuess> {
    let candidates: Vec<u8> = delimiter.map_or_else(|| vec![b',', b';', b'\t'], |d| vec![d]);
    let mut best: Option<((HeaderQuality, usize), HeaderGuess)> = None;
    for candidate in candidates {
        let records = read_top(candidate);
        let Some((quality, record)) = find_header(&records, header_row, column_map) else {
            continue;
        };
        let score = (quality, record.cells.len());
        if best
            .as_ref()
            .is_none_or(|(best_score, _)| score > *best_score)
        {
            best = Some((
                score,
                HeaderGuess {
                    delimiter: candidate,
                    record,
                },
            ));
        }
    }
    best.map(|(_, guess)| guess)
}

/// Whether the row directly under the header is a second row of labels (see the module docs).
pub(crate) fn is_label_row(cells: &[String], email_position: usize) -> bool {
    let email = cells.get(email_position).map_or("", |cell| trim_cell(cell));
    let first = cells
        .iter()
        .map(|cell| trim_cell(cell))
        .find(|cell| !cell.is_empty());
    if let Some((_, domain)) = email.rsplit_once('@') {
        let domain = domain.to_lowercase();
        if domain
            .split('.')
            .any(|label| label == "contoso" || label == "fabrikam")
        {
            return true;
        }
        // A plausible address is a person, whatever else the row says: dropping a real hire
        // unreported is worse than sending an example row, which Zoom would refuse anyway.
        if crate::zoom::rules::email_problem(email).is_none() {
            return false;
        }
    }
    if first.is_some_and(|cell| cell.to_lowercase().starts_with("example")) {
        return true;
    }
    let non_empty: Vec<&str> = cells
        .iter()
        .map(|cell| trim_cell(cell))
        .filter(|cell| !cell.is_empty())
        .collect();
    let all_markers = !non_empty.is_empty()
        && non_empty.iter().all(|cell| {
            let key = squash(cell);
            MARKERS.contains(&key.as_str()) || matches!(key.as_str(), "yes" | "no" | "yesno")
        });
    recognise(email).is_some() || all_markers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|&cell| cell.to_owned()).collect()
    }

    fn named(header: &str) -> Option<Field> {
        recognise(header).map(|(field, _)| field)
    }

    #[test]
    fn spellings_from_every_kind_of_export() {
        for email in [
            "Email",
            " EMAIL\u{a0}",
            "E-Mail",
            "e_mail",
            "Email Address",
            "Work Email",
            "Email - Primary Work",
            "Work Contact: Work Email",
            "Business Email",
            "Email Address [Required]",
            "\"Email\"",
            "Email*",
            "E-Mail (geschäftlich)",
            "User name [userPrincipalName] Required",
            "login",
            "Employee Work Email",
        ] {
            assert_eq!(named(email), Some(Field::Email), "{email}");
        }
        for other in [
            "Personal Email",
            "Private E-mail",
            "Home Email",
            "Recovery Email",
            "Secondary Email",
            "Alternate Email",
            "Manager Email [UPLOAD ONLY]",
            "Supervisor Email",
            "E-Mail (privat)",
            "New Primary Email [UPLOAD ONLY]",
            "Employee ID",
            "Department",
            "Block sign in (Yes/No) [accountEnabled] Required",
        ] {
            assert_eq!(named(other), None, "{other}");
        }
        assert_eq!(named("First Name [Required]"), Some(Field::FirstName));
        assert_eq!(named("First name [givenName]"), Some(Field::FirstName));
        assert_eq!(named("Last name [surname]"), Some(Field::LastName));
        assert_eq!(
            named("Name [displayName] Required"),
            Some(Field::DisplayName)
        );
        assert_eq!(
            named("Initial password [passwordProfile] Required"),
            Some(Field::Password)
        );
        assert_eq!(named("Vorname"), Some(Field::FirstName));
        assert_eq!(named("Nachname"), Some(Field::LastName));
        assert_eq!(named("User Type"), Some(Field::UserType));
        assert_eq!(named("Full Name"), Some(Field::FullName));
        assert_eq!(named("firstName"), Some(Field::FirstName));
    }

    #[test]
    fn fields_parse_loosely_for_map() {
        assert_eq!("first-name".parse::<Field>(), Ok(Field::FirstName));
        assert_eq!("Email".parse::<Field>(), Ok(Field::Email));
        assert_eq!("user_type".parse::<Field>(), Ok(Field::UserType));
        assert!("mail".parse::<Field>().is_err());
    }

    #[test]
    fn column_letters() {
        let letter = |position| Column::new(position, "").letter();
        assert_eq!(
            [letter(0), letter(25), letter(26), letter(701)],
            ["A", "Z", "AA", "ZZ"]
        );
    }

    #[test]
    fn ordinary_spellings_beat_weak_ones_and_equals_conflict() {
        let headers = strings(&["userPrincipalName", "mail", "givenName"]);
        let choices = map_columns(&headers, 1, &[]).unwrap();
        assert_eq!(choices[0].column.position, 1);

        let headers = strings(&["Email", "Name", "Work Email"]);
        let error = map_columns(&headers, 3, &[]).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("columns A \"Email\" and C \"Work Email\" both look like the email column (header on line 3)"), "{text}");
        assert!(
            text.contains("\nhint: choose one with --map email=\"Work Email\""),
            "{text}"
        );

        let map = [(Field::Email, "work email".to_owned())];
        let choices = map_columns(&headers, 3, &map).unwrap();
        assert_eq!(choices[0].column.position, 2);
        assert_eq!(choices[0].chosen_by, ChosenBy::Map);
    }

    #[test]
    fn a_full_name_is_kept_only_without_first_and_last_names() {
        let only = map_columns(&strings(&["Name", "Email"]), 1, &[]).unwrap();
        assert!(only.iter().any(|choice| choice.field == Field::FullName));
        let both = map_columns(&strings(&["Name", "Email", "First Name"]), 1, &[]).unwrap();
        assert!(both.iter().all(|choice| choice.field != Field::FullName));
    }

    #[test]
    fn a_map_to_a_missing_header_lists_the_headers() {
        let map = [(Field::Email, "Mail".to_owned())];
        let error = map_columns(&strings(&["E"]), 1, &map).unwrap_err();
        assert!(matches!(error, RosterError::MappedColumnMissing { .. }));
    }

    #[test]
    fn label_rows() {
        let email_at = 1;
        assert!(is_label_row(
            &strings(&["Example: Chris Green", "chris@contoso.com"]),
            email_at
        ));
        assert!(is_label_row(
            &strings(&["Chris Green", "chris@contoso.onmicrosoft.com"]),
            email_at
        ));
        assert!(is_label_row(&strings(&["Name", "Email"]), email_at));
        assert!(is_label_row(&strings(&["Required", "Required"]), email_at));
        assert!(!is_label_row(
            &strings(&["Ann", "ann@example.com"]),
            email_at
        ));
        // Regression: a team named "Examples…" had its first member dropped as a label row.
        assert!(!is_label_row(
            &strings(&["Examples QA Team", "ann@acme.example"]),
            email_at
        ));
        assert!(!is_label_row(
            &strings(&["Ann", "not-an-address"]),
            email_at
        ));
    }
}
