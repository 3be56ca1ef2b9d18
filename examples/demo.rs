//! The executor's main job with nothing to set up: a throwaway PostgreSQL where the bundled
//! SQL migrations 000001–000004 are in production with ROWS orders (default 1,000,000), an
//! application writing to it, and the pending migrations walked through lint → check → plan →
//! apply. Ends with what the application saw: failed queries and the longest stall.
//!
//!     scripts/demo
//!     ROWS=200000 scripts/demo

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Instant;

use common::workload::{Queries, Workload};

const MIGRATIONS: &str = "fixtures/sql/migrations";
/// Migrations already in production, as golang-migrate left them.
const DEPLOYED: u32 = 4;
const USERS: i64 = 20_000;

/// The application: reads, new orders and status changes, with prepared statements. Its
/// SELECT does not return `status` or `amount_cents`: after any change of a column's type (even
/// varchar(16) → varchar(32)) PostgreSQL refuses a prepared statement returning that column
/// ("cached plan must not change result type") until the client prepares it again.
const APPLICATION: Queries = Queries {
    select: "SELECT id, user_id, placed_at FROM orders WHERE id = $1",
    insert: "INSERT INTO orders (id, user_id, amount_cents) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3)",
    update: "UPDATE orders SET status = 'paid' WHERE id = $1",
};

fn heading(text: &str) {
    println!("\n\x1b[1m== {text}\x1b[0m");
}

/// Runs lockgate, shows what it printed (indented), returns its exit code.
fn lockgate(args: &[&str]) -> i32 {
    println!("$ lockgate {}", args.join(" "));
    let output =
        Command::new(common::lockgate_binary()).args(args).env("NO_COLOR", "1").output().expect("run lockgate");
    for line in String::from_utf8_lossy(&output.stdout).lines().chain(String::from_utf8_lossy(&output.stderr).lines()) {
        println!("  {line}");
    }
    output.status.code().unwrap_or(-1)
}

/// Production before the deploy: the first migrations as golang-migrate ran them, and data.
fn production(db: &mut common::TestDb, rows: i64) {
    let mut deployed = vec![];
    for entry in std::fs::read_dir(MIGRATIONS).expect("fixtures/sql/migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let version: u32 = name.split('_').next().and_then(|v| v.parse().ok()).unwrap_or(u32::MAX);
        if version <= DEPLOYED && name.ends_with(".up.sql") {
            deployed.push((version, path));
        }
    }
    deployed.sort();
    for (_, path) in &deployed {
        db.client.batch_execute(&std::fs::read_to_string(path).expect("read migration")).expect("deployed migration");
    }
    db.client
        .batch_execute(&format!(
            "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES ({DEPLOYED}, false);
             INSERT INTO accounts (name) SELECT 'account ' || g FROM generate_series(1, 2000) g;
             INSERT INTO users (account_id, email, full_name)
                  SELECT 1 + g % 2000, 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, {USERS}) g;
             INSERT INTO orders (user_id, amount_cents, status, placed_at)
                  SELECT 1 + g % {USERS}, 100 + g % 9000, 'pending', now() - g * interval '1 minute'
                    FROM generate_series(1, {rows}) g;"
        ))
        .expect("seed production");
    db.client.batch_execute("VACUUM ANALYZE").expect("vacuum");
}

fn main() {
    let rows: i64 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let started = Instant::now();
    let work = tempfile::tempdir().expect("temp dir");
    let plan = work.path().join("plan.json").display().to_string();
    let snapshots = work.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).expect("snapshot dir");

    heading("1. lint: what review sees on the pull request that adds 000005 (no database needed)");
    let added = format!("{MIGRATIONS}/000005_orders_amount_bigint.up.sql");
    lockgate(&["lint", &added, "--context", MIGRATIONS]);

    let mut db = common::database();
    heading(&format!(
        "2. production: PostgreSQL {} with 000001–{DEPLOYED:06} applied by golang-migrate and {rows} orders",
        db.major()
    ));
    production(&mut db, rows);
    let url = db.url();
    println!("  database: {url}");

    heading("3. check: the pre-deploy gate reads sizes and sessions from the live database");
    lockgate(&["check", MIGRATIONS, "--database-url", &url]);

    heading("4. plan: every unsafe statement becomes its safe recipe, in expand / backfill / contract");
    lockgate(&["plan", MIGRATIONS, "--database-url", &url, "-o", &plan]);

    heading("5. apply — a pg_dump snapshot first — while the application keeps reading and writing orders");
    println!("  (its prepared SELECT leaves out the columns whose type changes: PostgreSQL refuses a prepared");
    println!("  statement whose result type changed, with or without lockgate, until the client prepares it again)");
    let workload = Workload::with_queries(APPLICATION, || db.connect(), 4, 50_000_000, USERS);
    let snapshot = format!("pg_dump:{}", snapshots.display());
    for phase in ["expand", "backfill", "contract"] {
        let code = lockgate(&["apply", &plan, "--phase", phase, "--database-url", &url, "--snapshot", &snapshot]);
        if code != 0 {
            println!("  apply --phase {phase} exited with {code}");
            break;
        }
    }
    let report = workload.stop();

    heading("6. status: the journal, and golang-migrate's own table");
    lockgate(&["status", "--database-url", &url, "--plan", &plan]);
    let version: i64 = db.client.query_one("SELECT version FROM schema_migrations", &[]).expect("version").get(0);
    println!("  schema_migrations.version = {version}: `migrate up` has nothing left to do");

    heading("what the application saw");
    println!(
        "  {} queries, {} failed, longest stall {:.0} ms (p99 {:.1} ms)",
        report.queries,
        report.failures.len(),
        report.max_latency.as_secs_f64() * 1000.0,
        report.p99_latency.as_secs_f64() * 1000.0
    );
    for failure in report.failures.iter().take(5) {
        println!("  failed: {failure}");
    }
    println!("  demo finished in {:.0} s", started.elapsed().as_secs_f64());
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}
