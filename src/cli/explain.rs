//! `lockgate explain <rule>`: prints the rule's page.

use clap::Args;

use super::Error;

#[derive(Args)]
pub struct ExplainArgs {
    /// A rule id, as listed by `lockgate rules`.
    rule: String,
}

pub fn run(args: ExplainArgs) -> Result<u8, Error> {
    match crate::rules::page(&args.rule) {
        Some(text) => {
            super::output::print(text, "the rule's page")?;
            Ok(0)
        }
        None => Err(Error::UnknownRule(args.rule)),
    }
}
