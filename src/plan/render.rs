//! A plan for people: the terminal view, the Markdown for the pull request's sign-off, and
//! the dry run (every statement with the settings it would run under).

use std::fmt::Write;

use super::{Phase, Plan, Step, TimeoutClass};
use crate::gate::report::seconds;

/// The timeouts a step runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
}

impl Timeouts {
    /// The settings for a step, in the order they are sent.
    pub fn settings(&self, step: &Step, lock_timeout_ms: u64) -> Vec<String> {
        let statement = match step.timeout {
            TimeoutClass::Short => self.statement_timeout_ms,
            TimeoutClass::Unbounded => 0,
        };
        let scope = if step.transaction { "SET LOCAL" } else { "SET" };
        vec![
            format!("{scope} lock_timeout = '{lock_timeout_ms}ms'"),
            format!("{scope} statement_timeout = '{statement}ms'"),
        ]
    }
}

fn locks(step: &Step) -> String {
    let locks: Vec<String> = step.locks.iter().map(|l| format!("{} on {}", l.mode, l.relation)).collect();
    if locks.is_empty() {
        "no table lock".into()
    } else {
        locks.join(", ")
    }
}

pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {} · {} · PostgreSQL {}",
        &plan.checksum[..12.min(plan.checksum.len())],
        plan.database,
        plan.server_version
    );
    let _ = writeln!(out, "{} migrations, {} steps", plan.migrations.len(), plan.steps.len());
    for phase in Phase::ALL {
        let steps: Vec<&Step> = plan.steps_in(phase).collect();
        if steps.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({} steps)", phase.name(), steps.len());
        for step in steps {
            let recipe = step.recipe.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
            let _ = writeln!(out, "  {}  {}{recipe}", step.id, step.title);
            let _ = writeln!(
                out,
                "      {} · ~{} · {}{}",
                locks(step),
                seconds(step.estimate.expected_ms),
                if step.transaction { "in a transaction" } else { "outside a transaction" },
                if step.timeout == TimeoutClass::Unbounded { ", no statement timeout" } else { "" }
            );
            for sql in &step.sql {
                let _ = writeln!(out, "      {sql};");
            }
            if let Some(note) = &step.note {
                let _ = writeln!(out, "      note: {note}");
            }
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "\nleft out (the executor runs each step in its own transaction with its own timeouts):");
    }
    for skipped in &plan.skipped {
        let _ = writeln!(out, "  {}:{}: {}", skipped.source.path, skipped.source.line, skipped.text);
    }
    out
}

pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### lockgate plan `{}`\n", &plan.checksum[..12.min(plan.checksum.len())]);
    let _ = writeln!(
        out,
        "{} · PostgreSQL {} · {} migrations\n",
        plan.database,
        plan.server_version,
        plan.migrations.len()
    );
    for phase in Phase::ALL {
        let steps: Vec<&Step> = plan.steps_in(phase).collect();
        if steps.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {}\n", phase.name());
        let _ = writeln!(out, "| step | what | lock | estimate | source |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for step in &steps {
            let what = match &step.recipe {
                Some(recipe) => format!("{} (*{recipe}*)", step.title),
                None => step.title.clone(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | `{}:{}` |",
                step.id,
                what.replace('|', "\\|"),
                locks(step),
                seconds(step.estimate.expected_ms),
                step.source.path,
                step.source.line
            );
        }
        let _ = writeln!(out, "\n<details><summary>SQL</summary>\n\n```sql");
        for step in steps {
            let _ = writeln!(out, "-- {}", step.id);
            for sql in &step.sql {
                let _ = writeln!(out, "{sql};");
            }
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    let notes: Vec<&Step> = plan.steps.iter().filter(|s| s.note.is_some()).collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "#### notes\n");
        for step in notes {
            let _ = writeln!(out, "- `{}`: {}", step.id, step.note.as_deref().unwrap_or_default());
        }
    }
    out
}

/// Every statement a phase would send, with its settings; nothing runs.
pub fn dry_run(plan: &Plan, phase: Phase, timeouts: &Timeouts) -> String {
    let mut out = String::new();
    for step in plan.steps_in(phase) {
        let _ = writeln!(out, "-- {} ({}): {}", step.id, step.source.path, step.title);
        let settings = timeouts.settings(step, timeouts.lock_timeout_ms);
        if step.transaction {
            let _ = writeln!(out, "BEGIN;");
        }
        for line in settings.iter().chain(&step.sql) {
            let _ = writeln!(out, "{line};");
        }
        if step.transaction {
            let _ = writeln!(out, "COMMIT;");
        }
        out.push('\n');
    }
    out
}
