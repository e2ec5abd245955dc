//! Embeds the IANA time zone database of the build machine (`/usr/share/zoneinfo`, Debian's
//! `tzdata`) as a table of TZif files, so that automation schedules keep their local times in a
//! Lambda runtime that ships no zone database. Only the code that reads the table (the
//! automation schedule) links it in.

use std::path::{Path, PathBuf};

const ROOT: &str = "/usr/share/zoneinfo";

fn zones(dir: &Path, prefix: &str, found: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        // Leap-second and POSIX copies, and files that are not zones.
        if ["right", "posix", "Etc/localtime", "localtime", "posixrules", "Factory"].contains(&full.as_str()) {
            continue;
        }
        if path.is_dir() {
            zones(&path, &full, found);
        } else if std::fs::read(&path).is_ok_and(|bytes| bytes.starts_with(b"TZif")) {
            found.push((full, path));
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ROOT}");
    let mut found = Vec::new();
    zones(Path::new(ROOT), "", &mut found);
    if found.is_empty() {
        panic!("no time zone database at {ROOT}: install Debian's tzdata (scripts/lib.sh does)");
    }
    found.sort();
    let mut out = String::from(
        "/// The IANA zones by name, as TZif files (sorted by name).\npub static ZONES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &found {
        out.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("zones.rs");
    std::fs::write(dest, out).expect("write zones.rs");
}
