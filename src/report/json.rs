//! The stable JSON output (`--format json`). Bump `SCHEMA_VERSION` on any incompatible change.

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::LintResult;
use crate::rules::Severity;

pub const SCHEMA_VERSION: u32 = 1;

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
    let summary = Summary {
        migrations: result.migrations,
        statements_analyzed: result.statements_analyzed,
        statements_unanalyzed: result.statements_unanalyzed,
        meta_commands_skipped: result.meta_commands_skipped,
        errors: result.count(Severity::Error),
        warnings: result.count(Severity::Warning),
        infos: result.count(Severity::Info),
        suppressed: result.suppressed,
    };
    // Large projects have tens of thousands of findings: render them in parallel, then join.
    // Compact output: machines read it, and a large project's report is megabytes.
    let findings: Vec<String> = result.findings.par_iter().map(|f| json_string(&finding(f))).collect();
    format!(
        "{{\"schema_version\":{SCHEMA_VERSION},\"summary\":{},\"findings\":[{}]}}\n",
        json_string(&summary),
        findings.join(",")
    )
}

fn finding(f: &crate::rules::Finding) -> Finding<'_> {
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
}

fn json_string(value: &impl Serialize) -> String {
    // Serializing these plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}
