//! A Django and an Alembic project applied by lockgate (plan, then expand, backfill and
//! contract, with the safe recipes) end exactly where the frameworks' own `migrate` and
//! `upgrade` leave them: the same schema (compared through the catalog), the same rows, and
//! the same history table — so the framework run afterwards has nothing left to do.
//!
//! Both databases first get the framework's own initial migrations and the same rows; then
//! one runs the rest with Django or Alembic, the other with lockgate. Needs python3 with
//! Django, Alembic and psycopg, which `scripts/deps` installs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::project::{lockgate, write, FAST};
use common::{database, TestDb};

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

/// `lockgate plan` of the pending migrations, then every phase applied.
fn apply_with_lockgate(project: &Path, db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "lockgate.toml", FAST);
    let plan = dir.path().join("plan.json");
    let url = db.url();
    let planned = lockgate()
        .args(["plan", "--database-url", &url, "-o", plan.to_str().unwrap(), project.to_str().unwrap()])
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(planned.status.success(), "plan: {}", String::from_utf8_lossy(&planned.stderr));
    for phase in ["expand", "backfill", "contract"] {
        let applied = lockgate()
            .args(["apply", plan.to_str().unwrap(), "--phase", phase, "--database-url", &url])
            .args(["--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(applied.status.success(), "apply {phase}: {}", String::from_utf8_lossy(&applied.stderr));
    }
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
    }
    django(&framework, &["migrate"]);
    apply_with_lockgate(&project("django"), &ours);

    let tables = ["shop_customer", "shop_order", "billing_invoice", "billing_payment", "ledger_entry"];
    assert_same_database(&framework, &ours, &tables);
    // The squash in `ledger` is recorded with the two migrations it replaces, as Django does.
    let history = "SELECT app || '.' || name FROM django_migrations ORDER BY id";
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

const ALEMBIC_ROWS: &str = "
INSERT INTO users (email, name) VALUES ('ann@example.com', 'Ann'), ('bob@example.com', NULL);
INSERT INTO accounts (user_id, balance) VALUES (1, 5), (2, 7), (1, 0);";

#[test]
fn alembic_project_applied_by_lockgate_ends_as_alembic_upgrade_leaves_it() {
    let (framework, ours) = (database(), database());
    for db in [&framework, &ours] {
        alembic(db, &["upgrade", "a1"]);
        db.connect().batch_execute(ALEMBIC_ROWS).unwrap();
    }
    alembic(&framework, &["upgrade", "head"]);
    apply_with_lockgate(&project("alembic"), &ours);

    assert_same_database(&framework, &ours, &["users", "accounts", "payments"]);
    let history = "SELECT version_num::text FROM alembic_version";
    assert_eq!(lines(&framework, history), lines(&ours, history));
    let upgrade = alembic(&ours, &["upgrade", "head"]);
    assert!(!upgrade.contains("Running upgrade"), "alembic found work left: {upgrade}");
}
