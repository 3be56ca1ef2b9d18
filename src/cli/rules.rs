//! `lockgate rules`: the catalog, one line per rule.

use clap::Args;
use serde::Serialize;

use super::{Error, ListFormat};
use crate::rules::{Severity, REGISTRY};

#[derive(Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

#[derive(Serialize)]
struct Entry {
    id: &'static str,
    severity: Severity,
    summary: &'static str,
}

pub fn run(args: RulesArgs) -> Result<u8, Error> {
    let entries: Vec<Entry> =
        REGISTRY.iter().map(|r| Entry { id: r.id, severity: r.severity, summary: r.summary }).collect();
    match args.format {
        ListFormat::Json => {
            let json = serde_json::to_string_pretty(&entries).map_err(Error::json("the rules"))?;
            super::output::print(&(json + "\n"), "the rules")?;
        }
        ListFormat::Text => {
            let width = entries.iter().map(|e| e.id.len()).max().unwrap_or(0);
            let lines: Vec<String> = entries
                .iter()
                .map(|e| format!("{:<width$}  {:<7}  {}\n", e.id, e.severity.as_str(), e.summary))
                .collect();
            super::output::print(&lines.concat(), "the rules")?;
        }
        ListFormat::Markdown => super::output::print(&crate::rules::markdown_tables(), "the rules")?,
    }
    Ok(0)
}
