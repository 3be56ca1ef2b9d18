//! lockgate in CI: `--diff` and `--staged` against real git repositories built in temporary
//! folders, grandfathering with `--since` / `start_after`, and the CI output formats (SARIF
//! validated against the official schema; GitHub, GitLab and Markdown pinned by snapshots).

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    // The format default depends on GITHUB_ACTIONS; these tests choose it themselves.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1").env_remove("GITHUB_ACTIONS");
    cmd
}

fn stdout(cmd: &mut Command) -> (String, i32) {
    let output = cmd.output().expect("lockgate runs");
    (String::from_utf8(output.stdout).expect("UTF-8 output"), output.status.code().unwrap_or(-1))
}

fn stderr_of(cmd: &mut Command) -> (String, i32) {
    let output = cmd.output().expect("lockgate runs");
    (String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code().unwrap_or(-1))
}

/// A git repository in a temporary folder, with an identity of its own.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo { dir: tempfile::tempdir().expect("temporary directory") };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "lockgate tests"]);
        repo.git(&["config", "user.email", "tests@lockgate.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(path, text).expect("write file");
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_dated(args, None)
    }

    fn git_dated(&self, args: &[&str], date: Option<&str>) -> String {
        let mut command = std::process::Command::new("git");
        command.current_dir(self.path()).args(args);
        if let Some(date) = date {
            command.env("GIT_AUTHOR_DATE", date).env("GIT_COMMITTER_DATE", date);
        }
        let output = command.output().expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn commit_on(&self, date: &str, message: &str) {
        self.git(&["add", "-A"]);
        self.git_dated(&["commit", "-q", "-m", message], Some(date));
    }

    /// `lockgate lint --format json <args>` in the repository.
    fn lint(&self, args: &[&str]) -> (Value, i32) {
        let (out, code) = stdout(lockgate().current_dir(self.path()).args(["lint", "--format", "json"]).args(args));
        assert!(code == 0 || code == 1, "lockgate failed with {code}: {out}");
        (serde_json::from_str(&out).expect("valid JSON"), code)
    }
}

fn findings(json: &Value) -> &Vec<Value> {
    json["findings"].as_array().expect("findings array")
}

fn paths_with_findings(json: &Value) -> BTreeSet<String> {
    findings(json).iter().map(|f| f["path"].as_str().expect("path").to_string()).collect()
}

fn rules_in(json: &Value, path: &str) -> BTreeSet<String> {
    findings(json).iter().filter(|f| f["path"] == path).map(|f| f["rule"].as_str().expect("rule").to_string()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const CREATE: &str = "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10), v integer);\n";
const INDEX: &str = "CREATE INDEX t_v_idx ON t (v);\n";
/// Binary-compatible only to someone who knows `name` is varchar(10): that comes from 0001.
const WIDEN: &str =
    "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN name TYPE varchar(20);\n";
const BIGINT: &str =
    "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE t ALTER COLUMN v TYPE bigint;\n";

/// `main` has 0001 and 0002; `feature` branched from it and added 0003 and 0004; `main` then
/// changed 0002, which the merge base keeps out of `feature`'s diff.
fn feature_branch() -> Repo {
    let repo = Repo::new();
    repo.write("db/0001_create.sql", CREATE);
    repo.write("db/0002_index.sql", INDEX);
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("db/0003_widen.sql", WIDEN);
    repo.write("db/0004_bigint.sql", BIGINT);
    repo.commit("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("db/0002_index.sql", "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n");
    repo.commit("main moves on");
    repo.git(&["checkout", "-q", "feature"]);
    repo
}

#[test]
fn diff_reports_the_changed_migrations_judged_with_the_whole_history() {
    let repo = feature_branch();
    let (json, code) = repo.lint(&["--diff", "main"]);
    assert_eq!(code, 1, "the bigint change is an error");
    assert_eq!(json["summary"]["migrations"], 2, "{json}");
    assert!(paths_with_findings(&json).is_subset(&set(&["db/0003_widen.sql", "db/0004_bigint.sql"])), "{json}");
    assert!(!rules_in(&json, "db/0003_widen.sql").contains("alter-column-type-rewrite"), "{json}");
    let rewrite = findings(&json)
        .iter()
        .find(|f| f["rule"] == "alter-column-type-rewrite" && f["path"] == "db/0004_bigint.sql")
        .expect("the bigint change rewrites");
    assert!(rewrite["message"].as_str().expect("message").contains("`integer` → `bigint`"), "{rewrite}");

    // Named alone, the widening is still judged with the folder's history before it (0001 made
    // `name` a varchar), as lockgate walks up to the migrations folder: no rewrite to assume.
    let (alone, _) = repo.lint(&["db/0003_widen.sql"]);
    assert_eq!(alone["summary"]["migrations"], 1, "{alone}");
    assert!(!rules_in(&alone, "db/0003_widen.sql").contains("alter-column-type-rewrite"), "{alone}");
}

/// A table the change itself creates is empty for the change's later migrations: their work on
/// it is a note that says so, while the same work on a table the history made stays an error.
#[test]
fn diff_knows_tables_the_change_creates_are_still_empty() {
    let repo = Repo::new();
    repo.write("db/0001_create.sql", CREATE);
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("db/0002_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, note text, total integer);\n");
    repo.write(
        "db/0003_indexes.sql",
        "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nCREATE INDEX orders_note_idx ON orders (note);\n\
         ALTER TABLE orders ALTER COLUMN total TYPE bigint;\nCREATE INDEX t_v_idx ON t (v);\n",
    );
    repo.commit("feature");
    let (json, code) = repo.lint(&["--diff", "main"]);
    assert_eq!(code, 1, "the index on the old table still fails the run: {json}");
    let on = |needle: &str, rule: &str| {
        findings(&json)
            .iter()
            .find(|f| f["rule"] == rule && f["message"].as_str().is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| panic!("a {rule} finding on {needle}: {json}"))
            .clone()
    };
    for (table, rule) in [("`orders`", "create-index-not-concurrently"), ("`orders`", "alter-column-type-rewrite")] {
        let finding = on(table, rule);
        assert_eq!(finding["severity"], "info", "{finding}");
        let message = finding["message"].as_str().expect("message");
        assert!(message.contains("created by `0002_orders`, which no deploy has run yet"), "{message}");
    }
    assert_eq!(on("`t`", "create-index-not-concurrently")["severity"], "error", "{json}");

    // Without a change set lockgate cannot know what was deployed: the same work is an error.
    let (whole, _) = repo.lint(&["db"]);
    let errors_on_orders = findings(&whole)
        .iter()
        .filter(|f| f["severity"] == "error" && f["message"].as_str().is_some_and(|m| m.contains("`orders`")))
        .count();
    assert_eq!(errors_on_orders, 2, "{whole}");
}

/// A table the change creates stops being certainly empty once a migration of the change may
/// write rows to it (an INSERT, code lockgate cannot read).
#[test]
fn diff_knows_a_table_the_change_fills_is_not_empty() {
    let repo = Repo::new();
    repo.write("db/0001_create.sql", CREATE);
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("db/0002_lines.sql", "CREATE TABLE lines (id bigint PRIMARY KEY, note text);\n");
    repo.write("db/0003_fill.sql", "INSERT INTO lines SELECT id, name FROM t;\n");
    repo.write("db/0004_index.sql", "CREATE INDEX lines_note_idx ON lines (note);\n");
    repo.commit("lines");
    let (json, code) = repo.lint(&["--diff", "main"]);
    assert_eq!(code, 1, "{json}");
    let index = findings(&json)
        .iter()
        .find(|f| f["rule"] == "create-index-not-concurrently")
        .unwrap_or_else(|| panic!("the index build is reported: {json}"));
    assert_eq!(index["severity"], "error", "{index}");
}

#[test]
fn diff_paths_and_subfolders_narrow_the_walk_not_the_history_they_need() {
    let repo = feature_branch();
    let (from_root, _) = repo.lint(&["--diff", "main", "db"]);
    let (_, code) = repo.lint(&["--diff", "main"]);
    assert_eq!(code, 1);
    assert_eq!(from_root["summary"]["migrations"], 2);
    // From a subfolder, paths are shown from there, and the whole repository is still linted.
    let (out, code) =
        stdout(lockgate().current_dir(repo.path().join("db")).args(["lint", "--diff", "main", "--format", "json"]));
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(paths_with_findings(&json), set(&["../db/0004_bigint.sql"]), "{json}");
}

#[test]
fn a_dirty_worktree_does_not_change_the_diff_verdict() {
    let repo = feature_branch();
    let clean = repo.lint(&["--diff", "main"]);
    repo.write("db/0004_bigint.sql", "SELECT 1;\n");
    repo.write("db/0005_untracked.sql", "DROP TABLE t;\n");
    std::fs::remove_file(repo.path().join("db/0003_widen.sql")).expect("remove");
    repo.write("db/0001_create.sql", "CREATE TABLE t (id integer);\n");
    assert_eq!(repo.lint(&["--diff", "main"]), clean);
}

#[test]
fn staged_reports_what_is_staged_as_staged() {
    let repo = feature_branch();
    repo.write("db/0005_name_idx.sql", "SET lock_timeout = '2s';\nCREATE INDEX t_name_idx ON t (name);\n");
    repo.git(&["add", "db/0005_name_idx.sql"]);
    // Neither the unstaged edit of the staged file nor an unstaged new file counts.
    repo.write("db/0005_name_idx.sql", "SELECT 1;\n");
    repo.write("db/0006_untracked.sql", "DROP TABLE t;\n");
    let (json, code) = repo.lint(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(json["summary"]["migrations"], 1, "{json}");
    assert_eq!(paths_with_findings(&json), set(&["db/0005_name_idx.sql"]));
    assert!(rules_in(&json, "db/0005_name_idx.sql").contains("create-index-not-concurrently"));

    // Against a base, the staged change joins the branch's own.
    let (json, _) = repo.lint(&["--staged", "--diff", "main"]);
    assert_eq!(json["summary"]["migrations"], 3, "{json}");
}

#[test]
fn staged_works_before_the_first_commit() {
    let repo = Repo::new();
    repo.write("db/0001_create.sql", CREATE);
    repo.git(&["add", "."]);
    let (json, _) = repo.lint(&["--staged"]);
    assert_eq!(json["summary"]["migrations"], 1);
    assert!(!rules_in(&json, "db/0001_create.sql").contains("edited-applied-migration"));
}

#[test]
fn editing_a_merged_migration_is_reported_where_the_code_changed() {
    let repo = feature_branch();
    repo.write("db/0001_create.sql", "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10), v integer, w text);\n");
    // Comments only: not an edit any database would run.
    repo.write("db/0002_index.sql", "-- speeds up lookups by v\nCREATE INDEX t_v_idx\n    ON t (v);\n");
    // Added on this branch: not merged yet, so editing it is fine.
    repo.write("db/0003_widen.sql", &WIDEN.replace("varchar(20)", "varchar(30)"));
    repo.commit("edits");
    let (json, _) = repo.lint(&["--diff", "main"]);
    let edited: Vec<&Value> = findings(&json).iter().filter(|f| f["rule"] == "edited-applied-migration").collect();
    assert_eq!(edited.len(), 1, "{json}");
    assert_eq!(edited[0]["path"], "db/0001_create.sql");
    assert_eq!((edited[0]["line"].as_u64(), edited[0]["column"].as_u64()), (Some(1), Some(67)), "at the `,`");
    assert_eq!(edited[0]["severity"], "warning");
    assert!(edited[0]["message"].as_str().expect("message").contains("`main`"));
    assert_eq!(json["summary"]["migrations"], 4, "all four files changed");
}

#[test]
fn a_renamed_and_edited_migration_names_its_old_path() {
    let repo = Repo::new();
    let columns: String = (1..=8).map(|i| format!("    c{i} text,\n")).collect();
    let table = format!("CREATE TABLE wide (\n{columns}    id bigint PRIMARY KEY\n);\n");
    repo.write("db/0001_wide.sql", &table);
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.git(&["mv", "db/0001_wide.sql", "db/0001_wide_table.sql"]);
    repo.write("db/0001_wide_table.sql", &table.replace("c8 text", "c8 integer"));
    repo.commit("rename and edit");
    let (json, _) = repo.lint(&["--diff", "main"]);
    let edited = findings(&json).iter().find(|f| f["rule"] == "edited-applied-migration").expect("reported");
    assert_eq!(edited["path"], "db/0001_wide_table.sql");
    assert_eq!(edited["line"], 9);
    assert!(edited["message"].as_str().expect("message").contains("db/0001_wide.sql"), "{edited}");
}

#[test]
fn alembic_revisions_in_a_diff_find_their_environment_above_the_linted_folder() {
    let repo = Repo::new();
    repo.write("alembic.ini", "[alembic]\nscript_location = db\n");
    repo.write("db/env.py", "");
    repo.write(
        "db/versions/a1_create.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"a1\"\ndown_revision = None\n\n\ndef upgrade():\n    op.create_table(\"users\", sa.Column(\"id\", sa.BigInteger(), primary_key=True), sa.Column(\"name\", sa.String(10)))\n",
    );
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "db/versions/b2_name.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"b2\"\ndown_revision = \"a1\"\n\n\ndef upgrade():\n    op.execute(\"SET lock_timeout = '2s'\")\n    op.execute(\"SET statement_timeout = '30s'\")\n    op.alter_column(\"users\", \"name\", type_=sa.String(20))\n    op.create_index(\"users_name_idx\", \"users\", [\"name\"])\n",
    );
    repo.commit("feature");
    let (json, _) = repo.lint(&["--diff", "main", "db/versions"]);
    assert_eq!(json["summary"]["migrations"], 1, "{json}");
    let rules = rules_in(&json, "db/versions/b2_name.py");
    assert!(rules.contains("create-index-not-concurrently"), "{json}");
    assert!(!rules.contains("alter-column-type-rewrite"), "varchar(10) → varchar(20) is known from a1: {json}");
}

#[test]
fn since_an_id_reports_only_later_migrations_but_replays_all() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, text) in [("0001_create.sql", CREATE), ("0002_index.sql", INDEX), ("0003_bigint.sql", BIGINT)] {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let run = |args: &[&str]| {
        let (out, _) = stdout(lockgate().current_dir(dir.path()).args(["lint", ".", "--format", "json"]).args(args));
        serde_json::from_str::<Value>(&out).expect("valid JSON")
    };
    let everything = run(&[]);
    assert!(paths_with_findings(&everything).contains("./0002_index.sql"));

    let since = run(&["--since", "0002_index"]);
    assert_eq!(paths_with_findings(&since), set(&["./0003_bigint.sql"]), "{since}");
    assert_eq!(since["summary"]["migrations"], 1);
    let rewrite = findings(&since).iter().find(|f| f["rule"] == "alter-column-type-rewrite").expect("reported");
    assert!(rewrite["message"].as_str().expect("message").contains("`integer` → `bigint`"), "replayed: {rewrite}");

    std::fs::write(dir.path().join("lockgate.toml"), "start_after = \"0002_index\"\n").expect("write config");
    assert_eq!(run(&[]), since, "start_after in lockgate.toml does the same");

    let (message, code) = stderr_of(lockgate().current_dir(dir.path()).args(["lint", ".", "--since", "0009_nope"]));
    assert_eq!(code, 2);
    assert!(message.contains("0009_nope"), "{message}");
}

#[test]
fn since_a_date_uses_the_day_each_file_was_first_committed() {
    let repo = Repo::new();
    repo.write("db/0001_create.sql", CREATE);
    repo.write("db/0002_index.sql", INDEX);
    repo.commit_on("2021-03-01T12:00:00+00:00", "old history");
    repo.write("db/0003_bigint.sql", BIGINT);
    repo.commit_on("2024-05-01T12:00:00+00:00", "recent");
    // A later edit does not make an old file new.
    repo.write("db/0002_index.sql", &format!("{INDEX}CREATE INDEX t_name_idx ON t (name);\n"));
    repo.commit_on("2024-06-01T12:00:00+00:00", "touch old file");

    let (json, _) = repo.lint(&["db", "--since", "2023-01-01"]);
    assert_eq!(paths_with_findings(&json), set(&["db/0003_bigint.sql"]), "{json}");
    let (json, _) = repo.lint(&["db", "--since", "2021-03-01"]);
    assert_eq!(json["summary"]["migrations"], 3, "strictly before the day");
}

#[test]
fn since_a_date_outside_git_reads_timestamp_versions() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("20200101000000_index.sql"), INDEX).expect("write");
    std::fs::write(dir.path().join("20240101000000_index.sql"), "CREATE INDEX t_x ON t (x);\n").expect("write");
    let (out, _) =
        stdout(lockgate().current_dir(dir.path()).args(["lint", ".", "--format", "json", "--since", "2022-01-01"]));
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(paths_with_findings(&json), set(&["./20240101000000_index.sql"]), "{json}");
}

#[test]
fn a_grandfathered_migration_edited_after_merge_is_reported_again() {
    let repo = feature_branch();
    repo.write("lockgate.toml", "start_after = \"0002_index\"\n");
    repo.write("db/0001_create.sql", "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10), v bigint);\n");
    repo.commit("edit old");
    let (json, _) = repo.lint(&["--diff", "main"]);
    assert!(rules_in(&json, "db/0001_create.sql").contains("edited-applied-migration"), "{json}");
    assert_eq!(json["summary"]["migrations"], 3, "0001 (edited), 0003, 0004");
}

#[test]
fn context_replays_around_the_given_files_and_skips_virtualenvs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(path, text).expect("write");
    };
    write("db/0001_create.sql", CREATE);
    write("db/0002_index.sql", INDEX);
    write("db/0003_bigint.sql", BIGINT);
    // A virtualenv in the project holds Django's own migrations: not this project's history.
    write(".venv/lib/python3.12/site-packages/django/contrib/auth/migrations/0001_initial.py", "this is not python(\n");
    let (out, code) = stdout(lockgate().current_dir(dir.path()).args([
        "lint",
        "--format",
        "json",
        "--context",
        ".",
        "db/0003_bigint.sql",
    ]));
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["summary"]["migrations"], 1, "{json}");
    assert_eq!(paths_with_findings(&json), set(&["./db/0003_bigint.sql"]), "{json}");
    let rewrite = findings(&json).iter().find(|f| f["rule"] == "alter-column-type-rewrite").expect("reported");
    assert!(rewrite["message"].as_str().expect("message").contains("`integer` → `bigint`"), "{rewrite}");
}

#[test]
fn git_problems_are_usage_errors() {
    let plain = tempfile::tempdir().expect("temporary directory");
    let (message, code) = stderr_of(lockgate().current_dir(plain.path()).args(["lint", "--diff", "main"]));
    assert_eq!(code, 2);
    assert!(message.contains("git repository"), "{message}");

    let repo = feature_branch();
    let (message, code) = stderr_of(lockgate().current_dir(repo.path()).args(["lint", "--diff", "no-such-branch"]));
    assert_eq!(code, 2);
    assert!(message.contains("no-such-branch"), "{message}");

    let (message, code) = stderr_of(lockgate().current_dir(repo.path()).args(["lint", "--staged", "-"]));
    assert_eq!(code, 2);
    assert!(message.contains("standard input"), "{message}");

    let (message, code) = stderr_of(lockgate().current_dir(repo.path()).args(["lint", "--diff", "main", "nowhere"]));
    assert_eq!(code, 2);
    assert!(message.contains("nowhere") && message.contains("HEAD"), "{message}");
}

fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sarif-schema-2.1.0.json"))
        .expect("vendored schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

fn assert_valid_sarif(out: &str) -> Value {
    let log: Value = serde_json::from_str(out).expect("valid JSON");
    let errors: Vec<String> =
        sarif_schema().iter_errors(&log).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));
    log
}

#[test]
fn sarif_validates_against_the_official_schema() {
    // The validator does reject what the schema forbids.
    let incomplete = serde_json::json!({ "runs": [{ "results": [] }] });
    assert!(!sarif_schema().is_valid(&incomplete), "a log without `version` nor `tool` must fail");
    for fixture in ["fixtures/sql", "fixtures/django"] {
        let (out, _) = stdout(lockgate().args(["lint", fixture, "--format", "sarif"]));
        let log = assert_valid_sarif(&out);
        let run = &log["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "lockgate");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules = driver["rules"].as_array().expect("rules");
        let results = run["results"].as_array().expect("results");
        assert!(!results.is_empty());
        for result in results {
            let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().expect("uri");
            assert!(uri.starts_with(fixture), "{uri}");
        }
        let rule = rules.iter().find(|r| r["id"] == "create-index-not-concurrently").expect("listed");
        assert!(rule["helpUri"].as_str().expect("helpUri").ends_with("/rules/create-index-not-concurrently.md"));
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
    }
}

#[test]
fn sarif_of_a_diff_run_validates_too() {
    let repo = feature_branch();
    repo.write("db/0001_create.sql", "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10), v bigint);\n");
    repo.commit("edit old");
    let (out, _) = stdout(lockgate().current_dir(repo.path()).args(["lint", "--diff", "main", "--format", "sarif"]));
    let log = assert_valid_sarif(&out);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "edited-applied-migration"));
}

#[test]
fn github_annotations_on_sql_fixtures() {
    let (out, code) = stdout(lockgate().args(["lint", "fixtures/sql", "--format", "github"]));
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn github_is_the_default_format_under_github_actions() {
    let (out, _) = stdout(lockgate().args(["lint", "fixtures/sql"]).env("GITHUB_ACTIONS", "true"));
    assert!(out.starts_with("::"), "{out}");
    let (out, _) = stdout(lockgate().args(["lint", "fixtures/sql", "--format", "json"]).env("GITHUB_ACTIONS", "true"));
    assert!(out.starts_with('{'), "an explicit --format wins");
}

#[test]
fn gitlab_code_quality_on_sql_fixtures() {
    let (out, code) = stdout(lockgate().args(["lint", "fixtures/sql", "--format", "gitlab"]));
    assert_eq!(code, 1);
    let issues: Vec<Value> = serde_json::from_str(&out).expect("valid JSON");
    let fingerprints: BTreeSet<&str> = issues.iter().map(|i| i["fingerprint"].as_str().expect("fingerprint")).collect();
    assert_eq!(fingerprints.len(), issues.len(), "fingerprints are unique");
    insta::assert_snapshot!(out);
}

#[test]
fn gitlab_fingerprints_survive_moved_lines() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("0001_index.sql");
    let fingerprints = || {
        let (out, _) = stdout(lockgate().current_dir(dir.path()).args(["lint", ".", "--format", "gitlab"]));
        let issues: Vec<Value> = serde_json::from_str(&out).expect("valid JSON");
        issues.iter().map(|i| i["fingerprint"].as_str().expect("fingerprint").to_string()).collect::<BTreeSet<_>>()
    };
    std::fs::write(&file, INDEX).expect("write");
    let before = fingerprints();
    std::fs::write(&file, format!("-- an index\n\n{}", INDEX.replace(" ON ", "\n    ON "))).expect("write");
    assert_eq!(fingerprints(), before);
}

#[test]
fn markdown_comment_on_sql_fixtures() {
    let (out, code) = stdout(lockgate().args(["lint", "fixtures/sql", "--format", "markdown"]));
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let (out, code) = stdout(lockgate().args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(out.contains("lockgate") && out.contains("diff") && out.contains("staged"), "{shell}: {out}");
    }
    let (out, code) = stdout(lockgate().args(["man"]));
    assert_eq!(code, 0);
    assert!(out.contains(".TH lockgate 1"), "{out}");
    let (out, _) = stdout(lockgate().args(["man", "lint"]));
    assert!(out.contains(".TH lockgate-lint 1") && out.contains("\\-\\-staged"), "{out}");
}
