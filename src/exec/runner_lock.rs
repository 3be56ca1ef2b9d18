//! One runner at a time: a session-level advisory lock on a connection of its own, taken by
//! spinning on `pg_try_advisory_lock` with backoff. A blocking `pg_advisory_lock` would wait
//! inside a transaction that CREATE INDEX CONCURRENTLY then waits for: a deadlock.

use std::time::{Duration, Instant};

use super::ExecError;
use crate::live::{Endpoint, Session};

/// The two-int4 key form (`'lock'`, `'gate'`), out of the bigint key space other runners use.
const KEY: (i32, i32) = (0x6c6f_636b, 0x6761_7465);

/// Held while alive: dropping it closes the connection, which releases the lock.
pub struct RunnerLock {
    _session: Session,
}

pub fn acquire(target: &Endpoint, timeout: Duration, log: super::Log) -> Result<RunnerLock, ExecError> {
    let session = Session::open_writable(target).map_err(ExecError::RunnerLock)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(25);
    let mut announced = false;
    loop {
        let rows = session
            .query("runner lock", "SELECT pg_try_advisory_lock($1, $2)", &[&KEY.0, &KEY.1])
            .map_err(ExecError::RunnerLock)?;
        if rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
            return Ok(RunnerLock { _session: session });
        }
        let holder = holder(&session);
        if started.elapsed() >= timeout {
            return Err(ExecError::RunnerBusy { holder, waited_ms: timeout.as_millis() as f64 });
        }
        if !announced {
            log(&format!("waiting for another lockgate apply to finish ({holder})"));
            announced = true;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Who holds the runner lock: pid, application, client, and for how long it has been connected.
fn holder(session: &Session) -> String {
    let rows = session.query(
        "runner lock holder",
        "SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), 'local'), \
                EXTRACT(epoch FROM now() - a.backend_start)::float8 \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid AND l.objsubid = 2 AND l.granted",
        &[&KEY.0, &KEY.1],
    );
    match rows.ok().and_then(|rows| rows.into_iter().next()) {
        Some(row) => format!(
            "pid {} `{}` from {}, connected {}",
            row.get::<_, i32>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            crate::units::seconds(row.get::<_, f64>(3) * 1000.0)
        ),
        None => "holder not visible to this role".into(),
    }
}
