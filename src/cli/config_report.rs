//! `zoom-onboard config`: print the settings `run` would use, and where each came from, with
//! the credentials masked.
//!
//! The report goes to stdout, since it is what the command is for; errors go to stderr.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::journal::Journal;
use crate::outcome::exit_code;

use super::config::{ConfigChoice, Origin, Settings};
use super::credentials::FoundCredentials;

/// Options of `zoom-onboard config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Show the credentials of this file, as `run --credentials FILE` would read them, instead
    /// of the environment's.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

/// Prints the report for `settings` and the credentials of `args`; returns the exit code.
#[must_use]
pub fn execute(args: &ConfigArgs, settings: &Settings) -> u8 {
    match FoundCredentials::gather(args.credentials.as_deref()) {
        Ok(credentials) => {
            print!("{}", render(settings, &credentials));
            exit_code::DONE
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit_code::SETUP
        }
    }
}

/// The report: the configuration file, a table of settings, and the credentials, masked.
#[must_use]
pub fn render(settings: &Settings, credentials: &FoundCredentials) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}", describe_file(&settings.config));
    text.push('\n');
    let mut rows = vec![
        row("plan", settings.plan.value.as_str(), &settings.plan.origin),
        row(
            "max-rate",
            &settings.max_rate.value.map_or_else(
                || {
                    format!(
                        "(the plan's, {} a second)",
                        settings.plan.value.light_per_second()
                    )
                },
                |rate| rate.to_string(),
            ),
            &settings.max_rate.origin,
        ),
        row(
            "concurrency",
            &settings
                .concurrency
                .value
                .map_or_else(|| "(enough for the rate)".to_owned(), |n| n.to_string()),
            &settings.concurrency.origin,
        ),
        row(
            "action",
            settings.action.value.as_str(),
            &settings.action.origin,
        ),
        row(
            "type",
            &settings.user_type.value.to_string(),
            &settings.user_type.origin,
        ),
    ];
    for entry in &settings.column_map {
        let (field, header) = &entry.value;
        rows.push(row(&format!("map.{field}"), header, &entry.origin));
    }
    rows.extend([
        row("api-url", &settings.api_url.value, &settings.api_url.origin),
        row(
            "oauth-url",
            &settings.oauth_url.value,
            &settings.oauth_url.origin,
        ),
        row(
            "state",
            &settings
                .state
                .value
                .clone()
                .or_else(Journal::default_path)
                .map_or_else(
                    || "(no data folder on this system)".to_owned(),
                    |path| path.display().to_string(),
                ),
            &settings.state.origin,
        ),
    ]);
    table(&mut text, ["setting", "value", "from"], &rows);

    text.push('\n');
    let _ = writeln!(text, "credentials from the {}:", credentials.origin());
    let masked: Vec<[String; 2]> = credentials
        .masked()
        .into_iter()
        .map(|(name, shown)| [format!("  {name}"), shown])
        .collect();
    let width = masked.iter().map(|[name, _]| name.len()).max().unwrap_or(0);
    for [name, shown] in &masked {
        let _ = writeln!(text, "{name:width$}  {shown}");
    }
    let in_use = match credentials.credentials() {
        Some(crate::zoom::auth::Credentials::ServerToServer { .. }) => "Server-to-Server OAuth",
        Some(crate::zoom::auth::Credentials::AccessToken(_)) => "the ready access token",
        None => "none: run would stop (set them, or pass --credentials FILE)",
    };
    let _ = writeln!(text, "  in use: {in_use}");
    text
}

fn describe_file(config: &ConfigChoice) -> String {
    match (&config.path, &config.origin) {
        (Some(path), Origin::Default) => format!("configuration file: {}", path.display()),
        (Some(path), origin) => format!("configuration file: {} ({origin})", path.display()),
        (None, _) => match super::config::default_config_path() {
            Some(path) => format!(
                "configuration file: none (none at {}, and no --config)",
                path.display()
            ),
            None => "configuration file: none".to_owned(),
        },
    }
}

fn row(name: &str, value: &str, origin: &Origin) -> [String; 3] {
    [name.to_owned(), value.to_owned(), origin.to_string()]
}

fn table(text: &mut String, header: [&str; 3], rows: &[[String; 3]]) {
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .chain([header[column].len()])
            .max()
            .unwrap_or(0)
    };
    let (first, second) = (width(0), width(1));
    let _ = writeln!(
        text,
        "{:first$}  {:second$}  {}",
        header[0], header[1], header[2]
    );
    for [name, value, origin] in rows {
        let _ = writeln!(text, "{name:first$}  {value:second$}  {origin}");
    }
}
