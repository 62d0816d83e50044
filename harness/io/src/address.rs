//! Input addresses of `--input`: a file or `-` (read whole before the run), or a live
//! input (`tcp://`, `dir://`, `kafka://`) decoded while the engine runs. A build without
//! the `kafka` feature refuses `kafka://` with [`without_kafka`]'s message.

use crate::live::{spawn_live, tcp_reader, LiveSource, DEFAULT_MAX_LINE};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::model::duration::DurationMs;
use streamlab_core::{KeyTable, Plan};

/// A live input.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveInput {
    /// Connect to a line server.
    Tcp {
        /// `HOST:PORT`.
        addr: String,
        /// The longest line kept, in bytes (`?max_line=`).
        max_line: usize,
    },
    /// Every partition of a Kafka topic.
    #[cfg(feature = "kafka")]
    Kafka(crate::kafka::KafkaAddr),
    /// Files of a directory, in name order, new ones as they appear.
    Dir {
        /// The directory.
        path: PathBuf,
        /// Stop after this long without a new file.
        idle: Duration,
        /// The longest line kept, in bytes (`&max_line=`).
        max_line: usize,
    },
}

/// The error for a `kafka://` address (`what`) in a build without the `kafka` feature.
pub fn without_kafka(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: this streamlab was built without Kafka (the `kafka` cargo feature is off); \
         rebuild with default features to read or write kafka:// addresses"
    )
}

/// A `max_line` value: a positive whole number of bytes (`4194304`), or of KiB, MiB or
/// GiB (`4MiB`).
fn bytes(text: &str, url: &str) -> Result<usize> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale: usize = match unit {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => bail!("{url}: max_line: `{text}` is not a size: expected bytes, like 4194304 or 4MiB"),
    };
    match digits.parse::<usize>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("{url}: max_line: `{text}` is not a size: expected bytes greater than zero, like 4194304 or 4MiB"),
    }
}

/// Splits `a=b&c=d` into pairs, rejecting unknown keys.
fn query_params<'a>(text: &'a str, allowed: &[&str], url: &str) -> Result<Vec<(&'a str, &'a str)>> {
    let mut out = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&k) {
            bail!(
                "{url}: unknown option `{k}` (known: {})",
                allowed.join(", ")
            );
        }
        out.push((k, v));
    }
    Ok(out)
}

impl LiveInput {
    /// `None` for a file or `-`; an error names what is wrong with a live address.
    pub fn parse(input: &str) -> Result<Option<LiveInput>> {
        if let Some(rest) = input.strip_prefix("tcp://") {
            let (rest, params) = rest.split_once('?').unwrap_or((rest, ""));
            if rest
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                bail!("{input}: expected tcp://HOST:PORT");
            }
            let mut max_line = DEFAULT_MAX_LINE;
            for (_, v) in query_params(params, &["max_line"], input)? {
                max_line = bytes(v, input)?;
            }
            return Ok(Some(LiveInput::Tcp {
                addr: rest.into(),
                max_line,
            }));
        }
        if let Some(rest) = input.strip_prefix("dir://") {
            let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
            let mut idle = Duration::from_secs(5);
            let mut max_line = DEFAULT_MAX_LINE;
            for (k, v) in query_params(params, &["idle", "max_line"], input)? {
                if k == "max_line" {
                    max_line = bytes(v, input)?;
                } else if k == "idle" {
                    idle = Duration::from_millis(
                        DurationMs::parse(v)
                            .map_err(|e| anyhow::anyhow!("{input}: idle: {e}"))?
                            .ms() as u64,
                    );
                }
            }
            let path = PathBuf::from(path);
            if !path.is_dir() {
                bail!("{input}: {} is not a directory", path.display());
            }
            return Ok(Some(LiveInput::Dir {
                path,
                idle,
                max_line,
            }));
        }
        if input.starts_with("kafka://") {
            #[cfg(feature = "kafka")]
            return Ok(Some(LiveInput::Kafka(crate::kafka::KafkaAddr::parse(
                input,
            )?)));
            #[cfg(not(feature = "kafka"))]
            return Err(without_kafka(input));
        }
        if input.contains("://") {
            bail!("{input}: unknown input scheme (use a file, -, tcp://, dir:// or kafka://)");
        }
        Ok(None)
    }

    /// Starts reading; events are decoded into `keys`.
    pub fn start(self, plan: &Plan, keys: Arc<KeyTable>, strict: bool) -> Result<LiveSource> {
        Ok(match self {
            LiveInput::Tcp { addr, max_line } => {
                let name = format!("tcp://{addr}");
                spawn_live(plan, keys, &name, strict, 1, tcp_reader(addr, max_line))
            }
            #[cfg(feature = "kafka")]
            LiveInput::Kafka(addr) => {
                let parts = crate::kafka::check_source(&addr)?;
                crate::kafka::kafka_source(plan, keys, strict, addr, parts)
            }
            LiveInput::Dir {
                path,
                idle,
                max_line,
            } => {
                let shown = path.display().to_string();
                let name = format!("dir://{shown}");
                let (read, rewind) =
                    crate::dir_input::dir_input(path, shown, idle, max_line, keys.clone());
                spawn_live(plan, keys, &name, strict, 1, read).with_rewind(Box::new(rewind))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_say_what_is_wrong() {
        assert_eq!(LiveInput::parse("events.jsonl").unwrap(), None);
        assert_eq!(LiveInput::parse("-").unwrap(), None);
        assert_eq!(
            LiveInput::parse("tcp://localhost:9999").unwrap(),
            Some(LiveInput::Tcp {
                addr: "localhost:9999".into(),
                max_line: 1 << 20,
            })
        );
        assert_eq!(
            LiveInput::parse("tcp://localhost:9999?max_line=4MiB").unwrap(),
            Some(LiveInput::Tcp {
                addr: "localhost:9999".into(),
                max_line: 4 << 20,
            })
        );
        for bad in ["0", "4MB", "x", "99999999999999999999"] {
            let err = LiveInput::parse(&format!("tcp://h:1?max_line={bad}")).unwrap_err();
            assert!(err.to_string().contains("max_line: "), "{err}");
        }
        assert!(LiveInput::parse("tcp://localhost")
            .unwrap_err()
            .to_string()
            .contains("HOST:PORT"));
        let dir = std::env::temp_dir();
        let d = LiveInput::parse(&format!("dir://{}?idle=200ms", dir.display())).unwrap();
        assert_eq!(
            d,
            Some(LiveInput::Dir {
                path: dir.clone(),
                idle: Duration::from_millis(200),
                max_line: 1 << 20,
            })
        );
        let d = LiveInput::parse(&format!("dir://{}?max_line=64&idle=1s", dir.display()));
        assert!(matches!(
            d.unwrap(),
            Some(LiveInput::Dir { max_line: 64, .. })
        ));
        assert!(
            LiveInput::parse(&format!("dir://{}?wait=1s", dir.display()))
                .unwrap_err()
                .to_string()
                .contains("unknown option `wait`")
        );
        assert!(LiveInput::parse("dir:///no/such/dir")
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
        assert!(LiveInput::parse("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("unknown input scheme"));
    }
}
