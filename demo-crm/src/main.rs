//! `mpt-demo-crm`: serves MPT-CRM and AMS-APP-CRM on two loopback ports.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match mpt_demo_crm::args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", mpt_demo_crm::args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("mpt-demo-crm: {e}");
            return ExitCode::from(2);
        }
    };
    match mpt_demo_crm::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mpt-demo-crm: {e}");
            ExitCode::FAILURE
        }
    }
}
