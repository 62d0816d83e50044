//! Where the live view listens: loopback unless the user writes another address out.

use anyhow::{bail, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The address `--serve` uses when given without one: loopback, a port the system picks.
pub const DEFAULT_ADDR: &str = "127.0.0.1:0";

/// Reads `--serve ADDR`: `IP:PORT`, `localhost:PORT` or a bare `PORT` (on loopback). A
/// non-loopback IP is taken only as written (`0.0.0.0:8080`): it is never a default, and
/// the caller says on stderr that the page is reachable from the network.
pub fn parse_serve_addr(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    match text.parse::<SocketAddr>() {
        Ok(addr) => Ok(addr),
        Err(_) => bail!(
            "--serve {text:?} is not an address to listen on: give IP:PORT (127.0.0.1:8080, [::1]:8080), localhost:PORT or a port"
        ),
    }
}

/// Whether only this machine can reach `addr`.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback_and_others_are_taken_as_written() {
        let local = parse_serve_addr(DEFAULT_ADDR).expect("default");
        assert!(is_loopback(&local));
        assert_eq!(
            parse_serve_addr("8080").expect("port"),
            "127.0.0.1:8080".parse().expect("addr")
        );
        assert_eq!(
            parse_serve_addr("localhost:9000").expect("localhost"),
            "127.0.0.1:9000".parse().expect("addr")
        );
        let open = parse_serve_addr("0.0.0.0:8080").expect("any");
        assert!(!is_loopback(&open));
        let err = parse_serve_addr("example.org:80").expect_err("a host name");
        assert!(err.to_string().contains("\"example.org:80\""), "{err}");
        assert!(parse_serve_addr("127.0.0.1:99999").is_err());
    }
}
