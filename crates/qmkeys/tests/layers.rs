//! Calls go down: the layer table of docs/architecture.md, held to the code.
//!
//! Every `.rs` file under `src/` is read; each `crate::x` path in it (in a
//! `use` or in code, grouped imports included) names the top-level module
//! `x` it reaches. A module may use modules of its own rank or below, never
//! above; every top-level module declared in `lib.rs` must have a rank here
//! (so a new module has to be placed), and no two top-level modules may
//! reach each other, directly or round a longer cycle.
//!
//! Test modules (`#[cfg(test)] mod tests`) are left out: they may wire their
//! services as `startup` does.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Higher ranks sit above lower ones; a module may use its own rank or below.
/// Keep it in step with the layer table of docs/architecture.md.
const RANKS: &[(&str, u8)] = &[
    // The command line and the wiring.
    ("cli", 14),
    ("startup", 13),
    // Connections, then the routes.
    ("serve", 12),
    ("http", 11),
    // The services, and the webhook beside them (it is the accounts' EventSink).
    ("refresh", 10),
    ("upload", 10),
    ("login", 10),
    ("webhook", 10),
    ("accounts", 9),
    ("upstream", 8),
    // Helpers used by several layers.
    ("cache", 6),
    ("redis", 6),
    ("secrets", 6),
    ("cos", 6),
    ("telemetry", 6),
    ("metrics", 5),
    ("backoff", 4),
    ("clock", 4),
    ("beijing", 4),
    // The bottom: settings may use domain types, domain uses nothing.
    ("config", 1),
    ("domain", 0),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to; `None` for the crate
/// root (`lib.rs`, `main.rs`).
fn owner(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts = rel.components();
    let first = parts.next()?.as_os_str().to_str()?.to_owned();
    if parts.next().is_some() {
        return Some(first);
    }
    let stem = first.strip_suffix(".rs")?;
    (stem != "lib" && stem != "main").then(|| stem.to_owned())
}

/// The code of a file without comments, string literals and `#[cfg(test)]`
/// modules, as (line number, text) pairs.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i32> = None;
    let mut test_attr = false;
    let mut in_block_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let line = strip(raw, &mut in_block_comment);
        let trimmed = line.trim();
        if let Some(depth) = skip_depth.as_mut() {
            *depth += braces(&line);
            if *depth <= 0 {
                skip_depth = None;
            }
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            test_attr = true;
            continue;
        }
        if test_attr {
            test_attr = false;
            if trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod ") {
                let depth = braces(&line);
                if depth > 0 {
                    skip_depth = Some(depth);
                }
                // `mod tests;` names a file, which is test code too: see `is_test_file`.
                continue;
            }
        }
        out.push((i + 1, line));
    }
    out
}

fn braces(line: &str) -> i32 {
    line.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// One line without its comments and with string and char literals emptied,
/// so neither a doc comment nor a brace in a string is read as code.
fn strip(line: &str, in_block_comment: &mut bool) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_str = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if *in_block_comment {
            if c == '*' && next == Some('/') {
                *in_block_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if in_str {
            if c == '\\' {
                i += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
                out.push('"');
            }
            i += 1;
            continue;
        }
        match (c, next) {
            ('/', Some('/')) => break,
            ('/', Some('*')) => {
                *in_block_comment = true;
                i += 2;
            }
            ('"', _) => {
                in_str = true;
                out.push('"');
                i += 1;
            }
            // A char literal: '{', '}', '"' or an escape.
            ('\'', _) if chars.get(i + 2) == Some(&'\'') => {
                out.push_str("' '");
                i += 3;
            }
            ('\'', Some('\\')) => {
                let close = chars[i + 2..].iter().position(|&c| c == '\'');
                out.push_str("' '");
                i += close.map_or(chars.len(), |p| p + 3);
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A file that is itself a `#[cfg(test)] mod tests;`, or in the folder of one.
fn is_test_file(file: &Path) -> bool {
    let declared_in = |dir: &Path| {
        let decl = fs::read_to_string(dir.join("mod.rs")).unwrap_or_default();
        decl.contains("#[cfg(test)]\nmod tests;")
    };
    let parent = file.parent().expect("parent");
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return declared_in(parent);
    }
    parent.file_name().is_some_and(|n| n == "tests") && parent.parent().is_some_and(declared_in)
}

/// The top-level modules a file reaches through `crate::` paths, with where.
/// `use crate::{a::X, b::Y}` names `a` and `b`.
fn reached(lines: &[(usize, String)]) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    // A grouped import may span lines: join the code, remembering line starts.
    let mut text = String::new();
    let mut starts = Vec::new();
    for (n, line) in lines {
        starts.push((text.len(), *n, line.clone()));
        text.push_str(line);
        text.push('\n');
    }
    let line_of = |at: usize| {
        let i = starts.partition_point(|(s, _, _)| *s <= at) - 1;
        (starts[i].1, starts[i].2.trim().to_owned())
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(pos) = text[at..].find("crate::") {
        let begin = at + pos;
        at = begin + "crate::".len();
        // `$crate::`, `qmkeys_crate::`: not ours.
        if begin > 0
            && (bytes[begin - 1].is_ascii_alphanumeric() || matches!(bytes[begin - 1], b'_' | b'$'))
        {
            continue;
        }
        let rest = &text[at..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let (line, code) = line_of(begin);
            let mut depth = 0;
            let mut item_start = true;
            let mut word = String::new();
            for c in group[..end].chars().chain(std::iter::once(',')) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if item_start && !word.is_empty() {
                            found.push((line, word.clone(), code.clone()));
                        }
                        item_start = true;
                        word.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && item_start {
                    if c.is_alphanumeric() || c == '_' {
                        word.push(c);
                    } else if !word.is_empty() || !c.is_whitespace() {
                        if !word.is_empty() {
                            found.push((line, word.clone(), code.clone()));
                        }
                        item_start = false;
                    }
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                let (line, code) = line_of(begin);
                found.push((line, name, code));
            }
        }
    }
    found
}

fn declared_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(l.trim_end_matches(';').trim().to_owned())
        })
        .collect()
}

/// Every edge between two top-level modules, with the first place it is made.
fn edges() -> BTreeMap<(String, String), (PathBuf, usize, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let Some(from) = owner(&file) else { continue };
        if is_test_file(&file) {
            continue;
        }
        let text = fs::read_to_string(&file).expect("read");
        for (line, to, code) in reached(&code_lines(&text)) {
            if to == from || to == "self" || to == "super" {
                continue;
            }
            let rel = file.strip_prefix(src()).expect("under src").to_path_buf();
            edges.entry((from.clone(), to)).or_insert((rel, line, code));
        }
    }
    edges
}

#[test]
fn every_top_level_module_has_a_rank() {
    let declared = declared_modules();
    let unranked: Vec<_> = declared.iter().filter(|m| rank(m).is_none()).collect();
    assert!(
        unranked.is_empty(),
        "modules in lib.rs without a rank in tests/layers.rs (place them in RANKS and in the \
         layer table of docs/architecture.md): {unranked:?}"
    );
    let stale: Vec<_> = RANKS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !declared.contains(*m))
        .collect();
    assert!(stale.is_empty(), "ranked but not in lib.rs: {stale:?}");
}

#[test]
fn calls_go_down() {
    let mut wrong = Vec::new();
    for ((from, to), (file, line, code)) in edges() {
        let (Some(rf), Some(rt)) = (rank(&from), rank(&to)) else {
            // Unranked modules are the other test's failure; an unknown
            // `crate::x` would not compile.
            continue;
        };
        if rt > rf {
            wrong.push(format!(
                "src/{}:{line}: `{from}` (rank {rf}) uses `{to}` (rank {rt}), a layer above it: {code}",
                file.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "calls must go down:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_cycles_between_top_level_modules() {
    let edges = edges();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search from every module, reporting a path back to it.
    fn walk<'a>(
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        start: &'a str,
        node: &'a str,
        path: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        for &next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start);
                return Some(cycle);
            }
            if seen.insert(next) {
                path.push(next);
                if let Some(c) = walk(graph, start, next, path, seen) {
                    return Some(c);
                }
                path.pop();
            }
        }
        None
    }
    // One report per cycle, however many of its modules it was found from.
    let mut cycles = BTreeSet::new();
    for &start in graph.keys() {
        let mut path = vec![start];
        if let Some(mut cycle) = walk(&graph, start, start, &mut path, &mut BTreeSet::new()) {
            cycle.pop();
            let first = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            let places: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let (file, line, _) = &edges[&(w[0].to_owned(), w[1].to_owned())];
                    format!("{} -> {} (src/{}:{line})", w[0], w[1], file.display())
                })
                .collect();
            cycles.insert(places.join(", "));
        }
    }
    let cycles: Vec<_> = cycles.into_iter().collect();
    assert!(
        cycles.is_empty(),
        "cycles between top-level modules:\n{}",
        cycles.join("\n")
    );
}

/// The checker itself: it must see what it is meant to see.
#[test]
fn the_reader_finds_paths_and_skips_comments_strings_and_tests() {
    let text = "use crate::a::X;\n\
                use crate::{b::Y, c::{Z, W}};\n\
                // crate::hidden\n\
                let s = \"crate::quoted\";\n\
                fn f() { crate::d::call() }\n\
                use crate::{\n    e::V,\n    f,\n};\n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::t::T;\n    fn g() { let _ = '}'; }\n}\n\
                use crate::after::A;\n";
    let names: Vec<_> = reached(&code_lines(text))
        .into_iter()
        .map(|(line, name, _)| (line, name))
        .collect();
    let want: Vec<(usize, String)> = [
        (1, "a"),
        (2, "b"),
        (2, "c"),
        (5, "d"),
        (6, "e"),
        (6, "f"),
        (15, "after"),
    ]
    .into_iter()
    .map(|(l, n)| (l, n.to_owned()))
    .collect();
    assert_eq!(names, want);
}
