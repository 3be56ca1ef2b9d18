//! Batched backfills against a real throwaway PostgreSQL: a data migration's UPDATE runs in
//! keyset batches, survives kill -9 without applying a batch twice, parks outside its window
//! and continues when it opens (the clock moved through `LOCKGATE_CLOCK_FILE`), and pauses
//! while a real streaming replica lags.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::project::{write, Project, FAST};
use serde_json::Value;

/// `items` with `rows` rows, and a trigger that counts every update of every row.
fn seed(db: &mut common::TestDb, rows: i64) {
    db.client
        .batch_execute(&format!(
            "CREATE TABLE items (id bigint PRIMARY KEY, amount int NOT NULL, note text);
             INSERT INTO items SELECT g, g % 1000, NULL FROM generate_series(1, {rows}) g;
             CREATE TABLE updates (id bigint NOT NULL);
             CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO updates VALUES (NEW.id); RETURN NEW; END $$;
             CREATE TRIGGER count_update AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION count_update();"
        ))
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE items").unwrap();
}

/// A project whose one migration is a non-idempotent data change: a batch applied twice
/// would show.
fn bump_project(backfill: &str) -> Project {
    let project = Project::new(&[("0001_bump.sql", "UPDATE items SET amount = amount + 1, note = 'bumped';\n")]);
    std::fs::write(&project.config, format!("{FAST}[backfill]\n{backfill}")).unwrap();
    project
}

fn spawn_backfill(project: &Project, db: &common::TestDb, clock: Option<&Path>, events: &Path) -> Child {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"));
    command
        .args([
            "backfill",
            "run",
            &project.plan_file(),
            "--database-url",
            &db.url(),
            "--events",
            events.to_str().unwrap(),
        ])
        .args(["--config", project.config.to_str().unwrap()])
        .stderr(Stdio::null());
    if let Some(clock) = clock {
        command.env("LOCKGATE_CLOCK_FILE", clock);
    }
    command.spawn().unwrap()
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every row bumped exactly once.
fn assert_each_row_changed_once(db: &mut common::TestDb, rows: i64) {
    let wrong: i64 = db
        .client
        .query_one("SELECT count(*) FROM items WHERE amount <> id % 1000 + 1 OR note IS DISTINCT FROM 'bumped'", &[])
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0, "every row has its new value");
    let (updates, distinct): (i64, i64) = {
        let row = db.client.query_one("SELECT count(*), count(DISTINCT id) FROM updates", &[]).unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((updates, distinct), (rows, rows), "no row updated twice");
}

#[test]
fn a_data_migration_runs_in_batches_that_adapt_to_the_target() {
    let mut db = common::database();
    seed(&mut db, 50_000);
    let project =
        bump_project("target_batch_ms = 50\nstart_batch_rows = 500\nmin_batch_rows = 100\nmax_batch_rows = 20000\n");
    let plan = project.plan(&db);
    let step = &plan["steps"][0];
    assert_eq!(step["recipe"], "batched-update", "{step}");
    assert_eq!(step["batched"]["set"], "\"amount\" = amount + 1, \"note\" = 'bumped'");
    let events_file = project.dir.path().join("events.jsonl");
    let output = common::project::lockgate()
        .args(["apply", &project.plan_file(), "--phase", "backfill", "--database-url", &db.url()])
        .args(["--events", events_file.to_str().unwrap(), "--config", project.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_each_row_changed_once(&mut db, 50_000);
    let batches: Vec<u64> = events(&events_file)
        .iter()
        .filter(|e| e["event"] == "batch")
        .map(|e| e["batch_rows"].as_u64().unwrap())
        .collect();
    assert!(batches.len() > 3, "{batches:?}");
    assert_ne!(batches.first(), batches.last(), "the batch size moved towards the target: {batches:?}");
    assert!(events(&events_file).iter().any(|e| e["event"] == "done" && e["rows_done"] == 50_000));
}

#[test]
fn kill_nine_ten_times_and_no_batch_is_applied_twice() {
    let mut db = common::database();
    seed(&mut db, 100_000);
    let project = bump_project("start_batch_rows = 300\nmin_batch_rows = 300\nmax_batch_rows = 300\nsleep_ms = 5\n");
    project.plan(&db);
    let events_file = project.dir.path().join("events.jsonl");
    let mut seed_rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    while kills < 10 {
        let mut child = spawn_backfill(&project, &db, None, &events_file);
        // A pseudo-random moment between 30 and 330 ms into the run.
        seed_rng ^= seed_rng << 13;
        seed_rng ^= seed_rng >> 7;
        seed_rng ^= seed_rng << 17;
        std::thread::sleep(Duration::from_millis(30 + seed_rng % 300));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if finished {
            break;
        }
        kills += 1;
    }
    assert_eq!(kills, 10, "the job outlived ten kills");
    let output = project.apply(&db, "backfill");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_each_row_changed_once(&mut db, 100_000);
}

#[test]
fn a_two_million_row_backfill_finishes_with_every_row_correct() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, amount int NOT NULL, note text);
                        INSERT INTO items SELECT g, g % 1000, NULL FROM generate_series(1, 2000000) g;",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE items").unwrap();
    let project = bump_project("");
    project.plan(&db);
    let output = project.apply(&db, "backfill");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let wrong: i64 = db
        .client
        .query_one("SELECT count(*) FROM items WHERE amount <> id % 1000 + 1 OR note IS DISTINCT FROM 'bumped'", &[])
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0);
}

#[test]
fn a_closing_window_parks_the_job_and_the_next_one_finishes_it() {
    let mut db = common::database();
    seed(&mut db, 20_000);
    let project = bump_project(
        "start_batch_rows = 200\nmin_batch_rows = 200\nmax_batch_rows = 200\nsleep_ms = 10\nhealth_poll_ms = 50\n\
         [[backfill.windows]]\nstart = \"01:00\"\nend = \"02:00\"\n",
    );
    project.plan(&db);
    let clock = write(project.dir.path(), "clock", "2026-11-23T01:30:00Z");
    let events_file = project.dir.path().join("events.jsonl");
    let mut child = spawn_backfill(&project, &db, Some(&clock), &events_file);
    wait_for("a few batches", || events(&events_file).iter().filter(|e| e["event"] == "batch").count() >= 3);

    std::fs::write(&clock, "2026-11-23T02:00:00Z").unwrap();
    wait_for("the job to park", || events(&events_file).iter().any(|e| e["event"] == "parked"));
    let parked_at: i64 = db.client.query_one("SELECT count(*) FROM updates", &[]).unwrap().get(0);
    std::thread::sleep(Duration::from_millis(300));
    let still: i64 = db.client.query_one("SELECT count(*) FROM updates", &[]).unwrap().get(0);
    assert!(parked_at < 20_000 && still == parked_at, "no batch runs outside the window ({parked_at} → {still})");

    std::fs::write(&clock, "2026-11-24T01:00:00Z").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_each_row_changed_once(&mut db, 20_000);

    // A scheduler-driven job exits `paused` instead of waiting.
    let mut other = common::database();
    seed(&mut other, 1_000);
    let scheduled =
        bump_project("park_when_closed = false\n[[backfill.windows]]\nstart = \"01:00\"\nend = \"02:00\"\n");
    scheduled.plan(&other);
    let clock = write(scheduled.dir.path(), "clock", "2026-11-23T03:00:00Z");
    let output = common::project::lockgate()
        .env("LOCKGATE_CLOCK_FILE", &clock)
        .args(["backfill", "run", &scheduled.plan_file(), "--database-url", &other.url()])
        .args(["--config", scheduled.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn replication_lag_pauses_the_job_until_the_replica_catches_up() {
    let pair = common::replicated();
    let mut db = pair.database();
    seed(&mut db, 20_000);
    let project = bump_project(
        "start_batch_rows = 200\nmin_batch_rows = 200\nmax_batch_rows = 200\nhealth_poll_ms = 50\nmax_replication_lag_bytes = 65536\n",
    );
    project.plan(&db);
    let mut replica = pair.replica();
    replica.batch_execute("SELECT pg_wal_replay_pause()").unwrap();
    let events_file = project.dir.path().join("events.jsonl");
    let mut child = spawn_backfill(&project, &db, None, &events_file);
    wait_for("the lag to pause the job", || {
        events(&events_file)
            .iter()
            .any(|e| e["event"] == "paused" && e["reason"].as_str().unwrap_or("").contains("WAL to replay"))
    });
    let paused_at: i64 = db.client.query_one("SELECT count(*) FROM updates", &[]).unwrap().get(0);
    std::thread::sleep(Duration::from_millis(300));
    let still: i64 = db.client.query_one("SELECT count(*) FROM updates", &[]).unwrap().get(0);
    assert_eq!(paused_at, still, "no batches while the replica lags");
    replica.batch_execute("SELECT pg_wal_replay_resume()").unwrap();
    assert!(child.wait().unwrap().success());
    assert_each_row_changed_once(&mut db, 20_000);
    assert!(events(&events_file).iter().any(|e| e["event"] == "resumed"));
}

#[test]
fn under_a_workload_no_query_waits_longer_than_a_batch() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int, note text);
             INSERT INTO orders SELECT g, 1 + g % 2000, 1 + g % 500, NULL FROM generate_series(1, 200000) g;",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE orders").unwrap();
    let project = Project::new(&[("0001_note.sql", "UPDATE orders SET note = 'checked';\n")]);
    std::fs::write(&project.config, format!("{FAST}[backfill]\ntarget_batch_ms = 50\n")).unwrap();
    project.plan(&db);
    let events_file = project.dir.path().join("events.jsonl");
    // The same workload alone first: its worst latency is this machine's scheduling noise now,
    // which a loaded CI machine raises for both runs alike.
    let baseline = common::workload::Workload::start(|| db.connect(), 4, 1_000_000, 2000);
    std::thread::sleep(Duration::from_millis(1000));
    let noise = baseline.stop().max_latency.as_secs_f64() * 1000.0;
    let workload = common::workload::Workload::start(|| db.connect(), 4, 2_000_000, 2000);
    std::thread::sleep(Duration::from_millis(200));
    let output = common::project::lockgate()
        .args(["apply", &project.plan_file(), "--phase", "backfill", "--database-url", &db.url()])
        .args(["--events", events_file.to_str().unwrap(), "--config", project.config.to_str().unwrap()])
        .output()
        .unwrap();
    let report = workload.stop();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let longest_batch = events(&events_file)
        .iter()
        .filter(|e| e["event"] == "batch")
        .filter_map(|e| e["batch_ms"].as_f64())
        .fold(0.0, f64::max);
    let waited = report.max_latency.as_secs_f64() * 1000.0;
    // A query that needs a row the batch holds waits for that batch's commit, no longer; the
    // slack is the noise the workload saw alone (at least 100 ms), twice over.
    let slack = 2.0 * noise.max(100.0);
    assert!(
        waited <= longest_batch + slack,
        "a query waited {waited:.0} ms; the longest batch took {longest_batch:.0} ms (slack {slack:.0} ms)"
    );
}

#[test]
fn composite_and_uuid_keys_are_walked_once() {
    let mut db = common::database();
    db.client
        .batch_execute(
            "CREATE TABLE events (tenant int, id uuid, seen int NOT NULL DEFAULT 0, PRIMARY KEY (tenant, id));
             INSERT INTO events (tenant, id) SELECT g % 7, md5(g::text)::uuid FROM generate_series(1, 5000) g;",
        )
        .unwrap();
    db.client.batch_execute("VACUUM ANALYZE events").unwrap();
    let project = Project::new(&[("0001_seen.sql", "UPDATE events SET seen = seen + 1;\n")]);
    std::fs::write(
        &project.config,
        format!("{FAST}[backfill]\nstart_batch_rows = 100\nmin_batch_rows = 100\nmax_batch_rows = 100\n"),
    )
    .unwrap();
    let plan = project.plan(&db);
    assert_eq!(plan["steps"][0]["batched"]["key"], serde_json::json!(["\"tenant\"", "\"id\""]));
    let output = project.apply(&db, "backfill");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let counts: Vec<(i32, i64)> = db
        .client
        .query("SELECT seen, count(*) FROM events GROUP BY seen", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(counts, [(1, 5000)], "every row once");
}

#[test]
fn a_contract_step_starts_only_if_it_fits_before_the_window_closes() {
    let mut db = common::database();
    seed(&mut db, 100);
    let project = Project::new(&[("0001_drop_note.sql", "ALTER TABLE items DROP COLUMN note;\n")]);
    std::fs::write(
        &project.config,
        format!("{FAST}[backfill]\n[[backfill.windows]]\nstart = \"01:00\"\nend = \"02:00\"\n"),
    )
    .unwrap();
    project.plan(&db);
    assert!(project.apply(&db, "expand").status.success());
    let clock = write(project.dir.path(), "clock", "2026-11-23T01:59:59.999Z");
    let run = |clock: &Path| {
        common::project::lockgate()
            .env("LOCKGATE_CLOCK_FILE", clock)
            .args(["apply", &project.plan_file(), "--phase", "contract", "--database-url", &db.url()])
            .args(["--config", project.config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let late = run(&clock);
    assert_eq!(late.status.code(), Some(3), "{}", String::from_utf8_lossy(&late.stderr));
    assert!(String::from_utf8_lossy(&late.stderr).contains("the window closes at"));
    std::fs::write(&clock, "2026-11-23T01:30:00Z").unwrap();
    let in_time = run(&clock);
    assert!(in_time.status.success(), "{}", String::from_utf8_lossy(&in_time.stderr));
    let note: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(note, 0);
}
