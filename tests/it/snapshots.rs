//! Snapshots of what a person reads: `--help`, the run summary, the `check` report, and the
//! error text of each whole-roster problem and of rejected credentials.
//!
//! Times, temporary paths, ports, dates and rates are filtered out, so a snapshot changes only
//! when the words do. After an intended change, regenerate with `INSTA_UPDATE=always cargo test
//! --test it snapshots::` and read the diff before committing.

use crate::support::{self, roster_of, sandbox_args, start};

/// The filters that take out what differs from run to run.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
        (r"/tmp/[A-Za-z0-9._-]+", "[TMP]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d+\.\d+ s\b", "[SECONDS] s"),
        (r"\d{4}-\d{2}-\d{2}", "[DATE]"),
        (r"\d+\.\d creates/s", "[RATE] creates/s"),
    ]
}

/// Runs the binary with `args` in the repository and returns (exit code, stdout, stderr).
async fn output_of(args: &[&str]) -> (i32, String, String) {
    let output = support::command()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "100")
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

#[tokio::test(flavor = "multi_thread")]
async fn help_texts() {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help_run", &["run", "--help"][..]),
        ("help_check", &["check", "--help"][..]),
        ("help_sandbox", &["sandbox", "--help"][..]),
    ] {
        let (code, stdout, _) = output_of(args).await;
        assert_eq!(code, 0);
        snapshot!(name, stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_of_a_run_with_every_kind_of_row() {
    let (sandbox, _existing) = support::start_with_existing(&["taken@example.com"]).await;
    let roster = "Email,First Name,User Type\n\
                  ann@example.com,Ann,1\n\
                  taken@example.com,Tim,1\n\
                  ANN@example.com,Ann,1\n\
                  not-an-email,Bob,1\n\
                  cy@example.com,Cy,7\n";
    let finished = support::run_against(&sandbox, roster, &[]).await;
    assert_eq!(finished.code, 3);
    snapshot!("summary_mixed", finished.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials() {
    let sandbox = start(sandbox_args()).await;
    let finished = support::run_with_credentials(
        &sandbox,
        &roster_of(2),
        &[],
        (sandbox.account_id(), sandbox.client_id(), "wrong"),
    )
    .await;
    assert_eq!(finished.code, 5);
    snapshot!("rejected_credentials", finished.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_report_of_a_messy_roster() {
    let (code, stdout, _) = output_of(&["check", "samples/new_hires.csv"]).await;
    assert_eq!(code, 3);
    snapshot!("check_sample", stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn whole_roster_problems() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 5] = [
        ("no_email_column", b"Name,Department\nAnn,Sales\n"),
        (
            "two_email_columns",
            b"Email,E-Mail,First Name\na@b.co,a@b.co,Ann\n",
        ),
        (
            "unterminated_quote",
            b"Email,First Name\na@b.co,\"Ann\nb@b.co,Bob\n",
        ),
        ("not_utf8", b"Email,First Name\na@b.co,Ren\xe9e\n"),
        ("empty", b""),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, bytes).unwrap();
        let (code, _, stderr) = output_of(&["run", path.to_str().unwrap(), "--sandbox"]).await;
        assert_eq!(code, 2, "{name}: {stderr}");
        snapshot!(format!("roster_error_{name}"), stderr);
    }
    let (code, _, stderr) = output_of(&["run", "no-such-roster.csv", "--sandbox"]).await;
    assert_eq!(code, 2);
    snapshot!("roster_error_missing_file", stderr);
}
