//! `lockgate completions <shell>`: a completion script generated from the same clap definition
//! the binary parses with, so it never lags behind the options.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Error};

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<u8, Error> {
    let mut command = Cli::command();
    // Written to memory first: `generate` panics when its writer fails (a reader that closed
    // the pipe, `| head`), and that is the reader's choice, not an error.
    let mut script = vec![];
    clap_complete::generate(args.shell, &mut command, "lockgate", &mut script);
    super::output::print(&String::from_utf8_lossy(&script), "the completion script")?;
    Ok(0)
}
