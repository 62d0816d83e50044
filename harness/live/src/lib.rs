//! The live view: `--serve [ADDR]` on `streamlab run`, `demo` and `experiment` serves a page
//! that shows, per engine, events in, rows out, throughput over time, latency percentiles
//! and histogram, watermark against processing time, late drops and micro-batches while
//! the engines run, several side by side.
//!
//! The numbers come from the taps of [`streamlab_measure::tap`] (on each run's source and
//! sink, nothing inside an engine): a sampler task on this crate's own tokio runtime reads
//! them every 100 ms and publishes the state, which the page receives as server-sent events.
//! At the end every run shows its summary's numbers. The page, its script and stylesheet
//! are embedded in the binary (no CDN, no build step): `assets/`.
//!
//! # Layout
//! - [`address`]: reading `--serve ADDR` (loopback by default).
//! - [`state`]: the sampler, each run's history, the state as JSON.
//! - [`server`]: the routes (axum): the page, `/state`, `/events`.

pub mod address;
pub mod server;
pub mod state;

use anyhow::{Context, Result};
use server::Shared;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamlab_measure::tap::Board;
use tokio::sync::watch;

/// How often the sampler reads the taps and publishes the state.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long the end of a command waits for open pages to receive the final state.
const FINAL_GRACE: Duration = Duration::from_secs(3);

/// `--serve` and `--serve-linger`, for the commands that take them.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct LiveArgs {
    /// Serve a live view of the engines while they run, at ADDR (default 127.0.0.1 on a
    /// free port; the URL is printed on stderr). Only loopback unless another address is
    /// written out (`--serve 0.0.0.0:8080`).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = address::DEFAULT_ADDR)]
    pub serve: Option<String>,
    /// With --serve: keep serving the finished view until Ctrl-C (else the command exits
    /// when it is done, once open pages have the final numbers).
    #[arg(long, requires = "serve")]
    pub serve_linger: bool,
}

/// A live view being served.
pub struct LiveView {
    addr: SocketAddr,
    board: Arc<Board>,
    runtime: tokio::runtime::Runtime,
    state: server::Published,
    clients: Arc<AtomicUsize>,
    got_final: Arc<AtomicUsize>,
    linger: bool,
}

impl LiveView {
    /// Starts serving when `--serve` was given (else `None`: nothing is tapped): binds the
    /// address (an address in use or not this machine's is an error naming it), installs
    /// the taps' board and prints the URL on stderr.
    pub fn start(args: &LiveArgs) -> Result<Option<LiveView>> {
        let Some(text) = &args.serve else {
            return Ok(None);
        };
        let wanted = address::parse_serve_addr(text)?;
        let listener = std::net::TcpListener::bind(wanted).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "the address is in use (another program listens there: pick another port, or give none)".to_string()
                }
                std::io::ErrorKind::AddrNotAvailable => {
                    "no interface of this machine has that address".to_string()
                }
                _ => e.to_string(),
            };
            anyhow::anyhow!("cannot serve the live view on {wanted}: {why}")
        })?;
        listener
            .set_nonblocking(true)
            .context("live view: setting the socket non-blocking")?;
        let addr = listener.local_addr().context("live view: local address")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("streamlab-live")
            .enable_all()
            .build()
            .context("live view: starting its tokio runtime")?;
        let board = streamlab_measure::tap::install();
        let mut sampler = state::Sampler::new(board.clone());
        let (tx, state) = watch::channel((Arc::<str>::from(sampler.tick().0), false));
        let clients = Arc::new(AtomicUsize::new(0));
        let got_final = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            state: state.clone(),
            clients: clients.clone(),
            got_final: got_final.clone(),
        };
        runtime.spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let (body, last) = sampler.tick();
                if tx.send((body.into(), last)).is_err() || last {
                    break;
                }
            }
        });
        let app = server::router(shared);
        runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    if let Err(e) = axum::serve(listener, app).await {
                        eprintln!("streamlab: live view: {e}");
                    }
                }
                Err(e) => eprintln!("streamlab: live view: {e}"),
            }
        });
        let shown = if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        eprintln!("streamlab: live view at http://{shown}/");
        if !address::is_loopback(&addr) {
            eprintln!(
                "streamlab: the live view listens on {addr}: other machines can read it (no password)"
            );
        }
        Ok(Some(LiveView {
            addr,
            board,
            runtime,
            state,
            clients,
            got_final,
            linger: args.serve_linger,
        }))
    }

    /// The address the view listens on (its port, when the system picked it).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The command is done: publishes the final state (every run's summary), waits a few
    /// seconds at most for open pages to receive it, and with `--serve-linger` serves on
    /// until SIGINT or SIGTERM.
    pub fn finish(self) -> Result<()> {
        self.board.finish();
        let deadline = Instant::now() + FINAL_GRACE;
        while Instant::now() < deadline {
            let published = self.state.borrow().1;
            if published
                && self.got_final.load(Ordering::SeqCst) >= self.clients.load(Ordering::SeqCst)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.linger {
            eprintln!(
                "streamlab: finished; the live view stays at http://{}/ until Ctrl-C",
                self.addr
            );
            let mut signals = signal_hook::iterator::Signals::new([
                signal_hook::consts::SIGINT,
                signal_hook::consts::SIGTERM,
            ])
            .context("live view: waiting for Ctrl-C")?;
            let _ = signals.forever().next();
        }
        self.runtime.shutdown_timeout(Duration::from_millis(200));
        Ok(())
    }
}
