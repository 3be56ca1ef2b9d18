//! lockgate run the way people run it: from inside a project, on a file or a folder, spelled
//! any way a shell allows. Nothing passes in silence, and a report that was not delivered
//! fails the run.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lockgate(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(cwd).env("NO_COLOR", "1").env_remove("GITHUB_ACTIONS");
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("has a folder")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walks");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A repository holding one project of each kind:
/// - `django/`: the Django fixture (apps `shop` and `accounts`, `shop` depending on `accounts`);
/// - `dd/`: a Django project whose app `dojo` keeps its migrations in `dojo/db_migrations`, as
///   its settings say with `MIGRATION_MODULES`;
/// - `alembic/`: the Alembic fixture (`alembic.ini`, `env.py`, `versions/`);
/// - `bare/versions/`: the same revisions with no `env.py` or `alembic.ini` anywhere;
/// - `diesel/migrations/`: the same widening as diesel migrations (`<version>_<name>/up.sql`);
/// - `sql/db/`: numbered SQL files: 0001 makes `name varchar(10)` and `v integer`, 0002 widens
///   `name` (no rewrite, known only from 0001), 0003 makes `v` bigint (a rewrite).
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).expect("mkdir");
    copy_dir(&manifest().join("fixtures/django"), &root.join("django"));
    copy_dir(&manifest().join("fixtures/alembic"), &root.join("alembic"));
    copy_dir(&manifest().join("fixtures/alembic/migrations/versions"), &root.join("bare/versions"));
    write(root, "sql/db/0001_create.sql", "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10), v integer);\n");
    write(
        root,
        "sql/db/0002_widen.sql",
        "SET lock_timeout = '2s';\nALTER TABLE t ALTER COLUMN name TYPE varchar(20);\n",
    );
    write(root, "sql/db/0003_bigint.sql", "SET lock_timeout = '2s';\nALTER TABLE t ALTER COLUMN v TYPE bigint;\n");
    write(
        root,
        "diesel/migrations/2024-01-01-000000_create/up.sql",
        "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10));\n",
    );
    write(
        root,
        "diesel/migrations/2024-01-02-000000_widen/up.sql",
        "SET lock_timeout = '2s';\nALTER TABLE t ALTER COLUMN name TYPE varchar(20);\n",
    );
    write(root, "dd/manage.py", "import sys\n");
    write(root, "dd/dojo/__init__.py", "");
    write(root, "dd/dojo/settings/__init__.py", "");
    write(root, "dd/dojo/settings/settings.dist.py", "MIGRATION_MODULES = {\n    'dojo': 'dojo.db_migrations',\n}\n");
    write(root, "dd/dojo/db_migrations/__init__.py", "");
    write(root, "dd/dojo/db_migrations/0001_initial.py", DOJO_INITIAL);
    write(root, "dd/dojo/db_migrations/0002_bigint.py", DOJO_BIGINT);
    std::os::unix::fs::symlink(root.join("django/shop/migrations"), root.join("shop-link")).expect("symlink");
    std::os::unix::fs::symlink(root.join("sql/db"), root.join("sql-link")).expect("symlink");
    dir
}

const DOJO_INITIAL: &str = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = [\n        migrations.CreateModel(\n            name=\"Finding\",\n            fields=[\n                (\"id\", models.BigAutoField(primary_key=True)),\n                (\"score\", models.IntegerField()),\n            ],\n        ),\n    ]\n";
const DOJO_BIGINT: &str = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"dojo\", \"0001_initial\")]\n    operations = [\n        migrations.AlterField(model_name=\"finding\", name=\"score\", field=models.BigIntegerField()),\n    ]\n";

fn lint_json(cwd: &Path, paths: &[&str]) -> (Value, Output) {
    let output = lockgate(cwd).arg("lint").args(paths).args(["--format", "json"]).output().expect("runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (json, output)
}

fn findings(json: &Value) -> &[Value] {
    json["findings"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// What a path form must give: how many migrations are reported, an id prefix every reported
/// migration has (the Django app label), and a rule whose message on a file must (or, with
/// `None`, must not) contain a text that only the history before the file could tell.
struct Expect {
    reported: u64,
    id_prefix: &'static str,
    file: &'static str,
    rule: &'static str,
    history: Option<&'static str>,
}

#[test]
fn every_path_form_is_linted_with_its_project_history() {
    let repo = repository();
    let root = repo.path();
    let absolute = |p: &str| root.join(p).to_string_lossy().into_owned();
    let shop_0004 = absolute("django/shop/migrations/0004_order_quantity_bigint.py");
    let sql_0002 = absolute("sql/db/0002_widen.sql");
    // Django: the app label `shop`, not `app` or the folder's spelling; 0004 knows 0001 made
    // `quantity` an integer.
    let shop = |reported| Expect {
        reported,
        id_prefix: "shop.",
        file: "0004_order_quantity_bigint.py",
        rule: "alter-column-type-rewrite",
        history: Some("`integer` → `bigint`"),
    };
    // SQL: 0002 only widens a varchar(10), which 0001 made: no rewrite to assume.
    let sql = |reported| Expect {
        reported,
        id_prefix: "",
        file: "0002_widen.sql",
        rule: "alter-column-type-rewrite",
        history: None,
    };
    // Alembic: 3c4d… knows the balance was an integer.
    let alembic = |reported| Expect {
        reported,
        id_prefix: "",
        file: "3c4d5e6f7a8b_widen_account_balance.py",
        rule: "alter-column-type-rewrite",
        history: Some("`integer` → `bigint`"),
    };
    let cases: Vec<(&str, Vec<&str>, Expect)> = vec![
        ("django/shop", vec!["."], shop(7)),
        ("django/shop/migrations", vec!["."], shop(7)),
        ("django/shop/migrations", vec!["0004_order_quantity_bigint.py"], shop(1)),
        ("django/shop/migrations", vec!["../migrations/0004_order_quantity_bigint.py"], shop(1)),
        ("django/accounts", vec!["../shop"], shop(7)),
        ("django/accounts/migrations", vec![".."], Expect { id_prefix: "accounts.", file: "", ..shop(3) }),
        ("", vec!["django/shop/migrations/0004_order_quantity_bigint.py"], shop(1)),
        ("sql", vec![shop_0004.as_str()], shop(1)),
        ("", vec!["shop-link"], shop(7)),
        (
            "django",
            vec!["shop/migrations/0004_order_quantity_bigint.py", "accounts/migrations/0002_account_bio.py"],
            Expect { id_prefix: "", ..shop(2) },
        ),
        (
            "dd",
            vec!["dojo/db_migrations/0002_bigint.py"],
            Expect {
                reported: 1,
                id_prefix: "dojo.",
                file: "0002_bigint.py",
                rule: "alter-column-type-rewrite",
                history: Some("`integer` → `bigint`"),
            },
        ),
        (
            "dd/dojo/db_migrations",
            vec!["."],
            Expect { reported: 2, id_prefix: "dojo.", file: "", rule: "", history: None },
        ),
        // The project root, with `MIGRATION_MODULES` read from its settings.
        ("dd", vec!["."], Expect { reported: 2, id_prefix: "dojo.", file: "", rule: "", history: None }),
        ("sql/db", vec!["."], sql(3)),
        ("sql/db", vec!["0002_widen.sql"], sql(1)),
        ("sql", vec!["db/../db/0002_widen.sql"], sql(1)),
        ("alembic", vec![sql_0002.as_str()], sql(1)),
        ("", vec!["sql-link/0002_widen.sql"], sql(1)),
        ("", vec!["sql-link"], sql(3)),
        // diesel: a migration is a folder; its history is the folder above.
        ("diesel/migrations/2024-01-02-000000_widen", vec!["up.sql"], Expect { file: "up.sql", ..sql(1) }),
        ("diesel", vec!["migrations/2024-01-02-000000_widen"], Expect { file: "up.sql", ..sql(1) }),
        ("alembic/migrations/versions", vec!["."], alembic(9)),
        ("alembic/migrations/versions", vec!["3c4d5e6f7a8b_widen_account_balance.py"], alembic(1)),
        ("", vec!["alembic/migrations/versions/"], alembic(9)),
        ("alembic", vec!["migrations"], alembic(9)),
        ("bare/versions", vec!["."], alembic(9)),
        ("bare", vec!["versions/3c4d5e6f7a8b_widen_account_balance.py"], alembic(1)),
        ("", vec!["bare/versions/"], alembic(9)),
    ];
    for (cwd, paths, expect) in cases {
        let case = format!("`cd {cwd:?} && lockgate lint {}`", paths.join(" "));
        let (json, output) = lint_json(&root.join(cwd), &paths);
        assert!(json.is_object(), "{case}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(json["summary"]["migrations"], expect.reported, "{case}: {json}");
        let ids: Vec<&str> = findings(&json).iter().filter_map(|f| f["migration"].as_str()).collect();
        assert!(ids.iter().all(|id| id.starts_with(expect.id_prefix)), "{case}: {ids:?}");
        let rules: Vec<&str> = findings(&json).iter().filter_map(|f| f["rule"].as_str()).collect();
        assert!(!rules.contains(&"parse-error") && !rules.contains(&"migration-graph"), "{case}: {json}");
        if expect.file.is_empty() {
            continue;
        }
        let on_file = findings(&json)
            .iter()
            .find(|f| f["rule"] == expect.rule && f["path"].as_str().is_some_and(|p| p.ends_with(expect.file)));
        match expect.history {
            Some(text) => {
                let message = on_file.and_then(|f| f["message"].as_str()).unwrap_or_default();
                assert!(message.contains(text), "{case}: {} on {} should say {text}: {json}", expect.rule, expect.file);
            }
            None => assert!(on_file.is_none(), "{case}: {} should not fire on {}: {json}", expect.rule, expect.file),
        }
    }
}

#[test]
fn migration_modules_from_lockgate_toml_when_settings_are_not_a_literal() {
    let repo = repository();
    let dd = repo.path().join("dd");
    write(&dd, "dojo/settings/settings.dist.py", "MIGRATION_MODULES = {'dojo': PREFIX + '.db_migrations'}\n");
    // Not guessed: the file named is read alone, and says that its history is missing.
    let (json, _) = lint_json(&dd, &["dojo/db_migrations/0002_bigint.py"]);
    let graph = findings(&json).iter().find(|f| f["rule"] == "migration-graph").expect("says so");
    assert!(graph["message"].as_str().unwrap_or_default().contains("dojo.0001_initial"), "{json}");
    write(&dd, "lockgate.toml", "[django.migration_modules]\ndojo = \"dojo/db_migrations\"\n");
    let (json, _) = lint_json(&dd, &["dojo/db_migrations/0002_bigint.py"]);
    assert_eq!(json["summary"]["migrations"], 1, "{json}");
    assert!(
        findings(&json).iter().all(|f| f["migration"] == "dojo.0002_bigint" && f["rule"] != "migration-graph"),
        "{json}"
    );
    let rewrite = findings(&json).iter().find(|f| f["rule"] == "alter-column-type-rewrite").expect("a rewrite");
    assert!(rewrite["message"].as_str().unwrap_or_default().contains("`integer` → `bigint`"), "{json}");
}

#[test]
fn nothing_to_read_fails_and_says_what_was_looked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "app/models.py", "class Thing:\n    pass\n");
    write(dir.path(), "README.md", "# nothing here\n");
    let output = lockgate(dir.path()).args(["lint", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "a gate that read nothing must not pass");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for looked_for in ["no migrations found in `.`", "<app>/migrations/*.py", "down_revision", "*.sql", "--allow-empty"]
    {
        assert!(stderr.contains(looked_for), "{looked_for}: {stderr}");
    }
    assert!(output.stdout.is_empty(), "no report that looks like a pass");

    // A `migrations` package of another tool's files holds no migration either.
    write(dir.path(), "vectors/migrations/__init__.py", "");
    write(dir.path(), "vectors/migrations/m0001_v2.py", "import sqlite3\n\n\ndef upgrade(conn):\n    pass\n");
    let stderr = failure(dir.path(), &["lint", "."]);
    assert!(stderr.contains("no migrations found in `.`"), "{stderr}");

    let output = lockgate(dir.path()).args(["lint", ".", "--allow-empty"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 migrations"));

    // The gate too: a check that judged nothing must not let the deploy through.
    let stats = manifest().join("fixtures/stats/sql-shop.json");
    let stats = stats.to_str().expect("UTF-8");
    let output = lockgate(dir.path()).args(["check", "--stats", stats, "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no migrations found in `.`"));
}

#[test]
fn the_summary_names_what_was_recognised() {
    let repo = repository();
    let root = repo.path();
    write(root, "go/001_init.up.sql", "CREATE TABLE g (id bigint);\n");
    write(root, "go/001_init.down.sql", "DROP TABLE g;\n");
    // dbmate's files are numbered like any others: the marker inside names the runner.
    write(
        root,
        "dbmate/20240101120000_init.sql",
        "-- migrate:up\nCREATE TABLE d (id bigint);\n-- migrate:down\nDROP TABLE d;\n",
    );
    let paths = ["django", "alembic", "go", "dbmate"];
    let output = lockgate(root).arg("lint").args(paths).output().expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.contains("(2 Django apps, 1 Alembic environment, dbmate, golang-migrate)"), "{summary}");
    let (json, _) = lint_json(root, &paths);
    assert_eq!(json["schema_version"], 1);
    let recognised = &json["summary"]["recognised"];
    assert_eq!(recognised["django_apps"], 2, "{json}");
    assert_eq!(recognised["alembic_environments"], 1, "{json}");
    assert_eq!(recognised["sql_layouts"], serde_json::json!(["dbmate", "golang-migrate"]), "{json}");
}

/// `> /dev/full`: the report is lost, so the run fails with 2 whatever the findings were.
#[test]
fn a_report_that_cannot_be_written_fails_the_run() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let fixtures = manifest().join("fixtures/sql");
    let fixtures = fixtures.to_str().expect("UTF-8");
    let runs: Vec<Vec<&str>> = vec![
        vec!["lint", fixtures, "--format", "json"],
        vec!["lint", fixtures],
        vec!["lint", fixtures, "--fail-on", "never"],
        vec!["rules"],
        vec!["explain", "create-index-not-concurrently"],
    ];
    for args in runs {
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"))
            .current_dir(manifest())
            .args(&args)
            .stdout(full())
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot write") && stderr.contains("No space left on device"), "{args:?}: {stderr}");
    }
    // `plan -o`, `calibrate -o`: a file that cannot be written is an error naming it.
    let unwritable = manifest().join("no-such-folder/plan.json");
    let output = lockgate(manifest())
        .args(["plan", "--stats", "fixtures/stats/sql-shop.json", "-o"])
        .arg(&unwritable)
        .arg("fixtures/sql")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the plan to") && stderr.contains("no-such-folder"), "{stderr}");
}

/// `| head`: the reader closed the pipe because it had what it wanted; no error, and the exit
/// code is still the findings'.
#[test]
fn a_closed_pipe_is_quiet() {
    let fixtures = manifest().join("fixtures/sql");
    let fixtures = fixtures.to_str().expect("UTF-8 path");
    let commands: [(&[&str], i32); 4] =
        [(&["lint", "--format", "json", fixtures], 1), (&["completions", "bash"], 0), (&["rules"], 0), (&["man"], 0)];
    for (args, code) in commands {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        // Closing the read end before lockgate writes anything: every write fails with EPIPE.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("waits");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "lockgate {args:?}: {stderr}");
        assert!(stderr.is_empty(), "lockgate {args:?}: {stderr}");
    }
}

fn failure(cwd: &Path, args: &[&str]) -> String {
    let output = lockgate(cwd).args(args).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    assert!(output.stdout.is_empty(), "{args:?}: no report");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A wrong path, an unreadable file, a config typo: each says what was expected and where,
/// and exits 2.
#[test]
fn errors_say_what_was_expected_and_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "db/0001_create.sql", "CREATE TABLE t (id bigint);\n");

    let stderr = failure(root, &["lint", "db/0002_missing.sql"]);
    let expected = format!("db/0002_missing.sql: no such file or directory (looked for in {})", root.display());
    assert!(stderr.contains(&expected) && stderr.contains("give migration files"), "{stderr}");

    // Reading fails at the first byte (as root, a permission cannot be denied; this can).
    let stderr = failure(root, &["lint", "/proc/self/mem"]);
    assert!(stderr.contains("/proc/self/mem: cannot be read ("), "{stderr}");

    let config_errors = [
        (
            "# settings\npg_versoin = 15\n",
            "lockgate.toml",
            "line 2",
            "unknown field `pg_versoin`, expected one of `pg_version`",
        ),
        ("pg_version = \"15\"\n", "lockgate.toml", "line 1", "invalid type: string \"15\", expected u32"),
        ("[rules]\ndisable = \"missing-lock-timeout\"\n", "lockgate.toml", "line 2", "expected a sequence"),
        (
            "[rules]\n\ndisable = [\"create-index-not-concurently\"]\n",
            "lockgate.toml:3: unknown rule `create-index-not-concurently`",
            "did you mean `create-index-not-concurrently`?",
            "`lockgate rules` lists them",
        ),
        ("pg_version = 9\n", "lockgate.toml:1: pg_version = 9 is not supported", "11–18", ""),
    ];
    for (text, file, line, message) in config_errors {
        write(root, "lockgate.toml", text);
        let stderr = failure(root, &["lint", "db"]);
        for part in [file, line, message] {
            assert!(stderr.contains(part), "{text:?}: {part:?} in {stderr}");
        }
    }
}

/// lockgate.toml is found above the paths (as git finds .git), not only above the working
/// directory: a project linted from elsewhere keeps its settings.
#[test]
fn lockgate_toml_is_found_above_the_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "project/db/0001_index.sql", "CREATE INDEX i ON t (c);\n");
    write(root, "project/lockgate.toml", "[rules]\ndisable = [\"create-index-not-concurrently\"]\n");
    write(root, "elsewhere/README", "");
    let (json, _) = lint_json(&root.join("elsewhere"), &["../project/db"]);
    let rules: Vec<&str> = findings(&json).iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(!rules.is_empty() && !rules.contains(&"create-index-not-concurrently"), "{json}");
}

/// A folder walk reads versioned SQL files, and SQL files in a folder named for migrations or
/// the folder named; other SQL it finds (a psql init script, a query beside the code) is not a
/// migration: not read, and the summary says so. Named directly, such a file is read.
#[test]
fn sql_outside_migrations_folders_is_named_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "db/migrations/0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);\n");
    write(dir.path(), "db/migrations/seed_roles.sql", "CREATE TABLE roles (id int);\n");
    write(dir.path(), "server/init-readonly-user.sql", "\\set u reader\nGRANT CONNECT ON DATABASE :db TO :u;\n");
    write(dir.path(), "app/queries/top_users.sql", "SELECT * FROM users WHERE id = $1;\n");
    write(dir.path(), "schema/create_items.sql", "CREATE TABLE items (id int);\n");
    let (json, _) = lint_json(dir.path(), &["."]);
    let paths: Vec<&str> = findings(&json).iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(!paths.iter().any(|p| p.contains("server/") || p.contains("app/queries")), "{json}");
    assert_eq!(json["summary"]["migrations"], 2, "{json}");
    let not_read: Vec<&str> = json["summary"]["recognised"]["sql_not_read"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        not_read,
        ["./app/queries/top_users.sql", "./schema/create_items.sql", "./server/init-readonly-user.sql"],
        "{json}"
    );
    let text = lockgate(dir.path()).args(["lint", ".", "--fail-on", "never"]).output().expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("not read as migrations, outside any migrations folder: ./app/queries/top_users.sql and 2 more"),
        "{text}"
    );

    // The folder named is the user's word: its SQL files are migrations.
    let (json, _) = lint_json(dir.path(), &["schema"]);
    assert_eq!(json["summary"]["migrations"], 1, "{json}");

    // Beside diesel's `<version>_<name>/up.sql` folders a loose file is not diesel's, even in
    // the folder named.
    write(dir.path(), "diesel/2024-01-01-000000_users/up.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n");
    write(dir.path(), "diesel/data_fix.sql", "UPDATE accounts SET id = id;\n");
    let (json, _) = lint_json(dir.path(), &["diesel"]);
    assert_eq!(json["summary"]["migrations"], 1, "{json}");
    assert_eq!(json["summary"]["recognised"]["sql_not_read"][0], "diesel/data_fix.sql", "{json}");
}

/// What check, plan, lint and the listing commands cannot read says which file or name it was
/// and why, and exits 2 with no report.
#[test]
fn errors_of_the_read_side_name_the_file_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "db/0001_create.sql", "CREATE TABLE t (id bigint);\n");
    let stats = manifest().join("fixtures/stats/sql-shop.json");
    let stats = stats.to_str().expect("UTF-8");

    let stderr = failure(root, &["check", "--stats", "missing.json", "db"]);
    assert!(stderr.contains("missing.json: No such file"), "{stderr}");
    write(root, "garbled.json", "{\"schema_version\": 1,");
    for command in ["check", "plan"] {
        let stderr = failure(root, &[command, "--stats", "garbled.json", "db"]);
        assert!(stderr.contains("garbled.json: not a `lockgate stats dump` file: EOF"), "{command}: {stderr}");
    }
    let mut newer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest().join("fixtures/stats/sql-shop.json")).unwrap())
            .expect("JSON");
    newer["schema_version"] = 99.into();
    write(root, "newer.json", &newer.to_string());
    let stderr = failure(root, &["check", "--stats", "newer.json", "db"]);
    assert!(stderr.contains("newer.json: schema_version 99 is not 1; dump the statistics again"), "{stderr}");

    let stderr = failure(root, &["check", "--stats", stats, "--profile", "nope.json", "db"]);
    assert!(stderr.contains("nope.json: No such file"), "{stderr}");
    write(root, "profile.json", "\"fast\"");
    let stderr = failure(root, &["check", "--stats", stats, "--profile", "profile.json", "db"]);
    assert!(stderr.contains("profile.json: not a lockgate profile: invalid type"), "{stderr}");

    // Planning stops at every migration it cannot turn into SQL, and names each where it is.
    write(root, "broken/0001_a.sql", "CREATE TABLE t (id bigint);\nCREATE TABLE (;\n");
    write(root, "broken/0002_b.sql", "SELECT 1 FROM;\n");
    let stderr = failure(root, &["plan", "--all", "--stats", stats, "broken"]);
    assert!(stderr.contains("the plan cannot be made:\n  broken/0001_a.sql:2:1: cannot plan a statement"), "{stderr}");
    assert!(stderr.contains("\n  broken/0002_b.sql:1:1: cannot plan a statement"), "{stderr}");

    let stderr = failure(root, &["lint", "--since", "0009_later", "db"]);
    assert!(
        stderr.contains(
            "no linted migration has the id `0009_later`; use an id as lockgate reports it (for example `0001_create`)"
        ),
        "{stderr}"
    );
    let stderr = failure(root, &["trace", "--database-url", "postgresql://h:notaport/x", "db"]);
    assert!(stderr.contains("database URL"), "{stderr}");
    assert!(failure(root, &["explain", "no-such-rule"]).contains("no rule `no-such-rule`; `lockgate rules` lists them"));
    assert!(failure(root, &["man", "nope"]).contains("no subcommand `nope`; `lockgate --help` lists them"));
}
