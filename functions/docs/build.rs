//! Fetches ReDoc's standalone bundle from the npm registry at build time (`npm pack`, which checks
//! the package's integrity against the registry), so that `/api/redoc/` serves it from the binary
//! and a browser loads nothing from a CDN. Swagger UI comes from crates.io the same way
//! (`utoipa-swagger-ui` with its `vendored` feature).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ReDoc release served; change it here.
const REDOC: &str = "redoc@2.5.4";
const BUNDLE: &str = "redoc.standalone.js";

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} exited with {status}")) }
}

fn fetch(out: &Path) -> Result<(), String> {
    let work = out.join("redoc-pack");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    run(Command::new("npm").args(["pack", REDOC, "--silent", "--pack-destination"]).arg(&work).current_dir(&work))?;
    let tarball = std::fs::read_dir(&work)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack left no tarball")?;
    run(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&work).arg(format!("package/bundles/{BUNDLE}")))?;
    std::fs::rename(work.join("package/bundles").join(BUNDLE), out.join(BUNDLE)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if !out.join(BUNDLE).exists()
        && let Err(err) = fetch(&out)
    {
        panic!("could not fetch {REDOC} from the npm registry (npm and tar are needed to build api-docs): {err}");
    }
}
