//! `nexmark`: the NEXMark online auction (issue 7), one stream of `person`, `auction` and
//! `bid` lines told apart by `kind`.
//!
//! Follows the reference generator (nexmark-flink's `NexmarkGenerator`, itself Beam's):
//! - event `i` is a person, an auction or a bid by `i % 50`: 0 a person, 1..=3 auctions,
//!   the other 46 bids (proportions 1:3:46, in that order within every 50 events);
//! - person ids are `1000 + i / 50`, auction ids `1000 + 3 * (i / 50) + (i % 50 - 1)`: both
//!   grow with the stream, so they are known from the event index alone;
//! - a bid is for the "hot" auction (the first of the current block of 100) with
//!   probability 1/2, else for one of the last `keys` auctions (`numInFlightAuctions`,
//!   100 by default); bidders and sellers are the hot person of the block of 100 people
//!   with probability 3/4, else one of the last 1000 (`numActivePeople`);
//! - price in cents `round(10^(6u) * 100)`, reserve = initial bid + another price,
//!   categories 10..=14, the reference's states, cities and names, auctions expiring
//!   within twice the time `keys` auctions take to arrive, half the bids from the four hot
//!   channels.
//!
//! Simplified: ids never run ahead of the stream (the reference picks up to 10 ids past
//! the newest person or auction, so a few of its bids name auctions not yet created; here
//! every bid and auction refers to an earlier line, which joins need); the reference adds
//! the person-id offset to bidders twice, here once; no `extra` padding, no description,
//! no `date_time` (the event time is `ts`); item names, e-mails and URLs are random
//! letters seeded from `seed`. `--zipf` does not apply (the hot ids are the skew).
//! With `--malformed`, a broken line takes the place of its event, so a bid may name a
//! person or auction whose line was replaced.

use super::num;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The three NEXMark event kinds (`--kind`): the query model reads one input, so a
/// query over bids runs over the bid lines alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NexmarkKind {
    /// A new user (seller or bidder).
    Person,
    /// A new item for sale.
    Auction,
    /// A bid on an auction.
    Bid,
}

/// Events per NEXMark proportion block: 1 person, 3 auctions, 46 bids.
pub(super) const NEXMARK_BLOCK: u64 = 50;

impl NexmarkKind {
    /// The kind of event `index` (0-based) in the reference's pattern: in every block of
    /// 50, the first is a person, the next 3 auctions, the other 46 bids.
    pub fn of_event(index: u64) -> NexmarkKind {
        match index % NEXMARK_BLOCK {
            0 => NexmarkKind::Person,
            1..=3 => NexmarkKind::Auction,
            _ => NexmarkKind::Bid,
        }
    }

    /// The value of the `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            NexmarkKind::Person => "person",
            NexmarkKind::Auction => "auction",
            NexmarkKind::Bid => "bid",
        }
    }
}

/// First ids, as the reference: small streams still find matches in id ranges.
const FIRST_PERSON_ID: u64 = 1_000;
const FIRST_AUCTION_ID: u64 = 1_000;
const FIRST_CATEGORY_ID: u64 = 10;
const CATEGORIES: u64 = 5;
/// Auctions per NEXMark block (after the one person; the rest are bids).
const AUCTIONS_PER_BLOCK: u64 = 3;
/// Hot ids are the first of each block of this many people or auctions.
const HOT_BLOCK: u64 = 100;
/// People a non-hot seller or bidder is drawn from (`numActivePeople`).
const ACTIVE_PEOPLE: u64 = 1_000;
/// Plain channels besides the hot ones.
const CHANNELS: u64 = 10_000;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// The NEXMark auction model: ids follow from the event index, the rest from the RNG.
pub(super) struct NexmarkModel {
    /// Auctions a non-hot bid picks among (`keys`).
    in_flight: u64,
    /// Mean auction length: the event time `in_flight` auctions take to arrive.
    horizon_ms: i64,
    /// Seeds the channel URLs, so they are fixed per run without a table.
    seed: u64,
}

/// Base-0 id of the newest person at event `index` (its own id for a person).
fn last_person(index: u64) -> u64 {
    index / NEXMARK_BLOCK
}

/// Base-0 id of the newest auction at event `index`, an auction or a bid (its own id for
/// an auction): every block's 3 auctions precede its bids.
fn last_auction(index: u64) -> u64 {
    let offset = index % NEXMARK_BLOCK;
    debug_assert!(
        offset >= 1,
        "persons open a block, before any auction of it"
    );
    (index / NEXMARK_BLOCK) * AUCTIONS_PER_BLOCK + (offset - 1).min(AUCTIONS_PER_BLOCK - 1)
}

/// A NEXMark price in cents: log-uniform from $1 to $1,000,000, as the reference.
fn price(rng: &mut Pcg64Mcg) -> u64 {
    (10f64.powf(rng.gen::<f64>() * 6.0) * 100.0).round() as u64
}

/// `len` random lowercase letters.
fn letters(buf: &mut Vec<u8>, len: usize, rng: &mut Pcg64Mcg) {
    for _ in 0..len {
        buf.push(b'a' + rng.gen_range(0..26u8));
    }
}

/// SplitMix64's finalizer: a fixed, well-spread hash for ids derived without the RNG.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl NexmarkModel {
    pub(super) fn new(cfg: &super::GenConfig) -> NexmarkModel {
        let events_for_in_flight = cfg.keys as f64 * NEXMARK_BLOCK as f64 / 3.0;
        NexmarkModel {
            in_flight: cfg.keys,
            horizon_ms: (events_for_in_flight * 1_000.0 / cfg.rate) as i64,
            seed: cfg.seed,
        }
    }

    pub(super) fn write(&self, buf: &mut Vec<u8>, index: u64, ts: i64, rng: &mut Pcg64Mcg) {
        match NexmarkKind::of_event(index) {
            NexmarkKind::Person => self.write_person(buf, index, rng),
            NexmarkKind::Auction => self.write_auction(buf, index, ts, rng),
            NexmarkKind::Bid => self.write_bid(buf, index, rng),
        }
    }

    /// A person among the last 1000 (base 0), never one not yet created.
    fn active_person(index: u64, rng: &mut Pcg64Mcg) -> u64 {
        let people = last_person(index) + 1;
        let active = people.min(ACTIVE_PEOPLE);
        people - active + rng.gen_range(0..active)
    }

    fn write_person(&self, buf: &mut Vec<u8>, index: u64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"kind\":\"person\",\"id\":");
        num(buf, FIRST_PERSON_ID + last_person(index));
        buf.extend_from_slice(b",\"name\":\"");
        buf.extend_from_slice(FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())].as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"email\":\"");
        let user = rng.gen_range(3..7);
        letters(buf, user, rng);
        buf.push(b'@');
        let domain = rng.gen_range(3..5);
        letters(buf, domain, rng);
        buf.extend_from_slice(b".com\",\"credit_card\":\"");
        for group in 0..4 {
            if group > 0 {
                buf.push(b' ');
            }
            let digits: u16 = rng.gen_range(0..10_000);
            for div in [1_000, 100, 10, 1] {
                buf.push(b'0' + (digits / div % 10) as u8);
            }
        }
        buf.extend_from_slice(b"\",\"city\":\"");
        buf.extend_from_slice(US_CITIES[rng.gen_range(0..US_CITIES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"state\":\"");
        buf.extend_from_slice(US_STATES[rng.gen_range(0..US_STATES.len())].as_bytes());
        buf.extend_from_slice(b"\"}\n");
    }

    fn write_auction(&self, buf: &mut Vec<u8>, index: u64, ts: i64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"kind\":\"auction\",\"id\":");
        num(buf, FIRST_AUCTION_ID + last_auction(index));
        // The reference's name: 3 to 19 letters with a space now and then (never at the
        // ends here, where it trims them).
        buf.extend_from_slice(b",\"item_name\":\"");
        let len = rng.gen_range(3..20);
        for at in 0..len {
            if at > 0 && at + 1 < len && rng.gen_range(0..13) == 0 {
                buf.push(b' ');
            } else {
                buf.push(b'a' + rng.gen_range(0..26u8));
            }
        }
        let initial_bid = price(rng);
        buf.extend_from_slice(b"\",\"initial_bid\":");
        num(buf, initial_bid);
        buf.extend_from_slice(b",\"reserve\":");
        num(buf, initial_bid + price(rng));
        buf.extend_from_slice(b",\"expires\":");
        let length = 1 + rng.gen_range(0..self.horizon_ms.saturating_mul(2).max(1));
        num(buf, ts.saturating_add(length));
        // P(hot seller) = 3/4 (hotSellersRatio 4).
        let seller = if rng.gen_range(0..4) > 0 {
            (last_person(index) / HOT_BLOCK) * HOT_BLOCK
        } else {
            Self::active_person(index, rng)
        };
        buf.extend_from_slice(b",\"seller\":");
        num(buf, FIRST_PERSON_ID + seller);
        buf.extend_from_slice(b",\"category\":");
        num(buf, FIRST_CATEGORY_ID + rng.gen_range(0..CATEGORIES));
        buf.extend_from_slice(b"}\n");
    }

    fn write_bid(&self, buf: &mut Vec<u8>, index: u64, rng: &mut Pcg64Mcg) {
        let newest = last_auction(index);
        // P(hot auction) = 1/2 (hotAuctionRatio 2), else one still in flight.
        let auction = if rng.gen_range(0..2) > 0 {
            (newest / HOT_BLOCK) * HOT_BLOCK
        } else {
            rng.gen_range(newest.saturating_sub(self.in_flight)..=newest)
        };
        // P(hot bidder) = 3/4 (hotBiddersRatio 4): the second person of the block, so hot
        // bidders are not hot sellers; the first until that person exists.
        let bidder = if rng.gen_range(0..4) > 0 {
            ((last_person(index) / HOT_BLOCK) * HOT_BLOCK + 1).min(last_person(index))
        } else {
            Self::active_person(index, rng)
        };
        buf.extend_from_slice(b",\"kind\":\"bid\",\"auction\":");
        num(buf, FIRST_AUCTION_ID + auction);
        buf.extend_from_slice(b",\"bidder\":");
        num(buf, FIRST_PERSON_ID + bidder);
        buf.extend_from_slice(b",\"price\":");
        num(buf, price(rng));
        // Half the bids come through the four hot channels (HOT_CHANNELS_RATIO 2).
        let (channel, plain) = if rng.gen_range(0..2) > 0 {
            (rng.gen_range(0..HOT_CHANNELS.len() as u64), false)
        } else {
            (rng.gen_range(0..CHANNELS), true)
        };
        buf.extend_from_slice(b",\"channel\":\"");
        if plain {
            buf.extend_from_slice(b"channel-");
            num(buf, channel);
        } else {
            buf.extend_from_slice(HOT_CHANNELS[channel as usize].as_bytes());
        }
        buf.extend_from_slice(b"\",\"url\":\"https://www.nexmark.com/");
        // Each channel has one URL: three 5-letter path segments hashed from the seed
        // and the channel, and 9 in 10 plain channels name themselves in the query.
        // One hash per segment: 15 base-26 letters would need more than its 64 bits.
        let url = mix(self.seed ^ mix(channel + u64::from(plain) * CHANNELS));
        for segment in 0..3 {
            let mut h = mix(url ^ segment);
            for _ in 0..5 {
                buf.push(b'a' + (h % 26) as u8);
                h /= 26;
            }
            buf.push(b'/');
        }
        buf.extend_from_slice(b"item.htm?query=1");
        if plain && mix(url ^ 3) % 10 > 0 {
            buf.extend_from_slice(b"&channel_id=");
            num(buf, channel);
        }
        buf.extend_from_slice(b"\"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::super::parsed::{count, int, objects, oracle_over, text};
    use super::super::{generate_to_vec, GenConfig, Workload};
    use super::*;
    use streamlab_core::model::value::FieldValue;

    #[test]
    fn nexmark_kinds_come_1_3_46_in_every_block_of_50() {
        let (bytes, stats) = generate_to_vec(&GenConfig::new(Workload::Nexmark, 5_000, 3)).unwrap();
        let lines = objects(&bytes);
        assert_eq!(lines.len() as u64, stats.lines);
        assert_eq!(lines.len(), 5_000);
        for (block, events) in lines.chunks(50).enumerate() {
            let kinds: Vec<&str> = events.iter().map(|o| text(o, "kind")).collect();
            assert_eq!(kinds[0], "person", "block {block}");
            assert_eq!(kinds[1..4], ["auction"; 3], "block {block}");
            assert!(kinds[4..].iter().all(|k| *k == "bid"), "block {block}");
            assert_eq!(kinds.len(), 50);
        }
        for (i, o) in lines.iter().enumerate() {
            assert_eq!(text(o, "kind"), NexmarkKind::of_event(i as u64).name());
        }
    }

    #[test]
    fn nexmark_ids_grow_and_every_reference_is_to_an_earlier_line() {
        let mut cfg = GenConfig::new(Workload::Nexmark, 200_000, 5);
        cfg.keys = 50;
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut persons = 0i64; // ids 1000.. seen so far, in order
        let mut auctions = 0i64;
        let (mut bids, mut hot_bids, mut plain_bids, mut channel_ids) = (0u32, 0u32, 0u32, 0u32);
        for o in objects(&bytes) {
            match text(&o, "kind") {
                "person" => {
                    assert_eq!(int(&o, "id"), 1_000 + persons, "{o:?}");
                    persons += 1;
                    assert!(US_STATES.contains(&text(&o, "state")), "{o:?}");
                    assert_eq!(text(&o, "credit_card").len(), 19, "{o:?}");
                    assert!(text(&o, "email").ends_with(".com"), "{o:?}");
                }
                "auction" => {
                    assert_eq!(int(&o, "id"), 1_000 + auctions, "{o:?}");
                    auctions += 1;
                    assert!(
                        (1_000..1_000 + persons).contains(&int(&o, "seller")),
                        "{o:?}"
                    );
                    assert!((10..15).contains(&int(&o, "category")), "{o:?}");
                    assert!(int(&o, "reserve") > int(&o, "initial_bid"), "{o:?}");
                    assert!(int(&o, "expires") > int(&o, "ts"), "{o:?}");
                }
                "bid" => {
                    let auction = int(&o, "auction") - 1_000;
                    assert!(auction < auctions, "bid for a future auction: {o:?}");
                    assert!(auction >= auctions - 1 - cfg.keys as i64 || auction % 100 == 0);
                    assert!(
                        (1_000..1_000 + persons).contains(&int(&o, "bidder")),
                        "{o:?}"
                    );
                    assert!((100..=100_000_000).contains(&int(&o, "price")), "{o:?}");
                    let url = text(&o, "url");
                    assert!(url.starts_with("https://www.nexmark.com/"), "{o:?}");
                    let plain = text(&o, "channel").starts_with("channel-");
                    channel_ids += u32::from(url.contains("&channel_id="));
                    plain_bids += u32::from(plain);
                    assert!(plain || !url.contains("&channel_id="), "{o:?}");
                    bids += 1;
                    hot_bids += u32::from(auction == (auctions - 1) / 100 * 100);
                }
                other => panic!("kind {other}"),
            }
        }
        assert_eq!((persons, auctions, bids), (4_000, 12_000, 184_000));
        // Half the bids are for the hot auction by rule, a few more by the in-flight draw.
        let hot = f64::from(hot_bids) / f64::from(bids);
        assert!((0.49..0.53).contains(&hot), "hot share {hot}");
        // Half the bids come through plain channels, 9 in 10 of whose URLs name them.
        let plain = f64::from(plain_bids) / f64::from(bids);
        let named = f64::from(channel_ids) / f64::from(plain_bids);
        assert!(
            (0.48..0.52).contains(&plain) && (0.85..0.95).contains(&named),
            "{plain} {named}"
        );
    }

    fn bids(events: u64) -> GenConfig {
        GenConfig {
            kinds: vec![NexmarkKind::Bid],
            disorder: 0.05,
            max_delay_ms: 1_500,
            ..GenConfig::new(Workload::Nexmark, events, 12)
        }
    }

    #[test]
    fn q7_max_price_per_window_is_the_largest_generated_bid() {
        let cfg = bids(45_000);
        let (bytes, rows) = oracle_over(
            &cfg,
            include_str!("../../../../queries/nexmark_q7_max_price.toml"),
        );
        let mut expected = std::collections::BTreeMap::<i64, (i64, i64)>::new();
        for o in objects(&bytes) {
            let start = int(&o, "ts").div_euclid(10_000) * 10_000;
            let (max, n) = expected.entry(start).or_insert((i64::MIN, 0));
            *max = (*max).max(int(&o, "price"));
            *n += 1;
        }
        let got: std::collections::BTreeMap<i64, (i64, i64)> = rows
            .iter()
            .map(|r| {
                assert!(r.group.is_empty());
                assert_eq!(r.window.end - r.window.start, 10_000);
                (r.window.start, (count(&r.values[0]), count(&r.values[1])))
            })
            .collect();
        assert!(expected.len() >= 5, "{expected:?}");
        assert_eq!(got, expected);
    }

    #[test]
    fn q5_counts_every_bid_in_its_five_sliding_windows() {
        let cfg = bids(20_000);
        let (bytes, rows) = oracle_over(
            &cfg,
            include_str!("../../../../queries/nexmark_q5_hot_items.toml"),
        );
        let mut expected = std::collections::BTreeMap::<(i64, i64), i64>::new();
        for o in objects(&bytes) {
            let last = int(&o, "ts").div_euclid(2_000) * 2_000;
            for back in 0..5 {
                *expected
                    .entry((last - back * 2_000, int(&o, "auction")))
                    .or_default() += 1;
            }
        }
        let got: std::collections::BTreeMap<(i64, i64), i64> = rows
            .iter()
            .map(|r| {
                let auction = match &r.group[..] {
                    [FieldValue::Int(a)] => *a,
                    other => panic!("group {other:?}"),
                };
                ((r.window.start, auction), count(&r.values[0]))
            })
            .collect();
        assert_eq!(got, expected);
        // A hot auction takes half the bids while it is hot (100 auctions, about 1.7 s at
        // 1000 events/s); one in flight otherwise gets a handful.
        let top = got.values().max().copied().unwrap_or(0);
        assert!(top > 500, "top auction has {top} bids in 10 s");
    }
}
