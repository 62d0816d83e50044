//! The manifest of the exactly-once file sink's committed parts: per part, its epoch,
//! length and CRC-32, written (atomically) when the part is prepared, so before the
//! checkpoint naming its epoch. A restart counts the parts against the checkpoint's epoch
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
        text.push_str(&format!("{} {} {:08x}\n", e.epoch, e.len, e.crc));
    }
    let tmp = parts.join("MANIFEST.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path_in(parts))
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
