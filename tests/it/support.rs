//! Shared test scaffolding: a sandbox on 127.0.0.1:0, the real binary, and results reading.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use zoom_onboard::sandbox::{Sandbox, SandboxArgs};

/// Sandbox options for tests: an ephemeral port and a fixed seed, everything else default.
pub fn sandbox_args() -> SandboxArgs {
    SandboxArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: Some(7),
        ..SandboxArgs::default()
    }
}

/// Starts a sandbox whose account already holds users with `emails`. The folder holding the
/// `--existing` file comes back with it; keep it for the test's length.
pub async fn start_with_existing(emails: &[&str]) -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.txt");
    std::fs::write(&existing, emails.join("\n")).unwrap();
    let sandbox = start(SandboxArgs {
        existing: Some(existing),
        ..sandbox_args()
    })
    .await;
    (sandbox, dir)
}

/// Starts a sandbox with `args`.
pub async fn start(args: SandboxArgs) -> Sandbox {
    Sandbox::start(args).await.expect("the sandbox starts")
}

/// One line of a results CSV.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ResultLine {
    pub row: u64,
    pub email: String,
    pub status: String,
    pub user_id: String,
    pub http_status: String,
    pub zoom_code: String,
    pub message: String,
    pub attempts: u32,
}

/// What one run of the binary left behind.
pub struct Finished {
    pub code: i32,
    pub stderr: String,
    pub results: Vec<ResultLine>,
    /// Holds the run's files until the test is done with them.
    pub _dir: tempfile::TempDir,
}

impl Finished {
    /// The results lines with `status`.
    pub fn with_status(&self, status: &str) -> Vec<&ResultLine> {
        self.results
            .iter()
            .filter(|line| line.status == status)
            .collect()
    }

    /// How many results lines have `status`.
    pub fn count(&self, status: &str) -> usize {
        self.with_status(status).len()
    }
}

/// The path of the built binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zoom-onboard"))
}

/// A command for the binary with no Zoom variables, settings variables or configuration file
/// inherited from the developer's shell and home folder.
pub fn command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary());
    isolate(&mut command);
    command
}

/// A command for the binary, as [`command`] makes it, that runs under `umask` (e.g. "022"),
/// through sh since the standard library has no safe way to set a child's umask.
pub fn command_with_umask(umask: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(binary());
    isolate(&mut command);
    command
}

/// Clears the Zoom and settings variables and the configuration folder a command would
/// inherit.
fn isolate(command: &mut tokio::process::Command) {
    for name in [
        "ZOOM_ACCOUNT_ID",
        "ZOOM_CLIENT_ID",
        "ZOOM_CLIENT_SECRET",
        "ZOOM_ACCESS_TOKEN",
        "RUST_LOG",
        "NO_COLOR",
    ]
    .into_iter()
    .chain(zoom_onboard::cli::config::SETTING_VARIABLES)
    {
        command.env_remove(name);
    }
    // The platform's configuration folder is looked in for a config.toml; point it nowhere.
    command.env("XDG_CONFIG_HOME", NO_CONFIG_HOME);
    command.kill_on_drop(true);
}

/// A configuration folder that does not exist, so that no developer's config.toml is read.
pub const NO_CONFIG_HOME: &str = "/nonexistent/zoom-onboard-tests/config";

/// Runs `zoom-onboard run` on `roster` against `sandbox` with its credentials.
pub async fn run_against(sandbox: &Sandbox, roster: &str, extra: &[&str]) -> Finished {
    run_with_credentials(
        sandbox,
        roster,
        extra,
        (
            sandbox.account_id(),
            sandbox.client_id(),
            sandbox.client_secret(),
        ),
    )
    .await
}

/// Runs `zoom-onboard run` on `roster` against `sandbox` with the given credentials.
pub async fn run_with_credentials(
    sandbox: &Sandbox,
    roster: &str,
    extra: &[&str],
    credentials: (&str, &str, &str),
) -> Finished {
    run_bytes(sandbox, "roster.csv", roster.as_bytes(), extra, credentials).await
}

/// Runs `zoom-onboard run` on a roster file named `file_name` holding exactly `bytes`, in a
/// fresh folder with its own results and journal, against `sandbox` with `credentials`.
async fn run_bytes(
    sandbox: &Sandbox,
    file_name: &str,
    bytes: &[u8],
    extra: &[&str],
    (account, client, secret): (&str, &str, &str),
) -> Finished {
    let dir = tempfile::tempdir().unwrap();
    let roster_path = dir.path().join(file_name);
    std::fs::write(&roster_path, bytes).unwrap();
    let out = dir.path().join("results.csv");
    let output = command()
        .arg("run")
        .arg(&roster_path)
        .arg("--out")
        .arg(&out)
        .arg("--state")
        .arg(dir.path().join("journal.sqlite3"))
        .args([
            "--api-url",
            &sandbox.api_url(),
            "--oauth-url",
            &sandbox.token_url(),
        ])
        .args(extra)
        .env("ZOOM_ACCOUNT_ID", account)
        .env("ZOOM_CLIENT_ID", client)
        .env("ZOOM_CLIENT_SECRET", secret)
        .output()
        .await
        .unwrap();
    finished(&output, &out, dir)
}

/// Collects a run's exit code, stderr and results.
pub fn finished(output: &Output, out: &Path, dir: tempfile::TempDir) -> Finished {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = if out.exists() {
        read_results(out)
    } else {
        Vec::new()
    };
    Finished {
        code: output.status.code().unwrap_or(-1),
        stderr,
        results,
        _dir: dir,
    }
}

/// Reads a results CSV.
pub fn read_results(path: &Path) -> Vec<ResultLine> {
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A roster of `count` valid hires with Zoom-template headers.
pub fn roster_of(count: usize) -> String {
    let mut roster = String::from("Email,First Name,Last Name\n");
    for index in 0..count {
        let _ = writeln!(roster, "hire{index}@example.com,Hire,Number{index}");
    }
    roster
}

/// The sandbox's user ids by lowercased email.
pub fn sandbox_ids(sandbox: &Sandbox) -> HashMap<String, String> {
    sandbox
        .users()
        .into_iter()
        .map(|user| (user.email.to_lowercase(), user.id))
        .collect()
}

/// Looks a user up over the sandbox's API, as Zoom would answer it, and returns its id.
pub async fn look_up_id(sandbox: &Sandbox, email: &str) -> Option<String> {
    let token = sandbox_token(sandbox).await;
    let response = reqwest::Client::new()
        .get(format!("{}/users/{email}", sandbox.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if !response.status().is_success() {
        return None;
    }
    let user: serde_json::Value = response.json().await.unwrap();
    user["id"].as_str().map(str::to_owned)
}

/// Where a run sends its requests: the API base and the token URL.
pub struct Endpoints {
    pub api_url: String,
    pub oauth_url: String,
}

impl From<&Sandbox> for Endpoints {
    fn from(sandbox: &Sandbox) -> Endpoints {
        Endpoints {
            api_url: sandbox.api_url(),
            oauth_url: sandbox.token_url(),
        }
    }
}

/// The credentials every test run presents: the sandbox's defaults.
pub const TEST_CREDENTIAL: &str = "sandbox";

/// A run folder kept across runs, so that later runs read the journal earlier ones wrote.
pub struct RunFolder {
    pub dir: tempfile::TempDir,
}

impl RunFolder {
    /// A new, empty run folder.
    pub fn new() -> RunFolder {
        RunFolder {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The roster's path.
    pub fn roster(&self) -> PathBuf {
        self.dir.path().join("roster.csv")
    }

    /// The results CSV's path.
    pub fn results(&self) -> PathBuf {
        self.dir.path().join("results.csv")
    }

    /// The journal's path.
    pub fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.sqlite3")
    }

    /// Writes `roster` and builds `zoom-onboard run` on it with this folder's results and
    /// journal, sending to `endpoints` with the test credentials. Output is piped.
    pub fn command(
        &self,
        endpoints: &Endpoints,
        roster: &str,
        extra: &[&str],
    ) -> tokio::process::Command {
        std::fs::write(self.roster(), roster).unwrap();
        let mut command = command();
        command
            .arg("run")
            .arg(self.roster())
            .arg("--out")
            .arg(self.results())
            .arg("--state")
            .arg(self.journal())
            .args(["--api-url", &endpoints.api_url])
            .args(["--oauth-url", &endpoints.oauth_url])
            .args(extra)
            .env("ZOOM_ACCOUNT_ID", TEST_CREDENTIAL)
            .env("ZOOM_CLIENT_ID", TEST_CREDENTIAL)
            .env("ZOOM_CLIENT_SECRET", TEST_CREDENTIAL)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    }

    /// Reads the results CSV this folder's last run wrote.
    pub fn read_results(&self) -> Vec<ResultLine> {
        read_results(&self.results())
    }
}

/// What one run in a kept [`RunFolder`] left behind.
pub struct Ran {
    pub code: i32,
    pub stderr: String,
    pub results: Vec<ResultLine>,
}

impl Ran {
    /// The results lines with `status`.
    pub fn with_status(&self, status: &str) -> Vec<&ResultLine> {
        self.results
            .iter()
            .filter(|line| line.status == status)
            .collect()
    }

    /// How many results lines have `status`.
    pub fn count(&self, status: &str) -> usize {
        self.with_status(status).len()
    }
}

/// Runs `zoom-onboard run` on `roster` in `folder` against `endpoints` and waits for it.
pub async fn run_in(
    folder: &RunFolder,
    endpoints: &Endpoints,
    roster: &str,
    extra: &[&str],
) -> Ran {
    let output = folder
        .command(endpoints, roster, extra)
        .output()
        .await
        .unwrap();
    ran(&output, folder)
}

/// Collects a finished run's exit code, stderr and results (none if no results file).
pub fn ran(output: &Output, folder: &RunFolder) -> Ran {
    Ran {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        results: if folder.results().exists() {
            folder.read_results()
        } else {
            Vec::new()
        },
    }
}

/// Sends `signal` (a name such as `INT`) to the process `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Runs `zoom-onboard run` on a roster file of exactly `bytes`, named `file_name`, against
/// `sandbox` with its credentials.
pub async fn run_file(
    sandbox: &Sandbox,
    file_name: &str,
    bytes: &[u8],
    extra: &[&str],
) -> Finished {
    let credentials = (
        sandbox.account_id(),
        sandbox.client_id(),
        sandbox.client_secret(),
    );
    run_bytes(sandbox, file_name, bytes, extra, credentials).await
}

/// What one `zoom-onboard check` left behind.
pub struct Checked {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The results written with `--out`.
    pub results: Vec<ResultLine>,
    /// Whether the results file exists.
    pub wrote_results: bool,
}

/// Runs `zoom-onboard check --out` on a roster file of exactly `bytes`, named `file_name`.
pub async fn check_file(file_name: &str, bytes: &[u8], extra: &[&str]) -> Checked {
    let dir = tempfile::tempdir().unwrap();
    let roster_path = dir.path().join(file_name);
    std::fs::write(&roster_path, bytes).unwrap();
    let out = dir.path().join("results.csv");
    let output = command()
        .arg("check")
        .arg(&roster_path)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .await
        .unwrap();
    let wrote_results = out.exists();
    Checked {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        results: if wrote_results {
            read_results(&out)
        } else {
            Vec::new()
        },
        wrote_results,
    }
}

/// The `user_info` objects the sandbox received, as JSON text, ordered by email.
pub fn received(sandbox: &Sandbox) -> Vec<serde_json::Value> {
    let mut users = sandbox.users();
    users.sort_by(|a, b| a.email.cmp(&b.email));
    users.into_iter().map(|user| user.user_info).collect()
}

/// Every file under `folder`, at any depth, with its bytes.
pub fn files_under(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push((path, bytes));
            }
        }
    }
    files
}

/// Asserts that no file a run left under `folder` holds any of `secrets`: the results, the
/// journal with its -wal and -shm, exports, and any file added later (a summary, a failures
/// file, a log file), since every file is scanned whatever its name.
pub fn assert_no_file_under_holds(folder: &Path, secrets: &[&str]) {
    let files = files_under(folder);
    assert!(!files.is_empty(), "{} holds no files", folder.display());
    for (path, bytes) in files {
        for secret in secrets {
            let found = bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes());
            assert!(!found, "{} holds a secret", path.display());
        }
    }
}

/// Asks the sandbox for an access token with its own credentials, as another tool would.
pub async fn sandbox_token(sandbox: &Sandbox) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(sandbox.token_url())
        .basic_auth(sandbox.client_id(), Some(sandbox.client_secret()))
        .form(&[
            ("grant_type", "account_credentials"),
            ("account_id", sandbox.account_id()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}
