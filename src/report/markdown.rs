//! A pull-request comment (`--format markdown`): a table of counts per migration, then one short
//! section per finding with the statement, the lock and the safe alternative. Written to be
//! posted as is (or appended to `$GITHUB_STEP_SUMMARY`), so it stays compact.

use std::fmt::Write;

use super::{location, summary_line};
use crate::analysis::LintResult;
use crate::rules::{Finding, Severity};

/// Statements longer than this are cut in the comment; the location leads to the rest.
const SNIPPET_LINES: usize = 4;

/// Sections shown: GitHub rejects comments over 65,536 characters, and a comment that long is
/// not read anyway. The table still counts every finding.
const MAX_SECTIONS: usize = 50;

pub fn render(result: &LintResult) -> String {
    let mut out = String::new();
    if result.findings.is_empty() {
        let _ = writeln!(out, "### lockgate: no findings\n\n{}", summary_line(result));
        return out;
    }
    let _ = writeln!(out, "### lockgate\n\n{}\n", summary_line(result));
    out.push_str(&table(result));
    // Most severe first, so that a cut comment still shows every error.
    let mut findings: Vec<&Finding> = result.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for finding in findings.iter().take(MAX_SECTIONS) {
        out.push('\n');
        out.push_str(&section(finding));
    }
    if findings.len() > MAX_SECTIONS {
        let more = findings.len() - MAX_SECTIONS;
        let _ = writeln!(out, "\n…and {more} more; run `lockgate lint` for the full report.");
    }
    out
}

/// Counts per migration with findings, in report order, and the totals.
fn table(result: &LintResult) -> String {
    let mut rows: Vec<(String, [usize; 3])> = vec![];
    for finding in &result.findings {
        let path = location(finding).path;
        let column = column_of(finding.severity);
        match rows.iter_mut().find(|(p, _)| *p == path) {
            Some((_, counts)) => counts[column] += 1,
            None => {
                let mut counts = [0; 3];
                counts[column] = 1;
                rows.push((path, counts));
            }
        }
    }
    let mut out = String::from("| migration | errors | warnings | notes |\n|---|--:|--:|--:|\n");
    for (path, [errors, warnings, notes]) in &rows {
        let _ = writeln!(out, "| `{}` | {errors} | {warnings} | {notes} |", path.replace('|', "\\|"));
    }
    let total = |s| result.count(s);
    let _ = writeln!(
        out,
        "| **total** | **{}** | **{}** | **{}** |",
        total(Severity::Error),
        total(Severity::Warning),
        total(Severity::Info)
    );
    out
}

fn column_of(severity: Severity) -> usize {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

fn section(finding: &Finding) -> String {
    let at = location(finding);
    let label = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    let mut out = format!("#### {label}: `{}` at `{}:{}`\n\n{}\n", finding.rule, at.path, at.line, finding.message);
    if let Some(snippet) = snippet(finding) {
        out.push('\n');
        out.push_str(&snippet);
    }
    if let Some(lock) = &finding.lock {
        let _ = write!(out, "\n**Lock:** {lock}  ");
    }
    let _ = writeln!(out, "\n**Safe alternative:** {}", finding.help);
    out
}

/// The first lines of the statement, whole lines (a finding on one token still shows its
/// line), fenced in the file's language.
fn snippet(finding: &Finding) -> Option<String> {
    let text = finding.source.text_lf();
    let (start, end) = (finding.span.start.min(text.len()), finding.span.end.min(text.len()));
    if text.get(start..end)?.trim().is_empty() {
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let code = text[line_start..line_end].trim_end();
    let lines: Vec<&str> = code.lines().collect();
    let mut shown = lines[..lines.len().min(SNIPPET_LINES)].join("\n");
    if lines.len() > SNIPPET_LINES {
        shown.push_str("\n…");
    }
    let language = if finding.source.path.extension().is_some_and(|e| e == "py") { "python" } else { "sql" };
    // A statement that itself holds a backtick fence gets a tilde fence.
    let fence = if shown.contains("```") { "~~~" } else { "```" };
    Some(format!("{fence}{language}\n{shown}\n{fence}\n"))
}
