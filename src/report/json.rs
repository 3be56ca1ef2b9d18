//! The stable JSON output (`--format json`). Bump `SCHEMA_VERSION` on any incompatible change.

use serde::Serialize;

use crate::analysis::LintResult;
use crate::rules::Severity;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    summary: Summary,
    findings: Vec<Finding<'a>>,
}

#[derive(Serialize)]
struct Summary {
    migrations: usize,
    statements_analyzed: usize,
    statements_unanalyzed: usize,
    meta_commands_skipped: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    suppressed: usize,
}

#[derive(Serialize)]
struct Finding<'a> {
    rule: &'a str,
    severity: Severity,
    path: String,
    migration: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    lock: Option<&'a str>,
    help: &'a str,
}

pub fn render(result: &LintResult) -> String {
    let findings = result
        .findings
        .iter()
        .map(|f| {
            let (line, column) = f.source.line_col(f.span.start);
            let (end_line, end_column) = f.source.line_col(f.span.end);
            Finding {
                rule: f.rule,
                severity: f.severity,
                path: f.source.display_path(),
                migration: &f.migration_id,
                line,
                column,
                end_line,
                end_column,
                message: &f.message,
                lock: f.lock.as_deref(),
                help: &f.help,
            }
        })
        .collect();
    let output = Output {
        schema_version: SCHEMA_VERSION,
        summary: Summary {
            migrations: result.migrations,
            statements_analyzed: result.statements_analyzed,
            statements_unanalyzed: result.statements_unanalyzed,
            meta_commands_skipped: result.meta_commands_skipped,
            errors: result.count(Severity::Error),
            warnings: result.count(Severity::Warning),
            infos: result.count(Severity::Info),
            suppressed: result.suppressed,
        },
        findings,
    };
    // Compact: machines read it, and a large project's report is megabytes.
    let mut text = serde_json::to_string(&output).unwrap_or_default();
    text.push('\n');
    text
}
