//! The operator's side, end to end with the real binary: secrets kept out of every output and
//! file, files readable by their owner only, cells a spreadsheet would run, and settings from
//! flags, the environment and the configuration file.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_onboard::sandbox::{Sandbox, SandboxArgs};

use crate::support::{
    self, assert_no_file_under_holds, command, command_with_umask, read_results, sandbox_args,
    start,
};

/// The client secret the sandbox accepts in the secret tests.
const CANARY_SECRET: &str = "canary-secret-3f9a1c0e";
/// A client secret the sandbox refuses.
const CANARY_WRONG_SECRET: &str = "canary-wrong-secret-77b2d4";
/// A ready token the sandbox refuses.
const CANARY_TOKEN: &str = "canary-token-5d1e9b";
/// An account id and client id, which may be shown masked but never whole.
const CANARY_ACCOUNT: &str = "canary-account-a81f";
const CANARY_CLIENT: &str = "canary-client-c02e";

/// How much logging a job asks for: flags, and `RUST_LOG`.
struct LogLevel {
    name: &'static str,
    flags: &'static [&'static str],
    rust_log: Option<&'static str>,
}

const LOG_LEVELS: [LogLevel; 3] = [
    LogLevel {
        name: "-v",
        flags: &["-v"],
        rust_log: None,
    },
    LogLevel {
        name: "-vv",
        flags: &["-vv"],
        rust_log: None,
    },
    LogLevel {
        name: "RUST_LOG=trace",
        flags: &[],
        rust_log: Some("trace"),
    },
];

/// A roster of three valid hires and one invalid, with emails unique to `tag`.
fn canary_roster(tag: &str) -> String {
    let mut roster = String::from("Email,First Name,Last Name\n");
    for index in 0..3 {
        let _ = writeln!(roster, "{tag}-hire{index}@example.com,Hire,Number{index}");
    }
    roster.push_str("not-an-email,Bad,Row\n");
    roster
}

/// Runs the binary with `args` and `env` at `level`, and asserts that neither of its streams
/// holds any of `secrets`.
async fn job(
    name: &str,
    level: &LogLevel,
    args: &[OsString],
    env: &[(&str, &str)],
    secrets: &[&str],
) -> Output {
    let mut command = command();
    command.args(level.flags).args(args);
    if let Some(filter) = level.rust_log {
        command.env("RUST_LOG", filter);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    assert_streams_lack(&format!("{name} at {}", level.name), &output, secrets);
    output
}

fn assert_streams_lack(job: &str, output: &Output, secrets: &[&str]) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{job}: {stream} holds a secret:\n{text}"
            );
        }
    }
}

/// The arguments of a `run` in `folder` against `sandbox`, writing `NAME.results.csv`.
fn run_args(folder: &Path, name: &str, sandbox: &Sandbox) -> Vec<OsString> {
    let roster = folder.join(format!("{name}.csv"));
    std::fs::write(&roster, canary_roster(name)).unwrap();
    vec![
        "run".into(),
        roster.into(),
        "--out".into(),
        folder.join(format!("{name}.results.csv")).into(),
        "--state".into(),
        folder.join("journal.sqlite3").into(),
        "--api-url".into(),
        sandbox.api_url().into(),
        "--oauth-url".into(),
        sandbox.token_url().into(),
    ]
}

/// Writes a credentials file, mode 0600, into `folder` (which is not scanned: it holds the
/// secret on purpose).
fn credentials_file(folder: &Path, text: &str) -> PathBuf {
    let path = folder.join("credentials");
    std::fs::write(&path, text).unwrap();
    set_mode(&path, 0o600);
    path
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Asks the sandbox for a token, as another tool would, to hand to a run as a ready token.
async fn fetch_token(sandbox: &Sandbox) -> String {
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

#[tokio::test(flavor = "multi_thread")]
async fn canary_secrets_appear_in_no_output_and_no_file_at_any_log_level() {
    let sandbox = start(SandboxArgs {
        account_id: CANARY_ACCOUNT.into(),
        client_id: CANARY_CLIENT.into(),
        client_secret: CANARY_SECRET.into(),
        ..sandbox_args()
    })
    .await;
    let ready_token = fetch_token(&sandbox).await;
    let private = tempfile::tempdir().unwrap();
    let good_file = credentials_file(
        private.path(),
        &format!(
            "ZOOM_ACCOUNT_ID={CANARY_ACCOUNT}\nZOOM_CLIENT_ID={CANARY_CLIENT}\n\
             ZOOM_CLIENT_SECRET={CANARY_SECRET}\n"
        ),
    );
    let good = [
        ("ZOOM_ACCOUNT_ID", CANARY_ACCOUNT),
        ("ZOOM_CLIENT_ID", CANARY_CLIENT),
        ("ZOOM_CLIENT_SECRET", CANARY_SECRET),
    ];
    let wrong = [
        ("ZOOM_ACCOUNT_ID", CANARY_ACCOUNT),
        ("ZOOM_CLIENT_ID", CANARY_CLIENT),
        ("ZOOM_CLIENT_SECRET", CANARY_WRONG_SECRET),
    ];
    // The ids may be shown masked, but only the secrets are checked in every output: the
    // journal keys its records by account id on purpose.
    let fixed_secrets = [
        CANARY_SECRET,
        CANARY_WRONG_SECRET,
        CANARY_TOKEN,
        ready_token.as_str(),
    ];

    for (index, level) in LOG_LEVELS.iter().enumerate() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let run = |name: &str| run_args(dir, &format!("l{index}-{name}"), &sandbox);

        let output = job("run", level, &run("accepted"), &good, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        let output = job("rejected run", level, &run("rejected"), &wrong, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));

        let token = [("ZOOM_ACCESS_TOKEN", ready_token.as_str())];
        let output = job("token run", level, &run("token"), &token, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        let refused = [("ZOOM_ACCESS_TOKEN", CANARY_TOKEN)];
        let output = job("refused token", level, &run("refused"), &refused, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));

        // A credentials file wins over the environment's wrong secret.
        let mut args = run("file");
        args.extend(["--credentials".into(), good_file.clone().into()]);
        let output = job("file run", level, &args, &wrong, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        let roster = dir.join(format!("l{index}-check.csv"));
        std::fs::write(&roster, canary_roster("check")).unwrap();
        let args = ["check".into(), roster.into()];
        let output = job("check", level, &args, &good, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        let all_secrets = [&fixed_secrets[..], &[CANARY_ACCOUNT, CANARY_CLIENT]].concat();
        let output = job("config", level, &["config".into()], &good, &all_secrets).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let args = ["config".into(), "--credentials".into(), good_file.clone().into()];
        let output = job("config --credentials", level, &args, &wrong, &all_secrets).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).contains("ZOOM_CLIENT_SECRET  ****"));

        let export = |out: Option<PathBuf>| {
            let mut args: Vec<OsString> = vec![
                "journal".into(),
                "export".into(),
                "--state".into(),
                dir.join("journal.sqlite3").into(),
            ];
            if let Some(out) = out {
                args.extend(["--out".into(), out.into()]);
            }
            args
        };
        let output = job("export", level, &export(None), &good, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let args = export(Some(dir.join("export.csv")));
        let output = job("export --out", level, &args, &good, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

        let live = sandbox.live_tokens();
        let mut secrets: Vec<&str> = fixed_secrets.to_vec();
        secrets.extend(live.iter().map(String::as_str));
        assert_no_file_under_holds(dir, &secrets);
    }
    assert!(
        sandbox.live_tokens().len() > 1,
        "the runs fetched tokens of their own, which were checked too"
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The modes of the files in `folder`, but the roster's, by name.
#[cfg(unix)]
fn modes(folder: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut modes: Vec<(String, u32)> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "roster.csv")
        // A run may remove a file between the listing and this look, as SQLite does its -wal.
        .filter_map(|entry| {
            let mode = entry.metadata().ok()?.permissions().mode() & 0o777;
            Some((entry.file_name().to_string_lossy().into_owned(), mode))
        })
        .collect();
    modes.sort();
    modes
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn files_with_personal_data_are_private_whatever_the_umask_and_their_old_mode() {
    // Slow answers keep the run going long enough to see the journal's -wal and -shm, which
    // SQLite removes when the run closes the journal.
    let sandbox = start(SandboxArgs {
        latency_ms: 60,
        ..sandbox_args()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let roster = dir.join("roster.csv");
    let results = dir.join("results.csv");
    let export = dir.join("export.csv");
    let journal = dir.join("journal.sqlite3");
    for (round, hires) in [(1, 5), (2, 8)] {
        // Every file there is loosened first: the first round finds old results and an old
        // export, the second also a journal and its companions.
        for file in [&results, &export] {
            std::fs::write(file, "old").unwrap();
        }
        for (name, _) in modes(dir) {
            set_mode(&dir.join(name), 0o644);
        }
        std::fs::write(&roster, support::roster_of(hires)).unwrap();

        let mut run = command_with_umask("022")
            .arg("run")
            .arg(&roster)
            .arg("--out")
            .arg(&results)
            .arg("--state")
            .arg(&journal)
            .args(["--api-url", &sandbox.api_url()])
            .args(["--oauth-url", &sandbox.token_url()])
            .args(["--concurrency", "1"])
            .env("ZOOM_ACCOUNT_ID", sandbox.account_id())
            .env("ZOOM_CLIENT_ID", sandbox.client_id())
            .env("ZOOM_CLIENT_SECRET", sandbox.client_secret())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut while_running = std::collections::BTreeMap::new();
        let status = loop {
            if let Some(status) = run.try_wait().unwrap() {
                break status;
            }
            while_running.extend(modes(dir));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        };
        assert_eq!(status.code(), Some(0), "round {round}");
        for companion in ["journal.sqlite3-wal", "journal.sqlite3-shm"] {
            let mode = while_running.get(companion);
            assert_eq!(mode, Some(&0o600), "round {round}: {companion} while running");
        }
        let output = command_with_umask("022")
            .args(["journal", "export", "--state"])
            .arg(&journal)
            .arg("--out")
            .arg(&export)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

        let modes = modes(dir);
        let names: Vec<&str> = modes.iter().map(|(name, _)| name.as_str()).collect();
        for expected in ["results.csv", "export.csv", "journal.sqlite3"] {
            assert!(names.contains(&expected), "round {round}: {names:?}");
        }
        for (name, mode) in &modes {
            assert_eq!(*mode, 0o600, "round {round}: {name} has mode {mode:o}");
        }
    }
}

/// Cells a spreadsheet would run as a formula, in the email and name columns.
const FORMULA_ROSTER: &str = "Email,First Name,Last Name\n\
    =cmd@example.com,=HYPERLINK(\"http://evil.example\"),Lee\n\
    +sum@example.com,+1+1,Ray\n\
    -minus@example.com,-2-3,Ox\n\
    plain@example.com,@SUM(A1),\"=1,\"\"quoted\"\"\"\n\
    @at@example.com,At,Sign\n\
    \"\ttab@example.com\",Tab,Lead\n\
    \"\rcr@example.com\",Cr,Lead\n";

/// Whether a spreadsheet would run `cell` as a formula.
fn runs_as_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[tokio::test(flavor = "multi_thread")]
async fn formula_cells_are_defused_in_results_and_sent_to_zoom_unchanged() {
    let sandbox = start(sandbox_args()).await;
    let finished = support::run_against(&sandbox, FORMULA_ROSTER, &[]).await;
    assert_eq!(finished.code, 3, "{}", finished.stderr);

    let emails: Vec<(&str, &str)> = finished
        .results
        .iter()
        .map(|line| (line.email.as_str(), line.status.as_str()))
        .collect();
    assert_eq!(
        &emails[..4],
        [
            ("'=cmd@example.com", "created"),
            ("'+sum@example.com", "created"),
            ("'-minus@example.com", "created"),
            ("plain@example.com", "created"),
        ],
        "{emails:?}"
    );
    assert_eq!(emails[4], ("'@at@example.com", "invalid"));
    for line in &finished.results {
        for cell in [&line.email, &line.user_id, &line.message] {
            assert!(!runs_as_formula(cell), "row {}: {cell:?}", line.row);
        }
    }

    let mut received = support::received(&sandbox);
    received.sort_by_key(|user| user["email"].as_str().unwrap().to_owned());
    assert_eq!(
        received,
        [
            json!({"email": "+sum@example.com", "type": 1, "first_name": "+1+1",
                   "last_name": "Ray"}),
            json!({"email": "-minus@example.com", "type": 1, "first_name": "-2-3",
                   "last_name": "Ox"}),
            json!({"email": "=cmd@example.com", "type": 1,
                   "first_name": "=HYPERLINK(\"http://evil.example\")", "last_name": "Lee"}),
            json!({"email": "cr@example.com", "type": 1, "first_name": "Cr",
                   "last_name": "Lead"}),
            json!({"email": "plain@example.com", "type": 1, "first_name": "@SUM(A1)",
                   "last_name": "=1,\"quoted\""}),
            json!({"email": "tab@example.com", "type": 1, "first_name": "Tab",
                   "last_name": "Lead"}),
        ],
        "names go to Zoom as written; the roster trims spaces, tabs and CRs around an email \
         as it trims them around every cell"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zoom_message_with_commas_quotes_and_newlines_stays_one_cell() {
    let zoom = MockServer::start().await;
    let message = "=Invalid field, \"email\": see\nhttps://developers.zoom.us, line two";
    Mock::given(method("POST"))
        .and(path("/v2/users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 300,
            "message": message,
        })))
        .expect(2)
        .mount(&zoom)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let roster = folder.path().join("roster.csv");
    std::fs::write(&roster, support::roster_of(2)).unwrap();
    let results = folder.path().join("results.csv");
    let output = command()
        .arg("run")
        .arg(&roster)
        .arg("--out")
        .arg(&results)
        .arg("--state")
        .arg(folder.path().join("journal.sqlite3"))
        .args(["--api-url", &format!("{}/v2", zoom.uri())])
        .args(["--oauth-url", &format!("{}/oauth/token", zoom.uri())])
        .env("ZOOM_ACCESS_TOKEN", "a-ready-token")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

    let mut reader = csv::Reader::from_path(&results).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record.len(), zoom_onboard::results::COLUMNS.len());
        assert_eq!(&record[2], "failed");
        assert!(record[6].contains(&message[1..]), "{:?}", &record[6]);
        assert!(!runs_as_formula(&record[6]), "{:?}", &record[6]);
    }
    let lines = read_results(&results);
    assert_eq!(lines.len(), 2);
}
