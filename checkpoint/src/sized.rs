//! Deserializers for large collections in checkpoint state, for `#[serde(deserialize_with)]`.
//!
//! serde's own `Vec` and `HashMap` readers cap their first allocation (a length read from
//! untrusted input must not allocate gigabytes) and then grow by doubling, which for a
//! million rows copies or rehashes them many times over; a restore of large state spent a
//! third of its time there. A checkpoint's payload is checksummed before it is decoded, so
//! its lengths are trusted, up to a cap.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

/// The largest first allocation, in elements.
const CAP: usize = 1 << 26;

/// A `Vec` allocated once at its stored length.
pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<T>, A::Error> {
            let mut v = Vec::with_capacity(s.size_hint().unwrap_or(0).min(CAP));
            while let Some(x) = s.next_element()? {
                v.push(x);
            }
            Ok(v)
        }
    }
    d.deserialize_seq(V(PhantomData))
}

/// A `HashMap` sized once for its stored length.
pub fn map<'de, D, K, V, S>(d: D) -> Result<HashMap<K, V, S>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Eq + Hash,
    V: Deserialize<'de>,
    S: BuildHasher + Default,
{
    struct M<K, V, S>(PhantomData<(K, V, S)>);
    impl<'de, K, V, S> Visitor<'de> for M<K, V, S>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        S: BuildHasher + Default,
    {
        type Value = HashMap<K, V, S>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let n = m.size_hint().unwrap_or(0).min(CAP);
            let mut out = HashMap::with_capacity_and_hasher(n, S::default());
            while let Some((k, v)) = m.next_entry()? {
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(M(PhantomData))
}

/// A collection a checkpoint reads at its stored length, in one allocation.
pub trait Presized<'de>: Sized {
    /// Reads the collection, allocated once.
    fn deserialize_presized<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl<'de, T: Deserialize<'de>> Presized<'de> for Vec<T> {
    fn deserialize_presized<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        vec(d)
    }
}

impl<'de, K, V, S> Presized<'de> for HashMap<K, V, S>
where
    K: Deserialize<'de> + Eq + Hash,
    V: Deserialize<'de>,
    S: BuildHasher + Default,
{
    fn deserialize_presized<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map(d)
    }
}

/// A `Vec` of `(window, rows)` pairs whose rows (a `Vec` or a `HashMap`: the same in
/// bincode) are each allocated once.
pub fn vec_of_rows<'de, D, W, R>(d: D) -> Result<Vec<(W, R)>, D::Error>
where
    D: Deserializer<'de>,
    W: Deserialize<'de>,
    R: Presized<'de>,
{
    /// One `(window, rows)` pair.
    struct Pair<W, R>(W, R);
    impl<'de, W: Deserialize<'de>, R: Presized<'de>> Deserialize<'de> for Pair<W, R> {
        fn deserialize<D2: Deserializer<'de>>(d: D2) -> Result<Self, D2::Error> {
            struct P<W, R>(PhantomData<(W, R)>);
            impl<'de, W: Deserialize<'de>, R: Presized<'de>> Visitor<'de> for P<W, R> {
                type Value = Pair<W, R>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a (window, rows) pair")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Pair<W, R>, A::Error> {
                    use serde::de::Error;
                    let w = s
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                    let rows = s
                        .next_element_seed(Rows(PhantomData))?
                        .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                    Ok(Pair(w, rows))
                }
            }
            d.deserialize_tuple(2, P(PhantomData))
        }
    }
    /// [`Presized`] as a seed, for use inside a tuple.
    struct Rows<R>(PhantomData<R>);
    impl<'de, R: Presized<'de>> serde::de::DeserializeSeed<'de> for Rows<R> {
        type Value = R;
        fn deserialize<D2: Deserializer<'de>>(self, d: D2) -> Result<R, D2::Error> {
            R::deserialize_presized(d)
        }
    }
    let pairs: Vec<Pair<W, R>> = vec(d)?;
    Ok(pairs.into_iter().map(|Pair(w, r)| (w, r)).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct State {
        #[serde(deserialize_with = "vec")]
        v: Vec<u32>,
        #[serde(deserialize_with = "map")]
        m: HashMap<u32, String>,
        #[serde(deserialize_with = "vec_of_rows")]
        w: Vec<(i64, Vec<(u32, u64)>)>,
    }

    #[test]
    fn round_trips_through_bincode_and_json() {
        let s = State {
            v: (0..1000).collect(),
            m: (0..100).map(|i| (i, format!("k{i}"))).collect(),
            w: vec![(10, vec![(1, 2), (3, 4)]), (20, vec![])],
        };
        let b = bincode::serialize(&s).unwrap();
        assert_eq!(bincode::deserialize::<State>(&b).unwrap(), s);
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<State>(&j).unwrap(), s);
        assert!(bincode::deserialize::<State>(&b[..b.len() - 3]).is_err());
    }

    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct MapState {
        #[serde(deserialize_with = "vec_of_rows")]
        w: Vec<(i64, HashMap<u32, u64>)>,
    }

    #[derive(serde::Serialize)]
    struct VecState {
        w: Vec<(i64, Vec<(u32, u64)>)>,
    }

    #[test]
    fn rows_written_as_lists_read_back_as_maps() {
        // Window state written with its rows as lists of (key, row) pairs reads back into
        // maps: in bincode the two are the same bytes.
        let written = VecState {
            w: vec![(10, vec![(1, 2), (3, 4)]), (20, vec![])],
        };
        let b = bincode::serialize(&written).unwrap();
        let read: MapState = bincode::deserialize(&b).unwrap();
        let want = MapState {
            w: vec![(10, HashMap::from([(1, 2), (3, 4)])), (20, HashMap::new())],
        };
        assert_eq!(read, want);
    }
}
