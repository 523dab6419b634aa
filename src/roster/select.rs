//! Choosing which data rows are hires: `--where COLUMN=PATTERN` and `--skip-where
//! COLUMN=PATTERN`.
//!
//! This module owns the row selection: parsing the options, finding their columns in the
//! header, and deciding for each data row whether it is kept or left out. It does not check
//! the rows it keeps; that is `check`'s job.
//!
//! # Decisions
//!
//! - COLUMN is matched against the header as `--map` matches it: equal once trimmed, or once
//!   case, spaces, `_`, `-` and other punctuation are ignored. A COLUMN that names no header is
//!   a whole-roster error, since a misspelt filter would otherwise choose nobody, or everybody.
//! - PATTERN is a regular expression (the `regex` crate's syntax) that must match the whole
//!   cell, trimmed: `--where Status=Hired` does not choose `Not Hired` or `Rehired`. Use `.*`
//!   for a part (`--where "Hire Date=2026-12-.*"`), `|` for alternatives
//!   (`--where "Status=Hired|Onboarding"`) and `(?i)` to ignore case. A missing cell of a short
//!   row is the empty string.
//! - A row is kept when it matches every `--where` and no `--skip-where`.
//! - A row left out is counted, and neither checked nor written to the results: it is not a
//!   hire of this run, so it is neither `invalid` nor `duplicate`, and it claims no email. The
//!   results hold one line per row kept.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use super::error::RosterError;
use super::header::{Column, map_matches};
use super::tokenize::trim_cell;

/// Whether a filter keeps or leaves out the rows it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// `--where`: only matching rows are kept.
    Where,
    /// `--skip-where`: matching rows are left out.
    SkipWhere,
}

impl FilterKind {
    /// The option that gives this kind of filter, e.g. `--where`.
    #[must_use]
    pub fn option(self) -> &'static str {
        match self {
            FilterKind::Where => "--where",
            FilterKind::SkipWhere => "--skip-where",
        }
    }
}

/// One `--where` or `--skip-where`.
#[derive(Debug, Clone)]
pub struct RowFilter {
    /// Keep or leave out the matching rows.
    pub kind: FilterKind,
    /// The column, as given.
    pub column: String,
    /// The pattern, as given.
    pub pattern: String,
    /// The pattern anchored at both ends.
    regex: Regex,
}

impl RowFilter {
    /// A filter of `kind` from `COLUMN=PATTERN`.
    pub fn parse(kind: FilterKind, text: &str) -> Result<RowFilter, String> {
        let (column, pattern) = text
            .split_once('=')
            .ok_or_else(|| "expected COLUMN=PATTERN, e.g. Status=Hired".to_owned())?;
        if trim_cell(column).is_empty() {
            return Err("the COLUMN before = is empty".to_owned());
        }
        // Cells are trimmed before they are matched, so spaces around `=` are only spacing.
        let pattern = pattern.trim();
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|error| format!("{pattern:?} is not a regular expression: {error}"))?;
        Ok(RowFilter {
            kind,
            column: column.to_owned(),
            pattern: pattern.to_owned(),
            regex,
        })
    }
}

impl fmt::Display for RowFilter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {}={}",
            self.kind.option(),
            self.column,
            self.pattern
        )
    }
}

impl FromStr for RowFilter {
    type Err = String;

    /// Parses a `--where` filter; use [`RowFilter::parse`] for `--skip-where`.
    fn from_str(text: &str) -> Result<RowFilter, String> {
        RowFilter::parse(FilterKind::Where, text)
    }
}

/// A filter whose column is found in the header.
#[derive(Debug, Clone)]
pub struct ChosenFilter {
    /// The filter.
    pub filter: RowFilter,
    /// The column it reads.
    pub column: Column,
}

/// The row selection for one roster: every filter, resolved against its header.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    filters: Vec<ChosenFilter>,
}

impl Selection {
    /// Finds each filter's column in `headers`, or says which is missing.
    pub(crate) fn new(
        filters: &[RowFilter],
        headers: &[String],
        line: u64,
    ) -> Result<Selection, RosterError> {
        let filters = filters
            .iter()
            .map(|filter| {
                let position = headers
                    .iter()
                    .position(|header| trim_cell(header) == trim_cell(&filter.column))
                    .or_else(|| {
                        headers
                            .iter()
                            .position(|header| map_matches(&filter.column, header))
                    })
                    .ok_or_else(|| RosterError::FilterColumnMissing {
                        option: filter.kind.option(),
                        column: filter.column.clone(),
                        line,
                        headers: headers.to_vec(),
                    })?;
                Ok(ChosenFilter {
                    filter: filter.clone(),
                    column: Column::new(position, &headers[position]),
                })
            })
            .collect::<Result<_, RosterError>>()?;
        Ok(Selection { filters })
    }

    /// The filters and their columns.
    pub(crate) fn filters(&self) -> &[ChosenFilter] {
        &self.filters
    }

    /// Whether a row with these cells is kept.
    pub(crate) fn keeps(&self, cells: &[String]) -> bool {
        self.filters.iter().all(|chosen| {
            let cell = cells
                .get(chosen.column.position)
                .map_or("", |cell| trim_cell(cell));
            let matches = chosen.filter.regex.is_match(cell);
            match chosen.filter.kind {
                FilterKind::Where => matches,
                FilterKind::SkipWhere => !matches,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|&cell| cell.to_owned()).collect()
    }

    #[test]
    fn whole_cells_match_every_where_and_no_skip_where() {
        let headers = strings(&["Email", "Employment Status", "Hire Date"]);
        let filters = [
            RowFilter::parse(FilterKind::Where, "employment_status=Hired|(?i)onboarding").unwrap(),
            RowFilter::parse(FilterKind::SkipWhere, "HIRE DATE=2026-11-.*").unwrap(),
        ];
        let selection = Selection::new(&filters, &headers, 1).unwrap();
        assert_eq!(selection.filters()[0].column.position, 1);
        let keeps = |cells: &[&str]| selection.keeps(&strings(cells));
        assert!(keeps(&["a@x.co", " Hired\u{a0}", "2026-12-01"]));
        assert!(keeps(&["a@x.co", "ONBOARDING", "2026-12-01"]));
        assert!(!keeps(&["a@x.co", "Rehired", "2026-12-01"]));
        assert!(!keeps(&["a@x.co", "Not Hired", "2026-12-01"]));
        assert!(!keeps(&["a@x.co", "Hired", "2026-11-30"]));
        assert!(!keeps(&["a@x.co"]), "a short row's missing cell is empty");
    }

    #[test]
    fn a_filter_on_a_missing_column_is_a_whole_roster_error() {
        let filters = [RowFilter::parse(FilterKind::SkipWhere, "State=x").unwrap()];
        let error = Selection::new(&filters, &strings(&["Email", "Status"]), 2).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("--skip-where names no column State of the header on line 2"),
            "{text}"
        );
        assert!(text.contains("A \"Email\", B \"Status\""), "{text}");
    }

    #[test]
    fn bad_options_are_refused_when_parsed() {
        assert!(RowFilter::parse(FilterKind::Where, "Status").is_err());
        assert!(RowFilter::parse(FilterKind::Where, "=Hired").is_err());
        assert!(RowFilter::parse(FilterKind::Where, "Status=(").is_err());
        let empty = RowFilter::parse(FilterKind::Where, "Status=").unwrap();
        assert_eq!(empty.pattern, "");
    }
}
