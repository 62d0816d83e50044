//! The live view over plain HTTP, without a browser: the page and its assets are served,
//! the event stream yields snapshots that follow the taps and ends on the summary's
//! numbers, and a bad or busy address is refused by name.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;
use streamlab_core::engine::{Poll, Source, VecSource};
use streamlab_core::Event;
use streamlab_live::{LiveArgs, LiveView};
use streamlab_measure::tap::{FinalNumbers, TappedSource};

fn serve(addr: &str) -> anyhow::Result<Option<LiveView>> {
    LiveView::start(&LiveArgs {
        serve: Some(addr.into()),
        serve_linger: false,
    })
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// Reads server-sent events until one satisfies `done`; returns it.
fn next_state(
    events: &mut BufReader<TcpStream>,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            events.read_line(&mut line).expect("read event") > 0,
            "stream ended"
        );
        if let Some(data) = line.strip_prefix("data: ") {
            let state: serde_json::Value = serde_json::from_str(data.trim()).expect("json");
            if done(&state) {
                return state;
            }
        }
    }
}

fn events(n: u64, from: u64) -> Vec<Event> {
    (from..from + n)
        .map(|seq| Event {
            seq,
            time: seq as i64 * 10,
            key: 0,
            part: 0,
            fields: Default::default(),
        })
        .collect()
}

fn drain(source: &mut dyn Source) {
    let mut buf = Vec::new();
    while source.poll(&mut buf, 100).expect("poll") == Poll::Ready {}
}

#[test]
fn the_page_and_a_stream_of_snapshots_are_served_until_the_final_numbers() {
    let view = serve("127.0.0.1:0").expect("serve").expect("a view");
    let addr = view.addr();
    let page = get(addr, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<script src=\"/app.js\">"), "{page}");
    assert!(get(addr, "/app.js").contains("new EventSource(\"/events\")"));
    assert!(get(addr, "/style.css").contains(".run"));

    let board = streamlab_measure::tap::board().expect("the view installs the board");
    let tap = board.start_run("record", 0);
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut events_in = BufReader::new(stream);
    let engine_events = |s: &serde_json::Value| s["runs"][0]["events_in"].as_u64();

    drain(&mut TappedSource::new(
        Box::new(VecSource::new(events(500, 0))),
        tap.clone(),
    ));
    let first = next_state(&mut events_in, |s| engine_events(s) == Some(500));
    assert_eq!(first["runs"][0]["state"], "running");
    assert_eq!(first["finished"], false);
    drain(&mut TappedSource::new(
        Box::new(VecSource::new(events(700, 500))),
        tap.clone(),
    ));
    let later = next_state(&mut events_in, |s| engine_events(s) == Some(1_200));
    assert_eq!(later["runs"][0]["watermark_ms"], 11_990);

    let summary = FinalNumbers {
        events_in: 1_200,
        rows_out: 17,
        late_dropped: 3,
        elapsed_ms: 1234.5,
        throughput_eps: 972_000.25,
        latency_us: None,
    };
    tap.finish(summary.clone());
    let finishing = std::thread::spawn(move || view.finish());
    let last = next_state(&mut events_in, |s| s["finished"] == true);
    let run = &last["runs"][0];
    assert_eq!(run["state"], "finished");
    assert_eq!(run["rows_out"], 17);
    assert_eq!(run["late_dropped"], 3);
    assert_eq!(run["throughput_eps"], 972_000.25);
    assert_eq!(run["elapsed_s"], 1.2345);
    finishing.join().expect("join").expect("finish");
}

#[test]
fn an_address_that_is_not_one_is_refused_naming_it() {
    let err = serve("nowhere:abc").err().expect("refused");
    assert!(err.to_string().contains("--serve \"nowhere:abc\""), "{err}");
}

#[test]
fn an_address_in_use_is_refused_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let err = serve(&addr.to_string()).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&addr.to_string()), "{text}");
    assert!(text.contains("in use"), "{text}");
}
