//! `zoom-onboard completions` and `zoom-onboard man`: shell completions and man pages, both
//! generated from the command-line definition, so that they cannot drift from `--help`.

use std::path::PathBuf;

use clap::CommandFactory as _;

use crate::outcome::exit_code;

use super::Cli;

/// Options of `zoom-onboard completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options of `zoom-onboard man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write zoom-onboard.1 and a page for each subcommand (zoom-onboard-run.1, ...) into this
    /// folder, instead of zoom-onboard.1 alone to standard output.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
#[must_use]
pub fn completions(args: &CompletionsArgs) -> u8 {
    let mut command = Cli::command();
    // clap_complete panics when its writer fails, so the script is built in memory and written
    // here, where a reader that stops early (such as `head`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "zoom-onboard", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout(), &script) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write the completions: {error}");
            exit_code::INTERNAL
        }
        _ => exit_code::DONE,
    }
}

/// Writes the man page to stdout, or every page into `--out-dir`.
#[must_use]
pub fn man(args: &ManArgs) -> u8 {
    let written = match &args.out_dir {
        Some(folder) => std::fs::create_dir_all(folder)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), folder))
            .map_err(|error| format!("cannot write man pages into {}: {error}", folder.display())),
        // A reader that stops early, such as `head`, is not an error.
        None => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(format!("cannot write the man page: {error}"))
            }
            _ => Ok(()),
        },
    };
    match written {
        Ok(()) => exit_code::DONE,
        Err(message) => {
            eprintln!("error: {message}");
            exit_code::INTERNAL
        }
    }
}
