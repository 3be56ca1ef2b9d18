//! `lockgate man [SUBCOMMAND]`: manual pages in roff, generated from the clap definition the
//! binary parses with, so they never lag behind the options. Like git, one page per
//! subcommand: `lockgate.1`, `lockgate-lint.1`, …

use clap::{Args, CommandFactory};

use super::{Cli, Error};

#[derive(Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`lint` prints lockgate-lint.1); none: lockgate.1.
    subcommand: Option<String>,
}

pub fn run(args: ManArgs) -> Result<u8, Error> {
    let command = Cli::command();
    let page = match &args.subcommand {
        None => command,
        Some(name) => {
            let sub = command.find_subcommand(name).ok_or_else(|| Error::UnknownSubcommand(name.clone()))?;
            let sub = sub.clone().version(env!("CARGO_PKG_VERSION"));
            sub.display_name(format!("lockgate-{name}")).bin_name(format!("lockgate {name}"))
        }
    };
    let mut roff = vec![];
    clap_mangen::Man::new(page).render(&mut roff).map_err(Error::ManualPage)?;
    super::output::print(&String::from_utf8_lossy(&roff), "the manual page")?;
    Ok(0)
}
