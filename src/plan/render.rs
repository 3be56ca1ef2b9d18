//! A plan for people: the terminal view, the Markdown for the pull request's sign-off, and
//! the dry run (every statement with the settings it would run under).

use std::fmt::Write;

use super::{FrameworkRun, Phase, Plan, Step, TimeoutClass};
use crate::units::seconds;

/// The timeouts a step runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
}

impl Timeouts {
    /// The settings for a step, in the order they are sent.
    pub fn settings(&self, step: &Step, lock_timeout_ms: u64) -> Vec<String> {
        let scope = if step.transaction { "SET LOCAL" } else { "SET" };
        vec![
            format!("{scope} lock_timeout = '{lock_timeout_ms}ms'"),
            format!("{scope} statement_timeout = '{}ms'", self.statement_timeout(step)),
        ]
    }

    /// The same settings for a framework's own connection: libpq reads `PGOPTIONS` when it
    /// connects, so every statement of the framework's session runs under them.
    pub fn pgoptions(&self, step: &Step, lock_timeout_ms: u64) -> String {
        format!("-c lock_timeout={lock_timeout_ms}ms -c statement_timeout={}ms", self.statement_timeout(step))
    }

    fn statement_timeout(&self, step: &Step) -> u64 {
        match step.timeout {
            TimeoutClass::Short => self.statement_timeout_ms,
            TimeoutClass::Unbounded => 0,
        }
    }
}

/// `$ python manage.py migrate shop 0004_x` and what the framework step holds, for the plan's
/// readers.
fn framework_lines(run: &FrameworkRun) -> Vec<String> {
    let mut lines = vec![format!("$ (cd {}) {}", run.directory, run.command.join(" "))];
    lines.extend(run.why.iter().map(|why| format!("framework step because {why}")));
    lines.extend(
        run.would_have_recipes.iter().map(|op| format!("would have a safe recipe in a migration of its own: {op}")),
    );
    lines
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
            for line in step.framework.iter().flat_map(framework_lines) {
                let _ = writeln!(out, "      {line}");
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
            for line in step.framework.iter().flat_map(framework_lines) {
                let _ = writeln!(out, "-- {line}");
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
        if let Some(run) = &step.framework {
            let options = timeouts.pgoptions(step, timeouts.lock_timeout_ms);
            let _ = writeln!(out, "-- $ (cd {}) PGOPTIONS='{options}' {}\n", run.directory, run.command.join(" "));
            continue;
        }
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
