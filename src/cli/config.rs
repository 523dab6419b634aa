//! Settings: the options of `run`, `check` and `journal export` gathered from the command line,
//! the environment and a configuration file, each with where it came from.
//!
//! Every setting has one precedence: a command-line flag, then its environment variable, then
//! the configuration file, then the built-in default. clap applies the flag, the environment
//! and the default as it parses and records which of them gave each value; this module slips
//! the file in under the first two, using that record.
//!
//! Credentials are not settings. They never come from a flag or from this file, since the
//! configuration file is the kind of thing people share and check in; see
//! [`super::credentials`]. This module decides values only: it reads no roster and calls no
//! one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::roster::Field;
use crate::zoom::plan::Plan;
use crate::zoom::rules::Action;

use super::CheckArgs;
use super::journal::ExportArgs;
use super::run::{DEFAULT_API_URL, DEFAULT_OAUTH_URL, RunArgs};

/// The variable that names the configuration file, below `--config`.
pub const ENV_CONFIG: &str = "ZOOM_ONBOARD_CONFIG";
/// The variable for `--plan`.
pub const ENV_PLAN: &str = "ZOOM_ONBOARD_PLAN";
/// The variable for `--max-rate`.
pub const ENV_MAX_RATE: &str = "ZOOM_ONBOARD_MAX_RATE";
/// The variable for `--concurrency`.
pub const ENV_CONCURRENCY: &str = "ZOOM_ONBOARD_CONCURRENCY";
/// The variable for `--action`.
pub const ENV_ACTION: &str = "ZOOM_ONBOARD_ACTION";
/// The variable for `--type`.
pub const ENV_TYPE: &str = "ZOOM_ONBOARD_TYPE";
/// The variable for `--api-url`.
pub const ENV_API_URL: &str = "ZOOM_API_URL";
/// The variable for `--oauth-url`.
pub const ENV_OAUTH_URL: &str = "ZOOM_OAUTH_URL";
/// The variable for `--state`.
pub const ENV_STATE: &str = "ZOOM_ONBOARD_STATE";

/// Every variable that sets a setting, for documentation and for tests to clear.
pub const SETTING_VARIABLES: [&str; 9] = [
    ENV_CONFIG,
    ENV_PLAN,
    ENV_MAX_RATE,
    ENV_CONCURRENCY,
    ENV_ACTION,
    ENV_TYPE,
    ENV_API_URL,
    ENV_OAUTH_URL,
    ENV_STATE,
];

/// The keys of the configuration file: each is its command-line flag without the dashes.
const KEYS: [&str; 9] = [
    "plan",
    "max-rate",
    "concurrency",
    "action",
    "type",
    "map",
    "api-url",
    "oauth-url",
    "state",
];

/// The configuration file in the platform's configuration folder, e.g.
/// `~/.config/zoom-onboard/config.toml` on Linux.
#[must_use]
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|folder| folder.join("zoom-onboard").join("config.toml"))
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag.
    CommandLine,
    /// An environment variable, named.
    Environment(&'static str),
    /// The configuration file at this path.
    File(PathBuf),
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => formatter.write_str("command line"),
            Origin::Environment(name) => write!(formatter, "environment {name}"),
            Origin::File(path) => write!(formatter, "file {}", path.display()),
            Origin::Default => formatter.write_str("default"),
        }
    }
}

/// One setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value in force.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

/// What went wrong with the configuration file. None of these messages repeats a value from
/// the file, so that a secret pasted there by mistake does not reach a log.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read; for a file named with `--config`, that includes its absence.
    #[error("cannot read the configuration file {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The file is not TOML.
    #[error("configuration file {}, line {line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line of the problem, from 1.
        line: usize,
        /// The TOML parser's words.
        message: String,
    },
    /// A key the file may not hold.
    #[error("configuration file {}: unknown key `{key}`\nhint: {hint}", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key as written.
        key: String,
        /// The keys there are, or where credentials go instead.
        hint: &'static str,
    },
    /// A known key with a value that does not fit it.
    #[error("configuration file {}: `{key}` {problem}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `max-rate` or `map.email`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The configuration file's settings, checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// `plan`.
    pub plan: Option<Plan>,
    /// `max-rate`.
    pub max_rate: Option<u32>,
    /// `concurrency`.
    pub concurrency: Option<u32>,
    /// `action`.
    pub action: Option<Action>,
    /// `type`.
    pub user_type: Option<i64>,
    /// The `[map]` table: field to header.
    pub column_map: Vec<(Field, String)>,
    /// `api-url`.
    pub api_url: Option<String>,
    /// `oauth-url`.
    pub oauth_url: Option<String>,
    /// `state`, made absolute against the file's folder.
    pub state: Option<PathBuf>,
}

/// The file as TOML gives it, before checking. Keys are checked by hand first, so that the
/// error for an unknown one names it without echoing its value.
#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawConfigFile {
    plan: Option<String>,
    max_rate: Option<i64>,
    concurrency: Option<i64>,
    action: Option<String>,
    #[serde(rename = "type")]
    user_type: Option<i64>,
    #[serde(default)]
    map: BTreeMap<String, String>,
    api_url: Option<String>,
    oauth_url: Option<String>,
    state: Option<PathBuf>,
}

impl ConfigFile {
    /// Reads and checks the configuration file at `path`.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        ConfigFile::parse(&text, path)
    }

    /// Checks the text of a configuration file that was read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let table: toml::Table = text.parse().map_err(|error: toml::de::Error| {
            let line = error
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
            ConfigError::Syntax {
                path: path.to_owned(),
                line,
                message: error.message().trim_end().to_owned(),
            }
        })?;
        if let Some(key) = table.keys().find(|key| !KEYS.contains(&key.as_str())) {
            return Err(ConfigError::UnknownKey {
                path: path.to_owned(),
                key: key.clone(),
                hint: unknown_key_hint(key),
            });
        }
        let raw: RawConfigFile =
            toml::Value::Table(table)
                .try_into()
                .map_err(|error: toml::de::Error| ConfigError::Value {
                    path: path.to_owned(),
                    key: "a key".to_owned(),
                    problem: error.message().trim_end().to_owned(),
                })?;
        check(raw, path)
    }
}

fn unknown_key_hint(key: &str) -> &'static str {
    let lower = key.to_ascii_lowercase();
    if [
        "secret",
        "token",
        "client",
        "account",
        "password",
        "credential",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        "credentials do not belong in the configuration file: set them in the environment or \
         pass --credentials FILE"
    } else {
        "the keys are plan, max-rate, concurrency, action, type, api-url, oauth-url, state and \
         the [map] table"
    }
}

fn check(raw: RawConfigFile, path: &Path) -> Result<ConfigFile, ConfigError> {
    let problem = |key: &str, problem: String| ConfigError::Value {
        path: path.to_owned(),
        key: key.to_owned(),
        problem,
    };
    let plan = raw
        .plan
        .map(|text| {
            <Plan as clap::ValueEnum>::from_str(&text, true)
                .map_err(|_| problem("plan", "must be free, pro or business".to_owned()))
        })
        .transpose()?;
    let in_range = |key: &str, value: Option<i64>, high: i64| {
        value
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|&n| n >= 1 && i64::from(n) <= high)
                    .ok_or_else(|| problem(key, format!("must be a whole number from 1 to {high}")))
            })
            .transpose()
    };
    let max_rate = in_range("max-rate", raw.max_rate, i64::from(u32::MAX))?;
    let concurrency = in_range("concurrency", raw.concurrency, 1000)?;
    let action = raw
        .action
        .map(|text| {
            Action::from_any_case(&text).ok_or_else(|| {
                problem(
                    "action",
                    "must be create, autoCreate, custCreate or ssoCreate".to_owned(),
                )
            })
        })
        .transpose()?;
    let column_map = raw
        .map
        .into_iter()
        .map(|(field, header)| {
            let parsed = field
                .parse::<Field>()
                .map_err(|error| problem(&format!("map.{field}"), format!("names {error}")))?;
            Ok((parsed, header))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let folder = path.parent().unwrap_or(Path::new("."));
    Ok(ConfigFile {
        plan,
        max_rate,
        concurrency,
        action,
        user_type: raw.user_type,
        column_map,
        api_url: raw.api_url,
        oauth_url: raw.oauth_url,
        state: raw.state.map(|state| folder.join(state)),
    })
}

/// The configuration file in use, and why that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChoice {
    /// The file, or `None` when there is none: no `--config` and nothing in the configuration
    /// folder.
    pub path: Option<PathBuf>,
    /// How it was chosen: `--config`, [`ENV_CONFIG`], or found in the default place.
    pub origin: Origin,
}

impl ConfigChoice {
    /// The file named by `--config` or [`ENV_CONFIG`] (which must then exist), or else the one
    /// in the platform's configuration folder if it exists.
    #[must_use]
    pub fn locate(named: Option<&Path>, matches: &ArgMatches) -> ConfigChoice {
        if let Some(path) = named {
            let origin = match source_of(matches, "config") {
                Some(ValueSource::EnvVariable) => Origin::Environment(ENV_CONFIG),
                _ => Origin::CommandLine,
            };
            return ConfigChoice {
                path: Some(path.to_owned()),
                origin,
            };
        }
        ConfigChoice {
            path: default_config_path().filter(|path| path.is_file()),
            origin: Origin::Default,
        }
    }

    /// Reads the chosen file, or gives an empty one when there is none.
    pub fn read(&self) -> Result<ConfigFile, ConfigError> {
        self.path
            .as_deref()
            .map_or_else(|| Ok(ConfigFile::default()), ConfigFile::read)
    }
}

/// Every setting in force, and where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The configuration file read, if any.
    pub config: ConfigChoice,
    /// `--plan`.
    pub plan: Setting<Plan>,
    /// `--max-rate`; `None` leaves the plan's limit.
    pub max_rate: Setting<Option<u32>>,
    /// `--concurrency`; `None` derives it from the rate.
    pub concurrency: Setting<Option<u32>>,
    /// `--action`.
    pub action: Setting<Action>,
    /// `--type`.
    pub user_type: Setting<i64>,
    /// `--map` entries, one a field: the command line's, then the file's for other fields.
    pub column_map: Vec<Setting<(Field, String)>>,
    /// `--api-url`.
    pub api_url: Setting<String>,
    /// `--oauth-url`.
    pub oauth_url: Setting<String>,
    /// `--state`; `None` is the default journal.
    pub state: Setting<Option<PathBuf>>,
}

impl Settings {
    /// Resolves every setting from a subcommand's parsed arguments and the configuration file.
    /// Settings the subcommand has no flag for come from the file or the default.
    #[must_use]
    pub fn resolve(matches: &ArgMatches, config: ConfigChoice, file: ConfigFile) -> Settings {
        let origin_of_file = || config.path.clone().map_or(Origin::Default, Origin::File);
        let layered = Layers {
            matches,
            file: origin_of_file(),
        };
        let column_map = layered.column_map(file.column_map);
        Settings {
            plan: layered
                .pick("plan", ENV_PLAN, file.plan)
                .or_default(Plan::Pro),
            max_rate: layered.pick("max_rate", ENV_MAX_RATE, file.max_rate),
            concurrency: layered.pick("concurrency", ENV_CONCURRENCY, file.concurrency),
            action: layered
                .pick("action", ENV_ACTION, file.action)
                .or_default(Action::Create),
            user_type: layered
                .pick("user_type", ENV_TYPE, file.user_type)
                .or_default(1),
            column_map,
            api_url: layered
                .pick("api_url", ENV_API_URL, file.api_url)
                .or_default(DEFAULT_API_URL.to_owned()),
            oauth_url: layered
                .pick("oauth_url", ENV_OAUTH_URL, file.oauth_url)
                .or_default(DEFAULT_OAUTH_URL.to_owned()),
            state: layered.pick("state", ENV_STATE, file.state),
            config,
        }
    }

    /// Puts the settings into `run`'s arguments.
    pub fn apply_to_run(&self, args: &mut RunArgs) {
        args.plan = self.plan.value;
        args.max_rate = self.max_rate.value;
        args.concurrency = self.concurrency.value;
        args.api_url.clone_from(&self.api_url.value);
        args.oauth_url.clone_from(&self.oauth_url.value);
        args.state.clone_from(&self.state.value);
        self.apply_to_reading(&mut args.reading);
    }

    /// Puts the settings into `check`'s arguments.
    pub fn apply_to_check(&self, args: &mut CheckArgs) {
        args.plan = self.plan.value;
        self.apply_to_reading(&mut args.reading);
    }

    /// Puts the settings into `journal export`'s arguments.
    pub fn apply_to_export(&self, args: &mut ExportArgs) {
        args.state.clone_from(&self.state.value);
    }

    fn apply_to_reading(&self, reading: &mut super::roster_args::RosterArgs) {
        reading.action = self.action.value;
        reading.user_type = self.user_type.value;
        reading.column_map = self
            .column_map
            .iter()
            .map(|entry| entry.value.clone())
            .collect();
    }
}

impl<T> Setting<Option<T>> {
    /// The setting with `default` in place of no value.
    fn or_default(self, default: T) -> Setting<T> {
        Setting {
            value: self.value.unwrap_or(default),
            origin: self.origin,
        }
    }
}

/// The two layers above the file (clap's parse) and the file's origin.
struct Layers<'a> {
    matches: &'a ArgMatches,
    file: Origin,
}

impl Layers<'_> {
    /// The value of the argument `id`: from the command line or `env` if clap found it there,
    /// else `from_file`, else clap's default if it has one.
    fn pick<T: Clone + Send + Sync + 'static>(
        &self,
        id: &str,
        env: &'static str,
        from_file: Option<T>,
    ) -> Setting<Option<T>> {
        let given = source_of(self.matches, id);
        let parsed = || self.matches.get_one::<T>(id).cloned();
        match given {
            Some(ValueSource::CommandLine) => Setting {
                value: parsed(),
                origin: Origin::CommandLine,
            },
            Some(ValueSource::EnvVariable) => Setting {
                value: parsed(),
                origin: Origin::Environment(env),
            },
            _ if from_file.is_some() => Setting {
                value: from_file,
                origin: self.file.clone(),
            },
            Some(_) => Setting {
                value: parsed(),
                origin: Origin::Default,
            },
            None => Setting {
                value: None,
                origin: Origin::Default,
            },
        }
    }

    /// The command line's `--map` entries, then the file's for the fields it leaves alone.
    fn column_map(&self, from_file: Vec<(Field, String)>) -> Vec<Setting<(Field, String)>> {
        let given: Vec<(Field, String)> = match source_of(self.matches, "column_map") {
            Some(ValueSource::CommandLine) => self
                .matches
                .get_many::<(Field, String)>("column_map")
                .map(|values| values.cloned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut entries: Vec<Setting<(Field, String)>> = given
            .into_iter()
            .map(|value| Setting {
                value,
                origin: Origin::CommandLine,
            })
            .collect();
        for (field, header) in from_file {
            if entries.iter().all(|entry| entry.value.0 != field) {
                entries.push(Setting {
                    value: (field, header),
                    origin: self.file.clone(),
                });
            }
        }
        entries
    }
}

/// Where clap found the argument `id`, or `None` when it has no value or the subcommand has no
/// such argument. (Asking clap about an unknown id panics in debug builds, hence the guard.)
fn source_of(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    matches
        .ids()
        .any(|known| known.as_str() == id)
        .then(|| matches.value_source(id))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(text, Path::new("/etc/zoom-onboard/config.toml"))
    }

    #[test]
    fn every_key_is_read() {
        let file = parse(
            r#"
            plan = "Business"
            max-rate = 20
            concurrency = 8
            action = "autocreate"
            type = 2
            api-url = "https://eu01api-www4local.zoom.us/v2"
            oauth-url = "https://zoom.us/oauth/token"
            state = "journal.sqlite3"

            [map]
            email = "Work Email"
            "First Name" = "Given"
            "#,
        )
        .unwrap();
        assert_eq!(file.plan, Some(Plan::Business));
        assert_eq!(file.max_rate, Some(20));
        assert_eq!(file.concurrency, Some(8));
        assert_eq!(file.action, Some(Action::AutoCreate));
        assert_eq!(file.user_type, Some(2));
        assert_eq!(
            file.state.as_deref(),
            Some(Path::new("/etc/zoom-onboard/journal.sqlite3"))
        );
        assert_eq!(
            file.column_map,
            vec![
                (Field::FirstName, "Given".to_owned()),
                (Field::Email, "Work Email".to_owned()),
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_the_file_and_its_value_is_not_repeated() {
        let error = parse("plan = \"pro\"\nmax_rate = 5\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown key `max_rate`"), "{error}");
        assert!(error.contains("/etc/zoom-onboard/config.toml"), "{error}");

        let error = parse("client_secret = \"canary-config\"\n")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("canary-config"), "{error}");
        assert!(error.contains("--credentials"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_by_key() {
        let error = parse("concurrency = 0").unwrap_err().to_string();
        assert!(error.contains("`concurrency` must be"), "{error}");
        let error = parse("plan = \"gold\"").unwrap_err().to_string();
        assert!(error.contains("`plan` must be"), "{error}");
        let error = parse("[map]\nemial = \"x\"").unwrap_err().to_string();
        assert!(error.contains("`map.emial`"), "{error}");
        let error = parse("plan = ").unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
    }
}
