//! Bad input never panics: every file gets a diagnostic or passes, and the run goes on.

use assert_cmd::Command;

fn lint(dir: &std::path::Path) -> (serde_json::Value, i32, String) {
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .args(["lint", "--format", "json"])
        .arg(dir)
        .output()
        .expect("runs");
    outcome(output)
}

/// `lockgate lint <path>` run in `dir`, so that `dir`'s lockgate.toml applies.
fn lint_in(dir: &std::path::Path, path: &str) -> (serde_json::Value, i32, String) {
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(dir)
        .args(["lint", path, "--format", "json"])
        .output();
    outcome(output.expect("runs"))
}

fn outcome(output: std::process::Output) -> (serde_json::Value, i32, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (json, output.status.code().unwrap_or(-1), stderr)
}

fn rules_for<'a>(json: &'a serde_json::Value, file: &str) -> Vec<&'a str> {
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .filter_map(|f| f["rule"].as_str())
        .collect()
}

#[test]
fn malformed_files_are_reported_and_the_rest_still_linted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).expect("write");
    write("0001_empty.sql", b"");
    write("0002_binary.sql", &[0x00, 0x01, 0xff, 0xfe, 0x00, 0x42]);
    write("0003_latin1.sql", b"COMMENT ON TABLE t IS 'caf\xe9';\n");
    write("0004_garbage.sql", b"this is not sql at all ;;; ((( $$ unterminated");
    write("0005_unterminated_quote.sql", b"SELECT 'never closed;\n");
    write("0006_half_bad.sql", b"SELECT 1;\nCREAT TABLE x ();\nCREATE INDEX i ON t (c);\n");
    write("0007_only_comments.sql", b"-- nothing here\n/* nor /* nested */ here */\n");
    write("0008_psql.sql", b"\\set ON_ERROR_STOP 1\n\\echo hi\nCOPY t (a) FROM stdin;\n1\n2\n\\.\nSELECT 1;\n");
    write(
        "0009_dollar.sql",
        b"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nDO $$ BEGIN PERFORM 1; END $$;\n",
    );
    write("0010_bom.sql", "\u{feff}SELECT 1;\n".as_bytes());

    let (json, code, stderr) = lint(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 1, "parse errors fail the run");
    assert!(rules_for(&json, "0001_empty.sql").is_empty());
    assert_eq!(rules_for(&json, "0002_binary.sql"), vec!["parse-error"]);
    assert_eq!(rules_for(&json, "0003_latin1.sql"), vec!["parse-error"]);
    assert!(rules_for(&json, "0004_garbage.sql").contains(&"parse-error"));
    assert_eq!(rules_for(&json, "0005_unterminated_quote.sql"), vec!["parse-error"]);
    let half = rules_for(&json, "0006_half_bad.sql");
    assert!(half.contains(&"parse-error") && half.contains(&"create-index-not-concurrently"), "{half:?}");
    assert!(rules_for(&json, "0007_only_comments.sql").is_empty());
    assert!(rules_for(&json, "0008_psql.sql").is_empty(), "{json}");
    assert_eq!(json["summary"]["meta_commands_skipped"], 2);
    assert_eq!(rules_for(&json, "0009_dollar.sql"), vec!["unanalyzable-operation"]);
    assert!(rules_for(&json, "0010_bom.sql").iter().all(|r| *r != "parse-error"), "{json}");
}

#[test]
fn a_parse_error_points_at_the_bad_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("0001_x.sql"), "SELECT 1;\n\nALTER TABLE t ADD COLUM x int;\nSELECT 2;\n")
        .expect("write");
    let (json, _, _) = lint(dir.path());
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "parse-error");
    assert_eq!(finding["line"], 3);
    assert!(finding["message"].as_str().unwrap_or_default().contains("syntax error"));
    assert_eq!(json["summary"]["statements_analyzed"], 2);
    assert_eq!(json["summary"]["statements_unanalyzed"], 1);
}

/// `(rule, line)` of each finding on `file`, in order.
fn rules_and_lines(json: &serde_json::Value, file: &str) -> Vec<(String, u64)> {
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .map(|f| (f["rule"].as_str().unwrap_or_default().to_string(), f["line"].as_u64().unwrap_or_default()))
        .collect()
}

#[test]
fn an_unclosed_parenthesis_does_not_hide_the_statements_after_it() {
    // Every `;` after an unclosed `(` looks nested; the loader re-synchronises at the next
    // statement, and each stretch that does not parse stays a parse error where it is.
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "SET lock_timeout = '4s';\n\
                ALTER TABLE t ADD COLUMN c int CHECK ((c > 0);\n\
                CREATE INDEX t_c_idx ON t (c);\n\
                CREATE TABLE u (a int, b (int);\n\
                SELECT (1;\n\
                DROP TABLE t;\n\
                CREATE RULE r AS ON INSERT TO u DO ALSO (NOTIFY a; NOTIFY b);\n";
    std::fs::write(dir.path().join("0001_x.sql"), text).expect("write");
    let (json, _, stderr) = lint(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    let found = without_statement_timeout(rules_and_lines(&json, "0001_x.sql"));
    let expected = at_lines(&[
        ("parse-error", 2),
        ("create-index-not-concurrently", 3),
        ("parse-error", 4),
        ("parse-error", 5),
        ("drop-table", 6),
    ]);
    assert_eq!(found, expected);
    assert_eq!(json["summary"]["statements_analyzed"], 4);
    assert_eq!(json["summary"]["statements_unanalyzed"], 3);
}

/// `(rule, line)` pairs as `rules_and_lines` gives them.
fn at_lines(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(rule, line)| (rule.to_string(), *line)).collect()
}

#[test]
fn psql_variables_are_substituted_as_psql_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "\\set table orders\n\
                \\set column 'note'\n\
                \\set default 'it''s'\n\
                SET lock_timeout = '4s';\n\
                ALTER TABLE :table ADD COLUMN :\"column\" text NOT NULL DEFAULT :'default';\n\
                CREATE INDEX orders_note_idx ON :\"table\" (:column);\n\
                SELECT ':table', 1::int, :undefined;\n";
    std::fs::write(dir.path().join("0001_x.sql"), text).expect("write");
    let (json, _, stderr) = lint(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    let found = without_statement_timeout(rules_and_lines(&json, "0001_x.sql"));
    // The index is on `orders`, at its own line; the variable psql never set stays unparsed.
    let expected = at_lines(&[("create-index-not-concurrently", 6), ("parse-error", 7)]);
    assert_eq!(found, expected, "{json}");
    let index =
        json["findings"].as_array().into_iter().flatten().find(|f| f["rule"] == "create-index-not-concurrently");
    assert!(index.is_some_and(|f| f["message"].as_str().unwrap_or_default().contains("`orders`")), "{json}");
    assert_eq!(json["summary"]["meta_commands_skipped"], 3);
    assert_eq!(json["summary"]["psql_variables_substituted"], 5);
}

/// A Go, Jinja or Mustache template renders `{{ … }}` before PostgreSQL sees the file: each is
/// read as a name, so the statements around it are analyzed instead of being parse errors.
#[test]
fn template_expressions_are_read_as_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let create =
        "CREATE TABLE IF NOT EXISTS {{ index .Options \"Namespace\" }}.users (id uuid PRIMARY KEY, email text);\n\
                  comment on table {{ index .Options \"Namespace\" }}.users is 'Auth: {{ .Note }} users';\n";
    let index = "SET lock_timeout = '4s';\n\
                 -- a comment's {{ template }} and a literal's '{{ x }}' change nothing\n\
                 CREATE INDEX \"{{ .Prefix }}_email_idx\" ON {{ index .Options \"Namespace\" }}.users (email);\n\
                 {{ if .Extra }}ALTER TABLE t ADD COLUMN c int;{{ end }}\n";
    std::fs::write(dir.path().join("0001_users.sql"), create).expect("write");
    std::fs::write(dir.path().join("0002_index.sql"), index).expect("write");
    let (json, _, stderr) = lint(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(rules_and_lines(&json, "0001_users.sql").is_empty(), "{json}");
    // The index is on the table 0001 created, found under its templated name; a template that
    // is control flow (`{{ if }}`, `{{ end }}`) leaves SQL that does not parse: each is reported
    // where it is.
    let found = without_statement_timeout(rules_and_lines(&json, "0002_index.sql"));
    let expected = at_lines(&[("create-index-not-concurrently", 3), ("parse-error", 4), ("parse-error", 4)]);
    assert_eq!(found, expected, "{json}");
    let index =
        json["findings"].as_array().into_iter().flatten().find(|f| f["rule"] == "create-index-not-concurrently");
    let message = index.and_then(|f| f["message"].as_str()).unwrap_or_default();
    assert!(message.contains("{{ index .Options Namespace }}"), "{message}");
    assert_eq!(json["summary"]["templates_substituted"], 6, "{json}");
}

#[test]
fn oversized_files_get_a_diagnostic_instead_of_being_parsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let statement = "ALTER TABLE t ADD COLUMN c int;\n";
    let big = statement.repeat(50 * 1024 * 1024 / statement.len() + 1);
    std::fs::write(dir.path().join("0001_big.sql"), big).expect("write");
    let (json, code, _) = lint(dir.path());
    assert_eq!(code, 1);
    let message = json["findings"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("MB") && message.contains("max_file_bytes"), "{message}");
}

#[test]
fn empty_python_migrations_are_reported_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let django = dir.path().join("shop/migrations");
    std::fs::create_dir_all(&django).expect("mkdir");
    std::fs::write(django.join("0001_initial.py"), "").expect("write");
    let versions = dir.path().join("alembic/versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    std::fs::write(dir.path().join("alembic/env.py"), "").expect("write");
    std::fs::write(versions.join("a1_first.py"), "").expect("write");
    let (json, code, stderr) = lint(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 1, "{json}");
    for file in ["0001_initial.py", "a1_first.py"] {
        assert!(!rules_for(&json, file).is_empty(), "{file} has no finding: {json}");
    }
}

#[test]
fn python_migrations_above_the_size_limit_are_reported_not_parsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("lockgate.toml"), "max_file_bytes = 2048\n").expect("write");
    let padding = format!("# {}\n", "x".repeat(4096));
    let django = dir.path().join("shop/migrations");
    std::fs::create_dir_all(&django).expect("mkdir");
    std::fs::write(
        django.join("0001_initial.py"),
        format!("{padding}from django.db import migrations\n\nclass Migration(migrations.Migration):\n    operations = []\n"),
    )
    .expect("write");
    let alembic = dir.path().join("alembic");
    std::fs::create_dir_all(alembic.join("versions")).expect("mkdir");
    std::fs::write(alembic.join("env.py"), "from alembic import context\n").expect("write");
    std::fs::write(
        alembic.join("versions/a1_first.py"),
        format!("{padding}revision = \"a1\"\ndown_revision = None\n\ndef upgrade():\n    pass\n"),
    )
    .expect("write");
    let (json, _, stderr) = lint_in(dir.path(), ".");
    for file in ["0001_initial.py", "a1_first.py"] {
        let finding = json["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
            .unwrap_or_else(|| panic!("no finding on {file}: {json} {stderr}"));
        let message = finding["message"].as_str().unwrap_or_default();
        assert!(message.contains("above the 0 MB limit") && message.contains("max_file_bytes"), "{file}: {message}");
    }
}

#[test]
fn placeholders_from_config_make_templated_sql_parse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    std::fs::write(
        migrations.join("0001_x.sql"),
        "CREATE TABLE {{ .Namespace }}.users (id bigint);\nSET lock_timeout = '1s';\nCREATE INDEX i ON ${schema}.users (id);\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("lockgate.toml"),
        "[sql.placeholders]\n\"{{ .Namespace }}\" = \"auth\"\n\"${schema}\" = \"auth\"\n",
    )
    .expect("write");
    let (json, _, _) = lint_in(dir.path(), "migrations");
    let findings = json["findings"].as_array().expect("findings");
    // The table is created in the same migration, so the index is quiet; nothing fails to parse.
    assert!(findings.is_empty(), "{json}");
    assert_eq!(json["summary"]["statements_analyzed"], 3);
}

/// The findings' rules and lines, leaving out `missing-statement-timeout` (these files set no
/// timeouts on purpose).
fn without_statement_timeout(found: Vec<(String, u64)>) -> Vec<(String, u64)> {
    found.into_iter().filter(|(rule, _)| !rule.starts_with("missing-statement-timeout")).collect()
}
