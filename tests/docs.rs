//! The runbook's configuration table is checked against the command line's
//! own definition, so a new setting cannot go undocumented.

use std::collections::BTreeSet;

fn settings(command: &clap::Command, found: &mut BTreeSet<(String, String)>) {
    for arg in command.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            found.insert((env.to_string_lossy().into_owned(), format!("--{long}")));
        }
    }
    for sub in command.get_subcommands() {
        settings(sub, found);
    }
}

#[test]
fn every_setting_is_in_the_runbook_table() {
    let runbook = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/runbook.md")).unwrap();
    let mut found = BTreeSet::new();
    settings(&aol::cli::definition(), &mut found);
    assert!(found.len() >= 20, "{found:?}");
    let rows: Vec<&str> = runbook.lines().filter(|l| l.starts_with("| `")).collect();
    for (env, flag) in &found {
        let row = rows.iter().find(|r| r.starts_with(&format!("| `{env}` |")));
        let row = row.unwrap_or_else(|| panic!("{env} is not in docs/runbook.md's configuration table"));
        assert!(row.contains(&format!("`{flag}`")), "{env}'s row does not name {flag}: {row}");
    }
}
