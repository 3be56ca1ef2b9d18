//! What a finding claims a migration does, checked on a real PostgreSQL: the SQL is linted, then
//! run on a throwaway database, and the two must agree. Each test pairs a hazard lockgate must
//! not miss with what the server does with the same text.

mod common;

use assert_cmd::Command;

/// Rules lockgate reports on `migration`, linted after `setup` (an earlier file), with `extra`
/// arguments.
fn lint(setup: &str, migration: &str, extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("0001_setup.sql"), setup).expect("write");
    std::fs::write(dir.path().join("0002_migration.sql"), migration).expect("write");
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .args(["lint", "--format", "json", "--fail-on", "never"])
        .args(extra)
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with("0002_migration.sql")))
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_null_default_is_no_default_on_the_server_and_in_lint() {
    let db = common::database();
    let mut client = db.connect();
    let setup = "CREATE TABLE t (id bigint PRIMARY KEY);\nINSERT INTO t VALUES (1);\n";
    client.batch_execute(setup).expect("setup");
    for default in ["NULL", "NULL::integer", "CAST(NULL AS integer)"] {
        let statement = format!("ALTER TABLE t ADD COLUMN c integer DEFAULT {default} NOT NULL;");
        let error = client.batch_execute(&statement).expect_err("a NOT NULL column with a NULL default fails");
        assert!(format!("{error:?}").contains("contains null values"), "{statement}: {error:?}");
        let rules = lint(setup, &statement, &[]);
        assert!(rules.iter().any(|r| r == "add-column-not-null-without-default"), "{statement}: {rules:?}");
    }
    // SET DEFAULT NULL leaves no default behind: PostgreSQL stores no pg_attrdef row for it.
    client
        .batch_execute("ALTER TABLE t ADD COLUMN d integer DEFAULT 1; ALTER TABLE t ALTER COLUMN d SET DEFAULT NULL;")
        .expect("set default null");
    let defaults: i64 = client
        .query_one("SELECT count(*) FROM pg_attrdef WHERE adrelid = 't'::regclass", &[])
        .expect("pg_attrdef")
        .get(0);
    assert_eq!(defaults, 0);
}
