#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The report of every committed results folder (a copy, in a temporary directory) has
//! every figure its notebook drew there (`fig-NAME.png` → `<figure id="fig-NAME">`), each
//! with at least one SVG panel; the index links every folder.

use std::path::{Path, PathBuf};

fn results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results")
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        // The PNGs are what the notebooks drew: kept out of the copy, only their names count.
        if p.is_file() && p.extension().is_none_or(|x| x != "png") && name != "index.html" {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

#[test]
fn every_committed_folder_gets_every_figure_its_notebook_drew() {
    let tmp =
        std::env::temp_dir().join(format!("streamlab-report-committed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut folders = 0;
    for dir in streamlab_report::index::folders_under(&results()).unwrap() {
        let copy_dir = tmp.join(dir.file_name().unwrap());
        copy(&dir, &copy_dir);
        folders += 1;
    }
    assert!(folders >= 10, "{folders} committed folders");
    let written = streamlab_report::report(std::slice::from_ref(&tmp)).unwrap();
    assert_eq!(written.len(), folders + 1, "{written:?}");
    let index = std::fs::read_to_string(tmp.join("index.html")).unwrap();
    for dir in streamlab_report::index::folders_under(&results()).unwrap() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            index.contains(&format!("href=\"{name}/index.html\"")),
            "index misses {name}"
        );
        let html = std::fs::read_to_string(tmp.join(&name).join("index.html")).unwrap();
        for png in std::fs::read_dir(&dir).unwrap() {
            let png = png.unwrap().file_name().to_string_lossy().into_owned();
            let Some(fig) = png.strip_suffix(".png") else {
                continue;
            };
            let at = html
                .find(&format!("<figure id=\"{fig}\">"))
                .unwrap_or_else(|| panic!("{name}: no {fig} in its report"));
            let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
            assert!(figure.contains("<svg"), "{name}: {fig} has no panel");
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}
