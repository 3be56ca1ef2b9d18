//! Waiting for a snapshot to become usable, with our own interval (the AWS SDK's waiter backs
//! off to 30 minutes between polls) and a bounded wait. The state source and the clock are
//! seams, so the paths are tested without sleeping.

use std::time::Duration;

use super::SnapshotError;

/// A snapshot's state as its provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `creating`, `available`, `failed`, …
    pub status: String,
    pub percent: Option<i32>,
}

/// Elapsed time and sleeping: the real clock, or a test's.
pub trait Clock {
    fn elapsed(&self) -> Duration;
    fn sleep(&mut self, duration: Duration);
}

/// The wall clock.
pub struct Wall(std::time::Instant);

impl Wall {
    pub fn start() -> Wall {
        Wall(std::time::Instant::now())
    }
}

impl Clock for Wall {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Polls `state` every `interval` until the snapshot is `available`; fails when it fails or
/// when `timeout` passes first. Each poll is reported through `log`.
pub fn until_available(
    id: &str,
    mut state: impl FnMut() -> Result<State, SnapshotError>,
    clock: &mut dyn Clock,
    interval: Duration,
    timeout: Duration,
    log: &mut dyn FnMut(&str),
) -> Result<(), SnapshotError> {
    loop {
        let now = state()?;
        let percent = now.percent.map(|p| format!(" {p}%")).unwrap_or_default();
        log(&format!("snapshot {id}: {}{percent} after {} s", now.status, clock.elapsed().as_secs()));
        match now.status.as_str() {
            "available" => return Ok(()),
            status if in_progress(status) => {}
            other => return Err(SnapshotError::Failed { id: id.to_string(), status: other.to_string() }),
        }
        if clock.elapsed() + interval > timeout {
            return Err(SnapshotError::TimedOut { id: id.to_string(), waited_s: clock.elapsed().as_secs() });
        }
        clock.sleep(interval);
    }
}

/// A snapshot on its way to `available`.
pub fn in_progress(status: &str) -> bool {
    matches!(status, "creating" | "backing-up" | "pending" | "copying" | "modifying")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that moves only when slept on.
    struct Fake(Duration);

    impl Clock for Fake {
        fn elapsed(&self) -> Duration {
            self.0
        }

        fn sleep(&mut self, duration: Duration) {
            self.0 += duration;
        }
    }

    fn run(states: &[(&str, Option<i32>)], timeout_s: u64) -> (Result<(), SnapshotError>, Vec<String>, Duration) {
        let mut scripted = states.iter().map(|(s, p)| State { status: s.to_string(), percent: *p });
        let mut clock = Fake(Duration::ZERO);
        let mut lines = vec![];
        let result = until_available(
            "snap",
            || scripted.next().ok_or_else(|| SnapshotError::Disappeared { id: "snap".into() }),
            &mut clock,
            Duration::from_secs(10),
            Duration::from_secs(timeout_s),
            &mut |line| lines.push(line.to_string()),
        );
        (result, lines, clock.0)
    }

    #[test]
    fn creating_then_available_reports_progress_at_our_interval() {
        let (result, lines, waited) =
            run(&[("creating", Some(0)), ("creating", Some(40)), ("available", Some(100))], 600);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(waited, Duration::from_secs(20));
        assert_eq!(lines[1], "snapshot snap: creating 40% after 10 s");
    }

    #[test]
    fn creating_then_failed_stops_the_phase() {
        let (result, _, _) = run(&[("creating", None), ("failed", None)], 600);
        assert!(result.unwrap_err().to_string().contains("snapshot snap is failed"));
    }

    #[test]
    fn a_snapshot_still_creating_at_the_timeout_stops_the_phase() {
        let (result, lines, waited) = run(&[("creating", Some(5)); 10], 25);
        assert!(result.unwrap_err().to_string().contains("not available after 20 s"));
        assert_eq!(lines.len(), 3);
        assert_eq!(waited, Duration::from_secs(20));
    }
}
