//! The schema is replayed across files: what an earlier migration did decides what a later one
//! is judged by.

use std::path::Path;

use assert_cmd::Command;

fn lint_dir(files: &[(&str, &str)], extra: &[&str]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, sql) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(path, sql).expect("write");
    }
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(dir.path())
        .args(["lint", ".", "--format", "json", "--fail-on", "never"])
        .args(extra)
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    json["findings"].as_array().cloned().unwrap_or_default()
}

/// Rules reported on `file`, leaving out info-level schema-design notes.
fn rules_in(findings: &[serde_json::Value], file: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn foreign_key_indexed_in_a_later_file_is_quiet() {
    let findings = lint_dir(
        &[
            ("0001_tables.sql", "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));\n"),
            ("0002_index.sql", "CREATE INDEX CONCURRENTLY b_a_id_idx ON b (a_id);\n"),
        ],
        &[],
    );
    assert!(!rules_in(&findings, "0001_tables.sql").contains(&"unindexed-foreign-key".to_string()), "{findings:?}");
}

#[test]
fn foreign_key_whose_index_is_dropped_later_is_reported() {
    let findings = lint_dir(
        &[
            ("0001_tables.sql", "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));\nCREATE INDEX b_a_id_idx ON b (a_id);\n"),
            ("0002_drop.sql", "DROP INDEX CONCURRENTLY b_a_id_idx;\n"),
        ],
        &[],
    );
    assert!(rules_in(&findings, "0001_tables.sql").contains(&"unindexed-foreign-key".to_string()), "{findings:?}");
}

#[test]
fn type_change_is_judged_from_the_type_an_earlier_file_set() {
    let setup = ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, name varchar(50), qty integer);\n");
    let widen = lint_dir(
        &[setup, ("0002_widen.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN name TYPE varchar(100);\n")],
        &[],
    );
    assert!(rules_in(&widen, "0002_widen.sql").is_empty(), "varchar widening is catalog-only: {widen:?}");
    let to_text = lint_dir(
        &[setup, ("0002_text.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN name TYPE text;\n")],
        &[],
    );
    assert!(rules_in(&to_text, "0002_text.sql").is_empty(), "varchar → text is catalog-only: {to_text:?}");
    let bigint = lint_dir(
        &[setup, ("0002_big.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN qty TYPE bigint;\n")],
        &[],
    );
    assert_eq!(rules_in(&bigint, "0002_big.sql"), vec!["alter-column-type-rewrite"]);
}

#[test]
fn type_set_by_an_intermediate_migration_is_the_one_that_counts() {
    let findings = lint_dir(
        &[
            ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v varchar(10));\n"),
            ("0002_text.sql", "ALTER TABLE t ALTER COLUMN v TYPE text;\n"),
            ("0003_other.sql", "CREATE TABLE u (id int PRIMARY KEY);\n"),
            ("0004_back.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN v TYPE varchar(20);\n"),
        ],
        &[],
    );
    // text → varchar(20) checks every value's length: a rewrite, even though 0001 said varchar.
    assert_eq!(rules_in(&findings, "0004_back.sql"), vec!["alter-column-type-rewrite"]);
}

#[test]
fn set_not_null_after_a_validated_check_in_earlier_files_is_quiet_on_pg12_and_later() {
    let files = [
        ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, c int);\n"),
        ("0002_check.sql", "ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\n"),
        ("0003_validate.sql", "ALTER TABLE t VALIDATE CONSTRAINT c_nn;\n"),
        (
            "0004_set.sql",
            "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN c SET NOT NULL;\n",
        ),
    ];
    assert!(rules_in(&lint_dir(&files, &["--pg-version", "12"]), "0004_set.sql").is_empty());
    assert_eq!(rules_in(&lint_dir(&files, &["--pg-version", "11"]), "0004_set.sql"), vec!["set-not-null-scan"]);
}

#[test]
fn tables_created_in_the_same_migration_do_not_trigger_lock_rules() {
    let findings = lint_dir(
        &[(
            "0001_new.sql",
            "CREATE TABLE t (id int PRIMARY KEY, c int);\nCREATE INDEX t_c ON t (c);\nALTER TABLE t ADD COLUMN d int NOT NULL;\nALTER TABLE t ADD CONSTRAINT d_pos CHECK (d > 0);\n",
        )],
        &[],
    );
    assert!(rules_in(&findings, "0001_new.sql").is_empty(), "{findings:?}");
}

#[test]
fn a_table_created_by_an_earlier_migration_is_not_new() {
    let findings = lint_dir(
        &[
            ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, c int);\n"),
            ("0002_idx.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nCREATE INDEX t_c ON t (c);\n"),
        ],
        &[],
    );
    assert_eq!(rules_in(&findings, "0002_idx.sql"), vec!["create-index-not-concurrently"]);
}

#[test]
fn renamed_tables_keep_their_history() {
    let findings = lint_dir(
        &[
            ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v varchar(10));\n"),
            ("0002_rename.sql", "ALTER TABLE t RENAME TO t2;\nALTER TABLE t2 RENAME COLUMN v TO w;\n"),
            ("0003_widen.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE t2 ALTER COLUMN w TYPE varchar(30);\n"),
        ],
        &[],
    );
    assert!(rules_in(&findings, "0003_widen.sql").is_empty(), "{findings:?}");
}

#[test]
fn versions_order_numerically_not_by_name() {
    // "10_" sorts before "9_" as text; the replay must see 9 first (it creates the table).
    let findings = lint_dir(
        &[
            ("9_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v int);\n"),
            ("10_idx.sql", "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nCREATE INDEX t_v ON t (v);\n"),
        ],
        &[],
    );
    assert_eq!(rules_in(&findings, "10_idx.sql"), vec!["create-index-not-concurrently"]);
}

#[test]
fn validate_in_the_same_transaction_is_flagged_only_when_wrapped() {
    let files = [
        ("0001_t.sql", "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE c (id int PRIMARY KEY, p_id int);\nCREATE INDEX c_p ON c (p_id);\n"),
        (
            "0002_fk.sql",
            "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nALTER TABLE c ADD CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) NOT VALID;\nALTER TABLE c VALIDATE CONSTRAINT c_p_fk;\n",
        ),
    ];
    assert!(rules_in(&lint_dir(&files, &["--assume-in-transaction"]), "0002_fk.sql")
        .contains(&"validate-in-same-transaction".to_string()));
    assert!(rules_in(&lint_dir(&files, &[]), "0002_fk.sql").is_empty());
}

#[test]
fn sql_runner_layouts_are_recognised() {
    let findings = lint_dir(
        &[
            ("db/V1__init.sql", "CREATE TABLE t (id int PRIMARY KEY, v int);\n"),
            (
                "db/V1_1__index.sql",
                "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nCREATE INDEX t_v ON t (v);\n",
            ),
            (
                "dbmate/20240101000000_x.sql",
                "-- migrate:up\nCREATE TABLE d (id int PRIMARY KEY, v int);\n-- migrate:down\nDROP INDEX whatever;\n",
            ),
            (
                "diesel/2024-01-02-000000_y/up.sql",
                "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\nCREATE INDEX CONCURRENTLY d_v ON d (v);\n",
            ),
            ("diesel/2024-01-02-000000_y/down.sql", "DROP TABLE d;\n"),
        ],
        &[],
    );
    assert_eq!(rules_in(&findings, "V1_1__index.sql"), vec!["create-index-not-concurrently"]);
    assert!(rules_in(&findings, "20240101000000_x.sql").is_empty(), "down section is not linted: {findings:?}");
    // diesel wraps up.sql in a transaction unless metadata.toml opts out.
    assert_eq!(rules_in(&findings, "up.sql"), vec!["concurrently-in-transaction"]);
    assert!(rules_in(&findings, "down.sql").is_empty());
}

#[test]
fn inline_ignores_suppress_and_unused_ones_are_reported() {
    let findings = lint_dir(
        &[
            ("0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v int);\n"),
            (
                "0002_x.sql",
                "SET lock_timeout = '1s';\nSET statement_timeout = '30s';\n-- lockgate: ignore create-index-not-concurrently -- tiny table\nCREATE INDEX t_v ON t (v);\nCREATE INDEX t_id ON t (id); -- lockgate: ignore create-index-not-concurrently\n-- lockgate: ignore drop-index-not-concurrently -- nothing to ignore here\nSELECT 1;\n",
            ),
        ],
        &[],
    );
    assert_eq!(rules_in(&findings, "0002_x.sql"), vec!["unused-ignore"], "{findings:?}");
}
