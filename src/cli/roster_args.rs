//! The options that say how to read a roster, shared by `run` and `check`.

use crate::roster::{Field, FilterKind, RosterOptions, RowFilter, encoding_for_label};
use crate::zoom::rules::Action;

use super::config;

/// How to read the roster.
#[derive(Debug, Clone, clap::Args)]
pub struct RosterArgs {
    /// The user type for rows without a type column: 1 Basic, 2 Licensed, 4 Unassigned,
    /// 99 None (ssoCreate only).
    #[arg(long = "type", value_name = "TYPE", default_value_t = 1, env = config::ENV_TYPE)]
    pub user_type: i64,

    /// The action for rows without an action column: create, autoCreate, custCreate or
    /// ssoCreate (any letter case).
    #[arg(long, value_name = "ACTION", default_value = "create", value_parser = parse_action,
          env = config::ENV_ACTION)]
    pub action: Action,

    /// The roster's encoding when it has no byte order mark and is not UTF-8, e.g.
    /// windows-1252 or iso-8859-1 (any WHATWG label).
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    pub encoding: Option<&'static encoding_rs::Encoding>,

    /// The cell delimiter [default: detected from the header: comma, semicolon or tab].
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The line the header is on, from 1 [default: the first row naming an email column and
    /// another known column].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_row: Option<u64>,

    /// Take a field from a column by its header, e.g. --map email="Login Address". Fields:
    /// email, first name, last name, display name, full name, type, password, action.
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = parse_mapping)]
    pub column_map: Vec<(Field, String)>,

    /// The sheet of a workbook (.xlsx, .ods) to read [default: the first sheet].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// Keep only rows whose COLUMN matches PATTERN, a regular expression that must match the
    /// whole cell, e.g. --where "Status=Hired|Onboarding" (repeatable: every one must match).
    /// Rows left out are counted, not written to the results.
    #[arg(long = "where", value_name = "COLUMN=PATTERN", value_parser = parse_where)]
    pub keep_where: Vec<RowFilter>,

    /// Leave out rows whose COLUMN matches PATTERN (whole cell, regular expression), e.g.
    /// --skip-where "Hire Date=2026-11-.*" (repeatable).
    #[arg(long, value_name = "COLUMN=PATTERN", value_parser = parse_skip_where)]
    pub skip_where: Vec<RowFilter>,
}

impl RosterArgs {
    /// The reader's options, or why the defaults given cannot work together.
    pub fn options(&self) -> Result<RosterOptions, String> {
        if let Some(problem) = crate::zoom::rules::user_type_problem(self.action, self.user_type) {
            return Err(format!("--type {problem} (with --action {})", self.action));
        }
        Ok(RosterOptions {
            default_action: self.action,
            default_type: self.user_type,
            encoding: self.encoding,
            delimiter: self.delimiter,
            header_row: self.header_row,
            column_map: self.column_map.clone(),
            sheet: self.sheet.clone(),
            filters: self
                .keep_where
                .iter()
                .chain(&self.skip_where)
                .cloned()
                .collect(),
        })
    }
}

fn parse_action(text: &str) -> Result<Action, String> {
    Action::from_any_case(text)
        .ok_or_else(|| "expected create, autoCreate, custCreate or ssoCreate".to_owned())
}

fn parse_encoding(text: &str) -> Result<&'static encoding_rs::Encoding, String> {
    encoding_for_label(text).ok_or_else(|| {
        format!("{text:?} is not an encoding label; try utf-8, windows-1252 or utf-16le")
    })
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "\\t" | "tab" | "TAB" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" => Ok(text.as_bytes()[0]),
        _ => Err("expected one ASCII character, such as , or ; or tab".to_owned()),
    }
}

fn parse_mapping(text: &str) -> Result<(Field, String), String> {
    let (field, header) = text
        .split_once('=')
        .ok_or_else(|| "expected FIELD=HEADER, e.g. email=\"Work Email\"".to_owned())?;
    let field = field.parse::<Field>().map_err(|error| error.to_string())?;
    Ok((field, header.to_owned()))
}

fn parse_where(text: &str) -> Result<RowFilter, String> {
    RowFilter::parse(FilterKind::Where, text)
}

fn parse_skip_where(text: &str) -> Result<RowFilter, String> {
    RowFilter::parse(FilterKind::SkipWhere, text)
}
