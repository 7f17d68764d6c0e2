//! The `seduta` command line: `serve` runs everything in one process (or one
//! control-plane replica), `sfu-node` a media node of a multi-node deployment, `token` mints a
//! join token.

mod cli;
mod node;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("seduta: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seduta: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
