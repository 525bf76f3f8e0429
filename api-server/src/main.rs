//! `mpt-api-server` command line: `serve [--demo]`, `migrate`, `tenant create |
//! provision | suspend | resume`, `agent create`, `key rotate`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = mpt_api_server::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mpt_api_server::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
