//! Backfill progress: a bar with rows/s and ETA on a terminal, a plain line every few seconds
//! otherwise, and JSON events (one object per line) for pipelines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::plan::Step;

/// The file for progress events cannot be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot write progress events to {}: {source}", path.display())]
pub struct EventsFileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

pub struct Progress {
    terminal: bool,
    bar: Option<ProgressBar>,
    events: Option<BufWriter<File>>,
    started: Instant,
    last_line: Instant,
    rows_at_start: i64,
}

impl Progress {
    /// `terminal`: draw a bar (else plain lines); `events`: a file for JSON events.
    pub fn new(terminal: bool, events: Option<&Path>) -> Result<Progress, EventsFileError> {
        let events = events
            .map(|path| {
                let file = File::create(path).map_err(|source| EventsFileError { path: path.to_path_buf(), source })?;
                Ok(BufWriter::new(file))
            })
            .transpose()?;
        Ok(Progress {
            terminal,
            bar: None,
            events,
            started: Instant::now(),
            last_line: Instant::now(),
            rows_at_start: 0,
        })
    }

    pub fn start(&mut self, step: &Step, total: Option<u64>, done: i64) {
        self.started = Instant::now();
        self.last_line = Instant::now();
        self.rows_at_start = done;
        if self.terminal {
            let bar = ProgressBar::new(total.unwrap_or(0).max(done as u64));
            let template = "{msg} [{bar:30}] {pos}/{len} rows · {per_sec} · ETA {eta}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(step.id.clone());
            bar.set_position(done as u64);
            self.bar = Some(bar);
        }
        self.event(step, "started", &[("rows_done", done.into()), ("total_rows", total.into())]);
    }

    pub fn batch(&mut self, step: &Step, rows_done: i64, batch_rows: u64, took: Duration, cursor: &[String]) {
        if let Some(bar) = &self.bar {
            bar.set_position(rows_done as u64);
        } else if self.last_line.elapsed() >= Duration::from_secs(5) {
            eprintln!("{}: {rows_done} rows, {:.0} rows/s, batches of {batch_rows}", step.id, self.rate(rows_done));
            self.last_line = Instant::now();
        }
        self.event(
            step,
            "batch",
            &[
                ("rows_done", rows_done.into()),
                ("batch_rows", batch_rows.into()),
                ("batch_ms", (took.as_secs_f64() * 1000.0).into()),
                ("cursor", json!(cursor)),
            ],
        );
    }

    pub fn finish(&mut self, step: &Step, rows_done: i64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.event(step, "done", &[("rows_done", rows_done.into()), ("rows_per_s", self.rate(rows_done).into())]);
    }

    pub fn event(&mut self, step: &Step, event: &str, fields: &[(&str, Value)]) {
        let Some(out) = &mut self.events else { return };
        let mut object = json!({ "time": super::window::now().to_string(), "event": event, "step": step.id });
        for (key, value) in fields {
            object[*key] = value.clone();
        }
        let _ = writeln!(out, "{object}").and_then(|()| out.flush());
    }

    fn rate(&self, rows_done: i64) -> f64 {
        (rows_done - self.rows_at_start) as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
    }
}
