//! Snapshot tests of what a user sees: text and JSON output on the bundled fixtures, the rule
//! list, exit codes.

use assert_cmd::Command;

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    // Under GitHub Actions the default format is `github`; these snapshots pin the text one.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1").env_remove("GITHUB_ACTIONS");
    cmd
}

fn stdout(cmd: &mut Command) -> (String, i32) {
    let output = cmd.output().expect("lockgate runs");
    (String::from_utf8(output.stdout).expect("UTF-8 output"), output.status.code().unwrap_or(-1))
}

#[test]
fn text_report_on_sql_fixtures() {
    let (out, code) = stdout(lockgate().args(["lint", "fixtures/sql", "--color", "never"]));
    assert_eq!(code, 1, "errors fail the run");
    insta::assert_snapshot!(out);
}

#[test]
fn json_report_on_sql_fixtures() {
    let (out, code) = stdout(lockgate().args(["lint", "fixtures/sql", "--format", "json"]));
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["schema_version"], 1);
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).expect("serializes"));
}

#[test]
fn rule_list() {
    let (out, code) = stdout(lockgate().args(["rules"]));
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn rule_list_as_json_names_every_rule_once() {
    let (out, _) = stdout(lockgate().args(["rules", "--format", "json"]));
    let rules: Vec<serde_json::Value> = serde_json::from_str(&out).expect("valid JSON");
    let mut ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("id")).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
    assert!(ids.contains(&"create-index-not-concurrently"));
}

#[test]
fn stdin_is_linted_under_the_given_name() {
    let (out, code) = stdout(
        lockgate()
            .args(["lint", "-", "--format", "json", "--stdin-filepath", "add_index.sql"])
            .write_stdin("SET lock_timeout = '2s';\nCREATE INDEX i ON t (c);\n"),
    );
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "create-index-not-concurrently");
    assert_eq!(finding["path"], "add_index.sql");
    assert_eq!(finding["line"], 2);
}

#[test]
fn fail_on_controls_the_exit_code() {
    let sql = "SET lock_timeout = '2s';\nDROP INDEX i;\n";
    let (_, warning_default) = stdout(lockgate().args(["lint", "-"]).write_stdin(sql));
    assert_eq!(warning_default, 0, "a warning does not fail the default --fail-on error");
    let (_, warning_strict) = stdout(lockgate().args(["lint", "-", "--fail-on", "warning"]).write_stdin(sql));
    assert_eq!(warning_strict, 1);
    let (_, clean) = stdout(lockgate().args(["lint", "-"]).write_stdin("SELECT 1;\n"));
    assert_eq!(clean, 0);
}

#[test]
fn missing_path_is_a_usage_error() {
    let output = lockgate().args(["lint", "no/such/dir"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/dir"));
}

#[test]
fn bad_config_is_reported_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("lockgate.toml");
    std::fs::write(&config, "[rules]\ndisable = [\"no-such-rule\"]\n").expect("write");
    let output =
        lockgate().args(["lint", "-", "--config"]).arg(&config).write_stdin("SELECT 1;").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lockgate.toml") && stderr.contains("no-such-rule"), "{stderr}");
}

#[test]
fn timeouts_the_runner_sets_are_declared_in_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("lockgate.toml");
    let timeouts = |toml: &str| -> (Vec<String>, i32) {
        std::fs::write(&config, toml).expect("write");
        let (out, code) = stdout(
            lockgate()
                .args(["lint", "-", "--format", "json", "--fail-on", "never", "--config"])
                .arg(&config)
                .write_stdin("ALTER TABLE t ADD COLUMN c text;"),
        );
        let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let rules =
            json["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str()).map(str::to_string);
        (rules.collect(), code)
    };
    assert_eq!(timeouts("").0, ["missing-lock-timeout", "missing-statement-timeout"]);
    assert_eq!(timeouts("[runner]\nlock_timeout = \"4s\"\nstatement_timeout = 30000\n").0, Vec::<String>::new());
    assert_eq!(timeouts("[runner]\nlock_timeout = \"0\"\n").0, ["missing-lock-timeout", "missing-statement-timeout"]);
    assert_eq!(timeouts("[runner]\nlock_timeout = \"soon\"\n").1, 2, "not a duration");
}

#[test]
fn config_turns_rules_off_and_changes_severity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("lockgate.toml");
    std::fs::write(
        &config,
        "[rules]\ndisable = [\"missing-lock-timeout\", \"missing-statement-timeout\"]\n[rules.severity]\ncreate-index-not-concurrently = \"warning\"\n",
    )
    .expect("write");
    let (out, code) = stdout(
        lockgate()
            .args(["lint", "-", "--format", "json", "--config"])
            .arg(&config)
            .write_stdin("CREATE INDEX i ON t (c);"),
    );
    assert_eq!(code, 0, "downgraded to a warning");
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let findings = json["findings"].as_array().expect("array");
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["severity"], "warning");
}

/// The rule index the README links to (docs/rules.md) links every rule's page.
#[test]
fn rule_index_links_every_rule_page() {
    let index = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).expect("docs/rules.md");
    let (out, _) = stdout(lockgate().args(["rules", "--format", "json"]));
    let rules: Vec<serde_json::Value> = serde_json::from_str(&out).expect("valid JSON");
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        assert!(index.contains(&format!("[{id}](../rules/{id}.md)")), "docs/rules.md does not link rules/{id}.md");
    }
}

#[test]
fn check_from_a_statistics_file() {
    // The statistics of a database where 000001–000004 ran (golang-migrate's schema_migrations
    // at 4), with 300,000 orders and 50,000 users.
    let (out, code) = stdout(lockgate().args(["check", "--stats", "fixtures/stats/sql-shop.json", "fixtures/sql"]));
    assert_eq!(code, 1, "lint errors make the worst verdict `unsafe`");
    insta::assert_snapshot!(out);
}

#[test]
fn plan_from_a_statistics_file_and_its_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let (out, code) =
        stdout(lockgate().args(["plan", "--stats", "fixtures/stats/sql-shop.json", "fixtures/sql", "-o", plan]));
    assert_eq!(code, 0);
    insta::with_settings!({ filters => vec![(r"plan [0-9a-f]{12}", "plan [checksum]")] }, {
        insta::assert_snapshot!("plan_text", out);
    });
    let (dry_run, code) = stdout(lockgate().args(["apply", plan, "--phase", "contract", "--dry-run"]));
    assert_eq!(code, 0, "a dry run needs no database");
    insta::assert_snapshot!("dry_run_contract", dry_run);
}

#[test]
fn reindex_of_the_system_catalogs_is_not_told_to_use_concurrently() {
    // PostgreSQL rejects CONCURRENTLY for system catalogs; a schema or database can use it.
    let help = |sql: &str| {
        let (out, _) = stdout(lockgate().args(["lint", "-", "--format", "json"]).write_stdin(sql));
        let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        let findings = json["findings"].as_array().expect("findings").clone();
        let finding = findings.iter().find(|f| f["rule"] == "reindex-not-concurrently").expect("reported");
        finding["help"].as_str().expect("help").to_string()
    };
    for sql in ["REINDEX SYSTEM mydb;\n", "REINDEX (VERBOSE) SYSTEM mydb;\n"] {
        let help = help(sql);
        assert!(!help.contains("use `REINDEX … CONCURRENTLY"), "{sql}: {help}");
        assert!(help.contains("cannot reindex system catalogs concurrently"), "{sql}: {help}");
    }
    assert!(help("REINDEX DATABASE mydb;\n").contains("use `REINDEX … CONCURRENTLY"));
}
