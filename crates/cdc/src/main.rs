//! `cdc`: the binary. Parses the command line, loads configuration, wires sources to sinks, and turns errors
//! into one line for the operator with a hint and a non-zero exit.

mod admin;
mod cli;
mod commands;
mod config;
mod connect;
mod logging;
mod progress;
mod registry;
mod report;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let bars = progress::TerminalBars::for_terminal(cli.log_format);
    if let Some(bars) = &bars {
        bars.install();
    }
    logging::init(cli.log_format, bars);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cdc: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", report::one_line(&error));
            std::process::ExitCode::from(report::exit_code(&error))
        }
    }
}
