//! Forming a timely cluster safely: the connections between processes are made here, each
//! with a handshake, then handed to timely's networking
//! ([`initialize_networking_from_sockets`]).
//!
//! Timely's own set-up reads an 8-byte process index from whatever connects to a
//! process's port and panics on anything else: a port scan or a stray `nc` killed process
//! 0, and any 8 bytes made a stranger a member of the cluster. Here, the process that
//! accepts speaks first (a magic word and a fresh nonce); the one that connects answers
//! with its index, the cluster's size and an HMAC-SHA256 of the nonce under the shared
//! secret `STREAMLAB_CLUSTER_SECRET` (empty when unset). A connection that does not
//! answer so within [`HANDSHAKE_TIMEOUT`] is closed with its reason on stderr, and the
//! process goes on waiting for its peers; a refused process is told why and stops.
//!
//! The trust model is Flink's and Spark's for their RPC ports: processes of one cluster
//! on a trusted network. Without a secret the handshake keeps out strays and other
//! clusters, not an attacker; with one, a process must know it to join (the secret never
//! crosses the network), but the traffic after the handshake is neither encrypted nor
//! authenticated. A process listens only on its own host-file address, and only until
//! its cluster has formed.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;
use timely::worker::Worker;
use timely::CommunicationConfig;

/// The first bytes of every handshake: this protocol, version 1.
const MAGIC: &[u8; 8] = b"STRMLAB1";

/// How long an accepted connection has to answer the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variable holding the cluster's shared secret.
pub const SECRET_VAR: &str = "STREAMLAB_CLUSTER_SECRET";

type Tag = Hmac<Sha256>;

/// Runs `func` on every worker of this process as [`timely::execute`] does with
/// `config`, except that a cluster's connections are made by [`connect`].
pub fn execute<T, F>(
    config: timely::Config,
    func: F,
) -> Result<timely::communication::WorkerGuards<T>, String>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let CommunicationConfig::Cluster {
        threads,
        process,
        addresses,
        ..
    } = config.communication
    else {
        return timely::execute(config, func);
    };
    let secret = std::env::var(SECRET_VAR).unwrap_or_default();
    let sockets = connect(&addresses, process, secret.as_bytes())?;
    let hooks = Hooks::default();
    let process_allocators =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(process_allocators, sockets, process, threads, hooks)
            .map_err(|e| format!("failed to initialize networking: {e}"))?;
    timely::execute::execute_from(
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
        config.worker,
        func,
    )
}

/// A connection to every other process (`None` at `me`), in process order: this process
/// connects to the lower ones and accepts the higher ones, each through the handshake.
pub fn connect(
    addresses: &[String],
    me: usize,
    secret: &[u8],
) -> Result<Vec<Option<TcpStream>>, String> {
    let processes = addresses.len() as u64;
    // Listen first, so that higher processes can connect while this one dials.
    let listener = if (me + 1) < addresses.len() {
        Some(
            TcpListener::bind(&addresses[me])
                .map_err(|e| format!("cannot listen on {} (process {me}): {e}", addresses[me]))?,
        )
    } else {
        None
    };
    let mut sockets: Vec<Option<TcpStream>> = Vec::with_capacity(addresses.len());
    for (peer, address) in addresses.iter().enumerate().take(me) {
        sockets.push(Some(dial(address, peer, me as u64, processes, secret)?));
    }
    sockets.push(None);
    let mut higher: Vec<Option<TcpStream>> = (me + 1..addresses.len()).map(|_| None).collect();
    if let Some(listener) = listener {
        while higher.iter().any(Option::is_none) {
            let (mut stream, from) = listener
                .accept()
                .map_err(|e| format!("cannot accept on {}: {e}", addresses[me]))?;
            match admit(&mut stream, me as u64, processes, secret, &higher) {
                Ok(index) => higher[index as usize - me - 1] = Some(stream),
                Err(why) => {
                    eprintln!(
                        "streamlab: cluster process {me}: refused a connection from {from}: {why}"
                    );
                    // Tell it why when it speaks the protocol; a stray may be gone.
                    let _ = stream.write_all(&[0]);
                    let _ = stream.write_all(why.as_bytes());
                }
            }
        }
    }
    sockets.extend(higher);
    for s in sockets.iter().flatten() {
        s.set_read_timeout(None)
            .and_then(|()| s.set_write_timeout(None))
            .and_then(|()| s.set_nodelay(true))
            .map_err(|e| format!("cannot configure a cluster connection: {e}"))?;
    }
    Ok(sockets)
}

/// Connects to process `peer` at `address` (retrying while it is not up yet) and answers
/// its handshake as process `me`.
fn dial(
    address: &str,
    peer: usize,
    me: u64,
    processes: u64,
    secret: &[u8],
) -> Result<TcpStream, String> {
    let mut stream = loop {
        match TcpStream::connect(address) {
            Ok(s) => break s,
            // Not listening yet: the cluster's watchdog ends a wait that lasts too long.
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let fail = |e: std::io::Error| format!("handshake with process {peer} at {address}: {e}");
    // No time limit on the greeting: the peer may be busy refusing a stray for up to
    // HANDSHAKE_TIMEOUT; the cluster's watchdog ends a wait that lasts too long.
    let mut hello = [0u8; 24];
    stream.read_exact(&mut hello).map_err(|e| {
        format!("process {peer} at {address} did not greet as a streamlab cluster process: {e}")
    })?;
    if &hello[..8] != MAGIC {
        return Err(format!(
            "{address} (process {peer} in the host file) is not a streamlab cluster process"
        ));
    }
    let mut answer = Vec::with_capacity(56);
    answer.extend_from_slice(MAGIC);
    answer.extend_from_slice(&me.to_be_bytes());
    answer.extend_from_slice(&processes.to_be_bytes());
    answer.extend_from_slice(&tag(secret, &hello[8..], me, processes));
    stream.write_all(&answer).map_err(fail)?;
    let mut verdict = [0u8; 1];
    stream.read_exact(&mut verdict).map_err(fail)?;
    if verdict[0] != 1 {
        let mut why = String::new();
        let _ = stream.read_to_string(&mut why);
        return Err(format!(
            "process {peer} at {address} refused this process ({me}): {why}"
        ));
    }
    Ok(stream)
}

/// Greets a connection and checks its answer: the index of the process it is, or why
/// it is not one this process awaits.
fn admit(
    stream: &mut TcpStream,
    me: u64,
    processes: u64,
    secret: &[u8],
    higher: &[Option<TcpStream>],
) -> Result<u64, String> {
    let io = |e: std::io::Error| format!("no handshake: {e}");
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT)))
        .map_err(io)?;
    let mut hello = [0u8; 24];
    hello[..8].copy_from_slice(MAGIC);
    hello[8..].copy_from_slice(&nonce());
    stream.write_all(&hello).map_err(io)?;
    let mut answer = [0u8; 56];
    stream.read_exact(&mut answer).map_err(io)?;
    if &answer[..8] != MAGIC {
        return Err("not a streamlab cluster process".into());
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&answer[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let (index, their_processes) = (word(8), word(16));
    if their_processes != processes {
        return Err(format!(
            "it belongs to a cluster of {their_processes} processes, this one has {processes}"
        ));
    }
    if index <= me || index >= processes {
        return Err(format!(
            "it says it is process {index}; process {me} awaits processes {}..{}",
            me + 1,
            processes - 1
        ));
    }
    if higher[(index - me - 1) as usize].is_some() {
        return Err(format!("process {index} is connected already"));
    }
    let mut mac = <Tag as Mac>::new_from_slice(secret).map_err(|e| e.to_string())?;
    mac.update(&hello[8..]);
    mac.update(&index.to_be_bytes());
    mac.update(&processes.to_be_bytes());
    mac.verify_slice(&answer[24..])
        .map_err(|_| format!("wrong secret (the processes' {SECRET_VAR} differ)"))?;
    stream.write_all(&[1]).map_err(io)?;
    Ok(index)
}

/// HMAC-SHA256 of the nonce, the process index and the cluster's size under `secret`.
fn tag(secret: &[u8], nonce: &[u8], me: u64, processes: u64) -> [u8; 32] {
    let mut mac = <Tag as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(nonce);
    mac.update(&me.to_be_bytes());
    mac.update(&processes.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// 16 bytes no earlier handshake used: std's randomly keyed hasher over a counter and
/// the time (unique per handshake, which is all a challenge needs).
fn nonce() -> [u8; 16] {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut out = [0u8; 16];
    for (i, half) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(now);
        h.write_usize(i);
        half.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_addresses(n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
                l.local_addr().expect("its address").to_string()
            })
            .collect()
    }

    /// Process 0 survives a probe, a stranger's 8-byte "I am process 1" and a wrong
    /// secret, and still forms its cluster with the real process 1.
    #[test]
    fn strays_and_wrong_secrets_are_refused_and_the_cluster_still_forms() {
        let addresses = free_addresses(2);
        let zero = {
            let addresses = addresses.clone();
            std::thread::spawn(move || connect(&addresses, 0, b"s3cret"))
        };
        let dial_zero = || loop {
            if let Ok(s) = TcpStream::connect(&addresses[0]) {
                break s;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // A probe: connect and close.
        drop(dial_zero());
        // timely's handshake, as a stranger would send it.
        let mut stranger = dial_zero();
        stranger.write_all(&1u64.to_be_bytes()).expect("write");
        let mut verdict = Vec::new();
        let _ = stranger.read_to_end(&mut verdict);
        assert!(
            !verdict.is_empty() && verdict.get(24) == Some(&0),
            "{verdict:?}"
        );
        // A process of the protocol with another secret is told why.
        let err = connect(&addresses, 1, b"other").expect_err("a wrong secret");
        assert!(err.contains("wrong secret"), "{err}");
        // The real process 1.
        let one = connect(&addresses, 1, b"s3cret").expect("process 1 joins");
        assert!(one[0].is_some() && one[1].is_none());
        let zero = zero
            .join()
            .expect("process 0's thread")
            .expect("process 0 forms");
        assert!(zero[0].is_none() && zero[1].is_some());
    }
}
