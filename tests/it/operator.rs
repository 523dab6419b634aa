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
