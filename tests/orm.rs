//! A Django and an Alembic project applied by lockgate (plan, then expand, backfill and
//! contract, with the safe recipes) end exactly where the frameworks' own `migrate` and
//! `upgrade` leave them: the same schema (compared through the catalog), the same rows, and
//! the same history table — so the framework run afterwards has nothing left to do.
//!
//! Both databases first get the framework's own initial migrations and the same rows; then
//! one runs the rest with Django or Alembic, the other with lockgate while an application
//! works on the tables. The pending migrations mix what lockgate writes itself with what only
//! the framework can run (RunPython, SQL built by Python), which lockgate runs as framework
//! steps. Needs python3 with Django, Alembic and psycopg, which `scripts/deps` installs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::project::{lockgate, write, FAST};
use common::workload::{Queries, Workload};
use common::{database, TestDb};
use serde_json::Value;

/// Columns, constraints, indexes and enum types of schema `public`, one line each. Column
/// order is not compared: a type changed by a new column and a swap ends up last.
const SCHEMA: &str = "
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid)
       || CASE WHEN condeferrable THEN ' deferrable' ELSE '' END
       || CASE WHEN convalidated THEN '' ELSE ' not validated' END
  FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace AND conrelid <> 0
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'type ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
 WHERE t.typnamespace = 'public'::regnamespace
 GROUP BY t.typname
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname FROM pg_trigger
 WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
 ORDER BY 1";

fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/orm").join(name)
}

/// Runs `python3 args…` in `dir` against `db`; returns standard output and error.
fn python(dir: &Path, db: &TestDb, args: &[&str]) -> String {
    let output = Command::new("python3")
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", dir)
        .env("LOCKGATE_TEST_DSN", db.url())
        .output()
        .expect("python3 runs (scripts/deps installs it with Django, Alembic and psycopg)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "python3 {}: {text}\n(scripts/deps installs Django, Alembic and psycopg)",
        args.join(" ")
    );
    text
}

fn django(db: &TestDb, args: &[&str]) -> String {
    let mut all = vec!["-m", "django"];
    all.extend(args);
    all.push("--settings=settings");
    python(&project("django"), db, &all)
}

fn alembic(db: &TestDb, args: &[&str]) -> String {
    let mut all = vec!["-m", "alembic"];
    all.extend(args);
    python(&project("alembic"), db, &all)
}

/// How the test projects run one migration with the framework itself.
const DJANGO_MIGRATE: &[&str] = &["python3", "-m", "django", "migrate", "{app}", "{name}", "--settings=settings"];
const ALEMBIC_UPGRADE: &[&str] = &["python3", "-m", "alembic", "upgrade", "{revision}"];

/// lockgate.toml for a test project: the fast retry schedule and the framework commands.
fn framework_config(project: &Path, django: &[&str]) -> String {
    // A TOML array of basic strings reads as Rust's debug form of the words.
    format!(
        "{FAST}[framework]\ndjango = {django:?}\nalembic = {ALEMBIC_UPGRADE:?}\ndirectory = {:?}\n",
        project.display().to_string()
    )
}

/// `lockgate plan` of the pending migrations, with the framework commands in `config`.
fn plan_with_lockgate(project: &Path, db: &TestDb, config: &str, dir: &Path) -> Value {
    let config = write(dir, "lockgate.toml", config);
    let plan = dir.join("plan.json");
    let planned = lockgate()
        .args(["plan", "--database-url", &db.url(), "-o", plan.to_str().unwrap(), project.to_str().unwrap()])
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(planned.status.success(), "plan: {}", String::from_utf8_lossy(&planned.stderr));
    serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap()
}

/// `lockgate apply` of one phase of the plan in `dir`, started; the framework's commands see
/// the project and the database as the framework's own runs do.
fn apply_command(project: &Path, db: &TestDb, dir: &Path, phase: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"));
    command
        .args(["apply", dir.join("plan.json").to_str().unwrap(), "--phase", phase, "--database-url", &db.url()])
        .args(["--config", dir.join("lockgate.toml").to_str().unwrap()])
        .env("PYTHONPATH", project)
        .env("LOCKGATE_TEST_DSN", db.url())
        .env("NO_COLOR", "1");
    command
}

/// Where the application's own writes go while the migrations run: a table both databases
/// have, whose rows are not compared.
const APP_EVENTS: &str = "CREATE TABLE app_events (id bigint PRIMARY KEY, user_id bigint, amount integer)";

/// `lockgate plan` of the pending migrations, then every phase applied while an application
/// reads and updates the project's tables with prepared statements (the updates change no
/// value, so the rows stay comparable); returns the plan. The application sees no error.
fn apply_with_lockgate(project: &Path, db: &TestDb, queries: Queries) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_with_lockgate(project, db, &framework_config(project, DJANGO_MIGRATE), dir.path());
    let workload = Workload::with_queries(queries, || db.connect(), 3, 1_000_000, 2);
    for phase in ["expand", "backfill", "contract"] {
        let applied = apply_command(project, db, dir.path(), phase).output().unwrap();
        assert!(applied.status.success(), "apply {phase}: {}", String::from_utf8_lossy(&applied.stderr));
    }
    let report = workload.stop();
    assert!(report.queries > 0 && report.failures.is_empty(), "the application saw: {:?}", report.failures);
    plan
}

/// The plan's steps of one migration.
fn steps_of<'a>(plan: &'a Value, migration: &str) -> Vec<&'a Value> {
    plan["steps"].as_array().unwrap().iter().filter(|s| s["migration"] == migration).collect()
}

/// The migration is one framework step, which lists `recipe` among the safe recipes its
/// operations would have had in a migration of their own.
fn assert_framework_step(plan: &Value, migration: &str, recipe: &str) {
    let steps = steps_of(plan, migration);
    assert_eq!(steps.len(), 1, "{migration}: {steps:#?}");
    let run = &steps[0]["framework"];
    let listed = run["would_have_recipes"].as_array().unwrap();
    assert!(listed.iter().any(|r| r.as_str().unwrap().contains(recipe)), "{run:#}");
}

fn lines(db: &TestDb, query: &str) -> Vec<String> {
    db.connect().query(query, &[]).unwrap().iter().map(|row| row.get::<_, String>(0)).collect()
}

/// Every row of `table`, as JSON with sorted keys (column order aside), sorted.
fn rows(db: &TestDb, table: &str) -> Vec<String> {
    lines(db, &format!("SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1"))
}

fn assert_same_database(framework: &TestDb, ours: &TestDb, tables: &[&str]) {
    let (expected, actual) = (lines(framework, SCHEMA), lines(ours, SCHEMA));
    let missing: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let extra: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema differs\nonly the framework's: {missing:#?}\nonly lockgate's: {extra:#?}"
    );
    for table in tables {
        assert_eq!(rows(framework, table), rows(ours, table), "rows of {table}");
    }
}

const DJANGO_ROWS: &str = "
INSERT INTO shop_customer (email, name, visits) VALUES ('ann@example.com', 'Ann', 3), ('bob@example.com', NULL, 0);
INSERT INTO shop_order (total, quantity, created_at, customer_id)
VALUES (10.50, 1, '2026-01-01 10:00+00', 1), (5.00, 2, '2026-01-02 11:00+00', 2), (7.25, 3, '2026-01-03 12:00+00', 1);
INSERT INTO billing_invoice (amount, order_id) VALUES (10.50, 1), (5.00, 2);";

#[test]
fn django_project_applied_by_lockgate_ends_as_django_migrate_leaves_it() {
    let (framework, ours) = (database(), database());
    for db in [&framework, &ours] {
        django(db, &["migrate", "shop", "0001"]);
        django(db, &["migrate", "billing", "0001"]);
        db.connect().batch_execute(DJANGO_ROWS).unwrap();
        db.connect().batch_execute(APP_EVENTS).unwrap();
    }
    django(&framework, &["migrate"]);
    let application = Queries {
        select: "SELECT id, email FROM shop_customer WHERE id = $1",
        insert: "INSERT INTO app_events (id, user_id, amount) VALUES ($1, $2, $3)",
        update: "UPDATE shop_order SET total = total WHERE id = $1",
    };
    let plan = apply_with_lockgate(&project("django"), &ours, application);
    // RunPython and a default Django computes make 0004 a framework step; the migration
    // after it still gets its recipe.
    assert_framework_step(&plan, "shop.0004_prefs_and_visits", "create-index-concurrently");
    let after = steps_of(&plan, "shop.0005_customer_name_index");
    assert_eq!(after[0]["recipe"], "create-index-concurrently", "{after:#?}");
    // Its JSONField defaults (`list`, `{}`) are written as Django sends them.
    assert!(after.iter().all(|s| s["framework"].is_null()), "{after:#?}");
    // The project's own field classes are written as the Django fields they subclass, with
    // the lengths their `__init__` sets.
    let project_fields = steps_of(&plan, "shop.0006_codes_and_colors");
    assert!(
        !project_fields.is_empty() && project_fields.iter().all(|s| s["framework"].is_null()),
        "{project_fields:#?}"
    );

    let tables = ["shop_customer", "shop_order", "billing_invoice", "billing_payment", "ledger_entry"];
    assert_same_database(&framework, &ours, &tables);
    // The squash in `ledger` is recorded with the two migrations it replaces, as Django does.
    // Django writes the squash's own row when its whole run ends, after the migrations that
    // follow it, and lockgate writes it with them; Django reads the rows as a set.
    let history = "SELECT app || '.' || name FROM django_migrations ORDER BY 1";
    assert_eq!(lines(&framework, history), lines(&ours, history));
    // `migrate --check` fails when any migration is unapplied.
    django(&ours, &["migrate", "--check"]);
}

#[test]
fn a_squash_whose_replaced_migrations_partly_ran_is_refused_at_its_file() {
    let db = database();
    django(&db, &["migrate", "billing"]);
    // As if `ledger.0001_initial` had run before the squash was added to the project.
    db.connect()
        .batch_execute(
            "CREATE TABLE ledger_entry (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, amount integer NOT NULL,
                 invoice_id bigint NOT NULL);
             INSERT INTO django_migrations (app, name, applied) VALUES ('ledger', '0001_initial', now());",
        )
        .unwrap();
    let output =
        lockgate().args(["plan", "--database-url", &db.url(), project("django").to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ledger/migrations/0001_squashed_0002_entry_memo.py:1:1"), "{stderr}");
    assert!(stderr.contains("1 already ran (ledger.0001_initial)"), "{stderr}");
}

/// The Django project with its rows, migrated by Django up to the framework step: only
/// `shop.0004_prefs_and_visits` (RunPython) and `shop.0005_customer_name_index` are pending.
fn django_before_the_framework_step(db: &TestDb) {
    django(db, &["migrate", "shop", "0001"]);
    django(db, &["migrate", "billing", "0001"]);
    db.connect().batch_execute(DJANGO_ROWS).unwrap();
    django(db, &["migrate", "shop", "0003"]);
    django(db, &["migrate", "billing"]);
    django(db, &["migrate", "ledger"]);
}

/// Waits until `query` returns a row.
fn wait_for(db: &TestDb, query: &str, what: &str) {
    let started = std::time::Instant::now();
    while lines(db, query).is_empty() {
        assert!(started.elapsed().as_secs() < 60, "{what} never happened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `apply` killed with SIGKILL during the framework step, twice: before Django started (the
/// command dies with lockgate and migrates nothing behind the rerun's back), and after Django
/// committed but before lockgate journaled the step (the rerun finds the migration in
/// django_migrations and goes on). The migration runs once: its RunPython counts one visit
/// per customer.
#[test]
fn a_framework_step_killed_with_apply_runs_once() {
    let (framework, ours) = (database(), database());
    for db in [&framework, &ours] {
        django_before_the_framework_step(db);
    }
    django(&framework, &["migrate"]);
    let project = project("django");
    let dir = tempfile::tempdir().unwrap();
    // The command waits, migrates, then lingers: each kill has a window to land in. It prints
    // nothing, so no broken pipe stops an orphaned command: only dying with apply does.
    let slow = [
        "sh",
        "-c",
        "sleep 1 && python3 -m django migrate \"$1\" \"$2\" --settings=settings --verbosity 0 && exec sleep 60",
        "sh",
        "{app}",
        "{name}",
    ];
    let plan = plan_with_lockgate(&project, &ours, &framework_config(&project, &slow), dir.path());
    assert_framework_step(&plan, "shop.0004_prefs_and_visits", "create-index-concurrently");
    let applied = apply_command(&project, &ours, dir.path(), "expand").output().unwrap();
    assert!(applied.status.success(), "expand: {}", String::from_utf8_lossy(&applied.stderr));
    let backfill = || {
        apply_command(&project, &ours, dir.path(), "backfill")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let running = "SELECT step_id FROM lockgate.steps WHERE migration = 'shop.0004_prefs_and_visits' \
                   AND status = 'running'";
    let recorded = "SELECT name FROM django_migrations WHERE app = 'shop' AND name = '0004_prefs_and_visits'";

    let mut killed_early = backfill();
    wait_for(&ours, running, "the framework step's start");
    killed_early.kill().unwrap();
    killed_early.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(lines(&ours, recorded).is_empty(), "the command went on migrating after apply was killed");

    let mut killed_late = backfill();
    wait_for(&ours, recorded, "Django's record of the migration");
    killed_late.kill().unwrap();
    killed_late.wait().unwrap();

    for phase in ["backfill", "contract"] {
        let rerun = apply_command(&project, &ours, dir.path(), phase).output().unwrap();
        let stderr = String::from_utf8_lossy(&rerun.stderr);
        assert!(rerun.status.success(), "{phase} after the kill: {stderr}");
        if phase == "backfill" {
            assert!(stderr.contains("already done (django_migrations records shop.0004_prefs_and_visits)"), "{stderr}");
        }
    }
    assert_same_database(&framework, &ours, &["shop_customer", "shop_order"]);
    let history = "SELECT app || '.' || name FROM django_migrations ORDER BY 1";
    assert_eq!(lines(&framework, history), lines(&ours, history));
}

/// lockgate's lock_timeout reaches Django's connection: a framework step whose table a long
/// transaction holds gives up after the retry schedule, leaving nothing behind, instead of
/// queueing (and every query on the table behind it); once the transaction ends it runs.
#[test]
fn a_framework_step_behind_a_long_transaction_is_retried_then_gives_up() {
    let db = database();
    django_before_the_framework_step(&db);
    let project = project("django");
    let dir = tempfile::tempdir().unwrap();
    plan_with_lockgate(&project, &db, &framework_config(&project, DJANGO_MIGRATE), dir.path());
    let applied = apply_command(&project, &db, dir.path(), "expand").output().unwrap();
    assert!(applied.status.success(), "expand: {}", String::from_utf8_lossy(&applied.stderr));

    let mut reader = db.connect();
    reader.batch_execute("BEGIN; SELECT count(*) FROM shop_customer").unwrap();
    let blocked = apply_command(&project, &db, dir.path(), "backfill").output().unwrap();
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(!blocked.status.success(), "{stderr}");
    assert!(stderr.contains("lock timeout") && stderr.contains("attempt 3 of 4"), "{stderr}");
    assert!(stderr.contains("retries exhausted"), "{stderr}");
    let columns = "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'shop_customer' \
                   AND column_name = 'prefs'";
    assert!(lines(&db, columns).is_empty(), "the failed tries left the column behind");

    reader.batch_execute("COMMIT").unwrap();
    let retried = apply_command(&project, &db, dir.path(), "backfill").output().unwrap();
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    assert_eq!(lines(&db, columns), ["prefs"]);
}

const ALEMBIC_ROWS: &str = "
INSERT INTO users (email, name) VALUES ('ann@example.com', 'Ann'), ('bob@example.com', NULL);
INSERT INTO accounts (user_id, balance) VALUES (1, 5), (2, 7), (1, 0);";

#[test]
fn alembic_project_applied_by_lockgate_ends_as_alembic_upgrade_leaves_it() {
    let (framework, ours) = (database(), database());
    for db in [&framework, &ours] {
        alembic(db, &["upgrade", "a1"]);
        db.connect().batch_execute(ALEMBIC_ROWS).unwrap();
        db.connect().batch_execute(APP_EVENTS).unwrap();
    }
    alembic(&framework, &["upgrade", "head"]);
    let application = Queries {
        select: "SELECT id, email FROM users WHERE id = $1",
        insert: "INSERT INTO app_events (id, user_id, amount) VALUES ($1, $2, $3)",
        update: "UPDATE accounts SET balance = balance WHERE id = $1",
    };
    let plan = apply_with_lockgate(&project("alembic"), &ours, application);
    // SQL built by Python makes d4 a framework step; e5 after it still gets its recipe.
    assert_framework_step(&plan, "d4", "create-index-concurrently");
    let after: Vec<&Value> = steps_of(&plan, "e5");
    assert_eq!(after[0]["recipe"], "create-index-concurrently");
    // Its DROP INDEX and NULLS NOT DISTINCT index and constraint are written as Alembic does.
    assert!(after.iter().all(|s| s["framework"].is_null()), "{after:#?}");
    // The project's TypeDecorators are written as their impl (jsonb, text).
    let project_types = steps_of(&plan, "f6");
    assert!(!project_types.is_empty() && project_types.iter().all(|s| s["framework"].is_null()), "{project_types:#?}");

    assert_same_database(&framework, &ours, &["users", "accounts", "payments"]);
    let history = "SELECT version_num::text FROM alembic_version";
    assert_eq!(lines(&framework, history), lines(&ours, history));
    let upgrade = alembic(&ours, &["upgrade", "head"]);
    assert!(!upgrade.contains("Running upgrade"), "alembic found work left: {upgrade}");
}

/// The order Django's schema editor sends a migration's SQL in is the order lockgate's ops
/// take their locks in: a new model's foreign keys and indexes are deferred to the end of the
/// migration, after a later RemoveField of another table (`sqlmigrate` is Django's own word).
#[test]
fn deferred_sql_comes_where_django_sends_it() {
    let db = database();
    let sent = django(&db, &["sqlmigrate", "billing", "0002"]);
    let at = |needle: &str| sent.find(needle).unwrap_or_else(|| panic!("`{needle}` in sqlmigrate's output:\n{sent}"));
    assert!(at("DROP COLUMN \"amount\"") < at("FOREIGN KEY (\"invoice_id\")"), "{sent}");
    assert!(at("CREATE TABLE \"billing_payment\"") < at("DROP COLUMN \"amount\""), "{sent}");

    let config = lockgate::config::Config::default();
    let paths = [project("django")];
    let inputs = lockgate::source::InputPaths { paths: &paths, stdin_name: "-" };
    let discovered = lockgate::source::discover(&inputs, &config).expect("the project is read");
    let migrations = lockgate::source::load_all(&discovered, &config);
    let billing = migrations.iter().find(|m| m.id == "billing.0002_invoice_paid").expect("billing.0002 is read");
    let position = |found: &dyn Fn(&lockgate::ir::OpKind) -> bool| {
        billing.ops.iter().position(|op| found(&op.kind)).unwrap_or_else(|| panic!("{:#?}", billing.ops))
    };
    use lockgate::ir::{ConstraintKind, OpKind};
    let create = position(&|k| matches!(k, OpKind::CreateTable { .. }));
    let drop = position(&|k| matches!(k, OpKind::DropColumn { .. }));
    let foreign_key = position(
        &|k| matches!(k, OpKind::AddConstraint { constraint, .. } if matches!(constraint.kind, ConstraintKind::ForeignKey { .. })),
    );
    assert!(create < drop && drop < foreign_key, "{:#?}", billing.ops);
}
