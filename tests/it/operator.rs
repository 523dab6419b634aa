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

/// The environment of a run with the credentials the canary sandbox accepts.
const GOOD_ENV: [(&str, &str); 3] = [
    ("ZOOM_ACCOUNT_ID", CANARY_ACCOUNT),
    ("ZOOM_CLIENT_ID", CANARY_CLIENT),
    ("ZOOM_CLIENT_SECRET", CANARY_SECRET),
];
/// The environment of a run with a client secret the canary sandbox refuses.
const WRONG_ENV: [(&str, &str); 3] = [
    ("ZOOM_ACCOUNT_ID", CANARY_ACCOUNT),
    ("ZOOM_CLIENT_ID", CANARY_CLIENT),
    ("ZOOM_CLIENT_SECRET", CANARY_WRONG_SECRET),
];

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
        "--summary-json".into(),
        folder.join(format!("{name}.summary.json")).into(),
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

#[tokio::test(flavor = "multi_thread")]
async fn canary_secrets_appear_in_no_output_and_no_file_at_any_log_level() {
    let sandbox = start(SandboxArgs {
        account_id: CANARY_ACCOUNT.into(),
        client_id: CANARY_CLIENT.into(),
        client_secret: CANARY_SECRET.into(),
        ..sandbox_args()
    })
    .await;
    let ready_token = crate::support::sandbox_token(&sandbox).await;
    let private = tempfile::tempdir().unwrap();
    let good_file = credentials_file(
        private.path(),
        &format!(
            "ZOOM_ACCOUNT_ID={CANARY_ACCOUNT}\nZOOM_CLIENT_ID={CANARY_CLIENT}\n\
             ZOOM_CLIENT_SECRET={CANARY_SECRET}\n"
        ),
    );
    let (good, wrong) = (GOOD_ENV, WRONG_ENV);
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

        let output = job(
            "rejected run",
            level,
            &run("rejected"),
            &wrong,
            &fixed_secrets,
        )
        .await;
        assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));

        let token = [("ZOOM_ACCESS_TOKEN", ready_token.as_str())];
        let output = job("token run", level, &run("token"), &token, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        let refused = [("ZOOM_ACCESS_TOKEN", CANARY_TOKEN)];
        let output = job(
            "refused token",
            level,
            &run("refused"),
            &refused,
            &fixed_secrets,
        )
        .await;
        assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));

        // A credentials file wins over the environment's wrong secret.
        let mut args = run("file");
        args.extend(["--credentials".into(), good_file.clone().into()]);
        // Its logs go to a file, which is scanned with the rest.
        args.extend(["--log-file".into(), dir.join("file-run.log").into()]);
        let output = job("file run", level, &args, &wrong, &fixed_secrets).await;
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

        jobs_that_send_nothing(level, index, dir, &good_file, &fixed_secrets).await;

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

/// `check`, `config` and `journal export` at `level`, with canary credentials around.
async fn jobs_that_send_nothing(
    level: &LogLevel,
    index: usize,
    dir: &Path,
    good_file: &Path,
    fixed_secrets: &[&str],
) {
    let roster = dir.join(format!("l{index}-check.csv"));
    std::fs::write(&roster, canary_roster("check")).unwrap();
    let args = ["check".into(), roster.into()];
    let output = job("check", level, &args, &GOOD_ENV, fixed_secrets).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

    let all_secrets = [fixed_secrets, &[CANARY_ACCOUNT, CANARY_CLIENT]].concat();
    let output = job("config", level, &["config".into()], &GOOD_ENV, &all_secrets).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let args = [
        "config".into(),
        "--credentials".into(),
        good_file.to_owned().into(),
    ];
    let output = job(
        "config --credentials",
        level,
        &args,
        &WRONG_ENV,
        &all_secrets,
    )
    .await;
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
    let output = job("export", level, &export(None), &GOOD_ENV, fixed_secrets).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let args = export(Some(dir.join("export.csv")));
    let output = job("export --out", level, &args, &GOOD_ENV, fixed_secrets).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
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
            .arg("--summary-json")
            .arg(dir.join("summary.json"))
            .arg("--log-file")
            .arg(dir.join("run.log"))
            .arg("-v")
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
            assert_eq!(
                mode,
                Some(&0o600),
                "round {round}: {companion} while running"
            );
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
        for expected in [
            "results.csv",
            "results.failures.csv",
            "summary.json",
            "run.log",
            "export.csv",
            "journal.sqlite3",
        ] {
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

/// Runs the binary with `args`, `env` and the configuration folder `config_home`.
async fn zoom_onboard(args: &[OsString], env: &[(&str, &str)], config_home: &Path) -> Output {
    let mut command = command();
    command.args(args).env("XDG_CONFIG_HOME", config_home);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.unwrap()
}

/// The plan `check` planned the quota with, from its report.
fn planned_with(output: &Output) -> String {
    let report = stdout(output);
    let quota = report
        .lines()
        .find(|line| line.starts_with("quota"))
        .unwrap_or_else(|| panic!("no quota line:\n{report}\n{}", stderr(output)));
    let plan = quota.split("at plan ").nth(1).unwrap();
    plan.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let roster = dir.join("roster.csv");
    std::fs::write(&roster, "Login Address\nann@example.com\n").unwrap();
    let config_home = dir.join("config-home");
    std::fs::create_dir_all(config_home.join("zoom-onboard")).unwrap();
    let config = config_home.join("zoom-onboard").join("config.toml");
    let check = |flag: Option<&str>| {
        let mut args: Vec<OsString> = vec!["check".into(), roster.clone().into()];
        if let Some(plan) = flag {
            args.extend(["--plan".into(), plan.into()]);
        }
        args
    };

    let output = zoom_onboard(&check(None), &[], &config_home).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "no email column without the file's [map]"
    );

    // The file in the platform's configuration folder is found without --config.
    std::fs::write(
        &config,
        "plan = \"business\"\n[map]\nemail = \"Login Address\"\n",
    )
    .unwrap();
    let output = zoom_onboard(&check(None), &[], &config_home).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        planned_with(&output),
        "business",
        "the file over the default"
    );

    let env = [("ZOOM_ONBOARD_PLAN", "free")];
    let output = zoom_onboard(&check(None), &env, &config_home).await;
    assert_eq!(
        planned_with(&output),
        "free",
        "the environment over the file"
    );

    let output = zoom_onboard(&check(Some("pro")), &env, &config_home).await;
    assert_eq!(
        planned_with(&output),
        "pro",
        "the flag over the environment"
    );

    // The journal's path, through a whole run: flag, then environment, then the file, whose
    // relative path is taken from the file's folder.
    std::fs::write(
        &config,
        "state = \"from-file.sqlite3\"\n[map]\nemail = \"Login Address\"\n",
    )
    .unwrap();
    let from_env = dir.join("from-env.sqlite3");
    let from_flag = dir.join("from-flag.sqlite3");
    let run = |state: Option<&Path>| {
        let mut args: Vec<OsString> = vec![
            "run".into(),
            roster.clone().into(),
            "--sandbox".into(),
            "--out".into(),
            dir.join("results.csv").into(),
        ];
        if let Some(state) = state {
            args.extend(["--state".into(), state.into()]);
        }
        args
    };
    let env_state = from_env.to_str().unwrap();
    let env = [("ZOOM_ONBOARD_STATE", env_state)];
    let output = zoom_onboard(&run(Some(&from_flag)), &env, &config_home).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(from_flag.exists() && !from_env.exists());
    let output = zoom_onboard(&run(None), &env, &config_home).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(from_env.exists());
    let from_file = config_home.join("zoom-onboard").join("from-file.sqlite3");
    assert!(!from_file.exists());
    let output = zoom_onboard(&run(None), &[], &config_home).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(from_file.exists(), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_shows_each_setting_with_its_origin_and_masks_credentials() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let config = dir.join("onboard.toml");
    std::fs::write(
        &config,
        "plan = \"business\"\nmax-rate = 20\napi-url = \"https://file.example/v2\"\n\
         [map]\nemail = \"Work Email\"\n",
    )
    .unwrap();
    let args: Vec<OsString> = vec!["config".into(), "--config".into(), config.clone().into()];
    let env = [
        ("ZOOM_API_URL", "https://env.example/v2"),
        ("ZOOM_ONBOARD_CONCURRENCY", "7"),
        ("ZOOM_ACCOUNT_ID", CANARY_ACCOUNT),
        ("ZOOM_CLIENT_ID", CANARY_CLIENT),
        ("ZOOM_CLIENT_SECRET", CANARY_SECRET),
    ];
    let output = zoom_onboard(&args, &env, Path::new(support::NO_CONFIG_HOME)).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = stdout(&output);
    let file = format!("file {}", config.display());
    let line = |name: &str| {
        report
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line:\n{report}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("plan"), format!("plan business {file}"));
    assert_eq!(line("max-rate"), format!("max-rate 20 {file}"));
    assert_eq!(
        line("concurrency"),
        "concurrency 7 environment ZOOM_ONBOARD_CONCURRENCY"
    );
    assert_eq!(line("map.email"), format!("map.email Work Email {file}"));
    assert_eq!(
        line("api-url"),
        "api-url https://env.example/v2 environment ZOOM_API_URL"
    );
    assert_eq!(
        line("oauth-url"),
        "oauth-url https://zoom.us/oauth/token default"
    );
    assert!(report.contains(&format!(
        "configuration file: {} (command line)",
        config.display()
    )));
    assert_eq!(line("ZOOM_ACCOUNT_ID"), "ZOOM_ACCOUNT_ID ca****1f");
    assert_eq!(line("ZOOM_CLIENT_ID"), "ZOOM_CLIENT_ID ca****2e");
    assert_eq!(line("ZOOM_CLIENT_SECRET"), "ZOOM_CLIENT_SECRET ****");
    assert_eq!(line("ZOOM_ACCESS_TOKEN"), "ZOOM_ACCESS_TOKEN (not set)");
    for secret in [CANARY_SECRET, CANARY_ACCOUNT, CANARY_CLIENT] {
        assert!(!report.contains(secret), "{report}");
    }

    std::fs::write(
        &config,
        "plan = \"pro\"\nclient-secret = \"canary-in-config\"\n",
    )
    .unwrap();
    let output = zoom_onboard(&args, &[], Path::new(support::NO_CONFIG_HOME)).await;
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(error.contains("unknown key `client-secret`"), "{error}");
    assert!(error.contains(&config.display().to_string()), "{error}");
    assert!(!error.contains("canary-in-config"), "{error}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_credentials_file_others_may_read_is_refused_before_anything_is_sent() {
    let sandbox = start(sandbox_args()).await;
    let private = tempfile::tempdir().unwrap();
    let credentials = credentials_file(
        private.path(),
        "ZOOM_ACCOUNT_ID=sandbox\nZOOM_CLIENT_ID=sandbox\nZOOM_CLIENT_SECRET=sandbox\n",
    );
    set_mode(&credentials, 0o644);
    let credentials = credentials.to_str().unwrap();
    let finished = support::run_against(
        &sandbox,
        &support::roster_of(2),
        &["--credentials", credentials],
    )
    .await;
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains("may be read by other users (mode 0644)\nhint: chmod 600"),
        "{}",
        finished.stderr
    );
    assert_eq!(sandbox.stats().tokens_issued, 0);
    assert_eq!(sandbox.stats().create_requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_man_pages_and_help_examples_come_from_the_definition() {
    let folder = tempfile::tempdir().unwrap();
    let home = Path::new(support::NO_CONFIG_HOME);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = zoom_onboard(&["completions".into(), shell.into()], &[], home).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).contains("max-rate"), "{shell}");
    }

    let output = zoom_onboard(&["man".into()], &[], home).await;
    assert!(stdout(&output).contains(".TH zoom-onboard 1"));
    let args = ["man".into(), "--out-dir".into(), folder.path().into()];
    let output = zoom_onboard(&args, &[], home).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for page in [
        "zoom-onboard.1",
        "zoom-onboard-run.1",
        "zoom-onboard-config.1",
    ] {
        assert!(folder.path().join(page).exists(), "{page}");
    }

    for subcommand in ["run", "check", "sandbox"] {
        let output = zoom_onboard(&[subcommand.into(), "--help".into()], &[], home).await;
        let help = stdout(&output);
        assert!(help.contains("Examples:\n"), "{subcommand}:\n{help}");
        assert!(
            help.contains(&format!("zoom-onboard {subcommand} ")),
            "{subcommand}"
        );
    }
}
