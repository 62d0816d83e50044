//! Numbers as people read them (`247k/s`, `1.3M/s`, `12.5 ms`): for the terminal's
//! per-run lines and the reports' axes and tables; the machine-readable outputs
//! (`raw.csv`, `summary.json`) keep full precision.

/// A count with a k / M / G suffix and about three significant digits: `950`, `247k`,
/// `1.3M`, `35.2M`, `2.1G`.
pub fn count(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", three_digits(scaled))
}

/// A rate of events: [`count`] and `/s` (`247k/s`).
pub fn rate(eps: f64) -> String {
    format!("{}/s", count(eps))
}

/// A duration given in microseconds, in the unit that reads best: `850 µs`, `12.5 ms`,
/// `2.01 s`.
pub fn micros(us: f64) -> String {
    if !us.is_finite() {
        "–".into()
    } else if us.abs() >= 1e6 {
        format!("{} s", three_digits(us / 1e6))
    } else if us.abs() >= 1e3 {
        format!("{} ms", three_digits(us / 1e3))
    } else {
        format!("{} µs", three_digits(us))
    }
}

/// Bytes in binary units: `512 B`, `91 MiB`, `1.6 GiB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{} {}", three_digits(v), UNITS[unit])
}

/// About three significant digits, no trailing zeros: `247`, `35.2`, `1.3`, `0.0123`.
pub fn three_digits(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = v.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_people_write_them() {
        assert_eq!(rate(247_437.529_5), "247k/s");
        assert_eq!(rate(1_300_000.0), "1.3M/s");
        assert_eq!(rate(35_210_000.0), "35.2M/s");
        assert_eq!(rate(950.0), "950/s");
        assert_eq!(rate(2.1e9), "2.1G/s");
        assert_eq!(count(0.0), "0");
        assert_eq!(count(-1500.0), "-1.5k");
    }

    #[test]
    fn durations_and_sizes_pick_their_unit() {
        assert_eq!(micros(850.0), "850 µs");
        assert_eq!(micros(12_500.0), "12.5 ms");
        assert_eq!(micros(2_010_000.0), "2.01 s");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(91.0 * 1024.0 * 1024.0), "91 MiB");
        assert_eq!(three_digits(0.012_34), "0.0123");
    }
}
