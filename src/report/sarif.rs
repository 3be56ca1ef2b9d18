//! SARIF 2.1.0 (`--format sarif`), the format code-scanning services import (GitHub code
//! scanning, Azure DevOps, most IDE viewers). One run; the driver lists every active rule so
//! results can name theirs by index.

use serde_json::{json, Value};

use super::{fingerprints, location, rule_page_url};
use crate::analysis::LintResult;
use crate::config::Config;
use crate::rules::{self, Finding, Severity, REGISTRY};

const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn render(result: &LintResult, config: &Config) -> String {
    let active: Vec<(&rules::Rule, Severity)> = REGISTRY
        .iter()
        .filter_map(|rule| config.severity_of(rule.id, rule.severity).map(|severity| (*rule, severity)))
        .collect();
    let descriptors: Vec<Value> = active.iter().map(|(rule, severity)| descriptor(rule, *severity)).collect();
    let results: Vec<Value> = result
        .findings
        .iter()
        .zip(fingerprints(result))
        .map(|(finding, fingerprint)| {
            let index = active.iter().position(|(rule, _)| rule.id == finding.rule);
            sarif_result(finding, index, &fingerprint)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "lockgate",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": descriptors,
            }},
            // Columns count characters, as in every other lockgate output.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn descriptor(rule: &rules::Rule, severity: Severity) -> Value {
    json!({
        "id": rule.id,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rules::description(rule.id).unwrap_or(rule.summary) },
        "helpUri": rule_page_url(rule.id),
        "defaultConfiguration": { "level": level(severity) },
    })
}

fn sarif_result(finding: &Finding, rule_index: Option<usize>, fingerprint: &str) -> Value {
    let at = location(finding);
    let mut value = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": format!("{}\nhelp: {}", finding.message, finding.help) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": uri(&at.path) },
            "region": {
                "startLine": at.line,
                "startColumn": at.column,
                "endLine": at.end_line,
                "endColumn": at.end_column,
            },
        }}],
        // Code scanning follows an alert across commits by this, not by its line.
        "partialFingerprints": { "lockgate/v1": fingerprint },
    });
    if let Some(index) = rule_index {
        value["ruleIndex"] = json!(index);
    }
    if let Some(lock) = &finding.lock {
        value["properties"] = json!({ "lock": lock });
    }
    value
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference (`a b.sql` → `a%20b.sql`); an absolute one as a `file:`
/// URI.
fn uri(path: &str) -> String {
    let mut encoded = String::new();
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("db/0001 add x.sql"), "db/0001%20add%20x.sql");
        assert_eq!(uri("/srv/app/db/é.sql"), "file:///srv/app/db/%C3%A9.sql");
    }
}
