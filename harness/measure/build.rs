//! Embeds the git revision, whether the checkout had uncommitted changes, and the rustc
//! version at build time, so that a results folder's `machine.json` names the code that
//! measured it wherever the binary runs (read at run time from the current directory,
//! they named whatever checkout and rustc happened to be there).

use std::path::Path;
use std::process::Command;

fn output(cmd: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let crate_dir = Path::new(&manifest);
    let root = crate_dir.join("../..");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version =
        output(&rustc, &["--version"], crate_dir).unwrap_or_else(|| "unknown".into());
    let revision = output("git", &["rev-parse", "HEAD"], &root).unwrap_or_else(|| "unknown".into());
    let dirty = output(
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
        &root,
    )
    .is_some_and(|s| !s.is_empty());
    println!("cargo:rustc-env=STREAMLAB_BUILD_RUSTC={rustc_version}");
    println!("cargo:rustc-env=STREAMLAB_BUILD_GIT_REVISION={revision}");
    println!("cargo:rustc-env=STREAMLAB_BUILD_GIT_DIRTY={dirty}");
    // Again when the revision moves (HEAD, the branch it names, the index) or a source
    // the workspace builds from changes (the dirty flag).
    for git_path in ["HEAD", "index"] {
        if let Some(p) = output("git", &["rev-parse", "--git-path", git_path], &root) {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }
    if let Some(branch) = output("git", &["symbolic-ref", "-q", "HEAD"], &root) {
        if let Some(p) = output("git", &["rev-parse", "--git-path", &branch], &root) {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }
    for dir in [
        "Cargo.toml",
        "Cargo.lock",
        "core",
        "checkpoint",
        "record-engine",
        "microbatch-engine",
        "harness",
        "queries",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
}
