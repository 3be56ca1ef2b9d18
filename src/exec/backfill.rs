//! Batched backfills: keyset batches along the primary key, one short transaction each, the
//! cursor journaled with every batch. The batch size follows a target duration; a batch that
//! hits the statement timeout is split; the job pauses while the server is unhealthy
//! (replication lag, a long transaction, anti-wraparound vacuum on the table), parks when its
//! window closes, stops when an operator asks, and reports progress as it goes.

use std::time::{Duration, Instant};

use super::journal::{self, Status};
use super::{failed, window, with_retries, ExecError, Log, Progress, StepFailure};
use crate::config::{ApplyConfig, BackfillConfig};
use crate::live::Session;
use crate::plan::render::Timeouts;
use crate::plan::{Batched, Plan, Step};

const QUERY_CANCELED: &str = "57014";

/// How a batched step ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Done,
    /// Parked outside its window (with `park_when_closed = false`) or paused by an operator.
    Paused(String),
}

/// What one batch did.
enum Batch {
    /// No keys left after the cursor.
    Finished,
    /// The last key of the batch and the rows it changed.
    Advanced(Vec<String>, i64),
    /// The statement timeout cancelled it: nothing changed.
    TimedOut,
}

pub struct Job<'a> {
    pub session: &'a Session,
    pub plan: &'a Plan,
    pub step: &'a Step,
    pub batched: &'a Batched,
    pub apply: &'a ApplyConfig,
    pub config: &'a BackfillConfig,
}

impl Job<'_> {
    pub fn run(&self, log: Log, progress: &mut Progress) -> Result<Ended, ExecError> {
        let (session, plan, step) = (self.session, self.plan, self.step);
        let state = journal::cursor(session, plan, step)?;
        let (mut cursor, mut rows_done) = (state.cursor, state.rows_done);
        let mut size = state
            .batch_rows
            .unwrap_or(self.config.start_batch_rows)
            .clamp(self.config.min_batch_rows, self.config.max_batch_rows);
        let timeouts = Timeouts {
            lock_timeout_ms: self.apply.lock_timeout_ms,
            statement_timeout_ms: self.apply.statement_timeout_ms,
        };
        progress.start(step, self.total_rows(), rows_done);
        let mut last_health = None::<Instant>;
        loop {
            if let Some(ended) = self.wait_for_window(log, progress)? {
                return Ok(ended);
            }
            if journal::pause_requested(session, plan, step)? {
                progress.event(step, "paused", &[("reason", "requested".into())]);
                return Ok(Ended::Paused(format!("{} paused by an operator at {rows_done} rows", step.id)));
            }
            if last_health.is_none_or(|t| t.elapsed() >= Duration::from_millis(self.config.health_poll_ms.min(1_000))) {
                self.wait_until_healthy(log, progress)?;
                last_health = Some(Instant::now());
            }
            let started = Instant::now();
            let batch = with_retries(session, plan, step, self.apply, log, |lock_timeout_ms, _| {
                self.try_batch(&timeouts, lock_timeout_ms, cursor.as_deref(), rows_done, size)
            })
            .map_err(|error| {
                let from = cursor.as_ref().map_or("the first key".to_string(), |c| format!("key ({})", c.join(", ")));
                ExecError::Batch { source: Box::new(error), size, from }
            })?;
            let elapsed = started.elapsed();
            match batch {
                Batch::Finished => break,
                Batch::TimedOut if size > self.config.min_batch_rows => {
                    size = (size / 2).max(self.config.min_batch_rows);
                    log(&format!("{}: a batch hit the statement timeout; splitting it ({size} rows)", step.id));
                }
                Batch::TimedOut => {
                    let from = cursor.as_ref().map_or("the start".to_string(), |c| c.join(", "));
                    return Err(failed(session, plan, step, 1, StepFailure::BatchTimeout { size, from }));
                }
                Batch::Advanced(last, changed) => {
                    rows_done += changed;
                    progress.batch(step, rows_done, size, elapsed, &last);
                    cursor = Some(last);
                    size = next_size(size, elapsed, self.config);
                    if self.config.sleep_ms > 0 {
                        std::thread::sleep(Duration::from_millis(self.config.sleep_ms));
                    }
                }
            }
        }
        progress.finish(step, rows_done);
        journal::set_status(session, plan, step, Status::Done, 1, None)?;
        Ok(Ended::Done)
    }

    /// The table's row estimate, for progress.
    fn total_rows(&self) -> Option<u64> {
        let rows = self
            .session
            .query(
                "table size",
                "SELECT reltuples::float8 FROM pg_class WHERE oid = $1::regclass",
                &[&self.batched.table],
            )
            .ok()?;
        rows.first().map(|r| r.get::<_, f64>(0)).filter(|n| *n > 0.0).map(|n| n as u64)
    }

    /// Outside every window: wait at the cursor until one opens (or return Paused).
    fn wait_for_window(&self, log: Log, progress: &mut Progress) -> Result<Option<Ended>, ExecError> {
        let mut announced = false;
        while window::open_until(&self.config.windows, window::now()).is_none() {
            if !self.config.park_when_closed {
                progress.event(self.step, "paused", &[("reason", "outside the window".into())]);
                return Ok(Some(Ended::Paused(format!(
                    "{} is outside its window; run it again when one opens",
                    self.step.id
                ))));
            }
            if !announced {
                log(&format!(
                    "{}: outside the backfill window at {}; parked at the cursor",
                    self.step.id,
                    window::show(window::now())
                ));
                progress.event(self.step, "parked", &[]);
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(self.config.health_poll_ms.min(1_000)));
        }
        if announced {
            log(&format!("{}: the window opened; continuing", self.step.id));
            progress.event(self.step, "resumed", &[]);
        }
        Ok(None)
    }

    fn wait_until_healthy(&self, log: Log, progress: &mut Progress) -> Result<(), ExecError> {
        let mut paused = false;
        while let Some(reason) = self.unhealthy()? {
            if !paused {
                log(&format!("{}: paused: {reason}", self.step.id));
                progress.event(self.step, "paused", &[("reason", reason.into())]);
                paused = true;
            }
            std::thread::sleep(Duration::from_millis(self.config.health_poll_ms));
        }
        if paused {
            log(&format!("{}: healthy again; continuing", self.step.id));
            progress.event(self.step, "resumed", &[]);
        }
        Ok(())
    }

    /// Why the job should wait now, if it should.
    fn unhealthy(&self) -> Result<Option<String>, ExecError> {
        let rows = self
            .session
            .query(
                "health",
                "SELECT (SELECT max(EXTRACT(epoch FROM replay_lag) * 1000)::float8 FROM pg_stat_replication), \
                        (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::float8 FROM pg_stat_replication), \
                        (SELECT max(EXTRACT(epoch FROM now() - xact_start) * 1000)::float8 FROM pg_stat_activity \
                          WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL \
                            AND datname = current_database()), \
                        EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' \
                          AND datname = current_database() AND query LIKE '%to prevent wraparound%' AND query LIKE '%' || $1 || '%')",
                &[&self.batched.table.replace('"', "")],
            )
            .map_err(ExecError::Health)?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (lag_ms, lag_bytes, oldest_ms, wraparound): (Option<f64>, Option<f64>, Option<f64>, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let over = |value: Option<f64>, limit: Option<u64>| value.zip(limit).filter(|(v, l)| *v > *l as f64);
        if let Some((lag, limit)) = over(lag_ms, self.config.max_replication_lag_ms) {
            return Ok(Some(format!("replication lag {lag:.0} ms is over {limit} ms")));
        }
        if let Some((lag, limit)) = over(lag_bytes, self.config.max_replication_lag_bytes) {
            return Ok(Some(format!("a replica has {lag:.0} bytes of WAL to replay, over {limit}")));
        }
        if let Some((age, limit)) = over(oldest_ms, self.config.max_transaction_age_ms) {
            return Ok(Some(format!("a transaction has been open {age:.0} ms, over {limit} ms")));
        }
        Ok(wraparound.then(|| "autovacuum to prevent wraparound is running on the table".to_string()))
    }

    /// One batch: the next `size` keys after the cursor, the change applied to those still
    /// pending, the cursor journaled, in one short transaction.
    fn try_batch(
        &self,
        timeouts: &Timeouts,
        lock_timeout_ms: u64,
        cursor: Option<&[String]>,
        rows_done: i64,
        size: u64,
    ) -> Result<Batch, tokio_postgres::Error> {
        let (session, batched, step) = (self.session, self.batched, self.step);
        let keys = batched.key.join(", ");
        let aliases: Vec<String> = (0..batched.key.len()).map(|i| format!("lockgate_k{i}")).collect();
        let selected: Vec<String> = batched.key.iter().zip(&aliases).map(|(k, a)| format!("{k} AS {a}")).collect();
        let after = cursor.map(|values| {
            let values: Vec<String> = values.iter().map(|v| journal::literal(v)).collect();
            format!("({keys}) > ({})", values.join(", "))
        });
        let last: Vec<String> = aliases.iter().map(|a| format!("{a}::text")).collect();
        let descending: Vec<String> = aliases.iter().map(|a| format!("{a} DESC")).collect();
        // The batch is a key range: its upper bound comes from the primary key index, and the
        // UPDATE scans that range only (a join with the batch's keys can turn into a scan of
        // the whole table). The table keeps its own name: the SET list and condition may use it.
        let sql = format!(
            "WITH batch AS (SELECT {} FROM {table} {where_after} ORDER BY {keys} LIMIT {size}), \
             last AS (SELECT {} FROM batch ORDER BY {} LIMIT 1), \
             changed AS (UPDATE {table} SET {set} WHERE {and_after}({keys}) <= (SELECT {} FROM last) AND ({pending}) RETURNING 1) \
             SELECT (SELECT ARRAY[{}] FROM last), (SELECT count(*) FROM changed)",
            selected.join(", "),
            aliases.join(", "),
            descending.join(", "),
            aliases.join(", "),
            last.join(", "),
            table = batched.table,
            where_after = after.as_ref().map(|a| format!("WHERE {a}")).unwrap_or_default(),
            and_after = after.as_ref().map(|a| format!("{a} AND ")).unwrap_or_default(),
            set = batched.set,
            pending = batched.pending,
        );
        let settings = timeouts.settings(step, lock_timeout_ms).join("; ");
        let bounded = format!("SET LOCAL statement_timeout = '{}ms'", timeouts.statement_timeout_ms);
        session.execute(&format!("BEGIN; {settings}; {bounded}"))?;
        let result = session.query_raw(&sql).and_then(|rows| {
            let row = rows.first();
            let last: Option<Vec<String>> = row.and_then(|r| r.get(0));
            let changed: i64 = row.map(|r| r.get(1)).unwrap_or(0);
            match last {
                None => Ok(Batch::Finished),
                Some(last) => session
                    .execute(&journal::advance(self.plan, step, &last, rows_done + changed, size))
                    .map(|()| Batch::Advanced(last, changed)),
            }
        });
        match result {
            Ok(batch) => session.execute("COMMIT").map(|()| batch),
            Err(error) => {
                let _ = session.execute("ROLLBACK");
                if error.code().is_some_and(|c| c.code() == QUERY_CANCELED) {
                    Ok(Batch::TimedOut)
                } else {
                    Err(error)
                }
            }
        }
    }
}

/// The next batch size: towards the target duration, growing at most 1.2× and shrinking at
/// most by half per batch (GitLab's optimizer takes the same cautious steps), within bounds.
fn next_size(size: u64, took: Duration, config: &BackfillConfig) -> u64 {
    let took_ms = took.as_secs_f64() * 1000.0;
    let factor = (config.target_batch_ms as f64 / took_ms.max(1.0)).clamp(0.5, 1.2);
    ((size as f64 * factor).round() as u64).clamp(config.min_batch_rows, config.max_batch_rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_moves_towards_the_target_in_small_steps() {
        let config =
            BackfillConfig { target_batch_ms: 200, min_batch_rows: 100, max_batch_rows: 10_000, ..Default::default() };
        assert_eq!(next_size(1000, Duration::from_millis(50), &config), 1200, "fast: grow, at most 1.2×");
        assert_eq!(next_size(1000, Duration::from_millis(250), &config), 800);
        assert_eq!(next_size(1000, Duration::from_secs(5), &config), 500, "slow: shrink, at most by half");
        assert_eq!(next_size(9_500, Duration::from_millis(1), &config), 10_000, "within bounds");
        assert_eq!(next_size(120, Duration::from_secs(1), &config), 100);
    }
}
