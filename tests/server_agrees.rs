//! What a finding claims a migration does, checked on a real PostgreSQL: the SQL is linted, then
//! run on a throwaway database, and the two must agree. Each test pairs a hazard lockgate must
//! not miss with what the server does with the same text.

mod common;

/// Rules lockgate reports on `migration`, linted after `setup` (an earlier file), with `extra`
/// arguments.
fn lint(setup: &str, migration: &str, extra: &[&str]) -> Vec<String> {
    let files: [(&str, &[u8]); 2] =
        [("0001_setup.sql", setup.as_bytes()), ("0002_migration.sql", migration.as_bytes())];
    let json = common::lint_files(&files, extra);
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

#[test]
fn a_rolled_back_transaction_leaves_the_schema_as_it_was() {
    let db = common::database();
    let mut client = db.connect();
    client
        .batch_execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, note text); INSERT INTO orders VALUES (1, 'a'), (2, 'b');",
        )
        .expect("setup");
    // The table the transaction recreates is gone with it: the index is built on the full table.
    let migration = "BEGIN;\nDROP TABLE orders;\nCREATE TABLE orders (id bigint PRIMARY KEY, note text);\nROLLBACK;\nCREATE INDEX orders_note_idx ON orders (note);\n";
    client.batch_execute(migration).expect("the migration runs");
    let rows: i64 = client.query_one("SELECT count(*) FROM orders", &[]).expect("count").get(0);
    assert_eq!(rows, 2, "the rollback kept the old table and its rows");
    let rules = lint("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n", migration, &[]);
    assert!(rules.iter().any(|r| r == "create-index-not-concurrently"), "{rules:?}");

    // The same inside the runner's transaction: the ROLLBACK ends it and takes the drop back.
    let wrapped = "DROP TABLE orders;\nCREATE TABLE orders (id bigint PRIMARY KEY, note text);\nROLLBACK;\nCREATE INDEX orders_note_2_idx ON orders (note);\n";
    let rules =
        lint("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n", wrapped, &["--assume-in-transaction"]);
    assert!(rules.iter().any(|r| r == "create-index-not-concurrently"), "{rules:?}");
    assert!(rules.iter().any(|r| r == "transaction-nesting"), "{rules:?}");
    client.batch_execute(&format!("BEGIN;\n{wrapped}COMMIT;")).expect("the wrapped migration runs");
    let rows: i64 = client.query_one("SELECT count(*) FROM orders", &[]).expect("count").get(0);
    assert_eq!(rows, 2, "the ROLLBACK undid the runner's transaction up to it");
}

#[test]
fn a_rollback_takes_back_the_timeouts_set_in_its_transaction() {
    let db = common::database();
    let mut client = db.connect();
    client.batch_execute("BEGIN; SET lock_timeout = '4s'; ROLLBACK;").expect("runs");
    let timeout: String = client.query_one("SHOW lock_timeout", &[]).expect("show").get(0);
    assert_eq!(timeout, "0", "the SET went with its transaction");
    let rules = lint(
        "CREATE TABLE t (id bigint PRIMARY KEY);\n",
        "BEGIN;\nSET lock_timeout = '4s';\nSET statement_timeout = '30s';\nROLLBACK;\nALTER TABLE t ADD COLUMN c text;\n",
        &[],
    );
    assert!(rules.iter().any(|r| r == "missing-lock-timeout"), "{rules:?}");
}

#[test]
fn psql_substitutes_variables_as_lockgate_reads_them() {
    let db = common::database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE orders (id bigint PRIMARY KEY); INSERT INTO orders VALUES (1);").expect("setup");
    let migration = "\\set table orders\n\\set column 'note'\n\\set default 'it''s'\n\
        ALTER TABLE :table ADD COLUMN :\"column\" text NOT NULL DEFAULT :'default';\n\
        CREATE INDEX orders_note_idx ON :\"table\" (:column);\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("0002_migration.sql");
    std::fs::write(&file, migration).expect("write");
    let psql = common::postgres_bin_dir().join("psql");
    let psql = if psql.is_file() { psql } else { "psql".into() };
    let output = std::process::Command::new(psql)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", &db.url(), "-f"])
        .arg(&file)
        .output()
        .expect("psql runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let default: String =
        client.query_one("SELECT note FROM orders WHERE id = 1", &[]).expect("the column psql added").get(0);
    assert_eq!(default, "it's");
    let indexed: i64 = client
        .query_one("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders' AND indexname = 'orders_note_idx'", &[])
        .expect("pg_indexes")
        .get(0);
    assert_eq!(indexed, 1);
    let rules = lint("CREATE TABLE orders (id bigint PRIMARY KEY);\n", migration, &[]);
    assert!(rules.iter().any(|r| r == "create-index-not-concurrently"), "{rules:?}");
    assert!(!rules.iter().any(|r| r == "parse-error"), "{rules:?}");
}

#[test]
fn rollback_to_savepoint_undoes_what_ran_since_the_savepoint() {
    let db = common::database();
    let mut client = db.connect();
    let setup = "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n";
    client.batch_execute(&format!("{setup}INSERT INTO orders VALUES (1, 'a');")).expect("setup");
    let migration = "BEGIN;\nSET LOCAL lock_timeout = '4s';\nSAVEPOINT before_swap;\nDROP TABLE orders;\n\
        CREATE TABLE orders (id bigint PRIMARY KEY, note text);\nROLLBACK TO SAVEPOINT before_swap;\n\
        CREATE INDEX orders_note_idx ON orders (note);\nCOMMIT;\n";
    client.batch_execute(migration).expect("the migration runs");
    let rows: i64 = client.query_one("SELECT count(*) FROM orders", &[]).expect("count").get(0);
    assert_eq!(rows, 1, "the old table, rows and all, is back after ROLLBACK TO SAVEPOINT");
    let rules = lint(setup, migration, &[]);
    assert!(rules.iter().any(|r| r == "create-index-not-concurrently"), "{rules:?}");

    // A SET since the savepoint goes with it.
    client.batch_execute("BEGIN; SAVEPOINT s; SET LOCAL lock_timeout = '4s'; ROLLBACK TO SAVEPOINT s;").expect("runs");
    let timeout: String = client.query_one("SHOW lock_timeout", &[]).expect("show").get(0);
    client.batch_execute("COMMIT").expect("commit");
    assert_eq!(timeout, "0");
    let rules = lint(
        setup,
        "BEGIN;\nSAVEPOINT s;\nSET LOCAL lock_timeout = '4s';\nROLLBACK TO SAVEPOINT s;\nALTER TABLE orders ADD COLUMN c text;\nCOMMIT;\n",
        &[],
    );
    assert!(rules.iter().any(|r| r == "missing-lock-timeout"), "{rules:?}");
}

#[test]
fn rollback_to_savepoint_releases_the_locks_taken_since() {
    let db = common::database();
    let mut client = db.connect();
    let setup = "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n";
    client.batch_execute(setup).expect("setup");
    client
        .batch_execute("BEGIN; SAVEPOINT s; ALTER TABLE orders ADD COLUMN x text; ROLLBACK TO SAVEPOINT s;")
        .expect("runs");
    let held: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'orders'::regclass AND mode = 'AccessExclusiveLock'",
            &[],
        )
        .expect("pg_locks")
        .get(0);
    client.batch_execute("COMMIT").expect("commit");
    assert_eq!(held, 0, "the ACCESS EXCLUSIVE lock went with the savepoint");
    let migration = "BEGIN;\nSET LOCAL lock_timeout = '4s';\nSAVEPOINT s;\nALTER TABLE orders ADD COLUMN x text;\n\
        ROLLBACK TO SAVEPOINT s;\nUPDATE orders SET note = '';\nCOMMIT;\n";
    let rules = lint(setup, migration, &[]);
    assert!(!rules.iter().any(|r| r == "statements-after-access-exclusive"), "{rules:?}");
}
