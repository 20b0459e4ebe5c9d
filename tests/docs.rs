//! The runbook's configuration table is checked against the command line's
//! own definition, so a new setting cannot go undocumented.

use std::collections::BTreeSet;

#[test]
fn every_setting_is_in_the_runbook_table() {
    let runbook = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/runbook.md")).unwrap();
    let found: BTreeSet<(String, String)> = aol::cli::every_argument()
        .iter()
        .filter_map(|arg| Some((arg.get_env()?.to_string_lossy().into_owned(), format!("--{}", arg.get_long()?))))
        .collect();
    assert!(found.len() >= 20, "{found:?}");
    let rows: Vec<&str> = runbook.lines().filter(|l| l.starts_with("| `")).collect();
    for (env, flag) in &found {
        let row = rows.iter().find(|r| r.starts_with(&format!("| `{env}` |")));
        let row = row.unwrap_or_else(|| panic!("{env} is not in docs/runbook.md's configuration table"));
        assert!(row.contains(&format!("`{flag}`")), "{env}'s row does not name {flag}: {row}");
    }
}
