//! `ysb`: Yahoo Streaming Benchmark ad events, plus its campaign table
//! ([`write_campaigns`]), which a query joins with ([`with_generated_table`]).
//!
//! Follows the YSB data generator: `user_id, page_id, ad_id` UUIDs (100 users, 100 pages,
//! `keys` ads, 1000 by default), `ad_type` and `event_type` uniform over the benchmark's
//! lists, `ip_address` the constant `1.2.3.4`, ads assigned 10 per campaign in order.
//! Simplified: ids are UUID-shaped strings drawn from `seed` (not random UUIDs), and the
//! time is an integer `ts` field rather than the string `event_time`.

use super::{GenConfig, Workload};
use anyhow::bail;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::io::{self, Write};
use streamlab_core::Plan;

/// Writes the YSB campaign table for `cfg` as CSV, `ad_id,campaign_id` after a header
/// line: every ad the stream can name, 10 per campaign. Returns the number of ads.
pub fn write_campaigns(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<u64> {
    cfg.validate()
        .and_then(|()| cfg.validate_campaigns())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let ids = YsbIds::new(cfg.seed, cfg.keys);
    let mut buf = Vec::with_capacity(ids.ads.len() * 74 + 20);
    buf.extend_from_slice(b"ad_id,campaign_id\n");
    for (ad, id) in ids.ads.iter().enumerate() {
        buf.extend_from_slice(id);
        buf.push(b',');
        buf.extend_from_slice(&ids.campaigns[ad / YSB_ADS_PER_CAMPAIGN as usize]);
        buf.push(b'\n');
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ids.ads.len() as u64)
}

/// Loads the join table of `plan` for a generated input: the YSB generator's campaign
/// table, which the seed alone determines (so a benchmark child makes the same table as
/// `streamlab gen --campaigns` writes, without a file).
pub fn with_generated_table(plan: Plan, gen: &GenConfig) -> anyhow::Result<Plan> {
    if plan.static_join().is_none() {
        return Ok(plan);
    }
    if gen.workload != Workload::Ysb {
        bail!(
            "the query joins with a table, but only the ysb workload generates one (its campaigns); use streamlab run with the table file"
        );
    }
    let mut csv = Vec::new();
    write_campaigns(gen, &mut csv)?;
    streamlab_io::tables::with_csv_table(
        plan,
        std::str::from_utf8(&csv)?,
        "the generated campaign table",
    )
}

/// Ads per YSB campaign.
pub(super) const YSB_ADS_PER_CAMPAIGN: u64 = 10;
/// YSB's user and page pools.
const YSB_USERS: usize = 100;
const YSB_PAGES: usize = 100;
const YSB_AD_TYPES: [&str; 5] = ["banner", "modal", "sponsored-search", "mail", "mobile"];
const YSB_EVENT_TYPES: [&str; 3] = ["view", "click", "purchase"];
/// Keeps the id stream apart from the event stream of the same seed.
const YSB_ID_SALT: u64 = 0x5953_425f_6964_7321;

/// A UUID-shaped id, as YSB's `UUID/randomUUID` strings.
type Uuid = [u8; 36];

/// The YSB id tables: campaigns, ads (ad `a` belongs to campaign `a / 10`), users, pages;
/// drawn from the seed alone, so the campaign table does not depend on `--events`.
pub(super) struct YsbIds {
    campaigns: Vec<Uuid>,
    ads: Vec<Uuid>,
    users: Vec<Uuid>,
    pages: Vec<Uuid>,
}

impl YsbIds {
    pub(super) fn new(seed: u64, ads: u64) -> YsbIds {
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ YSB_ID_SALT);
        let mut ids = |n: usize| -> Vec<Uuid> { (0..n).map(|_| uuid(&mut rng)).collect() };
        let campaigns = ids((ads / YSB_ADS_PER_CAMPAIGN) as usize);
        let ads = ids(ads as usize);
        let users = ids(YSB_USERS);
        let pages = ids(YSB_PAGES);
        YsbIds {
            campaigns,
            ads,
            users,
            pages,
        }
    }

    pub(super) fn write(&self, buf: &mut Vec<u8>, ad: u64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"user_id\":\"");
        buf.extend_from_slice(&self.users[rng.gen_range(0..self.users.len())]);
        buf.extend_from_slice(b"\",\"page_id\":\"");
        buf.extend_from_slice(&self.pages[rng.gen_range(0..self.pages.len())]);
        buf.extend_from_slice(b"\",\"ad_id\":\"");
        buf.extend_from_slice(&self.ads[ad as usize]);
        buf.extend_from_slice(b"\",\"ad_type\":\"");
        buf.extend_from_slice(YSB_AD_TYPES[rng.gen_range(0..YSB_AD_TYPES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"event_type\":\"");
        buf.extend_from_slice(YSB_EVENT_TYPES[rng.gen_range(0..YSB_EVENT_TYPES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"ip_address\":\"1.2.3.4\"}\n");
    }
}

/// A random version-4 UUID in its 8-4-4-4-12 hex form.
fn uuid(rng: &mut Pcg64Mcg) -> Uuid {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits: u128 = rng.gen();
    // Version 4, variant 10xx, as `java.util.UUID.randomUUID`.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let mut out = [b'-'; 36];
    let mut nibble = 0;
    for (at, byte) in out.iter_mut().enumerate() {
        if matches!(at, 8 | 13 | 18 | 23) {
            continue;
        }
        *byte = HEX[((bits >> (124 - 4 * nibble)) & 0xf) as usize];
        nibble += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::generate_to_vec;
    use super::super::parsed::{count, int, objects, oracle_over, text};
    use super::*;
    use streamlab_core::model::value::FieldValue;

    #[test]
    fn ysb_campaign_table_covers_every_ad_10_per_campaign() {
        let cfg = GenConfig::new(Workload::Ysb, 30_000, 4);
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut csv = Vec::new();
        assert_eq!(write_campaigns(&cfg, &mut csv).unwrap(), 1_000);
        let csv = String::from_utf8(csv).unwrap();
        let mut rows = csv.lines();
        assert_eq!(rows.next(), Some("ad_id,campaign_id"));
        let mut campaign_of = std::collections::HashMap::new();
        let mut ads_of = std::collections::HashMap::<&str, u32>::new();
        for row in rows {
            let (ad, campaign) = row.split_once(',').unwrap();
            assert_eq!((ad.len(), campaign.len()), (36, 36), "{row}");
            assert!(
                campaign_of.insert(ad, campaign).is_none(),
                "ad twice: {row}"
            );
            *ads_of.entry(campaign).or_default() += 1;
        }
        assert_eq!(ads_of.len(), 100);
        assert!(ads_of.values().all(|&n| n == 10), "{ads_of:?}");
        let mut types = std::collections::HashMap::<String, u32>::new();
        let mut ads_seen = std::collections::HashSet::new();
        for o in objects(&bytes) {
            assert!(campaign_of.contains_key(text(&o, "ad_id")), "{o:?}");
            ads_seen.insert(text(&o, "ad_id").to_owned());
            assert!(YSB_AD_TYPES.contains(&text(&o, "ad_type")), "{o:?}");
            assert_eq!(text(&o, "ip_address"), "1.2.3.4");
            assert_eq!(text(&o, "user_id").len(), 36);
            *types.entry(text(&o, "event_type").to_owned()).or_default() += 1;
        }
        assert_eq!(ads_seen.len(), 1_000, "30k uniform events name every ad");
        assert_eq!(types.len(), 3);
        assert!(
            types.values().all(|&n| (9_400..10_600).contains(&n)),
            "{types:?}"
        );
        // The table depends on the seed and the number of ads only.
        let mut short = Vec::new();
        write_campaigns(&GenConfig::new(Workload::Ysb, 1, 4), &mut short).unwrap();
        assert_eq!(short, csv.as_bytes());
        let mut few = Vec::new();
        let cfg = GenConfig {
            keys: 30,
            ..GenConfig::new(Workload::Ysb, 1, 4)
        };
        assert_eq!(write_campaigns(&cfg, &mut few).unwrap(), 30);
    }

    #[test]
    fn ysb_zipf_makes_the_first_ad_of_the_table_hottest() {
        let cfg = GenConfig {
            zipf: 1.2,
            ..GenConfig::new(Workload::Ysb, 20_000, 6)
        };
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut csv = Vec::new();
        write_campaigns(&cfg, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let ad = |row: usize| csv.lines().nth(1 + row).unwrap().split(',').next().unwrap();
        let views = |id: &str| {
            objects(&bytes)
                .iter()
                .filter(|o| text(o, "ad_id") == id)
                .count()
        };
        let (first, tenth) = (views(ad(0)), views(ad(9)));
        assert!(first > tenth * 5, "{first} vs {tenth}");
    }

    #[test]
    fn ysb_views_per_ad_counts_the_view_lines() {
        let cfg = GenConfig {
            disorder: 0.05,
            max_delay_ms: 1_500,
            ..GenConfig::new(Workload::Ysb, 30_000, 2)
        };
        let (bytes, rows) = oracle_over(
            &cfg,
            include_str!("../../../../queries/ysb_views_per_ad.toml"),
        );
        let mut expected = std::collections::BTreeMap::<(i64, String), i64>::new();
        for o in objects(&bytes)
            .iter()
            .filter(|o| text(o, "event_type") == "view")
        {
            let start = int(o, "ts").div_euclid(10_000) * 10_000;
            *expected
                .entry((start, text(o, "ad_id").to_owned()))
                .or_default() += 1;
        }
        let got: std::collections::BTreeMap<(i64, String), i64> = rows
            .iter()
            .map(|r| {
                let ad = match &r.group[..] {
                    [FieldValue::Str(a)] => a.to_string(),
                    other => panic!("group {other:?}"),
                };
                ((r.window.start, ad), count(&r.values[0]))
            })
            .collect();
        assert!(got.len() > 1_000, "{} rows", got.len());
        assert_eq!(got, expected);
    }
}
