//! `lockgate check` against a real throwaway PostgreSQL: pending migrations from each runner's
//! history table, live sizes into tiers, blocking sessions, and the statistics file.

mod common;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    cmd
}

/// Runs `lockgate check --format json` and returns the report and the exit code.
fn check(db: &common::TestDb, args: &[&str]) -> (Value, i32) {
    let url = db.url();
    let mut cmd = lockgate();
    cmd.args(["check", "--format", "json", "--database-url", &url]).args(args);
    let output = cmd.output().expect("lockgate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&output.stderr)));
    (json, output.status.code().unwrap_or(-1))
}

fn ids(report: &Value) -> Vec<String> {
    report["migrations"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    let migrations = report["migrations"].as_array().unwrap();
    migrations.iter().map(|m| (m["id"].as_str().unwrap().into(), m["verdict"].as_str().unwrap().into())).collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn golang_migrate_history_decides_what_is_pending() {
    let mut db = common::database();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_items.up.sql", "CREATE TABLE items (id bigint PRIMARY KEY, qty int);");
    write(dir.path(), "2_items_note.up.sql", "ALTER TABLE items ADD COLUMN note text;");
    write(dir.path(), "3_items_flag.up.sql", "ALTER TABLE items ADD COLUMN flag boolean;");
    db.client
        .batch_execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, qty int, note text);
             CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (2, false);",
        )
        .unwrap();
    let (report, code) = check(&db, &[dir.path().to_str().unwrap()]);
    assert_eq!(ids(&report), ["3_items_flag"]);
    assert_eq!(report["applied"], 2);
    assert_eq!(code, 0, "a nullable column on a small table runs in the pipeline");
    assert_eq!(report["migrations"][0]["verdict"], "run");

    let (report, _) = check(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(ids(&report).len(), 3, "--all judges everything");
}

#[test]
fn django_history_decides_what_is_pending() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255), applied timestamptz);
             INSERT INTO django_migrations (app, name, applied) VALUES
               ('accounts', '0001_initial', now()), ('accounts', '0002_account_bio', now()),
               ('shop', '0001_initial', now()), ('shop', '0002_widen_price', now()), ('shop', '0003_order_note', now());",
        )
        .unwrap();
    let (report, _) = check(&db, &["fixtures/django"]);
    let mut pending = ids(&report);
    pending.sort();
    assert_eq!(
        pending,
        [
            "accounts.0003_alter_account_fields",
            "shop.0004_order_quantity_bigint",
            "shop.0005_order_account_no_index",
            "shop.0006_order_product_quantity_idx",
            "shop.0007_product_stock"
        ]
    );
    assert_eq!(report["applied"], 5);
}

#[test]
fn alembic_heads_and_their_ancestors_are_applied() {
    let mut db = common::database();
    // Both branches of the fixture's history ran; their merge and what follows did not.
    db.client
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
             INSERT INTO alembic_version VALUES ('4d5e6f7a8b9c'), ('5e6f7a8b9c0d');",
        )
        .unwrap();
    let (report, _) = check(&db, &["fixtures/alembic"]);
    assert_eq!(ids(&report), ["6f7a8b9c0d1e", "7a8b9c0d1e2f", "8b9c0d1e2f3a", "9c0d1e2f3a4b"]);
    assert_eq!(report["applied"], 5);
}

#[test]
fn a_table_created_by_a_pending_migration_is_empty() {
    let mut db = common::database();
    db.client
        .batch_execute("CREATE TABLE events (id bigint); INSERT INTO events SELECT generate_series(1, 20000);")
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "0001_audit.sql",
        "CREATE TABLE audit (id bigint, at timestamptz);\nCREATE INDEX audit_at ON audit (at);\n",
    );
    write(dir.path(), "0002_events_id.sql", "CREATE INDEX CONCURRENTLY events_id ON events (id);\n");
    let (report, _) = check(&db, &[dir.path().to_str().unwrap()]);
    let audit = &report["migrations"][0];
    assert_eq!(audit["verdict"], "run", "{audit}");
    assert_eq!(audit["rows"], 0);
    let index = &audit["statements"][1];
    assert_eq!(index["locks"][0]["work"], "index-build");
    assert_eq!(index["rows"], 0, "the new table has no rows");
    let events = &report["migrations"][1];
    assert_eq!(events["rows"], 20000, "the existing table's live row count");
    assert_eq!(events["verdict"], "off-peak");
}

#[test]
fn tiers_switch_at_the_thresholds() {
    let mut db = common::database();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lockgate.toml",
        "[check]\npipeline_max_rows = 100\noff_peak_max_rows = 1000\nmax_exclusive_hold_ms = 60000\n",
    );
    let mut setup = String::new();
    for (i, rows) in [99, 100, 1000, 1001].iter().enumerate() {
        setup.push_str(&format!(
            "CREATE TABLE t{i} (a int); INSERT INTO t{i} SELECT generate_series(1, {rows});
             ALTER TABLE t{i} ADD CONSTRAINT t{i}_a_positive CHECK (a > 0) NOT VALID;\n"
        ));
        write(
            dir.path(),
            &format!("migrations/000{i}_validate.sql"),
            &format!("ALTER TABLE t{i} VALIDATE CONSTRAINT t{i}_a_positive;\n"),
        );
    }
    db.client.batch_execute(&setup).unwrap();
    db.client.batch_execute("VACUUM ANALYZE").unwrap();
    let config = dir.path().join("lockgate.toml");
    let migrations = dir.path().join("migrations");
    let (report, code) = check(&db, &["--config", config.to_str().unwrap(), migrations.to_str().unwrap()]);
    let verdicts: Vec<String> = verdicts(&report).into_iter().map(|(_, v)| v).collect();
    assert_eq!(verdicts, ["run", "off-peak", "off-peak", "batch"]);
    assert_eq!(code, 5, "the worst tier decides the exit code");
    let rows: Vec<u64> = report["migrations"].as_array().unwrap().iter().map(|m| m["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows, [99, 100, 1000, 1001]);
}

#[test]
fn a_long_exclusive_lock_needs_a_batch_even_on_few_rows() {
    let mut db = common::database();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lockgate.toml", "[check]\nmax_exclusive_hold_ms = 1\n");
    write(dir.path(), "migrations/0001_wide.sql", "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n");
    db.client
        .batch_execute("CREATE TABLE t (a int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 5000);")
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE").unwrap();
    let config = dir.path().join("lockgate.toml");
    let (report, _) =
        check(&db, &["--config", config.to_str().unwrap(), dir.path().join("migrations").to_str().unwrap()]);
    let migration = &report["migrations"][0];
    // The type change is also a lint error; the tier reasons are still given.
    let reasons = migration["reasons"].to_string();
    assert!(reasons.contains("ACCESS EXCLUSIVE on t held"), "{reasons}");
    assert!(migration["max_exclusive_hold_ms"].as_f64().unwrap() > 1.0);
}

#[test]
fn an_open_transaction_on_the_table_is_a_blocker() {
    let mut db = common::database();
    db.client.batch_execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text)").unwrap();
    let mut holder = db.connect();
    holder.batch_execute("BEGIN; SELECT * FROM accounts WHERE id = 42").unwrap();
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "0001_region.sql", "SET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN region text;\n");
    let (report, code) = check(&db, &[dir.path().to_str().unwrap()]);
    let migration = &report["migrations"][0];
    assert_eq!(migration["verdict"], "blocked", "{migration}");
    assert_eq!(code, 3);
    let blocker = &migration["blockers"][0];
    assert_eq!(blocker["pid"], holder_pid);
    assert_eq!(blocker["state"], "idle in transaction");
    let reason = blocker["reason"].as_str().unwrap();
    assert!(reason.contains("holds ACCESS SHARE on accounts"), "{reason}");
    assert!(!blocker["query"].as_str().unwrap().contains("42"), "literals are stripped: {blocker}");

    holder.batch_execute("COMMIT").unwrap();
    let (report, code) = check(&db, &[dir.path().to_str().unwrap()]);
    assert_eq!(report["migrations"][0]["verdict"], "run");
    assert_eq!(code, 0);
}

#[test]
fn a_concurrent_index_waits_for_old_snapshots_in_its_own_database_only() {
    let mut db = common::database();
    db.client.batch_execute("CREATE TABLE events (id bigint); CREATE TABLE other (id bigint)").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "0001_events_id.sql", "CREATE INDEX CONCURRENTLY events_id ON events (id);\n");
    let snapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class";

    let elsewhere = common::database();
    let mut elsewhere_holder = elsewhere.connect();
    elsewhere_holder.batch_execute(snapshot).unwrap();
    let (report, _) = check(&db, &[dir.path().to_str().unwrap()]);
    assert_eq!(report["migrations"][0]["verdict"], "run", "a snapshot in another database: {report}");

    let mut holder = db.connect();
    holder.batch_execute(snapshot).unwrap();
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let (report, code) = check(&db, &[dir.path().to_str().unwrap()]);
    let migration = &report["migrations"][0];
    assert_eq!(migration["verdict"], "blocked", "{migration}");
    assert_eq!(code, 3);
    let blocker = &migration["blockers"][0];
    assert_eq!(blocker["pid"], holder_pid, "{migration}");
    assert!(blocker["reason"].as_str().unwrap().contains("open snapshot"), "{blocker}");
}

#[test]
fn a_stats_file_gives_the_live_verdict() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, amount int, status text);
             INSERT INTO orders SELECT g, g, 'new' FROM generate_series(1, 30000) g;
             CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (1, false);",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_orders.up.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, amount int, status text);");
    write(dir.path(), "2_status_idx.up.sql", "CREATE INDEX CONCURRENTLY orders_status ON orders (status);");
    write(
        dir.path(),
        "3_amount.up.sql",
        "SET lock_timeout = '1s';\nALTER TABLE orders ALTER COLUMN amount TYPE bigint;",
    );
    let paths = dir.path().to_str().unwrap();
    let (live, live_code) = check(&db, &[paths]);

    let url = db.url();
    let dump = lockgate().args(["stats", "dump", "--database-url", &url]).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let stats = dir.path().join("stats.json");
    std::fs::write(&stats, &dump.stdout).unwrap();
    let output =
        lockgate().args(["check", "--format", "json", "--stats", stats.to_str().unwrap(), paths]).output().unwrap();
    let offline: Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(verdicts(&live), verdicts(&offline));
    assert_eq!(live_code, output.status.code().unwrap());
    assert_eq!(verdicts(&live), [("2_status_idx".into(), "off-peak".into()), ("3_amount".into(), "unsafe".into())]);
    for (a, b) in live["migrations"].as_array().unwrap().iter().zip(offline["migrations"].as_array().unwrap()) {
        assert_eq!(a["rows"], b["rows"]);
        assert_eq!(a["duration"], b["duration"], "same sizes, same estimate");
    }
    assert_eq!(offline["source"], "stats-file");
}

#[test]
fn the_check_reads_no_user_table_and_hides_the_password() {
    let mut db = common::database();
    let mut setup = String::new();
    for i in 0..200 {
        setup.push_str(&format!(
            "CREATE TABLE t{i} (id bigint PRIMARY KEY, v text); INSERT INTO t{i} VALUES (1, 'x');\n"
        ));
    }
    db.client.batch_execute(&setup).unwrap();
    let scans = |db: &mut common::TestDb| -> i64 {
        db.client.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        let row = db
            .client
            .query_one("SELECT sum(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0))::int8 FROM pg_stat_user_tables", &[])
            .unwrap();
        row.get(0)
    };
    // Let earlier activity reach the statistics before the baseline.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let before = scans(&mut db);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "0001_t1.sql", "SET lock_timeout = '1s';\nALTER TABLE t1 ADD COLUMN w int;\n");
    let url = format!("{} password=sup3rs3cret", db.url());
    let output = lockgate().args(["check", "--database-url", &url, dir.path().to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("password=***") && !text.contains("sup3rs3cret"), "{text}");
    // The check's backend flushes its statistics when it exits.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(scans(&mut db), before, "the check scanned a user table");
}

#[test]
fn calibrate_writes_a_profile_the_check_reads() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE big (id bigint, s text); INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
             ALTER TABLE big ADD CONSTRAINT big_s CHECK (s <> '') NOT VALID;",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    let url = db.url();
    let output =
        lockgate().args(["calibrate", "--database-url", &url, "-o", profile.to_str().unwrap()]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    let calibration = &written["calibration"];
    assert_eq!(calibration["table"], "public.big");
    assert!(calibration["scan_mb_per_s"].as_f64().unwrap() > 1.0, "{calibration}");
    let default = lockgate::estimate::Profile::default();
    let (scan, cpu) = (calibration["scan_factor"].as_f64().unwrap(), calibration["cpu_factor"].as_f64().unwrap());
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    assert!(
        close(written["scan_mb_per_s"].as_f64().unwrap(), default.scan_mb_per_s * scan),
        "scans scale with the scan"
    );
    assert!(
        close(written["index_sort_ns_per_nlogn"].as_f64().unwrap(), default.index_sort_ns_per_nlogn / cpu),
        "index builds scale with the sort"
    );

    write(dir.path(), "m/0001_big.sql", "ALTER TABLE big VALIDATE CONSTRAINT big_s;\n");
    let (report, _) = check(&db, &["--profile", profile.to_str().unwrap(), dir.path().join("m").to_str().unwrap()]);
    assert_eq!(report["migrations"][0]["statements"][0]["locks"][0]["work"], "scan");
}

/// A database calibrate cannot measure says which database, and why, and exits 2.
#[test]
fn calibrate_says_why_a_database_cannot_be_measured() {
    let db = common::database();
    let url = db.url();
    let failure = |args: &[&str]| {
        let output = lockgate().args(["calibrate", "--database-url", &url]).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: no profile");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = failure(&[]);
    assert!(stderr.contains("the database has no tables to calibrate on; pass --table"), "{stderr}");
    assert!(stderr.contains(&db.name), "names the database: {stderr}");
    let stderr = failure(&["--table", "public.nope"]);
    assert!(stderr.contains("no table `public.nope` to calibrate on"), "{stderr}");
    db.connect().batch_execute("CREATE TABLE hollow (id bigint)").unwrap();
    let stderr = failure(&["--table", "hollow"]);
    assert!(stderr.contains("public.hollow is empty (or never analyzed: run ANALYZE)"), "{stderr}");
}

/// The expected running time of each statement of the one migration judged.
fn expected_ms(report: &Value) -> Vec<f64> {
    let statements = report["migrations"][0]["statements"].as_array().unwrap();
    statements.iter().map(|s| s["duration"]["expected_ms"].as_f64().unwrap()).collect()
}

#[test]
fn an_index_build_is_estimated_by_the_key_width_pg_stats_reports() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE t (id bigint, a int, s text);
             INSERT INTO t SELECT g, g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g;",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE t").unwrap();
    let mut width = |column: &str| -> f64 {
        let row = db
            .client
            .query_one("SELECT avg_width FROM pg_stats WHERE tablename = 't' AND attname = $1", &[&column])
            .unwrap();
        f64::from(row.get::<_, i32>(0))
    };
    let (a, s) = (width("a"), width("s"));
    assert!(s > 90.0, "the server measures the text column's width: {s}");
    let rows: f32 = db.client.query_one("SELECT reltuples FROM pg_class WHERE relname = 't'", &[]).unwrap().get(0);

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/0001_indexes.sql", "CREATE INDEX t_a ON t (a);\nCREATE INDEX t_s ON t (s);\n");
    let migrations = dir.path().join("m");
    let (live, _) = check(&db, &["--all", migrations.to_str().unwrap()]);
    let [int_key, text_key] = expected_ms(&live)[..] else { panic!("two statements: {live}") };
    // The same table, the same heap read and sort: the text key costs its extra bytes per row.
    // (The test server runs no parallel maintenance workers.)
    let per_byte = lockgate::estimate::Profile::default().index_key_ns_per_byte;
    let extra = (s - a) * per_byte * f64::from(rows) / 1e6;
    assert!((text_key - int_key - extra).abs() < 1e-6 * text_key, "{int_key} + {extra} vs {text_key}");

    // A statistics file carries the widths too: the same estimates.
    let url = db.url();
    let dump = lockgate().args(["stats", "dump", "--database-url", &url]).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let stats = dir.path().join("stats.json");
    std::fs::write(&stats, &dump.stdout).unwrap();
    let args = ["check", "--all", "--format", "json", "--stats", stats.to_str().unwrap(), migrations.to_str().unwrap()];
    let output = lockgate().args(args).output().unwrap();
    let offline: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(expected_ms(&offline), expected_ms(&live));
}

#[test]
fn a_foreign_key_is_validated_by_one_join_not_a_probe_per_row() {
    // The estimate counts a scan of each table and a hash of the referenced keys, not one index
    // probe per referencing row: the server reads the referenced table once.
    for major in common::versions() {
        let mut db = common::database_on(major);
        db.client
            .batch_execute(
                "CREATE TABLE par (id int PRIMARY KEY);
                 INSERT INTO par SELECT generate_series(1, 1000);
                 CREATE TABLE ch (id bigint, par_id int);
                 INSERT INTO ch SELECT g, 1 + g % 1000 FROM generate_series(1, 20000) g;
                 ALTER TABLE ch ADD CONSTRAINT ch_par FOREIGN KEY (par_id) REFERENCES par (id) NOT VALID;",
            )
            .unwrap();
        db.client.batch_execute("VACUUM ANALYZE par").unwrap();
        db.client.batch_execute("VACUUM ANALYZE ch").unwrap();
        let mut transaction = db.client.transaction().unwrap();
        transaction.batch_execute("ALTER TABLE ch VALIDATE CONSTRAINT ch_par").unwrap();
        let mut reads = |relname: &str| -> (i64, i64) {
            let sql = "SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = $1";
            let row = transaction.query_one(sql, &[&relname]).unwrap();
            (row.get(0), row.get(1))
        };
        let (par_seq, par_idx) = reads("par");
        let (ch_seq, ch_idx) = reads("ch");
        assert_eq!((ch_seq, ch_idx), (1, 0), "PostgreSQL {major}: the referencing table is scanned once");
        // One read for the join's hash, and a few more for the statement around it (the planner
        // looks up the key's end points in the index while costing the join): a handful, not
        // one per referencing row (20,000).
        assert!(
            par_seq + par_idx < 10,
            "PostgreSQL {major}: the referenced table was probed per row: {par_seq} scans, {par_idx} index scans"
        );
    }
}

#[test]
fn tls_is_negotiated_and_verified_as_sslmode_asks() {
    let server = common::tls_server();
    let connects = |host: &str, query: String| {
        let url = format!("postgres://postgres@{host}:{}/postgres?{query}", server.port);
        let output = lockgate().args(["stats", "dump", "--database-url", &url]).output().unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let ca = server.ca_file.display();
    let other = server.other_ca_file.display();
    assert!(connects("localhost", "sslmode=require".into()).0, "TLS without verification");
    assert!(connects("localhost", format!("sslmode=verify-full&sslrootcert={ca}")).0, "the right CA");
    let (ok, error) = connects("localhost", format!("sslmode=verify-full&sslrootcert={other}"));
    assert!(!ok && error.contains("certificate"), "another CA is refused: {error}");
    // The certificate names `localhost`: verify-ca accepts it on 127.0.0.1, verify-full does not.
    assert!(connects("127.0.0.1", format!("sslmode=verify-ca&sslrootcert={ca}")).0);
    let (ok, error) = connects("127.0.0.1", format!("sslmode=verify-full&sslrootcert={ca}"));
    assert!(!ok && error.contains("certificate"), "{error}");
}

#[test]
fn dbmate_flyway_and_diesel_histories_are_read() {
    // (history table, migration files, the one pending)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (
            "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');",
            &[("20240101000000_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n"), ("20240202000000_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n")],
            "20240202000000_b",
        ),
        (
            "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), success boolean NOT NULL);
             INSERT INTO flyway_schema_history VALUES (1, '1', true), (2, '1.1', true), (3, '2', false);",
            &[("V1__a.sql", "CREATE TABLE a (id int);"), ("V1_1__b.sql", "CREATE TABLE b (id int);"), ("V2__c.sql", "CREATE TABLE c (id int);")],
            "V2__c",
        ),
        (
            "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now());
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');",
            &[("2024-01-01-000000_a/up.sql", "CREATE TABLE a (id int);"), ("2024-02-02-000000_b/up.sql", "CREATE TABLE b (id int);")],
            "2024-02-02-000000_b",
        ),
    ];
    for (setup, files, pending) in cases {
        let mut db = common::database();
        db.client.batch_execute(setup).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            write(dir.path(), name, text);
        }
        let (report, _) = check(&db, &[dir.path().to_str().unwrap()]);
        assert_eq!(ids(&report), [pending], "{setup}");
    }
}

/// The findings of one migration in a report.
fn findings(report: &Value, migration: usize) -> &Vec<Value> {
    report["migrations"][migration]["findings"].as_array().unwrap()
}

/// A type change that rewrites `small` (500 rows) or `big` (above the pipeline bound), a
/// CONCURRENTLY build inside a transaction (fails at any size), all on a live database.
fn sized_tables(db: &mut common::TestDb) -> tempfile::TempDir {
    db.client
        .batch_execute(
            "CREATE TABLE small (id bigint PRIMARY KEY, v int);
             INSERT INTO small SELECT g, g FROM generate_series(1, 500) g;
             CREATE TABLE big (id bigint PRIMARY KEY, v int);
             INSERT INTO big SELECT g, g FROM generate_series(1, 20000) g;
             ANALYZE small; ANALYZE big;",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_small_bigint.sql", "ALTER TABLE small ALTER COLUMN v TYPE bigint;\n");
    write(dir.path(), "2_big_bigint.sql", "ALTER TABLE big ALTER COLUMN v TYPE bigint;\n");
    write(dir.path(), "3_small_index.sql", "BEGIN;\nCREATE INDEX CONCURRENTLY small_v_idx ON small (v);\nCOMMIT;\n");
    dir
}

#[test]
fn a_size_dependent_error_on_a_small_table_runs_with_the_finding_shown() {
    let mut db = common::database();
    let dir = sized_tables(&mut db);
    let (report, _) = check(&db, &["--all", dir.path().to_str().unwrap()]);
    assert_eq!(
        verdicts(&report),
        [
            ("1_small_bigint".to_string(), "run".to_string()),
            ("2_big_bigint".to_string(), "unsafe".to_string()),
            ("3_small_index".to_string(), "unsafe".to_string()),
        ]
    );

    // The small rewrite: shown, with what today's size makes of it, and not blocking.
    let small = &findings(&report, 0)[0];
    assert_eq!(small["rule"], "alter-column-type-rewrite");
    assert_eq!(small["size_dependent"], true);
    assert_eq!(small["blocks"], false);
    let context = small["at_this_size"].as_str().unwrap();
    assert!(
        context.starts_with("rewrite of 500 rows on small, ~") && context.ends_with(": fine at this size"),
        "{context}"
    );

    // The same statement above the pipeline bound stays unsafe, with the estimate as the reason.
    let big = &findings(&report, 1)[0];
    assert_eq!((big["size_dependent"].clone(), big["blocks"].clone()), (Value::Bool(true), Value::Bool(true)));
    let reason = report["migrations"][1]["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("rewrite of 20,000 rows on big") && reason.contains("over the 10,000-row pipeline bound"),
        "{reason}"
    );

    // CONCURRENTLY inside a transaction fails whatever the size.
    let concurrently = findings(&report, 2).iter().find(|f| f["rule"] == "concurrently-in-transaction").unwrap();
    assert_eq!(concurrently["size_dependent"], false);
    assert_eq!(concurrently["blocks"], true);

    // The text report says the same.
    let url = db.url();
    let text =
        lockgate().args(["check", "--all", "--database-url", &url, dir.path().to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("lint error weighed: alter-column-type-rewrite (line 1): rewrite of 500 rows on small"),
        "{text}"
    );
    // And the pull-request comment puts each migration in its tier.
    let markdown = lockgate()
        .args(["check", "--all", "--format", "markdown", "--database-url", &url, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    let fits = markdown.find("**Fits the deploy at today's sizes**").expect("a section for what fits");
    let unsafe_ = markdown.find("**Unsafe**").expect("a section for what is unsafe");
    let small_at = markdown.find("`1_small_bigint`").unwrap();
    assert!(fits < small_at && small_at < unsafe_, "{markdown}");
}

#[test]
fn strict_makes_every_error_unsafe_and_the_stats_file_weighs_the_same() {
    let mut db = common::database();
    let dir = sized_tables(&mut db);
    let paths = dir.path().to_str().unwrap();
    let (strict, code) = check(&db, &["--all", "--strict", paths]);
    assert_eq!(code, 1);
    assert!(verdicts(&strict).iter().all(|(_, verdict)| verdict == "unsafe"), "{:?}", verdicts(&strict));

    // `[check] strict` in lockgate.toml does the same.
    let config = dir.path().join("lockgate.toml");
    std::fs::write(&config, "[check]\nstrict = true\n").unwrap();
    let (configured, _) = check(&db, &["--all", "--config", config.to_str().unwrap(), paths]);
    assert_eq!(verdicts(&configured), verdicts(&strict));
    std::fs::remove_file(&config).unwrap();

    let (live, _) = check(&db, &["--all", paths]);
    let url = db.url();
    let dump = lockgate().args(["stats", "dump", "--database-url", &url]).output().unwrap();
    let stats = dir.path().join("stats.json");
    std::fs::write(&stats, &dump.stdout).unwrap();
    let offline = lockgate()
        .args(["check", "--format", "json", "--all", "--stats", stats.to_str().unwrap(), paths])
        .output()
        .unwrap();
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(verdicts(&offline), verdicts(&live), "the statistics file gives the live verdicts");
    assert_eq!(findings(&offline, 0)[0]["at_this_size"], findings(&live, 0)[0]["at_this_size"]);
}

#[test]
fn timestamp_to_timestamptz_is_judged_in_the_servers_time_zone() {
    // From PostgreSQL 12 the change relabels when the session's TimeZone is UTC; the migration
    // runs in a session of this database, so its TimeZone setting decides.
    let mut db = common::database();
    if db.major() < 12 {
        return;
    }
    db.client
        .batch_execute("CREATE TABLE events (id bigint, at timestamp); INSERT INTO events SELECT g, now() FROM generate_series(1, 1000) g;")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "0001_events_at.sql", "ALTER TABLE events ALTER COLUMN at TYPE timestamptz;\n");
    let work = |db: &mut common::TestDb, zone: &str| {
        db.client.batch_execute(&format!("ALTER DATABASE {} SET timezone = '{zone}'", db.name)).unwrap();
        let (report, _) = check(db, &[dir.path().to_str().unwrap()]);
        report["migrations"][0]["statements"][0]["locks"][0]["work"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(work(&mut db, "UTC"), "catalog");
    assert_eq!(work(&mut db, "Europe/Paris"), "rewrite");
}
