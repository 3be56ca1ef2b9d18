//! GitLab Code Quality (`--format gitlab`): a JSON array GitLab reads from a
//! `codequality` report artifact and shows in the merge request. GitLab compares reports of
//! the base and the merge request by fingerprint, so fingerprints hash what a finding is about
//! (rule, file, statement text), never its line: a finding that only moved is not "new".

use serde::Serialize;

use super::{fingerprints, location};
use crate::analysis::LintResult;
use crate::rules::Severity;

#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

pub fn render(result: &LintResult) -> String {
    let issues: Vec<Issue> = result
        .findings
        .iter()
        .zip(fingerprints(result))
        .map(|(finding, fingerprint)| {
            let at = location(finding);
            Issue {
                description: format!("{} (help: {})", finding.message, finding.help),
                check_name: finding.rule,
                fingerprint,
                severity: severity(finding.severity),
                location: Location { path: at.path, lines: Lines { begin: at.line, end: at.end_line } },
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

/// GitLab's five levels for lockgate's three: an error blocks production traffic (`critical`);
/// a warning is a real risk that depends on circumstances (`major`); a note is advice a
/// reviewer may act on (`minor`). `blocker` is left unused: every finding is still a
/// reviewer's call, which `blocker` would overstate.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "minor",
    }
}
