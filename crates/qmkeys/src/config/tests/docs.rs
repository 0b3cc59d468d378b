//! docs/configuration.md and qmkeys.example.toml are held to the settings.

use super::super::*;

/// One row of a settings table in docs/configuration.md: the key, its
/// environment name (`None` for `—`) and the default cell.
#[derive(Debug)]
pub(super) struct DocRow {
    pub(super) key: String,
    pub(super) env: Option<String>,
    pub(super) default: String,
}

/// The settings tables of one language's half of docs/configuration.md:
/// rows whose first cell is a key in backticks and whose second names its
/// environment variable (or `—`, for a setting only the file can hold).
pub(super) fn documented(chinese: bool) -> Vec<DocRow> {
    let doc = include_str!("../../../../../docs/configuration.md");
    let (zh, en) = doc.split_once("\n## English").expect("an English half");
    let half = if chinese { zh } else { en };
    let ticked = |cell: &str| -> Option<String> {
        let inner = cell.strip_prefix('`')?;
        Some(inner[..inner.find('`')?].to_owned())
    };
    half.lines()
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
            let key = ticked(cells.next()?)?;
            let env = match cells.next()? {
                "—" => None,
                cell => Some(ticked(cell)?),
            };
            let default = cells.next()?.to_owned();
            let key = match key.as_str() {
                "[[accounts]]" => "accounts".to_owned(),
                _ => key,
            };
            Some(DocRow { key, env, default })
        })
        .collect()
}

#[test]
fn the_documented_keys_are_exactly_the_keys_the_settings_read() {
    let read: std::collections::BTreeSet<&str> = Settings::keys().iter().copied().collect();
    assert_eq!(
        read.len(),
        Settings::keys().len(),
        "a key read by two groups"
    );
    for chinese in [true, false] {
        let rows = documented(chinese);
        let keys: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys.len(), rows.len(), "a key documented twice");
        let undocumented: Vec<_> = read.difference(&keys).collect();
        let unknown: Vec<_> = keys.difference(&read).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "docs/configuration.md (chinese: {chinese}): settings it does not document: \
             {undocumented:?}; keys it documents that no setting reads: {unknown:?}"
        );
        for row in &rows {
            let env = format!("{ENV_PREFIX}{}", row.key.to_uppercase());
            match &row.env {
                Some(documented) => assert_eq!(documented, &env, "{}", row.key),
                // A list of tables has no environment form.
                None => assert_eq!(row.key, "accounts"),
            }
        }
    }
    for key in SECRET_SETTINGS {
        assert!(read.contains(key), "{key} in SECRET_SETTINGS is no setting");
    }
}

#[test]
fn the_documented_defaults_are_the_defaults() {
    let defaults = format!("{:?}", Settings::default());
    for chinese in [true, false] {
        for row in documented(chinese) {
            // `none` / `无`: no value, so nothing to write down.
            let Some(value) = row
                .default
                .strip_prefix('`')
                .and_then(|v| v.split('`').next())
            else {
                continue;
            };
            let literal = value.starts_with('[')
                || value == "true"
                || value == "false"
                || value.parse::<f64>().is_ok();
            let line = if literal {
                format!("{} = {value}", row.key)
            } else {
                format!("{} = \"{value}\"", row.key)
            };
            let parsed = Settings::from_toml(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(
                format!("{parsed:?}"),
                defaults,
                "{line} (chinese: {chinese})"
            );
        }
    }
}

#[test]
fn the_example_file_names_every_setting() {
    let example = include_str!("../../../../../qmkeys.example.toml");
    for key in Settings::keys() {
        let named = example.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} =")) || line == format!("[[{key}]]")
        });
        assert!(named, "qmkeys.example.toml does not show `{key}`");
    }
}
