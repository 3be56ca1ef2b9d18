//! `lockgate completions <shell>`: a completion script generated from the same clap definition
//! the binary parses with, so it never lags behind the options.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<u8, String> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "lockgate", &mut std::io::stdout());
    Ok(0)
}
