//! A file decoded while the engine runs (the pipeline of `streamlab_io::pipeline`, as
//! `streamlab run` reads a file) gives every engine configuration exactly the output of
//! the same input decoded beforehand, for any number of decoding threads and any chunk
//! size; and the binary's memory stays flat in the input's length.

use std::io::Cursor;
use streamlab_core::engine::{RunSummary, Source};
use streamlab_core::Plan;
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_io::decode::decode_with;
use streamlab_io::pipeline::source::StreamSource;
use streamlab_io::pipeline::{DecodeOptions, LineStream};
use streamlab_io::sink::{JsonLinesSink, SharedBuffer};

fn plan() -> Plan {
    Plan::from_toml(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"update\"\n[watermark]\ndelay = \"2s\"\n[window]\nkind = \"sliding\"\nsize = \"4s\"\nslide = \"2s\"\n[[filter]]\nfield = \"kind\"\nop = \"ne\"\nvalue = \"view\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"count_distinct\"\nfield = \"user\"\nas = \"users\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n",
    )
    .unwrap()
}

/// Clicks with disorder, late events and malformed lines.
fn clicks() -> Vec<u8> {
    let mut cfg = streamlab_workloads::gen::GenConfig::new(
        streamlab_workloads::gen::Workload::Clicks,
        4_000,
        11,
    );
    cfg.keys = 40;
    cfg.rate = 1_000.0;
    cfg.disorder = 0.2;
    cfg.max_delay_ms = 1_500;
    cfg.late = 0.02;
    cfg.late_by_ms = 6_000;
    cfg.malformed = 0.01;
    streamlab_workloads::gen::generate_to_vec(&cfg).unwrap().0
}

/// The output and summary of `config` over `text` streamed through the pipeline.
fn streamed(
    config: &crate::fixtures::Configuration,
    plan: &Plan,
    text: &[u8],
    options: DecodeOptions,
) -> (Vec<u8>, RunSummary, u64) {
    let stream = LineStream::start(
        Box::new(Cursor::new(text.to_vec())),
        "in.jsonl",
        plan,
        options,
        None,
        false,
    )
    .unwrap();
    let source = StreamSource::new(stream, Box::new(std::io::sink()), false, None, false);
    let (stats, keys) = (source.stats(), source.keys());
    let buffer = SharedBuffer::default();
    let sink = JsonLinesSink::new(plan, keys, Box::new(buffer.clone()), "<memory>");
    let engine = config.engine();
    let run = engine.check(plan, &config.options).unwrap();
    let source: Box<dyn Source> = Box::new(source);
    let summary = run.run(source, Box::new(sink)).unwrap();
    let malformed = stats.malformed.load(std::sync::atomic::Ordering::Relaxed);
    (buffer.contents(), summary, malformed)
}

/// The output of `config` over `text` decoded beforehand, its summary and malformed count.
fn decoded(
    config: &crate::fixtures::Configuration,
    plan: &Plan,
    text: &[u8],
) -> (Vec<u8>, RunSummary, u64) {
    let input = decode_with(
        text,
        "in.jsonl",
        plan,
        false,
        &mut std::io::sink(),
        DecodeOptions::with_threads(1),
    )
    .unwrap();
    let malformed = input.malformed;
    let buffer = SharedBuffer::default();
    let engine = config.engine();
    let summary = run_decoded(
        engine.as_ref(),
        plan,
        &config.options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap();
    (buffer.contents(), summary, malformed)
}

engine_test!(
    a_streamed_file_gives_the_output_of_one_decoded_beforehand,
    |config| {
        let (plan, text) = (plan(), clicks());
        let (want_rows, want, malformed) = decoded(config, &plan, &text);
        assert!(malformed > 10, "the input has malformed lines");
        assert!(want.rows_out > 100, "{want:?}");
        // Where the engine itself gives the same bytes run after run, the streamed run must
        // too; where it does not (several record-engine workers emit in the order their
        // threads reach the sink), the final answer must be the same.
        let deterministic = !(config.kind == streamlab_engines::EngineKind::Record
            && config.options.workers.unwrap_or(1) > 1);
        let answer = |rows: &[u8]| {
            let rows = parse_rows(std::str::from_utf8(rows).unwrap(), &plan, "<output>").unwrap();
            crate::fixtures::answer(&rows, plan.mode)
        };
        for (threads, chunk_bytes) in [(1, 1), (2, 7), (4, 4096), (2, 1 << 20)] {
            let options = DecodeOptions {
                threads,
                chunk_bytes,
                window: 2 * threads + 1,
            };
            let (rows, got, got_malformed) = streamed(config, &plan, &text, options);
            let at = format!("{config}, {threads} decoding threads, {chunk_bytes}-byte chunks");
            assert_eq!(got_malformed, malformed, "{at}");
            assert_eq!(
                (got.events_in, got.late_dropped, got.filtered, got.rows_out),
                (
                    want.events_in,
                    want.late_dropped,
                    want.filtered,
                    want.rows_out
                ),
                "{at}"
            );
            if deterministic {
                assert!(rows == want_rows, "{at}: the output differs");
            } else {
                assert_eq!(answer(&rows), answer(&want_rows), "{at}");
            }
        }
    }
);

/// Generates `events` W1 events into `path`, at 10k events/s of event time: 40 windows
/// and more, two of them open at a time, so the state is the same whatever the length.
fn w1_file(path: &std::path::Path, events: u64) -> u64 {
    let mut cfg = streamlab_workloads::gen::GenConfig::new(
        streamlab_workloads::gen::Workload::Clicks,
        events,
        5,
    );
    cfg.rate = 10_000.0;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    streamlab_workloads::gen::generate(&cfg, &mut file).unwrap();
    drop(file);
    std::fs::metadata(path).unwrap().len()
}

/// `streamlab run`'s peak resident size (bytes) over `input` on `engine`.
fn peak_rss(engine: &str, input: &std::path::Path, events: u64) -> u64 {
    let summary = input.with_extension(format!("{engine}.json"));
    let query = concat!(env!("CARGO_MANIFEST_DIR"), "/../../queries/w1.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args([
            "run",
            "--engine",
            engine,
            "--query",
            query,
            "--output",
            "/dev/null",
        ])
        .args(["--input", input.to_str().unwrap(), "--chunk-bytes", "64KiB"])
        .args(["--summary", summary.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{engine}: {err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(report["events_in"], events, "{engine}: {err}");
    report["peak_rss_bytes"].as_u64().unwrap()
}

/// `streamlab run` over files many times the pipeline's window of chunks: making the
/// input six times longer adds less than a quarter of the extra input (~150 MB) to the
/// process's peak resident size (decoded beforehand, the events alone took ~1.3 times the
/// file, 148 bytes an event; streamed, the peak moves by ±10 MB from run to run whatever
/// the length, with the records in flight and the allocator, so the extra input must be
/// large next to that: with 0.8M more events a loaded machine once went 2 MB over).
#[test]
fn memory_stays_flat_in_the_length_of_a_file() {
    let dir = std::env::temp_dir().join(format!("streamlab-flat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (short, long) = (dir.join("short.jsonl"), dir.join("long.jsonl"));
    let (n_short, n_long) = (400_000, 2_400_000);
    let extra = w1_file(&long, n_long) - w1_file(&short, n_short);
    for engine in ["baseline", "record", "microbatch"] {
        let (a, b) = (
            peak_rss(engine, &short, n_short),
            peak_rss(engine, &long, n_long),
        );
        eprintln!("{engine}: peak RSS {a} bytes over {n_short} events, {b} over {n_long}");
        assert!(
            b.saturating_sub(a) < extra / 4,
            "{engine}: peak RSS {a} -> {b} bytes when the input grew by {extra} bytes"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
