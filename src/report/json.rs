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
    path: &'a str,
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
    let mut out = vec![];
    // Writing to memory cannot fail.
    let _ = write(result, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the report as it is rendered: large projects have tens of thousands of findings, so
/// they are rendered in parallel a chunk at a time and never held as one big string.
/// Compact output: machines read it, and a large project's report is megabytes.
pub fn write(result: &LintResult, out: &mut impl std::io::Write) -> std::io::Result<()> {
    const CHUNK: usize = 4096;
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
    write!(out, "{{\"schema_version\":{SCHEMA_VERSION},\"summary\":{},\"findings\":[", json_string(&summary))?;
    for (index, chunk) in result.findings.chunks(CHUNK).enumerate() {
        // One buffer per task, not one string per finding.
        let rendered: Vec<Vec<u8>> = chunk.par_chunks(CHUNK / 16).map(render_list).collect();
        for (part, text) in rendered.iter().enumerate() {
            if index > 0 || part > 0 {
                out.write_all(b",")?;
            }
            out.write_all(text)?;
        }
    }
    out.write_all(b"]}\n")
}

/// The findings as JSON objects, comma-separated.
fn render_list(findings: &[crate::rules::Finding]) -> Vec<u8> {
    let mut out = Vec::with_capacity(findings.len() * 512);
    for (index, f) in findings.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        // Serializing into memory cannot fail.
        let _ = serde_json::to_writer(&mut out, &finding(f));
    }
    out
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
