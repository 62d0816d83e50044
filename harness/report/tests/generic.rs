#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! A results folder of a kind the report does not know (an experiment added since) still
//! gets its page: no figures, said so, and its summary and raw rows, nothing lost.

#[test]
fn an_unknown_kind_gets_its_tables() {
    let dir = std::env::temp_dir().join(format!("streamlab-report-generic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("README.md"),
        "# streamlab experiment checkpoint-interval\n\nCommand:\n\n    streamlab experiment checkpoint-interval --quick\n\nCheckpoint intervals against throughput.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("raw.csv"),
        "engine,interval,rep,metric,value\nrecord,1s,0,throughput_eps,123456.5\nrecord,10s,0,throughput_eps,234567.25\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("summary.json"),
        r#"{"points": [{"engine": "record", "interval": "1s", "cost": 0.0421}]}"#,
    )
    .unwrap();
    let page = streamlab_report::write_report(&dir).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("No figures are drawn for the kind <code>checkpoint-interval</code>"));
    assert!(html.contains("Checkpoint intervals against throughput."));
    assert!(html
        .contains("<code id=\"command\">streamlab experiment checkpoint-interval --quick</code>"));
    // summary.json in full, and every raw row as it is.
    assert!(html.contains("<span class=\"n\">0.0421</span>"));
    for v in ["123456.5", "234567.25"] {
        assert!(
            html.contains(&format!("<td class=\"n\">{v}</td>")),
            "raw value {v} missing"
        );
    }
    // Its medians table has the parameter as a column.
    assert!(html.contains("<th>interval</th>"));
    std::fs::remove_dir_all(&dir).unwrap();
}
