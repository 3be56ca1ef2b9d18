//! The library's lint entry point is the lint `lockgate lint` runs: from the same paths, the
//! same report, and the project around a file is still replayed with it.

use std::path::{Path, PathBuf};

use lockgate::config::Config;
use lockgate::lint::{lint, LintError, LintRequest};

const HISTORY: &[(&str, &str)] = &[
    ("0001_accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n"),
    (
        "0002_name.sql",
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;\nCREATE INDEX accounts_name_idx ON accounts (name);\n",
    ),
];

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in HISTORY {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn request(paths: &[PathBuf]) -> LintRequest<'_> {
    LintRequest { paths, stdin_name: "<stdin>", diff: None, staged: false, context: &[], allow_empty: false }
}

fn command_line_json(path: &Path) -> String {
    let output = assert_cmd::Command::cargo_bin("lockgate")
        .expect("binary")
        .args(["lint", "--format", "json", "--fail-on", "never"])
        .arg(path)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn the_library_reports_what_the_command_line_prints() {
    let dir = project();
    let paths = [dir.path().to_path_buf()];
    let linted = lint(&request(&paths), &Config::default()).expect("lints");
    assert_eq!(linted.migrations.len(), 2);
    assert!(
        linted.result.findings.iter().any(|f| f.rule == "set-not-null-scan" && f.migration_id.contains("0002")),
        "{:?}",
        linted.result.findings.iter().map(|f| f.rule).collect::<Vec<_>>()
    );
    assert_eq!(lockgate::report::json(&linted.result), command_line_json(dir.path()));
}

#[test]
fn a_file_is_replayed_with_its_history_and_reported_alone() {
    let dir = project();
    let paths = [dir.path().join("0002_name.sql")];
    let linted = lint(&request(&paths), &Config::default()).expect("lints");
    assert_eq!(linted.migrations.len(), 2, "the earlier migration is read as context");
    assert_eq!((linted.result.migrations, linted.result.replayed_only), (1, 1));
    assert!(linted.result.findings.iter().all(|f| f.migration_id.contains("0002")));
    assert_eq!(lockgate::report::json(&linted.result), command_line_json(&paths[0]));
}

#[test]
fn a_missing_path_is_an_input_error_not_an_empty_lint() {
    let dir = project();
    let paths = [dir.path().join("0003_missing.sql")];
    match lint(&request(&paths), &Config::default()) {
        Err(LintError::Input(error)) => assert!(error.to_string().contains("no such file"), "{error}"),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("a missing path linted"),
    }
}
