//! `lockgate trace` against a real throwaway PostgreSQL: the fixtures of every framework run
//! statement by statement, the server's locks, rewrites and scans beside the lock model's.

mod common;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1").env_remove("GITHUB_ACTIONS");
    cmd
}

/// What a run printed and its exit code.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs `lockgate trace --database-url <db> ARGS`.
fn trace(db: &common::TestDb, args: &[&str]) -> Run {
    let url = db.url();
    let output = lockgate().args(["trace", "--database-url", &url]).args(args).output().expect("lockgate runs");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// `(rule, severity, file name, line, message)` of each finding of a JSON report.
fn findings(run: &Run) -> Vec<(String, String, String, u64, String)> {
    let json: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", run.stdout, run.stderr));
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = Path::new(f["path"].as_str().expect("path"));
            (
                f["rule"].as_str().expect("rule").to_string(),
                f["severity"].as_str().expect("severity").to_string(),
                path.file_name().expect("file name").to_string_lossy().into_owned(),
                f["line"].as_u64().expect("line"),
                f["message"].as_str().expect("message").to_string(),
            )
        })
        .collect()
}

fn mismatches(run: &Run) -> Vec<(String, String, String, u64, String)> {
    findings(run).into_iter().filter(|f| f.0 == "lock-model-mismatch").collect()
}

/// The lines the text output gives one statement: its `line N:` heading and what follows.
fn statement<'a>(text: &'a str, migration: &str, line: usize) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start =
        lines.iter().position(|l| l.starts_with(migration)).unwrap_or_else(|| panic!("no {migration}:\n{text}"));
    let heading = format!("  line {line}: ");
    let at = lines[start..]
        .iter()
        .position(|l| l.starts_with(&heading))
        .unwrap_or_else(|| panic!("no line {line} in {migration}:\n{text}"))
        + start;
    let end = lines[at + 1..].iter().position(|l| !l.starts_with("    ")).map_or(lines.len(), |e| at + 1 + e);
    lines[at..end].to_vec()
}

/// A database on the newest server selected: the fixtures call gen_random_uuid() (built in
/// from PostgreSQL 13), so on older servers they fail by design.
fn modern_database() -> common::TestDb {
    common::database_on(common::versions().into_iter().max().expect("a server version"))
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn sql_fixtures_run_statement_by_statement_beside_the_model() {
    let db = modern_database();
    let text = trace(&db, &["--all", "fixtures/sql"]);
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    // A type change that rewrites: the model says so and the server's new relfilenode agrees.
    let rewrite = statement(&text.stdout, "000005_orders_amount_bigint", 3);
    assert!(rewrite[1].contains("ACCESS EXCLUSIVE on orders, a rewrite"), "{rewrite:#?}");
    assert!(rewrite[2].contains("ACCESS EXCLUSIVE on orders") && rewrite[2].contains("rewrote orders"), "{rewrite:#?}");
    // Widening a varchar: the same lock, already held in this transaction, and no new file.
    let widen = statement(&text.stdout, "000005_orders_amount_bigint", 5);
    assert!(
        widen[2].contains("ACCESS EXCLUSIVE on orders (held before)") && !widen[2].contains("rewrote"),
        "{widen:#?}"
    );
    // golang-migrate runs a file without BEGIN in autocommit; CONCURRENTLY then runs bare.
    let concurrently = statement(&text.stdout, "000007_index_invoices_order_id", 3);
    assert!(concurrently[2].contains("locks not observable") && concurrently[2].ends_with("autocommit"));
    // The validation scans the seeded row of the table the migrations created.
    let validate = statement(&text.stdout, "000009_validate_users_full_name", 2);
    assert!(
        validate[2].contains("SHARE UPDATE EXCLUSIVE on users, scanned users (1 seq, 1 rows read"),
        "{validate:#?}"
    );

    let db = modern_database();
    let json = trace(&db, &["--all", "--format", "json", "fixtures/sql"]);
    let errors: Vec<_> = mismatches(&json).into_iter().filter(|f| f.1 == "error").collect();
    assert!(errors.is_empty(), "the server did more than the model says: {errors:#?}");
}

#[test]
fn django_operations_run_as_their_schema_editor_sends_them() {
    let db = modern_database();
    let run = trace(&db, &["--all", "fixtures/django"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // CreateModel with foreign keys: the table, then each constraint and index Django sends.
    let order = statement(&run.stdout, "shop.0001_initial", 22);
    assert!(order[0].contains(r#"CREATE TABLE "shop_order""#), "{order:#?}");
    assert!(run.stdout.contains(r#"ALTER TABLE "shop_order" ADD CONSTRAINT "shop_order_account_id_01539d85_fk_acco"#));
    // RunPython cannot be rendered: reported, not skipped.
    let run_python = statement(&run.stdout, "shop.0007_product_stock", 23);
    assert!(run_python[1].contains("not traced: code run at migrate time"), "{run_python:#?}");

    let db = modern_database();
    let json = trace(&db, &["--all", "--format", "json", "fixtures/django"]);
    let found = findings(&json);
    assert!(
        found.iter().any(|f| f.0 == "unanalyzable-operation" && f.2 == "0007_product_stock.py" && f.3 == 23),
        "{found:#?}"
    );
    assert!(found.iter().all(|f| f.1 != "error"), "{found:#?}");
}

#[test]
fn alembic_stops_where_the_server_refuses_a_statement() {
    let db = modern_database();
    let run = trace(&db, &["--all", "fixtures/alembic"]);
    // 5e6f7a8b9c0d forgot the autocommit block: PostgreSQL refuses CONCURRENTLY in Alembic's
    // transaction, and the runner would stop there too.
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("CREATE INDEX CONCURRENTLY cannot run inside a transaction block"), "{}", run.stderr);
    let refused = statement(&run.stdout, "5e6f7a8b9c0d", 23);
    assert!(refused[1].contains("failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"));
    let after = statement(&run.stdout, "7a8b9c0d1e2f", 30);
    assert!(after[1].contains("not run: an earlier statement failed"), "{after:#?}");
    // The autocommit block before it commits Alembic's transaction and runs the index bare.
    let block = statement(&run.stdout, "4d5e6f7a8b9c", 23);
    assert!(block[0].contains("CREATE INDEX CONCURRENTLY") && block[2].ends_with("autocommit"), "{block:#?}");
    // Before it, everything the server did agreed with the model.
    let rewrite = statement(&run.stdout, "3c4d5e6f7a8b", 21);
    assert!(rewrite[2].contains("rewrote accounts") && rewrite.len() == 3, "{rewrite:#?}");
}

#[test]
fn a_do_block_or_a_function_that_rewrites_is_seen_by_trace_not_by_lint() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text);");
    write(
        dir.path(),
        "2_widen.up.sql",
        "BEGIN;\nDO $$\nBEGIN\n    ALTER TABLE items ALTER COLUMN qty TYPE bigint;\nEND\n$$;\nCOMMIT;\n",
    );
    write(
        dir.path(),
        "3_function.up.sql",
        "CREATE FUNCTION index_items() RETURNS void LANGUAGE sql AS $$ CREATE INDEX items_note_idx ON items (note) $$;\n\
         SELECT index_items();\n",
    );
    let path = dir.path().to_str().unwrap();

    let lint = lockgate().args(["lint", "--format", "json", path]).output().unwrap();
    let linted: Value = serde_json::from_slice(&lint.stdout).unwrap();
    let rules: Vec<&str> = linted["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains(&"alter-column-type-rewrite") && !rules.contains(&"create-index-not-concurrently"));

    let db = common::database();
    let run = trace(&db, &["--all", "--format", "json", path]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let found = mismatches(&run);
    let do_block: Vec<_> = found.iter().filter(|f| f.2 == "2_widen.up.sql").collect();
    assert!(
        do_block.iter().any(|f| f.1 == "error"
            && f.3 == 2
            && f.4.contains("`items`: the lock model says nothing, the server took ACCESS EXCLUSIVE")),
        "{found:#?}"
    );
    assert!(do_block.iter().any(|f| f.4.contains("the server did a rewrite")), "{found:#?}");
    assert!(
        found.iter().any(|f| f.2 == "3_function.up.sql"
            && f.3 == 2
            && f.4.contains("`items`: the lock model says nothing, the server took SHARE")),
        "{found:#?}"
    );
}

#[test]
fn a_lock_that_depends_on_the_server_version_is_judged_by_that_version() {
    // ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent from PostgreSQL 12, ACCESS
    // EXCLUSIVE before; the model of the server's own version must agree on each.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "1_events.up.sql",
        "CREATE TABLE events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);\n\
         CREATE TABLE events_2024 (id int NOT NULL, at date NOT NULL);\n",
    );
    write(
        dir.path(),
        "2_attach.up.sql",
        "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');\n",
    );
    let path = dir.path().to_str().unwrap();
    for major in common::versions() {
        let db = common::database_on(major);
        let run = trace(&db, &["--all", path]);
        assert_eq!(run.code, 0, "PostgreSQL {major}:\n{}{}", run.stdout, run.stderr);
        let attach = statement(&run.stdout, "2_attach", 1);
        let parent = if major >= 12 { "SHARE UPDATE EXCLUSIVE on events" } else { "ACCESS EXCLUSIVE on events" };
        assert!(attach[2].contains(parent), "PostgreSQL {major}: {attach:#?}");
        assert!(!attach.iter().any(|l| l.contains("mismatch")), "PostgreSQL {major}: {attach:#?}");
    }
}

#[test]
fn a_trace_that_found_no_migration_fails() {
    let db = common::database();
    let dir = tempfile::tempdir().unwrap();
    let run = trace(&db, &[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no migrations found"), "{}", run.stderr);
    assert_eq!(trace(&db, &["--allow-empty", dir.path().to_str().unwrap()]).code, 0);
}

#[test]
fn the_servers_time_zone_decides_a_timestamp_change() {
    // From 12, timestamp → timestamptz only relabels when the session's TimeZone is UTC: the
    // database's own setting, which the migration's session takes.
    let mut db = modern_database();
    db.client.batch_execute(&format!("ALTER DATABASE {} SET timezone = 'UTC'", db.name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_events.up.sql", "CREATE TABLE events (id int PRIMARY KEY, at timestamp);\n");
    write(dir.path(), "2_at.up.sql", "ALTER TABLE events ALTER COLUMN at TYPE timestamptz;\n");
    let run = trace(&db, &["--all", "--format", "json", dir.path().to_str().unwrap()]);
    assert!(mismatches(&run).is_empty(), "{:?}", mismatches(&run));
}

#[test]
fn a_database_with_rows_is_refused_unless_allowed() {
    let mut db = common::database();
    db.client.batch_execute("CREATE TABLE customers (id int PRIMARY KEY); INSERT INTO customers VALUES (1)").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id int PRIMARY KEY);");
    let path = dir.path().to_str().unwrap();

    let refused = trace(&db, &[path]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("tables hold rows (customers)") && refused.stderr.contains("--allow-data"));
    let exists: bool = db.client.query_one("SELECT to_regclass('items') IS NOT NULL", &[]).unwrap().get(0);
    assert!(!exists, "a refused trace ran nothing");

    let all = trace(&db, &["--all", "--allow-data", path]);
    assert_eq!(all.code, 2);
    assert!(all.stderr.contains("--all runs every migration from the first: it needs an empty database"));

    let allowed = trace(&db, &["--allow-data", path]);
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
    assert!(allowed.stdout.contains("CREATE TABLE items"));
}

#[test]
fn only_pending_migrations_run_and_history_rows_are_not_data() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, qty int);
             CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (1, false);",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id bigint PRIMARY KEY, qty int);");
    write(dir.path(), "2_items_qty.up.sql", "ALTER TABLE items ALTER COLUMN qty TYPE bigint;");
    let run = trace(&db, &[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("1_items"), "{}", run.stdout);
    // The model knows the column from the live schema: int to bigint rewrites, even empty.
    let change = statement(&run.stdout, "2_items_qty", 1);
    assert!(change[1].contains("ACCESS EXCLUSIVE on items, a rewrite"), "{change:#?}");
    assert!(run.stdout.contains("1 migrations recorded in the history tables were not run"), "{}", run.stdout);
}

#[test]
fn the_url_is_never_taken_from_the_environment() {
    let db = common::database();
    let output = lockgate()
        .env("LOCKGATE_DATABASE_URL", db.url())
        .args(["trace", "fixtures/sql"])
        .output()
        .expect("lockgate runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--database-url"));
}

#[test]
fn text_output_of_the_sql_fixtures() {
    let db = modern_database();
    let run = trace(&db, &["--all", "fixtures/sql"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(?m)^trace · .*$", "trace · [database] · PostgreSQL [version]");
    settings.add_filter(r"· \d+ ms", "· [duration]");
    settings.add_filter(r"· locks held \d+ ms", "· locks held [duration]");
    // Also where the report wraps the message between the two numbers.
    settings.add_filter(r"relfilenode \d+ ->(\n?[ │]*)\d+", "relfilenode [before] ->$1[after]");
    settings.bind(|| insta::assert_snapshot!(run.stdout));
}

#[test]
fn a_lock_is_held_until_its_transaction_ends() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id int PRIMARY KEY);");
    write(
        dir.path(),
        "2_slow.up.sql",
        "BEGIN;\nALTER TABLE items ADD COLUMN note text;\nSELECT pg_sleep(0.3);\nCOMMIT;\n",
    );
    let db = common::database();
    let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let alter = statement(&run.stdout, "2_slow", 2);
    let held: u64 = alter[2]
        .split("locks held ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no hold time: {alter:#?}"));
    assert!(alter[2].starts_with("    server: ACCESS EXCLUSIVE on items"), "{alter:#?}");
    assert!(held >= 300, "the ALTER's lock is held through the sleep after it: {alter:#?}");
}

#[test]
fn an_ignore_comment_suppresses_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id int PRIMARY KEY, qty int);");
    write(
        dir.path(),
        "2_widen.up.sql",
        "-- lockgate: ignore lock-model-mismatch -- items is empty in every environment\n\
         DO $$ BEGIN ALTER TABLE items ALTER COLUMN qty TYPE bigint; END $$;\n\
         -- lockgate: ignore set-not-null-scan -- a lint rule: not trace's to call unused\n\
         ALTER TABLE items ALTER COLUMN qty SET NOT NULL;\n",
    );
    let db = common::database();
    let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("mismatch: `items`: the lock model says nothing"), "{}", run.stdout);
    assert!(!run.stdout.contains("unused-ignore") && !run.stdout.contains("suppresses nothing"), "{}", run.stdout);
    // Both of its mismatches: the lock and the rewrite.
    assert!(run.stdout.contains("; 2 suppressed"), "{}", run.stdout);
}

#[test]
fn without_seeded_rows_the_rewrite_of_an_empty_table_cannot_be_told() {
    let db = modern_database();
    let run = trace(&db, &["--all", "--no-seed", "fixtures/sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // An empty table's new file is an empty file, as after a TRUNCATE: no rewrite to see, and
    // no mismatch either, since nothing tells the two apart.
    let rewrite = statement(&run.stdout, "000005_orders_amount_bigint", 3);
    assert!(rewrite[2].contains("ACCESS EXCLUSIVE on orders") && !rewrite[2].contains("rewrote"), "{rewrite:#?}");
    assert!(!rewrite.iter().any(|l| l.contains("mismatch")), "{rewrite:#?}");
    let validate = statement(&run.stdout, "000009_validate_users_full_name", 2);
    assert!(validate[2].contains("scanned users (1 seq, 0 rows read"), "{validate:#?}");
}

#[test]
fn each_created_table_gets_a_row_with_values_from_its_column_types() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "1_schema.up.sql",
        "CREATE TYPE mood AS ENUM ('ok', 'meh');
         CREATE DOMAIN positive AS int CHECK (VALUE > 0);
         CREATE TABLE owners (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
         CREATE TABLE things (
             id serial PRIMARY KEY,
             owner_id bigint NOT NULL REFERENCES owners (id),
             i int NOT NULL, b bigint NOT NULL, n numeric(10,2) NOT NULL, t text NOT NULL,
             v varchar(5) NOT NULL, c char(2) NOT NULL, f boolean NOT NULL, d date NOT NULL,
             ts timestamp NOT NULL, tz timestamptz NOT NULL, tm time NOT NULL, iv interval NOT NULL,
             u uuid NOT NULL, j json NOT NULL, jb jsonb NOT NULL, by bytea NOT NULL, ip inet NOT NULL,
             tags text[] NOT NULL, m mood NOT NULL, p positive NOT NULL,
             created timestamptz NOT NULL DEFAULT now(),
             doubled int GENERATED ALWAYS AS (i * 2) STORED,
             maybe point
         );",
    );
    let mut db = modern_database();
    let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("could not seed"), "{}", run.stdout);
    let row = db
        .client
        .query_one(
            "SELECT count(*), min(t.owner_id) = min(o.id), min(t.m::text), min(t.doubled) FROM things t, owners o",
            &[],
        )
        .unwrap();
    let (count, references_owner, mood, doubled): (i64, bool, String, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((count, references_owner, mood.as_str(), doubled), (1, true, "ok", 2 * 32767));
    // The serial and identity values were given, not drawn: the migrations' own inserts get the
    // ids they would get on a real database.
    let drawn: Vec<bool> = db
        .client
        .query("SELECT is_called FROM things_id_seq UNION ALL SELECT is_called FROM owners_id_seq", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(drawn, [false, false]);
}

#[test]
fn a_file_runs_in_its_own_transactions_and_stops_at_the_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY, v text);");
    write(
        dir.path(),
        "2_t.up.sql",
        "BEGIN;\nALTER TABLE t ADD COLUMN w int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n\
         CREATE TRIGGER t_touch BEFORE UPDATE ON missing FOR EACH ROW EXECUTE FUNCTION nothing();\n\
         ALTER TABLE t ADD COLUMN z int;\n",
    );
    let mut db = common::database();
    let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let alter = statement(&run.stdout, "2_t", 2);
    assert!(alter[2].contains("ACCESS EXCLUSIVE on t") && !alter[2].ends_with("autocommit"), "{alter:#?}");
    let index = statement(&run.stdout, "2_t", 4);
    assert!(index[2].ends_with("autocommit"), "{index:#?}");
    let trigger = statement(&run.stdout, "2_t", 5);
    assert!(trigger[1].contains(r#"failed: relation "missing" does not exist"#), "{trigger:#?}");
    let after = statement(&run.stdout, "2_t", 6);
    assert!(after[1].contains("not run"), "{after:#?}");
    assert!(run.stderr.contains(r#"relation "missing" does not exist"#), "{}", run.stderr);
    // What ran is committed, as the runner leaves it; what did not run is not there.
    let columns: Vec<String> = db
        .client
        .query("SELECT attname::text FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(columns, ["id", "v", "w"]);
    let indexed: bool = db.client.query_one("SELECT to_regclass('t_v_idx') IS NOT NULL", &[]).unwrap().get(0);
    assert!(indexed);
}

/// A statement that fails only because of a row trace inserted (here a NOT NULL column added
/// without a default, to a table a later migration renamed) runs again without the rows, so a
/// real history is traced to its end.
#[test]
fn a_statement_a_seeded_row_breaks_runs_again_without_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "1_t.up.sql",
        "CREATE TABLE things (id int PRIMARY KEY, v text);\nCREATE TABLE tags (name text);",
    );
    write(dir.path(), "2_t.up.sql", "ALTER TABLE things RENAME TO items;");
    write(dir.path(), "3_t.up.sql", "BEGIN;\nALTER TABLE items ADD COLUMN owner int NOT NULL;\nCOMMIT;");
    write(dir.path(), "4_t.up.sql", "ALTER TABLE tags ADD COLUMN color text NOT NULL;");
    let mut db = common::database();
    let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("line 2 of 3_t failed with the rows trace inserted into things, tags"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("it ran again without them"), "{}", run.stdout);
    let rows: i64 =
        db.client.query_one("SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM tags)", &[]).unwrap().get(0);
    assert_eq!(rows, 0, "both seeded rows are gone, the renamed table's too");
    let owner: bool = db
        .client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'owner')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(owner);
}

/// Dropping a composite type locks its row in pg_class, which blocks no query, dropping what is
/// not there locks nothing, and a sequence's new file is one page: none is a mismatch.
#[test]
fn a_composite_type_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_t.up.sql", "CREATE TYPE triple AS (major numeric, minor numeric);");
    write(dir.path(), "2_t.up.sql", "DROP TYPE triple;\nCREATE TYPE triple AS (major int, minor int);");
    // `IF EXISTS` of an index that is not there locks nothing, whatever the model names.
    write(dir.path(), "3_t.up.sql", "DROP INDEX IF EXISTS never_created_idx;");
    // A sequence given a new file (its one page) does no work.
    write(dir.path(), "4_t.up.sql", "CREATE TABLE r (id serial PRIMARY KEY);");
    write(dir.path(), "5_t.up.sql", "ALTER SEQUENCE r_id_seq AS bigint;");
    let db = common::database();
    let run = trace(&db, &["--all", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(mismatches(&run).is_empty(), "{:?}", mismatches(&run));
}

/// With `--all` each runner's history table is there before the first migration, as the runner
/// makes it: a migration may alter it (harbor's adds a column to golang-migrate's).
#[test]
fn a_migration_may_alter_the_runners_history_table() {
    let layouts: [(&str, &str, &str); 5] = [
        ("0001_alter.up.sql", "", "schema_migrations"),
        ("2024-01-01-000000_alter/up.sql", "", "__diesel_schema_migrations"),
        ("V1__alter.sql", "", "flyway_schema_history"),
        ("00001_alter.sql", "-- +goose Up\n", "goose_db_version"),
        ("20240101000000_alter.sql", "-- migrate:up\n", "schema_migrations"),
    ];
    for (file, marker, table) in layouts {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), file, &format!("{marker}ALTER TABLE {table} ADD COLUMN data_version int;\n"));
        let mut db = common::database();
        let run = trace(&db, &["--all", dir.path().to_str().unwrap()]);
        assert_eq!(run.code, 0, "{file}: {}{}", run.stdout, run.stderr);
        let added: bool = db
            .client
            .query_one(
                &format!("SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'data_version')"),
                &[],
            )
            .unwrap()
            .get(0);
        assert!(added, "{file}");
    }
}
