//! `lockgate plan` and `lockgate apply` against a real throwaway PostgreSQL: every recipe
//! reaches the schema the naive statements produce with the data kept, lock contention is
//! retried and reported, one runner at a time, a killed run resumes, rollback undoes expand.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::project::{lockgate, write, Project, FAST};
use lockgate::postgres::{Feature, PgVersion};
use serde_json::Value;

/// The application schema as PostgreSQL describes it: columns, indexes, constraints.
fn schema(db: &mut common::TestDb) -> Vec<String> {
    let rows = db
        .client
        .query(
            "SELECT format('column %s.%s %s not_null=%s default=%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
             UNION ALL
             SELECT format('index %s valid=%s', pg_get_indexdef(i.indexrelid), i.indisvalid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public'
             UNION ALL
             SELECT format('constraint %s %s %s validated=%s', c.relname, con.conname, pg_get_constraintdef(con.oid), con.convalidated)
               FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public'
             ORDER BY 1",
            &[],
        )
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A digest of the rows that existed before the migrations.
fn data(db: &mut common::TestDb) -> (String, String) {
    let users: String = db
        .client
        .query_one("SELECT md5(string_agg(row(id, email, name, score)::text, ',' ORDER BY id)) FROM users", &[])
        .unwrap()
        .get(0);
    let orders: String = db
        .client
        .query_one("SELECT md5(string_agg(row(id, user_id, amount, note)::text, ',' ORDER BY id)) FROM orders", &[])
        .unwrap()
        .get(0);
    (users, orders)
}

const SEED: &str = "
    CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, score int NOT NULL DEFAULT 0);
    CREATE INDEX users_name_idx ON users (name);
    CREATE INDEX users_score_idx ON users (score, id);
    CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int, note text);
    INSERT INTO users SELECT g, 'user' || g || '@example.com', 'name ' || (g % 50), g % 97 FROM generate_series(1, 2000) g;
    INSERT INTO orders SELECT g, 1 + g % 2000, 1 + g % 700, CASE WHEN g % 3 = 0 THEN 'gift' END FROM generate_series(1, 20000) g;";

/// Every recipe, each in a migration of its own.
const RECIPES: &[(&str, &str)] = &[
    ("0001_orders_amount_idx.sql", "CREATE INDEX orders_amount_idx ON orders (amount);\n"),
    ("0002_orders_user_fk.sql", "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);\n"),
    ("0003_orders_amount_check.sql", "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);\n"),
    ("0004_users_email_not_null.sql", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"),
    ("0005_orders_token.sql", "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT md5(random()::text)::uuid;\n"),
    ("0006_users_email_unique.sql", "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n"),
    ("0007_drop_users_name_idx.sql", "DROP INDEX users_name_idx;\n"),
    ("0008_users_score_bigint.sql", "ALTER TABLE users ALTER COLUMN score TYPE bigint;\n"),
];

#[test]
fn every_recipe_reaches_the_naive_schema_and_keeps_the_data() {
    let mut naive = common::database();
    naive.client.batch_execute(SEED).unwrap();
    for (_, sql) in RECIPES {
        naive.client.batch_execute(sql).unwrap();
    }

    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let before = data(&mut db);
    let project = Project::new(RECIPES);
    let plan = project.plan(&db);
    let recipes: Vec<&str> = plan["steps"].as_array().unwrap().iter().filter_map(|s| s["recipe"].as_str()).collect();
    // Before 12 SET NOT NULL scans whatever CHECK exists, so it runs as written there.
    let check_then_set_not_null = PgVersion(db.major()).supports(Feature::SetNotNullFromCheck);
    for recipe in [
        "create-index-concurrently",
        "not-valid-then-validate",
        "check-then-set-not-null",
        "add-column-then-backfill",
        "unique-index-concurrently",
        "drop-index-concurrently",
        "new-column-then-swap",
    ] {
        if recipe == "check-then-set-not-null" && !check_then_set_not_null {
            continue;
        }
        assert!(recipes.contains(&recipe), "the plan does not use {recipe}: {recipes:?}");
    }
    project.apply_all(&db);

    assert_eq!(schema(&mut db), schema(&mut naive));
    assert_eq!(data(&mut db), before, "the rows are kept");
    let nulls: i64 = db.client.query_one("SELECT count(*) FROM orders WHERE token IS NULL", &[]).unwrap().get(0);
    assert_eq!(nulls, 0, "the backfill gave every row a token");
    let recorded: i64 = db.client.query_one("SELECT count(*) FROM lockgate.migration_history", &[]).unwrap().get(0);
    assert_eq!(recorded, RECIPES.len() as i64);

    // Applying again changes nothing: every step is journaled.
    let again = project.apply(&db, "contract");
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("0 steps ran"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn phases_run_in_order_and_the_runner_table_is_kept() {
    let mut db = common::database();
    db.client
        .batch_execute(&format!(
            "{SEED}
             CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (1, false);"
        ))
        .unwrap();
    let project = Project::new(&[
        ("1_users.up.sql", "SELECT 1;\n"),
        ("2_orders_note_not_null.up.sql", "ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;\n"),
        ("3_orders_region.up.sql", "ALTER TABLE orders ADD COLUMN region text;\n"),
    ]);
    let plan = project.plan(&db);
    let ids: Vec<&str> = plan["migrations"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["2_orders_note_not_null", "3_orders_region"], "1 is recorded as applied");

    let early = project.apply(&db, "contract");
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("apply the phases in order"));

    assert!(project.apply(&db, "expand").status.success());
    let version: i64 = db.client.query_one("SELECT version FROM schema_migrations", &[]).unwrap().get(0);
    assert_eq!(version, 1, "3 is done but 2 is not: golang-migrate must not see 3 yet");
    assert!(project.apply(&db, "backfill").status.success());
    assert!(project.apply(&db, "contract").status.success());
    let row = db.client.query_one("SELECT version, dirty FROM schema_migrations", &[]).unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, bool>(1)), (3, false), "as golang-migrate would leave it");

    let status =
        lockgate().args(["status", "--database-url", &db.url(), "--plan", &project.plan_file()]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(text.contains("contract done      2_orders_note_not_null/"), "{text}");
    assert!(text.contains("migrations applied by lockgate: 2"), "{text}");
}

/// The expected checksums were computed outside lockgate: Flyway's with Python's
/// `zlib.crc32` over the lines as Java's `readLine` splits them, sqlx's with `sha384sum`.
#[test]
fn flyway_and_sqlx_histories_are_written_as_the_runners_write_them() {
    let mut flyway_db = common::database();
    flyway_db
        .client
        .batch_execute(&format!(
            "{SEED}
             CREATE TABLE flyway_schema_history (installed_rank int NOT NULL PRIMARY KEY, version varchar(50),
                 description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL,
                 checksum int, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
                 execution_time int NOT NULL, success boolean NOT NULL);
             INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', 12345, 'ci', now(), 5, true);"
        ))
        .unwrap();
    let region = "\u{feff}-- add the region\r\nALTER TABLE orders ADD COLUMN region text;\r\n\r\nCOMMENT ON COLUMN orders.region IS 'ISO 3166';\n";
    let flyway = Project::new(&[("V1__init.sql", "SELECT 1;\n"), ("V2_1__add_the_region.sql", region)]);
    flyway.plan(&flyway_db);
    let started = std::time::Instant::now();
    flyway.apply_all(&flyway_db);
    let flyway_run = started.elapsed();
    let row = flyway_db
        .client
        .query_one(
            "SELECT installed_rank, version, description, type, script, checksum, installed_by = current_user, success, \
             execution_time FROM flyway_schema_history WHERE installed_rank = 2",
            &[],
        )
        .unwrap();
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, String>(1), row.get::<_, String>(2), row.get::<_, String>(3)),
        (2, "2.1".to_string(), "add the region".to_string(), "SQL".to_string())
    );
    assert_eq!(row.get::<_, String>(4), "V2_1__add_the_region.sql");
    assert_eq!(row.get::<_, i32>(5), 394925424, "Flyway's checksum, or `flyway validate` fails");
    assert!(row.get::<_, bool>(6) && row.get::<_, bool>(7));
    let milliseconds = row.get::<_, i32>(8);
    assert!((0..=flyway_run.as_millis() as i32).contains(&milliseconds), "execution_time {milliseconds} ms");

    let mut sqlx_db = common::database();
    sqlx_db
        .client
        .batch_execute(&format!(
            "{SEED}
             CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL,
                 installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL,
                 execution_time bigint NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (20240101000000, 'init', now(), true, '\\x00', 1);"
        ))
        .unwrap();
    let sqlx = Project::new(&[
        ("20240101000000_init.sql", "SELECT 1;\n"),
        ("20240102000000_add_region.sql", "ALTER TABLE orders ADD COLUMN region text;\n"),
    ]);
    sqlx.plan(&sqlx_db);
    let started = std::time::Instant::now();
    sqlx.apply_all(&sqlx_db);
    let sqlx_run = started.elapsed();
    let row = sqlx_db
        .client
        .query_one(
            "SELECT description, success, encode(checksum, 'hex'), execution_time FROM _sqlx_migrations \
             WHERE version = 20240102000000",
            &[],
        )
        .unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, bool>(1)), ("add region".to_string(), true));
    assert_eq!(
        row.get::<_, String>(2),
        "56d87c5c5eaa928b45d620d750fa86bc88a32bf404053b0bb41e428ef3183465476999c49d258bcea8bb4cf79bb87a6f",
        "sqlx's checksum, or `sqlx migrate run` reports the migration as changed"
    );
    let nanoseconds = row.get::<_, i64>(3);
    assert!((1..=sqlx_run.as_nanos() as i64).contains(&nanoseconds), "execution_time {nanoseconds} ns");
}

#[test]
fn a_held_lock_is_retried_on_schedule_until_released() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(&[("0001_region.sql", "ALTER TABLE orders ADD COLUMN region text;\n")]);
    project.plan(&db);
    let mut holder = db.connect();
    holder.batch_execute("BEGIN; SELECT count(*) FROM orders WHERE id = 7").unwrap();
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    // Released while the runner's second attempt waits (a waiter seen in pg_locks, gone, then
    // back): the first attempt has timed out and named its blocker, however slow the machine.
    let mut watcher = db.connect();
    let release = std::thread::spawn(move || {
        let waiting = "SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 'orders'::regclass";
        let (mut episodes, mut was_waiting) = (0, false);
        let deadline = Instant::now() + Duration::from_secs(60);
        while episodes < 2 && Instant::now() < deadline {
            let waits: bool = watcher.query_one(waiting, &[]).unwrap().get(0);
            if waits && !was_waiting {
                episodes += 1;
            }
            was_waiting = waits;
            std::thread::sleep(Duration::from_millis(5));
        }
        holder.batch_execute("COMMIT").unwrap();
    });
    let output = project.apply(&db, "expand");
    release.join().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("lock timeout"), "{log}");
    assert!(log.contains(&format!("blocked by pid {holder_pid}")), "the retry names the blocker: {log}");
    assert!(!log.contains("'7'") && !log.contains("= 7"), "literals are stripped: {log}");
    let region: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'region'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(region, 1);
}

#[test]
fn an_unreleased_lock_stops_the_step_after_the_schedule() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(&[("0001_region.sql", "ALTER TABLE orders ADD COLUMN region text;\n")]);
    project.plan(&db);
    let mut holder = db.connect();
    holder.batch_execute("BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE").unwrap();
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let started = Instant::now();
    let output = project.apply(&db, "expand");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("retries exhausted") && log.contains(&format!("pid {holder_pid}")), "{log}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the schedule");
    holder.batch_execute("ROLLBACK").unwrap();
    let status: String = db.client.query_one("SELECT status FROM lockgate.steps", &[]).unwrap().get(0);
    assert_eq!(status, "failed");
}

#[test]
fn two_runners_never_run_at_the_same_time() {
    let mut db = common::database();
    // The first runner's step waits, polling, until the test lets it finish: the second runner
    // starts while the first certainly holds the runner lock, however slow the machine is.
    db.client.batch_execute("CREATE TABLE release_gate (released boolean)").unwrap();
    let step =
        "DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM release_gate) LOOP PERFORM pg_sleep(0.02); END LOOP; END $$;\n";
    let project = Project::new(&[("0001_wait.sql", step)]);
    project.plan(&db);
    let url = db.url();
    let (plan, config) = (project.plan_file(), project.config.display().to_string());
    let first = std::thread::spawn(move || {
        lockgate()
            .args(["apply", &plan, "--phase", "expand", "--database-url", &url, "--config", &config])
            .output()
            .unwrap()
    });
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%release_gate%' AND pid <> pg_backend_pid()";
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.client.query_one(waiting, &[]).unwrap().get::<_, i64>(0) == 0 {
        assert!(Instant::now() < deadline, "the first runner never reached its step");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = project.apply(&db, "expand");
    db.client.batch_execute("INSERT INTO release_gate VALUES (true)").unwrap();
    let log = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{log}");
    assert!(log.contains("another lockgate apply is running (pid"), "{log}");
    let first = first.join().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
}

#[test]
fn a_killed_apply_resumes_where_it_stopped() {
    let migrations: &[(&str, &str)] = &[
        ("0001_idx.sql", "CREATE INDEX orders_amount_idx ON orders (amount);\n"),
        ("0002_pause.sql", "DO $$ BEGIN PERFORM pg_sleep(0.3); END $$;\n"),
        ("0003_fk.sql", "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);\n"),
        ("0004_pause.sql", "DO $$ BEGIN PERFORM pg_sleep(0.3); END $$;\n"),
        ("0005_not_null.sql", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"),
        ("0006_token.sql", "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT md5(random()::text)::uuid;\n"),
        ("0007_score.sql", "ALTER TABLE users ALTER COLUMN score TYPE bigint;\n"),
    ];
    let mut reference = common::database();
    reference.client.batch_execute(SEED).unwrap();
    let uninterrupted = Project::new(migrations);
    uninterrupted.plan(&reference);
    uninterrupted.apply_all(&reference);

    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(migrations);
    project.plan(&db);
    let url = db.url();
    let binary = assert_cmd::cargo::cargo_bin("lockgate");
    for (phase, delay_ms) in [("expand", 150), ("expand", 350), ("backfill", 5), ("contract", 100), ("contract", 250)] {
        let mut child = std::process::Command::new(&binary)
            .args(["apply", &project.plan_file(), "--phase", phase, "--database-url", &url])
            .args(["--config", project.config.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup, no journal update
        let _ = child.wait();
        if phase != "contract" {
            let output = project.apply(&db, phase);
            assert!(output.status.success(), "rerun of {phase}: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
    let output = project.apply(&db, "contract");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(schema(&mut db), schema(&mut reference));
    assert_eq!(data(&mut db), data(&mut reference));
}

#[test]
fn rollback_undoes_an_expand_until_the_contract_runs() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let before = schema(&mut db);
    let project = Project::new(&[
        ("0001_audit.sql", "CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz);\n"),
        (
            "0002_region.sql",
            "ALTER TABLE orders ADD COLUMN region text;\nCREATE INDEX orders_region_idx ON orders (region);\n",
        ),
        ("0003_tighten.sql", "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);\n"),
    ]);
    project.plan(&db);
    assert!(project.apply(&db, "expand").status.success());
    assert_ne!(schema(&mut db), before);
    let url = db.url();
    let rollback = |config: &Path| {
        lockgate()
            .args(["rollback", &project.plan_file(), "--database-url", &url, "--config", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let output = rollback(&project.config);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(schema(&mut db), before, "expand undone");

    project.apply_all(&db);
    let refused = rollback(&project.config);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("restore from the snapshot"));
}

/// A RunSQL's `reverse_sql` is kept: rollback runs it once for all of its statements.
/// Applies the plan's expand, sees `objects` (two counts) created, rolls back, and sees them gone.
fn assert_rollback_removes(project: &Project, db: &common::TestDb, objects: &str) {
    assert!(project.apply(db, "expand").status.success());
    let count = |db: &common::TestDb| -> Vec<i64> {
        db.connect().query(objects, &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    assert_eq!(count(db), [1, 1]);
    let rollback = lockgate()
        .args(["rollback", &project.plan_file(), "--database-url", &db.url()])
        .args(["--config", project.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(rollback.status.success(), "{}", String::from_utf8_lossy(&rollback.stderr));
    assert_eq!(count(db), [0, 0]);
}

#[test]
fn rollback_runs_the_reverse_sql_of_a_run_sql() {
    let db = common::database();
    let project = Project::new(&[
        (
            "shop/migrations/0001_initial.py",
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    \
             dependencies = []\n    operations = [\n        migrations.CreateModel(\"Item\", fields=[(\"id\", \
             models.BigAutoField(primary_key=True)), (\"seen\", models.IntegerField(default=0))]),\n    ]\n",
        ),
        (
            "shop/migrations/0002_touch.py",
            r#"from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            [
                "CREATE FUNCTION shop_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.seen := NEW.seen + 1; RETURN NEW; END $$",
                ("CREATE TRIGGER shop_touch BEFORE UPDATE ON shop_item FOR EACH ROW EXECUTE FUNCTION shop_touch()", None),
            ],
            reverse_sql="DROP TRIGGER shop_touch ON shop_item; DROP FUNCTION shop_touch();",
        ),
    ]
"#,
        ),
    ]);
    let plan = project.plan(&db);
    let steps: Vec<&Value> =
        plan["steps"].as_array().unwrap().iter().filter(|s| s["migration"] == "shop.0002_touch").collect();
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert_eq!(steps[1]["undo"][0], "DROP TRIGGER shop_touch ON shop_item; DROP FUNCTION shop_touch()");
    assert_eq!(steps[0]["undone_with"], steps[1]["id"]);
    assert_rollback_removes(
        &project,
        &db,
        "SELECT count(*) FROM pg_proc WHERE proname = 'shop_touch' UNION ALL \
                   SELECT count(*) FROM pg_trigger WHERE tgname = 'shop_touch'",
    );
}

/// A command that cannot start exits 2 and names what it could not read (the plan file, the
/// server); a phase that started and stopped on a step exits 1, as the retry tests check.
#[test]
fn a_plan_or_server_that_cannot_be_read_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let unreachable = "postgresql://lockgate@127.0.0.1:1/shop";
    let run = |args: &[&str]| {
        let output = lockgate().current_dir(dir.path()).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let apply = ["apply", plan.to_str().unwrap(), "--phase", "expand", "--database-url", unreachable];

    let (code, said) = run(&apply);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.starts_with(&format!("error: cannot read the plan {}: ", plan.display())), "{said}");

    write(dir.path(), "plan.json", "{\"steps\": []}");
    let (code, said) = run(&apply);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains(&format!("{}: not a lockgate plan: ", plan.display())), "{said}");

    let (code, said) = run(&["status", "--database-url", unreachable]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("127.0.0.1") && said.contains("cannot connect"), "names the server: {said}");
}

#[test]
fn a_plan_whose_sources_changed_is_refused() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(&[("0001_region.sql", "ALTER TABLE orders ADD COLUMN region text;\n")]);
    project.plan(&db);
    write(project.dir.path(), "migrations/0001_region.sql", "ALTER TABLE orders ADD COLUMN region varchar(2);\n");
    let output = project.apply(&db, "expand");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the migrations changed since the plan was made"));

    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(project.plan_file()).unwrap()).unwrap();
    plan["steps"][0]["sql"][0] = "DROP TABLE orders".into();
    std::fs::write(project.plan_file(), plan.to_string()).unwrap();
    let output = project.apply(&db, "expand");
    assert!(String::from_utf8_lossy(&output.stderr).contains("edited after it was made"));
}

#[test]
fn the_application_keeps_running_while_every_recipe_applies() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(RECIPES);
    project.plan(&db);
    let workload = common::workload::Workload::start(|| db.connect(), 4, 1_000_000, 2000);
    std::thread::sleep(Duration::from_millis(200));
    project.apply_all(&db);
    std::thread::sleep(Duration::from_millis(200));
    let report = workload.stop();
    assert!(report.queries > 100, "the workload ran: {report:?}");
    assert!(
        report.failures.is_empty(),
        "no workload query failed: {:?}",
        &report.failures[..report.failures.len().min(3)]
    );
    // lock_timeout is 200 ms in this project: no query waits behind a migration for longer.
    assert!(report.max_latency < Duration::from_millis(1200), "slowest query {:?}", report.max_latency);
}

#[test]
fn a_batched_backfill_resumes_at_its_cursor_and_changes_each_row_once() {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    let project = Project::new(&[(
        "0001_token.sql",
        "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT md5(random()::text)::uuid;\n",
    )]);
    std::fs::write(&project.config, format!("{FAST}[backfill]\nstart_batch_rows = 100\nmax_batch_rows = 100\n"))
        .unwrap();
    let plan = project.plan(&db);
    let backfill = plan["steps"].as_array().unwrap().iter().find(|s| s["phase"] == "backfill").unwrap();
    assert_eq!(backfill["batched"]["key"][0], "\"id\"", "batched on the primary key: {backfill}");
    assert!(project.apply(&db, "expand").status.success());

    let url = db.url();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"))
        .args(["apply", &project.plan_file(), "--phase", "backfill", "--database-url", &url])
        .args(["--config", project.config.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches committed, then kill it mid-way.
    let started = Instant::now();
    loop {
        let done: i64 = db.client.query_one("SELECT count(*) FROM orders WHERE token IS NOT NULL", &[]).unwrap().get(0);
        if done >= 2000 || started.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before: i64 =
        db.client.query_one("SELECT count(*) FROM orders WHERE token IS NOT NULL", &[]).unwrap().get(0);
    assert!(done_before > 0 && done_before < 20000, "killed mid-way: {done_before} rows done");
    let journaled: i64 =
        db.client.query_one("SELECT rows_done FROM lockgate.steps WHERE phase = 'backfill'", &[]).unwrap().get(0);
    assert_eq!(journaled, done_before, "the cursor commits with its batch");
    let sample: Vec<(i64, String)> = db
        .client
        .query("SELECT id, token::text FROM orders WHERE token IS NOT NULL ORDER BY id LIMIT 50", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let output = project.apply(&db, "backfill");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let nulls: i64 = db.client.query_one("SELECT count(*) FROM orders WHERE token IS NULL", &[]).unwrap().get(0);
    assert_eq!(nulls, 0);
    for (id, token) in sample {
        let now: String = db.client.query_one("SELECT token::text FROM orders WHERE id = $1", &[&id]).unwrap().get(0);
        assert_eq!(now, token, "row {id} was changed once, not again by the rerun");
    }
    let journaled: i64 =
        db.client.query_one("SELECT rows_done FROM lockgate.steps WHERE phase = 'backfill'", &[]).unwrap().get(0);
    assert_eq!(journaled, 20000);
    assert!(project.apply(&db, "contract").status.success());
}

#[test]
fn django_migrations_applied_by_lockgate_are_recorded_as_django_records_them() {
    let mut db = common::database();
    let project = Project::new(&[]);
    let app = project.dir.path().join("migrations/shop/migrations");
    write(&app, "__init__.py", "");
    write(
        &app,
        "0001_initial.py",
        "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = [\n        migrations.CreateModel(\n            name='Product',\n            fields=[\n                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),\n                ('name', models.CharField(max_length=100)),\n                ('price', models.IntegerField()),\n            ],\n        ),\n    ]\n",
    );
    write(
        &app,
        "0002_product_sku.py",
        "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [('shop', '0001_initial')]\n    operations = [\n        migrations.AddField(model_name='product', name='sku', field=models.CharField(max_length=20, null=True)),\n        migrations.AddIndex(model_name='product', index=models.Index(fields=['price'], name='shop_price_idx')),\n    ]\n",
    );
    write(
        &app,
        "0003_price_bigint.py",
        "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [('shop', '0002_product_sku')]\n    operations = [\n        migrations.AlterField(model_name='product', name='price', field=models.BigIntegerField()),\n    ]\n",
    );
    db.client
        .batch_execute("CREATE TABLE django_migrations (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL)")
        .unwrap();
    let plan = project.plan(&db);
    assert_eq!(plan["migrations"].as_array().unwrap().len(), 3);
    project.apply_all(&db);
    let recorded: Vec<(String, String)> = db
        .client
        .query("SELECT app, name FROM django_migrations ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected = [("shop", "0001_initial"), ("shop", "0002_product_sku"), ("shop", "0003_price_bigint")];
    assert_eq!(recorded, expected.map(|(a, n)| (a.to_string(), n.to_string())));
    let columns: Vec<String> = db
        .client
        .query("SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'shop_product' ORDER BY column_name", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(columns, ["id bigint", "name character varying", "price bigint", "sku character varying"]);
    let index: i64 =
        db.client.query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'shop_price_idx'", &[]).unwrap().get(0);
    assert_eq!(index, 1);
}

#[test]
fn alembic_revisions_applied_by_lockgate_leave_alembic_version_at_the_head() {
    let mut db = common::database();
    let project = Project::new(&[]);
    let env = project.dir.path().join("migrations/alembic");
    write(&env, "env.py", "from alembic import context\n");
    write(
        &env,
        "versions/a1_items.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'a1'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\ndef upgrade():\n    op.create_table('items', sa.Column('id', sa.Integer(), nullable=False), sa.Column('name', sa.String(length=50), nullable=True), sa.PrimaryKeyConstraint('id'))\n",
    );
    write(
        &env,
        "versions/b2_qty.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'b2'\ndown_revision = 'a1'\nbranch_labels = None\ndepends_on = None\n\ndef upgrade():\n    op.add_column('items', sa.Column('qty', sa.Integer(), nullable=True))\n    op.create_index('ix_items_qty', 'items', ['qty'])\n",
    );
    let plan = project.plan(&db);
    assert_eq!(plan["migrations"].as_array().unwrap().len(), 2);
    project.apply_all(&db);
    let heads: Vec<String> =
        db.client.query("SELECT version_num FROM alembic_version", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(heads, ["b2"], "one row, the head, as `alembic upgrade head` leaves it");
    let index: i64 =
        db.client.query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_items_qty'", &[]).unwrap().get(0);
    assert_eq!(index, 1);
}

/// The executor runs what psql or the template engine would send: psql variables and mapped
/// placeholders substituted; a template expression nobody mapped is refused at its statement.
#[test]
fn substituted_sql_runs_as_the_runner_would_send_it() {
    let db = common::database();
    let project = Project::new(&[
        ("0001_orders.sql", "\\set table orders\nCREATE TABLE :table (id bigint PRIMARY KEY, note text);\n"),
        ("0002_index.sql", "\\set table orders\nCREATE INDEX orders_note_idx ON :\"table\" (note);\n"),
        ("0003_region.sql", "ALTER TABLE {{ .Schema }}.orders ADD COLUMN region text;\n"),
    ]);
    let refused = lockgate()
        .args(["plan", "--database-url", &db.url(), &project.migrations()])
        .args(["--config", project.config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("0003_region.sql:1:1") && stderr.contains("[sql.placeholders]"), "{stderr}");
    assert!(!stderr.contains("0002_index.sql"), "{stderr}");

    let config = std::fs::read_to_string(&project.config).unwrap();
    std::fs::write(&project.config, format!("{config}[sql.placeholders]\n\"{{{{ .Schema }}}}\" = \"public\"\n"))
        .unwrap();
    project.plan(&db);
    project.apply_all(&db);
    let columns: Vec<String> = db
        .connect()
        .query("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(columns, ["id", "note", "region"]);
    let index: i64 = db
        .connect()
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_note_idx'", &[])
        .unwrap()
        .get(0);
    assert_eq!(index, 1);
}

/// Alembic's `downgrade()` is kept: rollback runs it once for all of the revision's steps.
#[test]
fn rollback_runs_the_downgrade_of_an_alembic_revision() {
    let db = common::database();
    let revision = |id: &str, down: &str, upgrade: &str, downgrade: &str| {
        format!(
            "from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"{id}\"\ndown_revision = {down}\n\n\n\
             def upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n"
        )
    };
    let project = Project::new(&[
        ("migrations/env.py", ""),
        (
            "migrations/versions/a1_items.py",
            &revision(
                "a1",
                "None",
                "    op.create_table(\"items\", sa.Column(\"id\", sa.BigInteger(), primary_key=True))",
                "    op.drop_table(\"items\")",
            ),
        ),
        (
            "migrations/versions/b2_touch.py",
            &revision(
                "b2",
                "\"a1\"",
                "    op.add_column(\"items\", sa.Column(\"seen\", sa.Integer(), nullable=True))\n    \
                 op.execute(\"CREATE FUNCTION items_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.seen := 1; RETURN NEW; END $$\")",
                // The executor sets its own lock_timeout for the undo.
                "    op.execute(\"SET LOCAL lock_timeout = '5s'\")\n    op.execute(\"DROP FUNCTION items_touch()\")\n    \
                 op.drop_column(\"items\", \"seen\")",
            ),
        ),
    ]);
    let plan = project.plan(&db);
    let steps: Vec<&Value> = plan["steps"].as_array().unwrap().iter().filter(|s| s["migration"] == "b2").collect();
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert_eq!(
        steps[1]["undo"],
        serde_json::json!(["DROP FUNCTION items_touch()", r#"ALTER TABLE "items" DROP COLUMN "seen""#])
    );
    assert_eq!(steps[0]["undone_with"], steps[1]["id"]);
    assert_rollback_removes(
        &project,
        &db,
        "SELECT count(*) FROM pg_proc WHERE proname = 'items_touch' UNION ALL \
                   SELECT count(*) FROM pg_class WHERE relname = 'items'",
    );
}
