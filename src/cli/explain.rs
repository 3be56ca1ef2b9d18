//! `lockgate explain <rule>`: prints the rule's page.

use clap::Args;

#[derive(Args)]
pub struct ExplainArgs {
    /// A rule id, as listed by `lockgate rules`.
    rule: String,
}

pub fn run(args: ExplainArgs) -> Result<u8, String> {
    match crate::rules::page(&args.rule) {
        Some(text) => {
            super::output::print(text, "the rule's page")?;
            Ok(0)
        }
        None => Err(format!("no rule `{}`; `lockgate rules` lists them", args.rule)),
    }
}
