//! `streamlab gen`: a deterministic workload as JSON Lines or CSV (and YSB's campaign
//! table).

use crate::args::{GenArgs, GenFormat};
use anyhow::{Context, Result};
use streamlab_io::sink::open_output;
use streamlab_workloads::gen::{generate, generate_csv, write_campaigns};

/// Runs `streamlab gen`.
pub fn gen_command(args: &GenArgs) -> Result<i32> {
    let cfg = args.config();
    cfg.validate().map_err(anyhow::Error::msg)?;
    if args.campaigns.is_some() {
        cfg.validate_campaigns().map_err(anyhow::Error::msg)?;
    }
    let mut out = open_output(&args.output)?;
    let started = std::time::Instant::now();
    let stats = match args.format {
        GenFormat::Json => generate(&cfg, &mut out),
        GenFormat::Csv => generate_csv(&cfg, &mut out),
    }
    .with_context(|| format!("writing {}", args.output))?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.campaigns {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        let ads = write_campaigns(&cfg, &mut file)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "streamlab gen: campaign table of {ads} ads in {}",
            path.display()
        );
    }
    eprintln!(
        "streamlab gen: {} {}{} lines ({} disordered, {} late, {} malformed) in {:.2} s ({:.2}M lines/s)",
        stats.lines,
        cfg.workload.name(),
        cfg.kinds
            .iter()
            .map(|k| format!(" {}", k.name()))
            .collect::<String>(),
        stats.disordered,
        stats.late,
        stats.malformed,
        secs,
        stats.lines as f64 / secs.max(1e-9) / 1e6
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;
    use std::path::Path;

    fn gen(args: &[&str]) -> Result<i32> {
        let argv = ["streamlab", "gen"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Gen(args) => gen_command(&args),
            other => anyhow::bail!("not a gen command: {other:?}"),
        }
    }

    #[test]
    fn gen_writes_the_campaign_table_and_refuses_options_of_other_workloads() {
        let dir = std::env::temp_dir().join(format!("streamlab-gen-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (events, table) = (dir.join("ysb.jsonl"), dir.join("campaigns.csv"));
        let path = |p: &Path| p.to_str().unwrap().to_owned();
        let ysb = [
            "--workload",
            "ysb",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        assert_eq!(
            gen(&[&ysb[..], &["--campaigns", &path(&table)]].concat()).unwrap(),
            0
        );
        let csv = std::fs::read_to_string(&table).unwrap();
        assert_eq!(csv.lines().count(), 1 + 1_000);
        let stream = std::fs::read_to_string(&events).unwrap();
        assert_eq!(stream.lines().count(), 100);
        let first: serde_json::Value =
            serde_json::from_str(stream.lines().next().unwrap()).unwrap();
        assert!(csv.contains(first["ad_id"].as_str().unwrap()));

        std::fs::remove_file(&events).unwrap();
        let nexmark = [
            "--workload",
            "nexmark",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        let err = gen(&[&nexmark[..], &["--campaigns", &path(&table)]].concat()).unwrap_err();
        assert!(err.to_string().contains("--campaigns"), "{err}");
        assert!(!events.exists(), "refused before writing the stream");
        let clicks = [
            "--workload",
            "clicks",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        let err = gen(&[&clicks[..], &["--kind", "bid"]].concat()).unwrap_err();
        assert!(err.to_string().contains("--kind"), "{err}");
        assert_eq!(
            gen(&[&nexmark[..], &["--kind", "auction"]].concat()).unwrap(),
            0
        );
        assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
