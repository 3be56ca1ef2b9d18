use std::process::ExitCode;

fn main() -> ExitCode {
    lockgate::cli::main()
}
