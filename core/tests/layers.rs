//! core's layers, checked on its source: every module (file) of `src/` may use only
//! modules of its own layer or of an earlier one (lib.rs's `# Layout`), and no modules use
//! each other in a circle. Unit tests (`tests.rs` files and `#[cfg(test)] mod tests`
//! blocks) are left out: they may use any layer.
//!
//! A module's uses are the module paths its code names: `crate::a::b`, `super::a`,
//! `self::a`, and `a::...` for a child module `a` it declares. Each names the deepest
//! module file on its path (`crate::query::Plan` is the `query` module's). Comments are
//! not code: a doc link may point anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, in order: a module may use its own layer's and earlier ones'. A new
/// top-level module must be placed here.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["semantics"],
    &["ops"],
    &["query"],
    &["row_format", "engine"],
];

/// A module path, e.g. `["query", "compile", "select"]` (the crate root is empty).
type Module = Vec<String>;

fn layer(m: &Module) -> Option<usize> {
    let top = m.first()?;
    LAYERS.iter().position(|l| l.contains(&top.as_str()))
}

/// Every `.rs` file under `dir` with its module path (`x/mod.rs` and `x.rs` are `x`).
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file names")
            .to_owned();
        if path.is_dir() {
            let mut m = prefix.clone();
            m.push(name);
            modules(&path, &m, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem == "tests" {
                continue;
            }
            let mut m = prefix.clone();
            if !matches!(stem, "mod" | "lib") {
                m.push(stem.to_owned());
            }
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            out.insert(m, text);
        }
    }
}

/// The code of a file: without comments and without its `#[cfg(test)] mod tests` block.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| {
            let line = if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            };
            match line.find(" // ") {
                Some(at) => &line[..at],
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers of the path starting at byte `at` of `code` (`a::b::c`).
fn path_at(code: &str, at: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = &code[at..];
    loop {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        parts.push(rest[..len].to_owned());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    parts
}

/// Starts of the whole-word occurrences of `word` followed by `::` (not after `::`).
fn occurrences<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let pattern = format!("{word}::");
    code.match_indices(&pattern)
        .map(|(at, _)| at)
        .filter(move |&at| {
            let before = code[..at].chars().next_back();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// The modules `m`'s code uses (each the deepest module file on the path it names).
fn uses(
    m: &Module,
    code: &str,
    all: &BTreeMap<Module, String>,
) -> Result<BTreeSet<Module>, String> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    for at in occurrences(code, "crate") {
        let path = path_at(code, at + "crate::".len());
        if path.is_empty() {
            return Err(format!(
                "{}: `crate::{{...}}`: name one path per `use`, so the check can read it",
                m.join("::")
            ));
        }
        paths.push(path);
    }
    for at in occurrences(code, "super") {
        let mut path = m[..m.len().saturating_sub(1)].to_vec();
        path.extend(path_at(code, at + "super::".len()));
        paths.push(path);
    }
    for at in occurrences(code, "self") {
        let mut path = m.clone();
        path.extend(path_at(code, at + "self::".len()));
        paths.push(path);
    }
    let children: Vec<&str> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
            l.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    for child in children {
        for at in occurrences(code, child) {
            let mut path = m.clone();
            path.extend(path_at(code, at));
            paths.push(path);
        }
    }
    let mut used = BTreeSet::new();
    for path in paths {
        let target = (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| all.contains_key(p))
            .unwrap_or_default();
        if target != *m && !target.is_empty() {
            used.insert(target);
        }
    }
    Ok(used)
}

#[test]
fn every_module_uses_only_its_own_and_earlier_layers_and_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeMap::new();
    modules(&src, &Vec::new(), &mut all);
    let mut problems = Vec::new();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, text) in &all {
        if m.is_empty() {
            continue; // lib.rs: the crate's table of contents and re-exports
        }
        let Some(own) = layer(m) else {
            problems.push(format!(
                "{}: not in a layer; add it to LAYERS (and to lib.rs's # Layout)",
                m.join("::")
            ));
            continue;
        };
        let used = match uses(m, &code(text), &all) {
            Ok(used) => used,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for u in &used {
            match layer(u) {
                Some(l) if l <= own => {}
                _ => problems.push(format!(
                    "{} (layer {}) uses {} (layer {}): a later layer",
                    m.join("::"),
                    own + 1,
                    u.join("::"),
                    layer(u).map_or("none".into(), |l| (l + 1).to_string()),
                )),
            }
        }
        graph.insert(m.clone(), used);
    }
    // A circle: a module reached again while its own uses are being followed.
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<Module>,
        problems: &mut Vec<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = stack.iter().position(|s| s == m) {
            let circle: Vec<String> = stack[at..].iter().map(|s| s.join("::")).collect();
            problems.push(format!(
                "circle: {} -> {}",
                circle.join(" -> "),
                m.join("::")
            ));
            return;
        }
        stack.push(m.clone());
        for u in graph.get(m).into_iter().flatten() {
            visit(u, graph, done, stack, problems);
        }
        stack.pop();
        done.insert(m.clone());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut done, &mut Vec::new(), &mut problems);
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(
        all.len() > 20,
        "found only {} modules under {src:?}",
        all.len()
    );
}
