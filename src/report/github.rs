//! GitHub Actions workflow commands (`--format github`, the default under `GITHUB_ACTIONS=true`):
//! one `::error`/`::warning`/`::notice` line per finding, which GitHub shows as an annotation
//! on the pull request's diff, then the summary as a plain log line.

use super::{location, summary_line};
use crate::analysis::LintResult;
use crate::rules::{Finding, Severity};

pub fn render(result: &LintResult) -> String {
    let mut out = String::new();
    for finding in &result.findings {
        out.push_str(&annotation(finding));
        out.push('\n');
    }
    out.push_str(&summary_line(result));
    out.push('\n');
    out
}

fn annotation(finding: &Finding) -> String {
    let command = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let at = location(finding);
    let properties = [
        ("file", at.path),
        ("line", at.line.to_string()),
        ("endLine", at.end_line.to_string()),
        ("col", at.column.to_string()),
        ("endColumn", at.end_column.to_string()),
        ("title", finding.rule.to_string()),
    ];
    let properties: Vec<String> =
        properties.iter().map(|(name, value)| format!("{name}={}", escape_property(value))).collect();
    let message = format!("{}\nhelp: {}", finding.message, finding.help);
    format!("::{command} {}::{}", properties.join(","), escape_data(&message))
}

/// The message part: `%`, CR and LF would end or corrupt the command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Property values also end at `,` (next property) and `:` (the message).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_workflow_command_rules() {
        assert_eq!(escape_data("100% done\r\nnext: a, b"), "100%25 done%0D%0Anext: a, b");
        assert_eq!(escape_property("C:\\db\\a,b.sql"), "C%3A\\db\\a%2Cb.sql");
    }
}
