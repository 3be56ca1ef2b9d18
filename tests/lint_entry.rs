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

#[test]
fn reading_takes_the_paths_alone_in_runner_order_without_findings() {
    let dir = project();
    let read = lockgate::lint::read(&[dir.path().to_path_buf()], &Config::default(), false).expect("reads");
    let ids: Vec<&str> = read.migrations.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["0001_accounts", "0002_name"]);
    assert_eq!(
        read.recognised,
        lint(&request(&[dir.path().to_path_buf()]), &Config::default()).unwrap().result.recognised
    );
    // What check, plan and trace are given is what they act on: a file named alone is read
    // alone, not with the project around it as lint replays it.
    let file = [dir.path().join("0002_name.sql")];
    let read = lockgate::lint::read(&file, &Config::default(), false).expect("reads");
    assert_eq!(read.migrations.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["0002_name"]);
}

#[test]
fn reading_nothing_is_an_error_unless_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "not a migration\n").expect("write");
    let paths = [dir.path().to_path_buf()];
    match lockgate::lint::read(&paths, &Config::default(), false) {
        Err(LintError::Input(error)) => assert!(error.to_string().contains("no migration"), "{error}"),
        Err(other) => panic!("another error: {other}"),
        Ok(read) => panic!("read {} migrations from nothing", read.migrations.len()),
    }
    let read = lockgate::lint::read(&paths, &Config::default(), true).expect("allowed");
    assert!(read.migrations.is_empty());
}

/// An Alembic revision's `downgrade()` is its rollback, which only the executor runs: reading
/// for check, plan and trace keeps it, a lint does not read it.
#[test]
fn a_revisions_rollback_is_read_for_the_executor_not_for_a_lint() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("a1_add_note.py"),
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'a1'\ndown_revision = None\n\n\
         def upgrade():\n    op.add_column('orders', sa.Column('note', sa.Text()))\n\n\
         def downgrade():\n    op.drop_column('orders', 'note')\n",
    )
    .expect("write");
    let paths = [dir.path().to_path_buf()];
    let read = lockgate::lint::read(&paths, &Config::default(), false).expect("reads");
    assert!(read.migrations[0].rollback.as_ref().is_some_and(|ops| ops.len() == 1), "the downgrade is kept");
    let linted = lint(&request(&paths), &Config::default()).expect("lints");
    assert!(linted.migrations[0].rollback.is_none());
    assert_eq!(linted.migrations[0].ops.len(), read.migrations[0].ops.len(), "the upgrade is the same");
}
