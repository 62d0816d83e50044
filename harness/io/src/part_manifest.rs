//! The manifest of the exactly-once file sink's committed parts: per part, its epoch,
//! length and CRC-32, appended (and fsynced) when the part is prepared, so before the
//! checkpoint naming its epoch. Appending keeps a checkpoint's cost flat over a long run
//! (rewriting the whole list each epoch grew with the run); a last line cut short by a
//! crash belongs to an epoch no checkpoint names yet, so reading skips it, and a restart
//! rewrites the manifest whole. A restart counts the parts against the checkpoint's epoch
//! and checks each one, and the final join checks them again: a part that is missing,
//! shorter or changed is an error naming it, never a shorter or corrupt output.
//!
//! The file is `<output>.parts/MANIFEST`, text:
//!
//! ```text
//! streamlab parts v1
//! <epoch> <length in bytes> <CRC-32, hex>
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: &str = "streamlab parts v1";

/// One prepared part as the manifest records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartEntry {
    /// The epoch (checkpoint) the part belongs to.
    pub epoch: u64,
    /// Its length in bytes.
    pub len: u64,
    /// CRC-32 of its bytes.
    pub crc: u32,
}

/// The manifest file of a parts directory.
pub fn path_in(parts: &Path) -> PathBuf {
    parts.join("MANIFEST")
}

/// Reads the manifest of `parts` (`None`: there is none).
pub fn load(parts: &Path) -> Result<Option<Vec<PartEntry>>, String> {
    let path = path_in(parts);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    // A last line without its newline was cut by a crash while it was appended: its part
    // was never checkpointed (see the module doc).
    let text = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!(
            "{}: not a parts manifest (first line is not `{HEADER}`)",
            path.display()
        ));
    }
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        let bad = || format!("{}:{}: bad line `{line}`", path.display(), i + 2);
        let mut f = line.split(' ');
        let (Some(epoch), Some(len), Some(crc), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad());
        };
        entries.push(PartEntry {
            epoch: epoch.parse().map_err(|_| bad())?,
            len: len.parse().map_err(|_| bad())?,
            crc: u32::from_str_radix(crc, 16).map_err(|_| bad())?,
        });
    }
    Ok(Some(entries))
}

/// Writes the manifest of `parts` durably: a temporary file, fsynced and renamed (the
/// caller fsyncs the directory).
pub fn store(parts: &Path, entries: &[PartEntry]) -> std::io::Result<()> {
    let mut text = format!("{HEADER}\n");
    for e in entries {
        text.push_str(&line(e));
    }
    let tmp = parts.join("MANIFEST.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path_in(parts))
}

/// Adds `entry` at the end of the manifest of `parts` durably (creating the manifest,
/// whole, when there is none).
pub fn append(parts: &Path, entry: &PartEntry) -> std::io::Result<()> {
    let path = path_in(parts);
    if !path.exists() {
        return store(parts, std::slice::from_ref(entry));
    }
    let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
    f.write_all(line(entry).as_bytes())?;
    f.sync_data()
}

fn line(e: &PartEntry) -> String {
    format!("{} {} {:08x}\n", e.epoch, e.len, e.crc)
}

/// The bytes of the part at `path`, checked against `entry`: an error says which part and
/// what is wrong with it.
pub fn read_checked(path: &Path, entry: &PartEntry) -> Result<Vec<u8>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "output part {} is missing (the manifest records epoch {}, {} bytes)",
                path.display(),
                entry.epoch,
                entry.len
            ))
        }
        Err(e) => return Err(format!("output part {}: {e}", path.display())),
    };
    if bytes.len() as u64 != entry.len {
        return Err(format!(
            "output part {} has {} bytes, the manifest records {} (truncated or changed)",
            path.display(),
            bytes.len(),
            entry.len
        ));
    }
    let crc = crc32fast::hash(&bytes);
    if crc != entry.crc {
        return Err(format!(
            "output part {} fails its checksum (CRC-32 {crc:08x}, the manifest records {:08x}): changed since it was written",
            path.display(),
            entry.crc
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_entries_load_and_a_torn_last_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("streamlab-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let entry = |epoch| PartEntry {
            epoch,
            len: 10 * epoch,
            crc: 0xabc0 + epoch as u32,
        };
        assert_eq!(load(&dir).expect("no manifest"), None);
        for epoch in 1..=3 {
            append(&dir, &entry(epoch)).expect("append");
        }
        let all: Vec<_> = (1..=3).map(entry).collect();
        assert_eq!(load(&dir).expect("load"), Some(all.clone()));
        // A crash in the middle of appending epoch 4's line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path_in(&dir))
            .expect("open");
        f.write_all(b"4 4").expect("write");
        assert_eq!(load(&dir).expect("load"), Some(all));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
