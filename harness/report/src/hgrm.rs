//! Latency histograms (`*.hgrm`, HdrHistogram's percentile text) read back as the points
//! of a CDF: (latency µs, fraction of rows at or below it).

use anyhow::{Context, Result};
use std::path::Path;

/// The CDF of one histogram: (value µs, percentile in [0, 1]) in value order.
pub fn read_cdf(path: &Path) -> Result<Vec<(f64, f64)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse_cdf(&text))
}

/// Parses the percentile lines (`Value Percentile TotalCount 1/(1-Percentile)`), skipping
/// the header, blank lines and the `#[…]` footer.
pub fn parse_cdf(text: &str) -> Vec<(f64, f64)> {
    text.lines()
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            let value = cells.next()?.parse::<f64>().ok()?;
            let percentile = cells.next()?.parse::<f64>().ok()?;
            Some((value, percentile))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_lines_become_points_and_the_rest_is_skipped() {
        let cdf = parse_cdf(
            "       Value     Percentile TotalCount 1/(1-Percentile)\n\n\
                   3.000 0.000000000000       1372           1.00\n\
                  23.000 0.500000000000     910123           2.00\n\
             #[Mean    =       30.468, StdDeviation   =       96.017]\n",
        );
        assert_eq!(cdf, [(3.0, 0.0), (23.0, 0.5)]);
    }
}
