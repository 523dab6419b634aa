//! The `zoom-onboard` binary: parse, run, map the result to an exit code.

use std::process::ExitCode;

use zoom_onboard::cli;

fn main() -> ExitCode {
    let (cli, matches) = cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(runtime.block_on(cli::run(cli, &matches)))
}
