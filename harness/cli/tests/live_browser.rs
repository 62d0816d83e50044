//! A headless Chromium driven through chromedriver (fantoccini), for the live view's
//! tests: started with a fresh profile and no network chatter, ended with the test.
//! Without Chromium or chromedriver on the machine [`Browser::start`] prints `SKIPPED:`
//! and returns `None`.

use fantoccini::{Client, ClientBuilder};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Chromium and its driver are (Debian's `chromium`, `chromium-driver`), or
/// `STREAMLAB_CHROMIUM` / `STREAMLAB_CHROMEDRIVER`.
fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.is_file().then_some(path)
}

/// A browser session on a headless Chromium.
pub struct Browser {
    pub client: Client,
    pub runtime: tokio::runtime::Runtime,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (and a `SKIPPED:` line) when
    /// either is missing.
    pub fn start(test: &str) -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (
            tool("STREAMLAB_CHROMIUM", "/usr/bin/chromium"),
            tool("STREAMLAB_CHROMEDRIVER", "/usr/bin/chromedriver"),
        ) else {
            println!("SKIPPED: {test}: no Chromium and chromedriver (apt-get install chromium chromium-driver)");
            eprintln!("SKIPPED: {test}: no Chromium and chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile =
            std::env::temp_dir().join(format!("streamlab-chromium-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let options = serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = runtime
            .block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap();
        Some(Browser {
            client,
            runtime,
            driver,
            profile,
        })
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.runtime.block_on(self.client.goto(url)).unwrap();
    }

    /// What the page shows: the status, and per engine panel its figures as the DOM holds
    /// them (`data-field` elements' `data-value`, the latency line's percentiles), plus
    /// each panel's top edge (panels side by side share it).
    pub fn shown(&self) -> serde_json::Value {
        const READ: &str = r#"
            const out = { status: document.getElementById("status").dataset.state, runs: {} };
            document.querySelectorAll("section.run").forEach((s) => {
                const f = { state: s.dataset.state, top: s.getBoundingClientRect().top };
                s.querySelectorAll("[data-field]").forEach((e) => { f[e.dataset.field] = e.dataset.value; });
                const l = s.querySelector("[data-field=latency]");
                if (l) { f.p50 = l.dataset.p50; f.p99 = l.dataset.p99; f.latency_count = l.dataset.count; }
                const b = s.querySelector("[data-field=last_batch]");
                if (b) { f.last_batch = b.dataset.id; }
                out.runs[s.dataset.engine] = f;
            });
            return out;"#;
        self.runtime
            .block_on(self.client.execute(READ, vec![]))
            .unwrap()
    }

    /// Waits (up to `secs`) until what the page shows satisfies `ok`; returns it.
    pub fn wait_for(
        &self,
        secs: u64,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let shown = self.shown();
            if ok(&shown) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}: {shown}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes a PNG of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.runtime.block_on(self.client.screenshot()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let client = self.client.clone();
        let _ = self.runtime.block_on(client.close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Whether a float the page shows is the one a JSON file holds. serde_json (built without
/// `float_roundtrip`, which would change how the decoder values long numbers) may read a
/// float one ulp off its digits, so the two agree to 12 significant digits.
pub fn same_float(shown: f64, file: f64) -> bool {
    (shown - file).abs() <= 1e-12 * file.abs()
}

/// A number the page shows (a `data-value`), as f64.
pub fn number(shown: &serde_json::Value, engine: &str, field: &str) -> f64 {
    shown["runs"][engine][field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}
