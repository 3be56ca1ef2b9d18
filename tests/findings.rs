//! What findings say and where they point: the words of a message, its line, how often a rule
//! speaks about one hazard.

mod common;

use serde_json::Value;

/// Lints `files` (name, text) in a temporary folder; the JSON report.
fn lint(files: &[(&str, &[u8])], extra: &[&str]) -> Value {
    common::lint_files(files, extra)
}

fn findings<'a>(json: &'a Value, rule: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    json["findings"].as_array().into_iter().flatten().filter(move |f| f["rule"] == rule)
}

#[test]
fn primary_key_using_index_on_a_table_never_seen_says_nullability_is_unknown() {
    let unknown = b"CREATE UNIQUE INDEX CONCURRENTLY accounts_id_idx ON accounts (id);\n\
        ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx;\n";
    let json = lint(&[("0001_pk.sql", unknown)], &[]);
    let messages: Vec<&str> =
        findings(&json, "add-primary-key-builds-index").filter_map(|f| f["message"].as_str()).collect();
    assert_eq!(messages.len(), 1, "{json}");
    assert!(messages[0].contains("nullability lockgate does not know"), "{}", messages[0]);
    assert!(!messages[0].contains("nullable column"), "{}", messages[0]);

    // A table lockgate saw created: its nullable column is named as nullable.
    let known = b"CREATE TABLE accounts (id bigint, name text);\n";
    let json = lint(&[("0000_accounts.sql", known), ("0001_pk.sql", unknown)], &[]);
    let messages: Vec<&str> =
        findings(&json, "add-primary-key-builds-index").filter_map(|f| f["message"].as_str()).collect();
    assert_eq!(messages.len(), 1, "{json}");
    assert!(messages[0].contains("nullable column(s) id"), "{}", messages[0]);
}

#[test]
fn line_numbers_are_right_with_lf_crlf_and_cr_line_endings() {
    let lines = [
        "-- lockgate: ignore drop-table -- kept on purpose",
        "DROP TABLE a;",
        "-- a comment",
        "CREATE INDEX b_idx ON b (c);",
        "",
        "ALTER TABLE d ADD COLUMN e integer NOT NULL;",
    ];
    for ending in ["\n", "\r\n", "\r"] {
        let text = lines.join(ending) + ending;
        let json = lint(&[("0001_x.sql", text.as_bytes())], &[]);
        let at = |rule: &str| -> Vec<u64> { findings(&json, rule).filter_map(|f| f["line"].as_u64()).collect() };
        let name = format!("{ending:?}");
        assert_eq!(at("create-index-not-concurrently"), [4], "{name}: {json}");
        assert_eq!(at("add-column-not-null-without-default"), [6], "{name}");
        assert!(at("drop-table").is_empty() && at("unused-ignore").is_empty(), "{name}: {json}");
        // The text report's snippet shows the statement's own line.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("0001_x.sql"), &text).expect("write");
        let output = assert_cmd::Command::cargo_bin("lockgate")
            .expect("binary")
            .env("NO_COLOR", "1")
            .args(["lint", "--fail-on", "never"])
            .arg(dir.path())
            .output()
            .expect("runs");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(report.contains("0001_x.sql:4:1"), "{name}: {report}");
        assert!(report.contains("4 │ CREATE INDEX b_idx ON b (c);"), "{name}: {report}");
        assert!(!report.contains('\r'), "{name}: {report}");
    }
}

#[test]
fn statements_after_access_exclusive_is_reported_once_per_transaction_at_the_lock() {
    let setup = b"CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
        CREATE TABLE orders (id bigint PRIMARY KEY, amount integer);\n";
    let migration = b"BEGIN;\n\
        SET LOCAL lock_timeout = '4s';\n\
        ALTER TABLE users ADD COLUMN nickname text;\n\
        UPDATE orders SET amount = 0 WHERE amount IS NULL;\n\
        UPDATE users SET nickname = email;\n\
        CREATE INDEX orders_amount_idx ON orders (amount);\n\
        COMMIT;\n\
        BEGIN;\n\
        ALTER TABLE orders ADD COLUMN note text;\n\
        UPDATE orders SET note = '';\n\
        COMMIT;\n";
    let json = lint(&[("0001_setup.sql", setup), ("0002_migration.sql", migration)], &[]);
    let found: Vec<(u64, &str)> = findings(&json, "statements-after-access-exclusive")
        .map(|f| (f["line"].as_u64().unwrap_or_default(), f["message"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, 3);
    assert!(found[0].1.contains("3 later statements run under it: line 4"), "{}", found[0].1);
    assert!(found[0].1.contains("line 5") && found[0].1.contains("line 6"), "{}", found[0].1);
    assert_eq!(found[1].0, 9);
    assert!(found[1].1.contains("1 later statement runs under it: line 10"), "{}", found[1].1);

    // The runner's transaction ends with the file.
    let wrapped =
        b"ALTER TABLE users ADD COLUMN nickname text;\nUPDATE orders SET amount = 0;\nUPDATE orders SET amount = 1;\n";
    let json = lint(&[("0001_setup.sql", setup), ("0002_migration.sql", wrapped)], &["--assume-in-transaction"]);
    let lines: Vec<u64> =
        findings(&json, "statements-after-access-exclusive").filter_map(|f| f["line"].as_u64()).collect();
    assert_eq!(lines, [1]);
}

/// After a statement that fails on any row, the migration can only succeed on an empty table:
/// later work on that table (validating a foreign key, building an index) is a note saying so,
/// while the failing statement stays the error it is.
#[test]
fn work_after_a_statement_that_needs_an_empty_table_is_a_note() {
    let create = b"CREATE TABLE orgs (id bigint PRIMARY KEY);\nCREATE TABLE favorites (id bigint PRIMARY KEY);\n";
    let add = b"SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n\
        ALTER TABLE favorites ADD COLUMN org_id bigint NOT NULL;\n\
        ALTER TABLE favorites ADD CONSTRAINT favorites_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);\n\
        CREATE INDEX favorites_org_idx ON favorites (org_id);\n";
    let json = lint(&[("0001_create.sql", create), ("0002_add.sql", add)], &[]);
    let severity = |rule: &str| {
        findings(&json, rule).map(|f| f["severity"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(severity("add-column-not-null-without-default"), ["error"], "{json}");
    assert_eq!(severity("add-foreign-key-without-not-valid"), ["info"], "{json}");
    assert_eq!(severity("create-index-not-concurrently"), ["info"], "{json}");
    let fk = findings(&json, "add-foreign-key-without-not-valid").next().expect("reported");
    assert!(
        fk["message"].as_str().unwrap_or_default().contains("fails on any row: where the migration succeeds"),
        "{fk}"
    );

    // In the next migration the table may have rows again.
    let later = b"CREATE INDEX favorites_id2_idx ON favorites (id, org_id);\n";
    let json = lint(&[("0001_create.sql", create), ("0002_add.sql", add), ("0003_later.sql", later)], &[]);
    let later: Vec<&Value> = findings(&json, "create-index-not-concurrently")
        .filter(|f| f["line"] == 1 && f["severity"] == "error")
        .collect();
    assert_eq!(later.len(), 1, "{json}");
}

/// A migration that deletes every row first makes a NOT NULL column without a default succeed
/// (only the running code is left to break: a warning), and work on the table nil (a note);
/// rows written after the DELETE make it a table with rows again.
#[test]
fn a_table_the_migration_emptied_is_empty_until_rows_go_in() {
    let create = b"CREATE TABLE requests (id bigint PRIMARY KEY, user_id int NOT NULL);\n";
    let empty = b"SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nDELETE FROM requests;\n\
        ALTER TABLE requests ADD COLUMN local_user_id integer NOT NULL;\n\
        CREATE INDEX requests_local_user_idx ON requests (local_user_id);\n";
    let json = lint(&[("0001_create.sql", create), ("0002_empty.sql", empty)], &[]);
    let add = findings(&json, "add-column-not-null-without-default").next().expect("reported");
    assert_eq!(add["severity"], "warning", "{add}");
    assert!(add["message"].as_str().unwrap_or_default().contains("was emptied earlier in this migration"), "{add}");
    let index = findings(&json, "create-index-not-concurrently").next().expect("reported");
    assert_eq!(index["severity"], "info", "{index}");
    // Configuring the rule as an error does not make nil work a hazard (as with a table no
    // deploy has filled yet).
    let config = b"[rules.severity]\ncreate-index-not-concurrently = \"error\"\n";
    let json = lint(&[("lockgate.toml", config), ("0001_create.sql", create), ("0002_empty.sql", empty)], &[]);
    let index = findings(&json, "create-index-not-concurrently").next().expect("reported");
    assert_eq!(index["severity"], "info", "{index}");

    let refill = b"DELETE FROM requests;\nINSERT INTO requests VALUES (1, 1);\n\
        ALTER TABLE requests ADD COLUMN local_user_id integer NOT NULL;\n";
    let json = lint(&[("0001_create.sql", create), ("0002_refill.sql", refill)], &[]);
    let add = findings(&json, "add-column-not-null-without-default").next().expect("reported");
    assert_eq!(add["severity"], "error", "{add}");
}
