//! `bootstrap [--prefix NAME]`: creates the template's resources on `AWS_ENDPOINT_URL` (idempotent)
//! and prints the environment a function needs to use them.

use local_stack::LocalNames;
use local_stack::bootstrap::bootstrap;
use local_stack::template::Template;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let prefix =
        args.windows(2).find(|w| w[0] == "--prefix").map(|w| w[1].clone()).unwrap_or_else(|| "igny8-local".into());
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL must name the local endpoint")?;
    let template = Template::load_default()?;
    let provisioned = bootstrap(&endpoint, &LocalNames::new(prefix), &template).await?;
    for (name, value) in local_stack::env_lines(&provisioned.config) {
        println!("{name}={value}");
    }
    Ok(())
}
