//! An application workload for tests, benchmarks and the demo: several connections reading,
//! inserting and updating `orders` with prepared statements, recording every query's latency
//! and failure, until stopped.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::Client;

/// What the workload saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub queries: usize,
    pub failures: Vec<String>,
    pub max_latency: Duration,
    pub p99_latency: Duration,
}

/// The workload's three statements: `select` and `update` take an existing order id
/// (`$1 bigint`), `insert` a new id, a user id and an amount (`$1 bigint, $2 bigint, $3 int`).
#[derive(Clone, Copy)]
pub struct Queries {
    pub select: &'static str,
    pub insert: &'static str,
    pub update: &'static str,
}

/// `users` (2,000 rows) and `orders (id, user_id, amount, note)` with `rows` rows, analyzed:
/// the table `ORDERS` works on.
pub fn seed(client: &mut Client, rows: i64) {
    client
        .batch_execute(&format!(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);
             INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 2000) g;
             CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int, note text);
             INSERT INTO orders SELECT g, 1 + g % 2000, 1 + g % 500, NULL FROM generate_series(1, {rows}) g;"
        ))
        .expect("seed");
    client.batch_execute("VACUUM ANALYZE").expect("vacuum");
}

/// For `orders (id, user_id, amount, note)`, the tests' table.
pub const ORDERS: Queries = Queries {
    select: "SELECT id, user_id, amount, note FROM orders WHERE id = $1",
    insert: "INSERT INTO orders (id, user_id, amount, note) VALUES ($1, $2, $3, 'new')",
    update: "UPDATE orders SET amount = amount + 1 WHERE id = $1",
};

pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<(Vec<Duration>, Vec<String>)>>,
}

impl Workload {
    /// Starts `connections` clients on `orders (id, user_id, amount, note)`; new ids start at
    /// `first_new_id`, user ids are 1..=`users`.
    pub fn start(connect: impl Fn() -> Client, connections: usize, first_new_id: i64, users: i64) -> Workload {
        Workload::with_queries(ORDERS, connect, connections, first_new_id, users)
    }

    /// Starts `connections` clients running `queries`.
    pub fn with_queries(
        queries: Queries,
        connect: impl Fn() -> Client,
        connections: usize,
        first_new_id: i64,
        users: i64,
    ) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let next_id = Arc::new(AtomicI64::new(first_new_id));
        let threads = (0..connections)
            .map(|worker| {
                let mut client = connect();
                let (stop, next_id) = (stop.clone(), next_id.clone());
                std::thread::spawn(move || run(&mut client, queries, worker as i64, &stop, &next_id, users))
            })
            .collect();
        Workload { stop, threads }
    }

    pub fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let mut latencies = vec![];
        let mut failures = vec![];
        for thread in self.threads {
            let (l, f) = thread.join().expect("workload thread");
            latencies.extend(l);
            failures.extend(f);
        }
        latencies.sort();
        let p99 = latencies.get(latencies.len() * 99 / 100).copied().unwrap_or_default();
        Report {
            queries: latencies.len(),
            max_latency: latencies.last().copied().unwrap_or_default(),
            p99_latency: p99,
            failures,
        }
    }
}

fn run(
    client: &mut Client,
    queries: Queries,
    worker: i64,
    stop: &AtomicBool,
    next_id: &AtomicI64,
    users: i64,
) -> (Vec<Duration>, Vec<String>) {
    use postgres::types::Type;
    let select = client.prepare_typed(queries.select, &[Type::INT8]).expect("prepare");
    let insert = client.prepare_typed(queries.insert, &[Type::INT8, Type::INT8, Type::INT4]).expect("prepare");
    let update = client.prepare_typed(queries.update, &[Type::INT8]).expect("prepare");
    let mut latencies = vec![];
    let mut failures = vec![];
    let mut n: i64 = worker;
    while !stop.load(Ordering::Relaxed) {
        n += 7919;
        let existing = 1 + n % 1000;
        let started = Instant::now();
        let result = match n % 3 {
            0 => client.query(&select, &[&existing]).map(|_| ()),
            1 => {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                client.execute(&insert, &[&id, &(1 + n % users), &(1 + (n % 500) as i32)]).map(|_| ())
            }
            _ => client.execute(&update, &[&existing]).map(|_| ()),
        };
        latencies.push(started.elapsed());
        if let Err(error) = result {
            failures.push(error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_string()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (latencies, failures)
}
