//! A run's output must not be one of the files it reads or writes otherwise: `--output`
//! equal to the input, the query or `--summary` would silently destroy that file, and an
//! output equal to the checkpoint directory (or its parts directory equal to it) mixes
//! the two. Paths are compared canonically (symbolic links, `..`, relative paths), before
//! anything is opened; `-` is stdout/stdin and an address (`kafka://`, `tcp://`) is not a
//! file, so neither is compared.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// `path` as an absolute path with links resolved: itself when it exists, else its
/// directory's canonical form joined with its name (a file not yet written can still be
/// the one another option names).
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

/// Whether `text` names a file (not stdin/stdout, not an address).
fn is_file(text: &str) -> bool {
    !text.is_empty() && text != "-" && !text.contains("://")
}

/// A file the run reads or writes besides its output, with the option naming it.
pub struct Named<'a> {
    /// The option (`--input`, `--query`, `--summary`, `--checkpoint`, an `[[input]]`).
    pub option: String,
    /// Its path.
    pub path: &'a Path,
}

/// Refuses an `--output` that is one of `others`, naming both options.
pub fn refuse_output_among(output: &str, others: &[Named<'_>]) -> Result<()> {
    if !is_file(output) {
        return Ok(());
    }
    let Some(out) = canonical(Path::new(output)) else {
        return Ok(());
    };
    let parts = PathBuf::from(format!("{}.parts", out.display()));
    for other in others {
        let Some(text) = other.path.to_str() else {
            continue;
        };
        if !is_file(text) {
            continue;
        }
        let Some(path) = canonical(other.path) else {
            continue;
        };
        if path == out {
            bail!(
                "--output {output} is the same file as {} {}: the run would overwrite it; write the output elsewhere",
                other.option,
                other.path.display()
            );
        }
        if other.option == "--checkpoint" && path == parts {
            bail!(
                "--checkpoint {} is --output {output}'s parts directory ({output}.parts): give the checkpoints a directory of their own",
                other.path.display()
            );
        }
    }
    Ok(())
}

/// Refuses a file the run writes (`written`: option and path) that a `dir://` input
/// watching `dir` would read back as input: one directly in it, unless its name starts
/// with `.` or `_` (files the directory reader skips).
pub fn refuse_written_inside(dir: &Path, written: &[(&str, &str)]) -> Result<()> {
    let Ok(watched) = dir.canonicalize() else {
        return Ok(()); // not there yet: the input says so itself
    };
    for (option, text) in written {
        if !is_file(text) {
            continue;
        }
        let Some(path) = canonical(Path::new(text)) else {
            continue;
        };
        let skipped = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if path.parent() == Some(watched.as_path()) && !skipped {
            bail!(
                "{option} {text} is in the directory the input dir://{} reads: the run would read what it writes; write it elsewhere (or under a name starting with `_`, which the directory reader skips)",
                dir.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_into_a_watched_directory_is_refused_unless_skipped() {
        let dir = std::env::temp_dir().join(format!("streamlab-watched-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        let inside = dir.join("out.jsonl");
        let err = refuse_written_inside(&dir, &[("--output", inside.to_str().expect("utf-8"))])
            .expect_err("inside")
            .to_string();
        assert!(err.contains("--output") && err.contains("dir://"), "{err}");
        for fine in [
            dir.join("_out.jsonl"),
            dir.join(".out.jsonl"),
            dir.join("sub/out.jsonl"),
        ] {
            let text = fine.to_str().expect("utf-8");
            assert!(
                refuse_written_inside(&dir, &[("--output", text)]).is_ok(),
                "{text}"
            );
        }
        assert!(refuse_written_inside(&dir, &[("--output", "-")]).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn a_path_not_yet_written_compares_through_its_directory() {
        let dir = std::env::temp_dir().join(format!("streamlab-distinct-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        let a = dir.join("s.json");
        let b = dir.join("sub/../s.json");
        assert_eq!(canonical(&a), canonical(&b));
        let others = [Named {
            option: "--summary".into(),
            path: &b,
        }];
        let err = refuse_output_among(a.to_str().expect("utf-8"), &others)
            .expect_err("the same file")
            .to_string();
        assert!(
            err.contains("--summary") && err.contains("--output"),
            "{err}"
        );
        assert!(refuse_output_among("-", &others).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
