//! Knowing a file input is still the one a checkpoint was taken over: a checkpoint keeps
//! the CRC-32 of every byte of the file before the line it resumes at, and a restart
//! reads that prefix again and compares, so an edited file (even one edited in place,
//! to the same length) is refused by name instead of resuming with wrong counts.
//!
//! The running checksum costs the run almost nothing: each decoding thread checksums the
//! chunks it decodes (the bytes are in its cache), and a checkpoint joins those chunk
//! checksums ([`crc32fast::Hasher::combine`]) and reads back from the file only the part
//! of one chunk before its line. A restart pays one read of the prefix (at the speed of
//! the page cache or the disk; `streamlab run` reports the time).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes read at a time when the prefix is read again from the file.
const READ_BYTES: usize = 1 << 20;

/// The CRC-32 of a file's first [`FilePrefix::len`] bytes, to be carried further.
#[derive(Clone, Default)]
pub struct FilePrefix {
    hasher: crc32fast::Hasher,
    len: u64,
}

impl FilePrefix {
    /// The checksum of `file`'s first `len` bytes, read from it.
    pub fn read(file: &File, len: u64) -> io::Result<FilePrefix> {
        let mut prefix = FilePrefix::default();
        prefix.read_to(file, len)?;
        Ok(prefix)
    }

    /// Bytes covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte is covered yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CRC-32 of the bytes covered.
    pub fn crc32(&self) -> u32 {
        self.hasher.clone().finalize()
    }

    /// Extends the checksum over `file`'s bytes up to byte `end` (reading them), or fails
    /// if the file is shorter.
    pub fn read_to(&mut self, file: &File, end: u64) -> io::Result<()> {
        let mut buf = vec![0; READ_BYTES.min(end.saturating_sub(self.len) as usize)];
        while self.len < end {
            let n = READ_BYTES.min((end - self.len) as usize);
            file.read_exact_at(&mut buf[..n], self.len)?;
            self.hasher.update(&buf[..n]);
            self.len += n as u64;
        }
        Ok(())
    }

    /// Extends the checksum over the `bytes` bytes that follow, whose own checksum is
    /// `next` (a chunk's, computed where the chunk was decoded).
    pub fn append(&mut self, next: &crc32fast::Hasher, bytes: u64) {
        self.hasher.combine(next);
        self.len += bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reading_and_appending_give_the_checksum_of_the_bytes() {
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = std::env::temp_dir().join(format!("streamlab-prefix-{}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .expect("write the file");
        let file = File::open(&path).expect("open it");
        for len in [0, 1, 1000, READ_BYTES as u64, 2_500_001] {
            let p = FilePrefix::read(&file, len).expect("read");
            assert_eq!(p.len(), len);
            assert_eq!(p.crc32(), crc32fast::hash(&bytes[..len as usize]), "{len}");
        }
        // Read up to 1000, then a chunk checksummed elsewhere, then read again.
        let mut p = FilePrefix::read(&file, 1000).expect("read");
        let mut chunk = crc32fast::Hasher::new();
        chunk.update(&bytes[1000..50_000]);
        p.append(&chunk, 49_000);
        p.read_to(&file, 60_000).expect("read on");
        assert_eq!(p.crc32(), crc32fast::hash(&bytes[..60_000]));
        // A file shorter than the prefix asked for is an error, not a shorter checksum.
        assert!(FilePrefix::read(&file, bytes.len() as u64 + 1).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
