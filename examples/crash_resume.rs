//! Crash and resume, measured: the apply of a plan with every recipe (indexes, a foreign key,
//! NOT NULL, a volatile default, a batched backfill, a type change by swap) on a table of ROWS
//! rows (default 200,000) is killed with SIGKILL at KILLS random moments (default 10), each
//! time rerun from where the journal says it stopped. The final schema and every row must equal
//! an uninterrupted run's.
//!
//!     scripts/bench/crash-resume              (builds the release binary, then runs this)
//!     ROWS=1000000 KILLS=20 SEED=7 scripts/bench/crash-resume

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_amount_idx.sql", "CREATE INDEX orders_amount_idx ON orders (amount);"),
    ("0002_user_fk.sql", "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);"),
    ("0003_user_not_null.sql", "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"),
    ("0004_token.sql", "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();"),
    ("0005_gift.sql", "UPDATE orders SET note = 'gift' WHERE amount % 7 = 0;"),
    ("0006_amount_bigint.sql", "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;"),
];

/// A migrations folder, its configuration (a backfill in small batches, so that kills land
/// inside it) and the plan for `db`.
fn planned(db: &common::TestDb, dir: &Path) -> (String, String) {
    std::fs::create_dir_all(dir.join("m")).unwrap();
    for (name, sql) in MIGRATIONS {
        std::fs::write(dir.join("m").join(name), sql).unwrap();
    }
    let config = dir.join("lockgate.toml");
    std::fs::write(
        &config,
        "[backfill]\nstart_batch_rows = 2000\nmax_batch_rows = 5000\nsleep_ms = 0\n[snapshot]\nprovider = \"none\"\n",
    )
    .unwrap();
    let plan = dir.join("plan.json");
    let (config, plan) = (config.display().to_string(), plan.display().to_string());
    let folder = dir.join("m").display().to_string();
    run(&["plan", "--database-url", &db.url(), "--config", &config, "-o", &plan, &folder]);
    (config, plan)
}

fn apply(plan: &str, config: &str, url: &str, phase: &str) -> Command {
    let mut command = Command::new(common::lockgate_binary());
    command.args(["apply", plan, "--phase", phase, "--database-url", url, "--config", config]);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

fn run(args: &[&str]) {
    let output = Command::new(common::lockgate_binary()).args(args).output().expect("run lockgate");
    assert!(output.status.success(), "lockgate {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// The schema (columns, constraints, indexes with validity) and a digest of every row.
fn snapshot(db: &common::TestDb) -> (Vec<String>, Vec<String>) {
    let mut client = db.connect();
    let schema = client
        .query(
            "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
             UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             UNION ALL SELECT pg_get_indexdef(indexrelid) || ' ' || indisvalid FROM pg_index
              WHERE indrelid IN ('orders'::regclass, 'users'::regclass)
             UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
             ORDER BY 1",
            &[],
        )
        .expect("schema")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // The tokens are random per run; their presence is what must match.
    let data = client
        .query(
            "SELECT md5(string_agg(id || ':' || user_id || ':' || amount || ':' || coalesce(note, '-') || ':' || (token IS NOT NULL), ',' ORDER BY id))
               FROM orders",
            &[],
        )
        .expect("data")
        .iter()
        .map(|r| r.get(0))
        .collect();
    (schema, data)
}

/// xorshift64*: reproducible moments from SEED, no dependency.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
    }
}

const PHASES: [&str; 3] = ["expand", "backfill", "contract"];

/// The phase `at` ms into the whole run falls in, and how far into that phase.
fn phase_at(durations: &[u64], mut at: u64) -> (usize, u64) {
    for (phase, duration) in durations.iter().enumerate() {
        if at < *duration {
            return (phase, at);
        }
        at -= duration;
    }
    (durations.len() - 1, at)
}

fn main() {
    let rows: i64 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(200_000);
    let kills: usize = std::env::var("KILLS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let moment_seed: u64 = std::env::var("SEED").ok().and_then(|r| r.parse().ok()).unwrap_or(42);

    let mut reference = common::database();
    common::workload::seed(&mut reference.client, rows);
    let reference_dir = tempfile::tempdir().unwrap();
    let (config, plan) = planned(&reference, reference_dir.path());
    let mut durations = vec![];
    for phase in PHASES {
        let started = Instant::now();
        assert!(apply(&plan, &config, &reference.url(), phase).status().unwrap().success(), "uninterrupted {phase}");
        durations.push(started.elapsed().as_millis().max(1) as u64);
    }
    let total: u64 = durations.iter().sum();
    println!(
        "{rows} rows: uninterrupted apply in {total} ms (expand {} · backfill {} · contract {})",
        durations[0], durations[1], durations[2]
    );

    let mut db = common::database();
    common::workload::seed(&mut db.client, rows);
    let dir = tempfile::tempdir().unwrap();
    let (config, plan) = planned(&db, dir.path());
    let url = db.url();
    let finish = |phase: usize| {
        let status = apply(&plan, &config, &url, PHASES[phase]).status().unwrap();
        assert!(status.success(), "rerun of {} ended with {status}", PHASES[phase]);
    };
    // Each moment falls uniformly in the work still left (the uninterrupted run's phase times,
    // less what earlier attempts got through), so kills spread over the whole run.
    let mut moments = Moments(moment_seed.max(1));
    let mut left = durations.clone();
    let (mut phase, mut landed) = (0, 0);
    for n in 1..=kills {
        let remaining: u64 = left[phase..].iter().sum::<u64>().max(1);
        let (offset, at) = phase_at(&left[phase..], moments.next_ms(remaining));
        let target = phase + offset;
        while phase < target {
            finish(phase);
            phase += 1;
        }
        let mut child = apply(&plan, &config, &url, PHASES[phase]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(at));
        let running = child.try_wait().unwrap().is_none();
        child.kill().ok(); // SIGKILL: no cleanup, no journal update
        child.wait().unwrap();
        let what = if running { "killed" } else { "had already finished" };
        println!("moment {n:>2}: {} {what} {at} ms after its (re)start", PHASES[phase]);
        if running {
            landed += 1;
            left[phase] = left[phase].saturating_sub(at).max(1);
        } else {
            phase += 1;
            if phase == PHASES.len() {
                break;
            }
        }
    }
    while phase < PHASES.len() {
        finish(phase);
        phase += 1;
    }
    let same = snapshot(&db) == snapshot(&reference);
    println!(
        "{landed} of {kills} kills landed mid-run; every rerun finished; final schema and data {} the uninterrupted run's",
        if same { "equal" } else { "DIFFER from" }
    );
    if !same {
        std::process::exit(1);
    }
}
