//! The gate's verdicts for people (a table per migration) and for pipelines (JSON).

use std::fmt::Write;

use super::{CheckReport, MigrationReport, Verdict};
use crate::estimate::Duration;
use crate::units::{count, seconds};

fn range(d: &Duration) -> String {
    if d.expected_ms < 1000.0 {
        seconds(d.expected_ms)
    } else {
        format!("{} ({}–{})", seconds(d.expected_ms), seconds(d.low_ms), seconds(d.high_ms))
    }
}

pub fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    let pending = report.migrations.len();
    let _ = writeln!(
        out,
        "lockgate check · {} · PostgreSQL {} · {} read, {} applied, {} pending",
        report.database, report.server_version, report.migrations_read, report.applied, pending
    );
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for migration in &report.migrations {
        out.push('\n');
        write_migration(&mut out, migration);
    }
    if pending == 0 {
        let _ = writeln!(out, "\nnothing pending: the database has every migration read");
    }
    let counts: Vec<String> = [Verdict::Run, Verdict::OffPeak, Verdict::Batch, Verdict::Blocked, Verdict::Unsafe]
        .iter()
        .map(|v| format!("{} {}", report.count(*v), v.name()))
        .collect();
    let _ = writeln!(
        out,
        "\nsummary: {} → {} (exit {})",
        counts.join(" · "),
        report.verdict.name(),
        report.verdict.exit_code()
    );
    out
}

fn write_migration(out: &mut String, migration: &MigrationReport) {
    let _ = writeln!(out, "{:<8} {}  {}", migration.verdict.name(), migration.id, migration.path);
    let rows: Vec<[String; 5]> = migration
        .statements
        .iter()
        .filter(|s| !s.locks.is_empty())
        .map(|s| {
            let locks: Vec<String> =
                s.locks.iter().map(|l| format!("{} {} ({})", l.mode, l.relation, work_name(l.work))).collect();
            [s.line.to_string(), locks.join(", "), count(s.rows), range(&s.duration), range(&s.hold)]
        })
        .collect();
    if !rows.is_empty() {
        let header = ["line", "lock", "rows", "runs", "holds locks"];
        let widths: Vec<usize> = (0..5)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: [&str; 5]| {
            format!(
                "  {:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        };
        let _ = writeln!(out, "{}", line(header).trim_end());
        let statements = migration.statements.iter().filter(|s| !s.locks.is_empty());
        for (row, statement) in rows.iter().zip(statements) {
            let _ = writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]).trim_end());
            let _ = writeln!(out, "  {:w$}  {}", "", statement.text, w = widths[0]);
        }
    }
    for reason in &migration.reasons {
        let _ = writeln!(out, "  why: {reason}");
    }
    for blocker in &migration.blockers {
        let _ = writeln!(out, "  blocker: pid {} {}", blocker.pid, blocker.reason);
        if !blocker.query.is_empty() {
            let _ = writeln!(out, "           query: {}", blocker.query);
        }
    }
    for finding in migration.findings.iter().filter(|f| f.severity == crate::rules::Severity::Error && !f.blocks) {
        let context = finding.at_this_size.as_deref().unwrap_or_default();
        let _ = writeln!(out, "  lint error weighed: {} (line {}): {context}", finding.rule, finding.line);
    }
    let warnings: Vec<String> = migration
        .findings
        .iter()
        .filter(|f| f.severity == crate::rules::Severity::Warning)
        .map(|f| format!("{} (line {})", f.rule, f.line))
        .collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "  lint warnings: {}; `lockgate lint` explains them", warnings.join(", "));
    }
}

/// The work's short name in the table of statements.
pub fn work_name(work: crate::locks::Work) -> &'static str {
    use crate::locks::Work;
    match work {
        Work::Catalog => "catalog",
        Work::Scan => "scan",
        Work::ValidateForeignKey => "FK validation",
        Work::Rewrite => "rewrite",
        Work::IndexBuild => "index build",
        Work::ConcurrentIndexBuild => "concurrent index build",
        Work::FileCopy => "file copy",
        Work::RowChanges => "row changes",
        Work::WaitForTransactions => "waits for transactions",
    }
}

/// A pull-request comment: one section per tier, each migration with the reason it is there,
/// and the lint errors that today's sizes make harmless.
pub fn markdown(report: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### lockgate check: {} (PostgreSQL {}, {} pending)\n",
        report.verdict.name(),
        report.server_version,
        report.migrations.len()
    );
    let tiers = [
        (Verdict::Run, "Fits the deploy at today's sizes"),
        (Verdict::OffPeak, "Needs an off-peak window"),
        (Verdict::Batch, "Needs a batched job apart from the deploy"),
        (Verdict::Blocked, "Blocked by sessions running now"),
        (Verdict::Unsafe, "Unsafe"),
    ];
    for (verdict, title) in tiers {
        let migrations: Vec<&MigrationReport> = report.migrations.iter().filter(|m| m.verdict == verdict).collect();
        if migrations.is_empty() {
            continue;
        }
        let _ = writeln!(out, "**{title}**\n");
        for migration in migrations {
            let _ = writeln!(out, "- `{}` ({})", migration.id, migration.path);
            for reason in &migration.reasons {
                let _ = writeln!(out, "  - {reason}");
            }
            let weighed =
                migration.findings.iter().filter(|f| f.severity == crate::rules::Severity::Error && !f.blocks);
            for finding in weighed {
                let context = finding.at_this_size.as_deref().unwrap_or_default();
                let _ = writeln!(out, "  - `{}` (line {}): {context}", finding.rule, finding.line);
            }
        }
        out.push('\n');
    }
    for note in &report.notes {
        let _ = writeln!(out, "> {note}");
    }
    out
}

pub fn json(report: &CheckReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
