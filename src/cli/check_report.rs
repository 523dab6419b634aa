//! The report `zoom-onboard check` prints: how the roster was read, what its rows are, and
//! how many days of create quota they need.

use std::fmt::Write as _;
use std::path::Path;

use crate::roster::report::thousands;
use crate::roster::{
    ChosenBy, Decided, EncodingSource, Field, Format, Layout, QuotaPlan, RosterReport, visible,
};

/// The facts the report shows.
pub struct CheckedRoster<'a> {
    /// The roster's path.
    pub roster: &'a Path,
    /// What the reader chose.
    pub layout: &'a Layout,
    /// The counts.
    pub report: &'a RosterReport,
    /// The days of create quota the valid rows need.
    pub quota: QuotaPlan,
    /// Where results were written, with `--out`.
    pub results: Option<&'a Path>,
}

/// Renders the report as text, one fact a line, labels in a column.
#[must_use]
pub fn render(checked: &CheckedRoster<'_>) -> String {
    let mut text = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(text, "{label:<10} {value}");
    };
    let layout = checked.layout;
    line("roster", &checked.roster.display().to_string());
    for (label, value) in format_lines(layout) {
        line(label, &value);
    }
    line("header", &header_line(layout));
    for (index, column) in column_lines(layout).into_iter().enumerate() {
        line(if index == 0 { "columns" } else { "" }, &column);
    }
    for (index, chosen) in layout.filters.iter().enumerate() {
        let value = format!("{}: column {}", chosen.filter, chosen.column.describe());
        line(if index == 0 { "rows kept" } else { "" }, &value);
    }
    text.push_str(&count_lines(checked.report));
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(text, "{label:<10} {value}");
    };
    line("quota", &checked.quota.to_string());
    if let Some(results) = checked.results {
        line("results", &results.display().to_string());
    }
    text
}

/// The lines that say what kind of file the roster is and how it was read.
fn format_lines(layout: &Layout) -> Vec<(&'static str, String)> {
    match &layout.format {
        Format::Text {
            encoding,
            encoding_source,
            delimiter_decided,
            ..
        } => {
            let how = match encoding_source {
                EncodingSource::ByteOrderMark => "from its byte order mark",
                EncodingSource::Option => "given by --encoding",
                EncodingSource::NulPattern => "detected: UTF-16 without a byte order mark",
                EncodingSource::Default => "detected: the whole file is valid UTF-8",
                EncodingSource::Utf8OverOption => {
                    "detected: valid UTF-8, so --encoding was not applied"
                }
            };
            let delimiter = layout.delimiter_name().unwrap_or_default();
            let decided = match delimiter_decided {
                Decided::ByOption => "given by --delimiter",
                Decided::Detected => "detected from the header row",
            };
            vec![
                ("encoding", format!("{} ({how})", encoding.name())),
                ("delimiter", format!("{delimiter} ({decided})")),
            ]
        }
        Format::Workbook(sheet) => {
            let how = if sheet.named {
                "given by --sheet"
            } else {
                "the first sheet"
            };
            vec![(
                "workbook",
                format!("{}, sheet \"{}\" ({how})", sheet.kind, visible(&sheet.name)),
            )]
        }
    }
}

/// Which row is the header, how it was chosen, and any label row skipped under it.
fn header_line(layout: &Layout) -> String {
    let how = match layout.header_decided {
        Decided::ByOption => "given by --header-row",
        Decided::Detected => "found: the first row naming an email and another known column",
    };
    let mut header = format!("row {} ({how})", layout.header_row);
    if let Some(label_row) = layout.label_row {
        let _ = write!(header, "; row {label_row} under it skipped as a label row");
    }
    header
}

/// One line per mapped field: its column and how it was chosen.
fn column_lines(layout: &Layout) -> Vec<String> {
    layout
        .columns
        .iter()
        .map(|choice| {
            let how = match choice.chosen_by {
                ChosenBy::Map => "given by --map",
                ChosenBy::Header => "by its header",
            };
            let sent_as = if choice.field == Field::FullName && layout.full_name_as_display {
                ", sent as display_name"
            } else {
                ""
            };
            format!(
                "{:<12} {} ({how}{sent_as})",
                choice.field.as_str(),
                choice.column.describe()
            )
        })
        .collect()
}

/// The row counts, invalid rows by reason.
fn count_lines(report: &RosterReport) -> String {
    fn count(text: &mut String, label: &str, count: u64, note: &str) {
        let _ = writeln!(text, "  {label:<10} {:>9}{note}", thousands(count));
    }
    let mut text = format!("{:<10} {} data rows\n", "rows", thousands(report.rows));
    let other_actions = report.valid - report.create_rows;
    let valid_note = if other_actions > 0 {
        format!(
            "  ({} create, {} other actions)",
            thousands(report.create_rows),
            thousands(other_actions)
        )
    } else {
        String::new()
    };
    count(&mut text, "valid", report.valid, &valid_note);
    count(&mut text, "invalid", report.invalid, "");
    for reason in &report.reasons {
        let _ = writeln!(
            text,
            "    {:>9}  {}  (first on row {})",
            thousands(reason.rows),
            reason.problem,
            reason.first_row
        );
    }
    if report.other_reasons > 0 {
        let _ = writeln!(
            text,
            "    {:>9}  other reasons: see the results",
            thousands(report.other_reasons)
        );
    }
    count(&mut text, "duplicate", report.duplicate, "");
    count(
        &mut text,
        "left out",
        report.left_out,
        "  (by --where/--skip-where; not in the results)",
    );
    text
}
