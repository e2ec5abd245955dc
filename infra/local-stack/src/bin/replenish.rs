//! `replenish [--prefix NAME] [--period YYYY-MM]`: runs the monthly credit replenishment on the
//! local stack now (what the EventBridge schedule does on the 1st), through the same handler as
//! the Lambda, and prints its report. Safe to run again: accounts already credited for the period
//! are skipped.

use igny8_domain::Services;
use local_stack::LocalNames;
use local_stack::bootstrap::{bootstrap, local_sdk_config};
use local_stack::template::Template;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let prefix = arg("--prefix").unwrap_or_else(|| "igny8-local".into());
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL must name the local endpoint")?;
    let template = Template::load_default()?;
    let provisioned = bootstrap(&endpoint, &LocalNames::new(prefix), &template).await?;
    let services = Services::with_sdk_config(provisioned.config, local_sdk_config(&endpoint).await);
    let event = match arg("--period") {
        Some(period) => json!({"period": period}),
        None => {
            json!({"time": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?})
        }
    };
    let report = credit_replenisher::handle(&services, &event).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
