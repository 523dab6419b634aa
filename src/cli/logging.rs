//! Logs: where they go, how much, and in what form.
//!
//! Logs are one of the four output channels, apart from the results, the summary and the
//! progress bar. They are quiet by default: warnings and errors only. `-v` adds the decisions
//! (debug), `-vv` everything (trace), and `RUST_LOG`, when set, wins over both.
//!
//! - `--log-format text` (the default) is for people; `json` writes one JSON object a line, with
//!   the level, the fields and the `row` span (row number and attempt), for log shippers.
//! - `--log-file PATH` sends them to a file instead of stderr, created readable by its owner
//!   only, since a debug log names the hires.
//!
//! On stderr, lines go through the progress display's writer, which lifts the bar, writes the
//! line above it and draws the bar again, so a log line never tears the bar. Colour is used only
//! when stderr is a terminal and `NO_COLOR` is not set.

use std::path::Path;
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing_indicatif::writer::{IndicatifWriter, Stderr};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::results::create_private;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text for people.
    #[default]
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// What the command line asked of the logs.
pub struct LogOptions<'a> {
    /// `-v` given this many times.
    pub verbose: u8,
    /// Text or JSON.
    pub format: LogFormat,
    /// A file to write to instead of stderr.
    pub file: Option<&'a Path>,
}

/// Whether to colour a stream: only a terminal, and only when `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
fn colour_allowed(terminal: bool, no_colour: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_colour.is_none_or(std::ffi::OsStr::is_empty)
}

/// Starts logging. `screen` is the progress display's, through which lines on stderr go.
pub fn start(options: &LogOptions<'_>, screen: &MultiProgress) -> Result<(), String> {
    let default = match options.verbose {
        0 => "warn",
        1 => "zoom_onboard=debug,warn",
        _ => "zoom_onboard=trace,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (writer, ansi) = if let Some(path) = options.file {
        let file = create_private(path)
            .map_err(|error| format!("cannot create the log file {}: {error}", path.display()))?;
        (BoxMakeWriter::new(Mutex::new(file)), false)
    } else {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let writer = IndicatifWriter::<Stderr>::new(screen.clone());
        let no_colour = std::env::var_os("NO_COLOR");
        (
            BoxMakeWriter::new(writer),
            colour_allowed(terminal, no_colour.as_deref()),
        )
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second start (tests drive the CLI in-process) keeps the first subscriber.
    let _ = match options.format {
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_turns_colour_off_when_set_and_not_empty() {
        assert!(colour_allowed(true, None));
        assert!(colour_allowed(true, Some(std::ffi::OsStr::new(""))));
        assert!(!colour_allowed(true, Some(std::ffi::OsStr::new("1"))));
        assert!(!colour_allowed(false, None));
    }
}
