//! `docs/field-limits.md`, read: the hardening sweep sends every field at its maximum + 1, and the
//! contract test checks that the OpenAPI document states the same maxima.

/// One row of `docs/field-limits.md`.
#[derive(Debug, Clone)]
pub struct Limit {
    pub route: String,
    pub methods: Vec<String>,
    pub field: String,
    pub max: usize,
}

/// The limits, and the write routes whose bodies hold no text.
pub fn table() -> (Vec<Limit>, Vec<(String, Vec<String>)>) {
    let path = local_stack::names::workspace_root().join("docs/field-limits.md");
    let text = std::fs::read_to_string(path).expect("docs/field-limits.md");
    let mut limits = Vec::new();
    let mut no_text = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| /api/")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let methods = cells[1].split(',').map(|m| m.trim().to_owned()).collect();
        match cells.len() {
            4 => limits.push(Limit {
                route: cells[0].to_owned(),
                methods,
                field: cells[2].to_owned(),
                max: cells[3].parse().expect("a number"),
            }),
            2 => no_text.push((cells[0].to_owned(), methods)),
            _ => panic!("unexpected row {line}"),
        }
    }
    (limits, no_text)
}
