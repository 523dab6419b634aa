//! Where the Zoom credentials come from: the environment, or a credentials file named with
//! `--credentials`. Never a command-line value, which any user of the machine can read in the
//! process list.
//!
//! A credentials file given with `--credentials` wins over the environment as a whole: its
//! values are used and the `ZOOM_*` credential variables are ignored, so that a stray variable
//! in a shell or a service unit cannot mix one account's id with another's secret.
//!
//! The file holds `KEY=VALUE` lines with the variables' names: `ZOOM_ACCOUNT_ID`,
//! `ZOOM_CLIENT_ID` and `ZOOM_CLIENT_SECRET`, or `ZOOM_ACCESS_TOKEN`. Blank lines and `#`
//! comments are skipped, spaces around `=` and an `export ` prefix are allowed, and a value may
//! be in single or double quotes. So one file serves this tool, a shell's `source` and
//! systemd's `EnvironmentFile=`, and `KEY = "VALUE"` lines are also TOML. Like ssh with a
//! private key, the tool refuses a file that its group or others may read.
//!
//! No error or display here repeats a value: values are kept as [`SecretString`]s from the
//! moment they are read, and shown only masked.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::zoom::auth::Credentials;

/// The variable of the Zoom account id.
pub const ACCOUNT_ID: &str = "ZOOM_ACCOUNT_ID";
/// The variable of the OAuth app's client id.
pub const CLIENT_ID: &str = "ZOOM_CLIENT_ID";
/// The variable of the OAuth app's client secret.
pub const CLIENT_SECRET: &str = "ZOOM_CLIENT_SECRET";
/// The variable of a ready access token.
pub const ACCESS_TOKEN: &str = "ZOOM_ACCESS_TOKEN";

/// The credential names, in the order they are shown.
pub const NAMES: [&str; 4] = [ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, ACCESS_TOKEN];

/// Where credentials were looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsOrigin {
    /// The process environment.
    Environment,
    /// The file named with `--credentials`.
    File(PathBuf),
}

impl fmt::Display for CredentialsOrigin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsOrigin::Environment => formatter.write_str("environment"),
            CredentialsOrigin::File(path) => write!(formatter, "file {}", path.display()),
        }
    }
}

/// Why a credentials file was refused. The messages name the file and the line, never a value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file could not be opened or read.
    #[error("cannot read the credentials file {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// Group or others may read or write the file.
    #[error(
        "credentials file {} may be read by other users (mode {mode:04o})\n\
         hint: chmod 600 {}",
        path.display(),
        path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line that is not `KEY=VALUE`.
    #[error("credentials file {}, line {line}: expected KEY=VALUE", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// A key that is not a credential name.
    #[error(
        "credentials file {}, line {line}: unknown key `{key}`\n\
         hint: the keys are ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET and \
         ZOOM_ACCESS_TOKEN",
        path.display()
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The key as written.
        key: String,
    },
}

/// The credential values found in one place, kept secret.
pub struct FoundCredentials {
    origin: CredentialsOrigin,
    values: BTreeMap<&'static str, SecretString>,
}

impl fmt::Debug for FoundCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("FoundCredentials")
            .field("origin", &self.origin)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FoundCredentials {
    /// Looks in the file if one is named, else in the environment.
    pub fn gather(file: Option<&Path>) -> Result<FoundCredentials, CredentialsError> {
        match file {
            Some(path) => from_file(path),
            None => Ok(from_environment()),
        }
    }

    /// Where these were looked for.
    #[must_use]
    pub fn origin(&self) -> &CredentialsOrigin {
        &self.origin
    }

    /// The credentials these values make: the Server-to-Server three when all are there, else
    /// the access token, else none.
    #[must_use]
    pub fn credentials(&self) -> Option<Credentials> {
        Credentials::from_lookup(|name| {
            self.values
                .get(name)
                .map(|value| value.expose_secret().to_owned())
        })
    }

    /// Each credential name with its value masked: ids partly, secrets wholly, so that the
    /// output says what is set without giving any of it away.
    #[must_use]
    pub fn masked(&self) -> Vec<(&'static str, String)> {
        NAMES
            .iter()
            .map(|&name| {
                let shown = match self.values.get(name) {
                    None => "(not set)".to_owned(),
                    Some(value) if name == ACCOUNT_ID || name == CLIENT_ID => {
                        mask_id(value.expose_secret())
                    }
                    Some(_) => "****".to_owned(),
                };
                (name, shown)
            })
            .collect()
    }
}

fn from_environment() -> FoundCredentials {
    let values = NAMES
        .iter()
        .filter_map(|&name| {
            let value = std::env::var(name).ok()?;
            (!value.trim().is_empty()).then(|| (name, SecretString::from(value)))
        })
        .collect();
    FoundCredentials {
        origin: CredentialsOrigin::Environment,
        values,
    }
}

fn from_file(path: &Path) -> Result<FoundCredentials, CredentialsError> {
    let unreadable = |error: std::io::Error| CredentialsError::Read {
        path: path.to_owned(),
        reason: error.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    // The mode is read from the open file, so that it is the mode of what is read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(unreadable)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CredentialsError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    let text = SecretString::from(text);
    let values = parse(text.expose_secret(), path)?;
    Ok(FoundCredentials {
        origin: CredentialsOrigin::File(path.to_owned()),
        values,
    })
}

fn parse(
    text: &str,
    path: &Path,
) -> Result<BTreeMap<&'static str, SecretString>, CredentialsError> {
    let mut values = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(CredentialsError::Malformed {
                path: path.to_owned(),
                line: index + 1,
            });
        };
        let key = key.trim();
        let Some(&name) = NAMES.iter().find(|&&name| name == key) else {
            return Err(CredentialsError::UnknownKey {
                path: path.to_owned(),
                line: index + 1,
                // A key with no sensible name may be a value pasted on the wrong line.
                key: if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    key.to_owned()
                } else {
                    "(not a name)".to_owned()
                },
            });
        };
        let value = unquote(value.trim());
        if !value.is_empty() {
            values.insert(name, SecretString::from(value.to_owned()));
        }
    }
    Ok(values)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// An id with all but its first and last two characters hidden, or wholly hidden when short.
fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("credentials");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    #[test]
    fn a_file_in_every_accepted_spelling_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "# Zoom app\nexport ZOOM_ACCOUNT_ID=acct-canary-1\n\
             ZOOM_CLIENT_ID = \"client-canary\"\nZOOM_CLIENT_SECRET='canary-secret'\n\n",
            0o600,
        );
        let found = FoundCredentials::gather(Some(&path)).unwrap();
        let Some(Credentials::ServerToServer {
            account_id,
            client_id,
            client_secret,
        }) = found.credentials()
        else {
            panic!("expected Server-to-Server credentials");
        };
        assert_eq!(account_id, "acct-canary-1");
        assert_eq!(client_id, "client-canary");
        assert_eq!(client_secret.expose_secret(), "canary-secret");
        let masked = format!("{:?} {:?}", found.masked(), found);
        assert!(!masked.contains("canary"), "{masked}");
        assert!(masked.contains("ac****-1"), "{masked}");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "ZOOM_ACCESS_TOKEN=canary-token\n", 0o640);
        let error = FoundCredentials::gather(Some(&path))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("may be read by other users (mode 0640)"),
            "{error}"
        );
        assert!(error.contains("hint: chmod 600"), "{error}");
    }

    #[test]
    fn errors_name_the_line_and_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "ZOOM_ACCESS_TOKEN=ok\ncanary-pasted-alone\n",
            0o600,
        );
        let error = FoundCredentials::gather(Some(&path))
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2: expected KEY=VALUE"), "{error}");
        assert!(!error.contains("canary"), "{error}");

        let path = write(dir.path(), "canary.value=x\nZOOM_SECRET=y\n", 0o600);
        let error = FoundCredentials::gather(Some(&path))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 1: unknown key `(not a name)`"),
            "{error}"
        );
    }

    #[test]
    fn ids_are_masked_in_part_and_secrets_wholly() {
        assert_eq!(mask_id("short"), "****");
        assert_eq!(mask_id("AbCdEfGhIj"), "Ab****Ij");
    }
}
