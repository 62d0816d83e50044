//! How fast one decoder reads a real file: every line of `FILE` decoded for `QUERY` on
//! one thread, the file read into memory first, so the figure is the decoder's alone
//! (no reading, no pipeline, no engine). Beside the decode bench (a few thousand lines,
//! warm in cache), this is what a core does over a file of millions of lines.
//!
//!     cargo run --release -p streamlab-io --example decode_file -- queries/w1.toml clicks.jsonl
//!
//! Figures (2 cores, load < 0.5, 2026-12-07, several runs within minutes: this machine
//! kind varies up to 2x from run to run): 10M W1 lines of three fields (`ts`, `key`,
//! `value`; 458 MB) at 145-189 MB/s (243-317 ns a line); `gen -w clicks` lines (five
//! fields, 761 MB) at 114-188 MB/s; in the same minutes the decode bench's W1 group gave
//! 178 and 331 MB/s per CPU second in two runs. Under callgrind (docs/measurement.md,
//! "Measuring the decoder"), 1M `gen -w clicks` lines: `Decoder::decode` 2428
//! instructions a line before the shape reader, 1899 after (2026-12-08).
use anyhow::{bail, Context, Result};
use std::time::Instant;
use streamlab_core::query::Plan;
use streamlab_io::json_lines::Decoder;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [query, file] = args.as_slice() else {
        bail!("usage: decode_file QUERY FILE");
    };
    let plan = Plan::from_toml(&std::fs::read_to_string(query).context(query.clone())?)?;
    let bytes = std::fs::read(file).context(file.clone())?;
    let mut decoder = Decoder::new(&plan);
    let (mut events, mut malformed, mut latest) = (0u64, 0u64, i64::MIN);
    let start = Instant::now();
    for (seq, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue; // the newline that ends the file
        }
        let decoded = match std::str::from_utf8(line) {
            Ok(text) => decoder.decode(text, seq as u64),
            Err(e) => Err(decoder.not_utf8(e)),
        };
        match decoded {
            Ok(e) => {
                events += 1;
                latest = latest.max(e.time);
            }
            Err(_) => malformed += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{file}: {events} events, {malformed} malformed, latest event time {latest}: \
         {:.0} MB/s, {:.0} ns a line on one thread",
        bytes.len() as f64 / 1e6 / secs,
        secs * 1e9 / (events + malformed).max(1) as f64
    );
    Ok(())
}
