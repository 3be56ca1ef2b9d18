//! Output formats for lint results, one file each: text for people, the stable JSON for
//! scripts, and the formats CI systems read (SARIF, GitHub annotations, GitLab Code Quality,
//! a Markdown PR comment).

mod github;
mod gitlab;
mod json;
mod markdown;
mod sarif;
mod text;

use std::collections::HashMap;

pub use github::render as github;
pub use gitlab::render as gitlab;
pub use json::render as json;
pub use json::write as write_json;
pub use markdown::render as markdown;
pub use sarif::render as sarif;
pub use text::write as write_text;

use crate::analysis::LintResult;
use crate::rules::{Finding, Severity};

/// Where a finding is: 1-based lines and columns (in characters), the end exclusive.
struct Location {
    /// The path as shown everywhere else, with `/` separators.
    path: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn location(finding: &Finding) -> Location {
    let (line, column) = finding.source.line_col(finding.span.start);
    let (end_line, end_column) = finding.source.line_col(finding.span.end);
    Location { path: slash_path(finding.source.display_path()), line, column, end_line, end_column }
}

/// CI systems and URIs want `/` between path components on every platform.
fn slash_path(path: &str) -> String {
    if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    }
}

/// The source under a finding with whitespace collapsed, so re-indenting a statement or moving
/// it down the file does not make it a different one.
fn statement_text(finding: &Finding) -> String {
    let text = &finding.source.text;
    let span = finding.span;
    let code = text.get(span.start..span.end.min(text.len())).unwrap_or_default();
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stable id for each finding: a hash of the rule, the path and the statement's text (the
/// message for findings about a whole file), never line numbers, so a finding keeps its id
/// when lines are added above it. Identical statements in one file are numbered in order.
fn fingerprints(result: &LintResult) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    result
        .findings
        .iter()
        .map(|finding| {
            let statement = statement_text(finding);
            let subject = if statement.is_empty() { finding.message.clone() } else { statement };
            let key = format!("{}\0{}\0{subject}", finding.rule, location(finding).path);
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            format!("{:x}", md5::compute(format!("{key}\0{occurrence}")))
        })
        .collect()
}

/// Where a rule's page is published, from the package's repository address.
fn rule_page_url(rule: &str) -> String {
    format!("{}/blob/main/rules/{rule}.md", env!("CARGO_PKG_REPOSITORY"))
}

/// `3 errors`, `1 warning`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The summary every format ends with: counts and coverage.
fn summary_line(result: &LintResult) -> String {
    let mut line = format!(
        "{}, {}, {} in {}{}; {} analyzed, {} not analyzed",
        plural(result.count(Severity::Error), "error"),
        plural(result.count(Severity::Warning), "warning"),
        plural(result.count(Severity::Info), "note"),
        plural(result.migrations, "migration"),
        if result.recognised.is_empty() { String::new() } else { format!(" ({})", result.recognised) },
        plural(result.statements_analyzed, "statement"),
        result.statements_unanalyzed,
    );
    if result.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", result.suppressed));
    }
    if result.meta_commands_skipped > 0 {
        line.push_str(&format!("; {} psql meta-commands skipped", result.meta_commands_skipped));
    }
    if result.psql_variables_substituted > 0 {
        line.push_str(&format!("; {} psql variables substituted", result.psql_variables_substituted));
    }
    if result.templates_substituted > 0 {
        line.push_str(&format!("; {} read as names", plural(result.templates_substituted, "template expression")));
    }
    if result.replayed_only > 0 {
        line.push_str(&format!("; {} replayed, not reported", plural(result.replayed_only, "other migration")));
    }
    line
}
