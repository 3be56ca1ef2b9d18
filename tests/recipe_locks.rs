//! The locks `lockgate plan` declares for the steps of its recipes, checked against a real
//! server. The recipes take them from the lock table (`lockgate::locks`), replaying each step's
//! SQL on the schema the steps before it leave; here every step of every recipe runs, in plan
//! order, and each step that runs in a transaction is compared with what the server holds at its
//! end (`pg_locks`) and what it did to the step's main table (scans, new files).
//!
//! As in `tests/lock_model.rs`, the comparison is on tables: every table the step declares must
//! hold exactly the declared mode, and a table that existed before the step and is not declared
//! may hold at most ROW EXCLUSIVE. Index locks are not compared.

mod common;

use std::collections::BTreeMap;

use common::project::Project;
use lockgate::plan::Step;
use lockgate::postgres::LockMode;
use lockgate::trace::observe::{Before, Database, WorkClass};
use postgres::Client;

const SEED: &str = "
    CREATE TABLE accounts (id bigint PRIMARY KEY, email text, credit int);
    CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint, status text, amount int, note text);
    CREATE INDEX orders_amount_idx ON orders (amount);
    CREATE INDEX orders_note_idx ON orders (note);
    CREATE TABLE tags (id int, name text);
    INSERT INTO accounts SELECT g, 'a' || g || '@example.com', g FROM generate_series(1, 500) g;
    INSERT INTO orders SELECT g, 1 + g % 500, 'new', g % 700, 'n' || g FROM generate_series(1, 5000) g;
    INSERT INTO tags SELECT g, 't' || g FROM generate_series(1, 500) g;";

/// A migration per recipe, each touching what the ones before it left.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_orders_status_idx.sql", "CREATE INDEX orders_status_idx ON orders (status);\n"),
    ("0002_orders_account_fk.sql", "ALTER TABLE orders ADD FOREIGN KEY (account_id) REFERENCES accounts (id);\n"),
    // On accounts: a CHECK on orders would keep its type change from the new-column recipe.
    (
        "0003_accounts_credit_check.sql",
        "ALTER TABLE accounts ADD CONSTRAINT accounts_credit_check CHECK (credit >= 0);\n",
    ),
    ("0004_orders_status_not_null.sql", "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"),
    ("0005_orders_token.sql", "ALTER TABLE orders ADD COLUMN token text NOT NULL DEFAULT md5(random()::text);\n"),
    ("0006_accounts_email_key.sql", "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);\n"),
    ("0007_tags_pkey.sql", "ALTER TABLE tags ADD PRIMARY KEY (id);\n"),
    ("0008_orders_amount_bigint.sql", "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;\n"),
    ("0009_drop_orders_note_idx.sql", "DROP INDEX orders_note_idx;\n"),
];

/// A declared relation as the server names it (`regclass`, with `public` on the search path).
fn server_name(relation: &str) -> &str {
    relation.strip_prefix("public.").unwrap_or(relation)
}

/// Runs a step in a transaction, as `lockgate apply` would, and lists where the server
/// disagrees with the locks and the main table's work it declares.
fn disagreements(client: &mut Client, step: &Step) -> Vec<String> {
    let mut db = common::Session(client);
    db.execute("BEGIN").expect("BEGIN");
    let observation = Before::read(&mut db).and_then(|before| before.run(&mut db, &step.sql));
    let observation = match observation {
        Ok(observation) => observation,
        Err(error) => return vec![format!("the server refused it: {error}")],
    };
    db.execute("COMMIT").expect("COMMIT");

    let held = observation.strongest_held(false);
    let tables = observation.existing();
    let declared: BTreeMap<&str, LockMode> =
        step.locks.iter().map(|l| (server_name(&l.relation), l.mode)).filter(|(r, _)| tables.contains(*r)).collect();
    let mut problems = vec![];
    for (relation, mode) in &declared {
        match held.get(*relation) {
            Some(server) if server == mode => {}
            Some(server) => problems.push(format!("{relation}: declared {mode}, server {server}")),
            None => problems.push(format!("{relation}: declared {mode}, server holds no lock")),
        }
    }
    for (relation, server) in &held {
        if tables.contains(relation) && !declared.contains_key(relation.as_str()) && *server > LockMode::RowExclusive {
            problems.push(format!("{relation}: declared nothing, server {server}"));
        }
    }
    // The work on the step's main table (the first it declares): the other tables of a step
    // (a foreign key's referenced table) are read by the main table's work.
    if let Some(main) = step.locks.first() {
        let class = WorkClass::of(main.work);
        let seen = observation.work_on(server_name(&main.relation));
        if let (Some(class), Some(seen)) = (class, seen) {
            if class != seen.class {
                problems.push(format!(
                    "work on {}: declared {class:?}, server {:?} ({})",
                    main.relation, seen.class, seen.evidence
                ));
            }
        }
    }
    problems
}

#[test]
fn recipe_steps_take_the_locks_they_declare() {
    let mut db = common::database();
    db.client.batch_execute(SEED).expect("seed");
    let project = Project::new(MIGRATIONS);
    let plan = project.plan(&db);
    let steps: Vec<Step> = serde_json::from_value(plan["steps"].clone()).expect("plan steps");
    let recipes: Vec<&str> = steps.iter().filter_map(|s| s.recipe.as_deref()).collect();
    assert!(recipes.contains(&"new-column-then-swap") && recipes.contains(&"not-valid-then-validate"), "{recipes:?}");

    // A note that names a step's lock names the one it declares (and the server holds, below).
    let attach =
        steps.iter().find(|s| s.title == "attach index tags_pkey as a constraint").expect("the PK attach step");
    let declared = format!("a scan under {}", attach.locks[0].mode);
    assert!(attach.note.as_deref().is_some_and(|n| n.contains(&declared)), "{:?} lacks `{declared}`", attach.note);

    let mut problems = vec![];
    let mut compared = 0;
    for step in &steps {
        if step.transaction {
            compared += 1;
            for problem in disagreements(&mut db.client, step) {
                problems.push(format!("{} ({}): {problem}\n      {}", step.id, step.title, step.sql.join("; ")));
            }
        } else {
            for sql in &step.sql {
                db.client.batch_execute(sql).unwrap_or_else(|e| panic!("{}: {sql}: {e}", step.id));
            }
        }
    }
    assert!(compared >= 10, "only {compared} steps ran in a transaction");
    assert!(problems.is_empty(), "{} step(s) disagree with the server:\n{}", problems.len(), problems.join("\n"));
}
