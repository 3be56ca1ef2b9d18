//! `lockgate explain <rule>`: prints the rule's page.

use clap::Args;

include!(concat!(env!("OUT_DIR"), "/rule_pages.rs"));

#[derive(Args)]
pub struct ExplainArgs {
    /// A rule id, as listed by `lockgate rules`.
    rule: String,
}

/// The documentation page of a rule.
pub fn page(rule: &str) -> Option<&'static str> {
    RULE_PAGES.iter().find(|(id, _)| *id == rule).map(|(_, text)| *text)
}

pub fn run(args: ExplainArgs) -> Result<u8, String> {
    match page(&args.rule) {
        Some(text) => {
            print!("{text}");
            Ok(0)
        }
        None => Err(format!("no rule `{}`; `lockgate rules` lists them", args.rule)),
    }
}
