//! The store's tests: writing, reading, corruption and fallback.
#![allow(clippy::unwrap_used)]
use super::*;

fn store(name: &str, on_corrupt: OnCorrupt) -> CheckpointStore {
    let dir = std::env::temp_dir().join(format!("slck-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    CheckpointStore::open(dir, 3, on_corrupt).unwrap()
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Payload {
    query: String,
    n: u64,
}

impl Incremental for Payload {
    type Delta = u64;
    fn delta(_: &Self, cur: &Self) -> u64 {
        cur.n
    }
    fn apply(&mut self, n: u64) {
        self.n = n;
    }
}

#[test]
fn an_os_error_is_said_once() {
    // A directory that cannot be created: a file is in the way.
    let file = std::env::temp_dir().join(format!("slck-file-{}", std::process::id()));
    fs::write(&file, b"x").unwrap();
    let err = CheckpointStore::open(file.join("ck"), 3, OnCorrupt::Fail).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("os error"), "{text}");
    assert!(std::error::Error::source(&err).is_none(), "{text}");
    let _ = fs::remove_file(&file);
}

#[test]
fn states_are_checked_against_the_query_and_positions_read_from_outside() {
    let s = store("state", OnCorrupt::Fail);
    let query_of = |p: &Payload| p.query.clone();
    assert!(s
        .latest_state("test", "q1", |p: &Payload| &p.query)
        .unwrap()
        .is_none());
    assert_eq!(resume_position(s.dir(), OnCorrupt::Fail).unwrap(), None);
    let at = r#"{"line": 12, "byte": 345}"#.to_string();
    let state = Payload {
        query: "q1".into(),
        n: 7,
    };
    s.write_state(1, Some(&at), &state).unwrap();
    let (p, position) = s
        .latest_state("test", "q1", |p: &Payload| &p.query)
        .unwrap()
        .unwrap();
    assert_eq!((query_of(&p), p.n), ("q1".to_string(), 7));
    assert_eq!(position.as_ref(), Some(&at));
    assert_eq!(
        resume_position(s.dir(), OnCorrupt::Fail).unwrap(),
        Some((1, at))
    );
    let other = s
        .latest_state("test", "q2", |p: &Payload| &p.query)
        .err()
        .unwrap()
        .to_string();
    assert!(other.contains("another query"), "{other}");
    s.write(2, None, b"no").unwrap();
    let bad = s
        .latest_state("test", "q1", |p: &Payload| &p.query)
        .err()
        .unwrap()
        .to_string();
    assert!(
        bad.contains("chk-00000000000000000002.bin") && bad.contains("cannot decode"),
        "{bad}"
    );
    assert_eq!(resume_position(s.dir(), OnCorrupt::Fail).unwrap(), None);
    fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn the_checkpoint_read_for_its_position_is_not_read_again_unless_it_changed() {
    let s = store("preload", OnCorrupt::Fail);
    s.write(1, Some("{}"), b"first").unwrap();
    assert!(resume_position(s.dir(), OnCorrupt::Fail).unwrap().is_some());
    assert_eq!(s.latest().unwrap().unwrap().payload, b"first");
    // Read once: the next read is the file's again, and sees what it now holds.
    let path = s.path_of(1);
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x01;
    assert!(resume_position(s.dir(), OnCorrupt::Fail).unwrap().is_some());
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&path, &bytes).unwrap();
    assert!(s.latest().unwrap_err().to_string().contains("checksum"));
    fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn writes_read_back_and_old_ones_are_pruned() {
    let s = store("prune", OnCorrupt::Fail);
    for id in 1..=5u64 {
        let w = s.write(id, None, format!("state {id}").as_bytes()).unwrap();
        assert_eq!(w.bytes, (HEADER_LEN + 7) as u64);
    }
    assert_eq!(s.ids().unwrap(), vec![5, 4, 3]);
    let l = s.latest().unwrap().unwrap();
    assert_eq!((l.id, l.payload.as_slice()), (5, b"state 5".as_slice()));
    assert_eq!(l.position, None);
    assert!(!s.dir().join(".chk-00000000000000000005.tmp").exists());
    fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn a_corrupt_checkpoint_falls_back_to_the_previous_one_by_name() {
    let s = store("fallback", OnCorrupt::Previous);
    s.write(1, None, b"one").unwrap();
    s.write(2, None, b"two").unwrap();
    let newest = s.path_of(2);
    let mut bytes = fs::read(&newest).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    fs::write(&newest, &bytes).unwrap();
    let l = s.latest().unwrap().unwrap();
    assert_eq!(l.id, 1);
    assert_eq!(l.payload, b"one");
    assert!(
        l.skipped[0].contains("chk-00000000000000000002.bin") && l.skipped[0].contains("checksum"),
        "{:?}",
        l.skipped
    );
    fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn fail_mode_names_the_file_and_truncation_is_caught() {
    let s = store("fail", OnCorrupt::Fail);
    s.write(7, None, b"payload").unwrap();
    let path = s.path_of(7);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let err = s.latest().unwrap_err().to_string();
    assert!(
        err.contains("chk-00000000000000000007.bin") && err.contains("truncated"),
        "{err}"
    );
    fs::write(&path, &bytes[..10]).unwrap();
    assert!(s.latest().unwrap_err().to_string().contains("header"));
    fs::write(&path, b"XXXX-not-a-checkpoint-at-all-xxxxxxxx").unwrap();
    assert!(s.latest().unwrap_err().to_string().contains("bad magic"));
    fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn all_corrupt_is_an_error_not_a_silent_fresh_start() {
    let s = store("allbad", OnCorrupt::Previous);
    s.write(1, None, b"x").unwrap();
    fs::write(s.path_of(1), b"garbage").unwrap();
    assert!(s
        .latest()
        .unwrap_err()
        .to_string()
        .contains("no good checkpoint left"));
    let empty = store("empty", OnCorrupt::Previous);
    assert_eq!(empty.latest().unwrap(), None);
    fs::remove_dir_all(s.dir()).unwrap();
    fs::remove_dir_all(empty.dir()).unwrap();
}
