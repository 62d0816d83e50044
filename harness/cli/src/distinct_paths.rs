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

#[cfg(test)]
mod tests {
    use super::*;

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
