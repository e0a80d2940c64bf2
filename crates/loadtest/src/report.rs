//! Shared helpers for the scenarios: client addresses on loopback, percentiles, and the
//! Markdown table every scenario prints (so a run can be pasted into BENCHMARKS.md as is).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The `i`-th attacker address, 127.<block>.x.y: one address per simulated client, so that a
/// per-address limit sees as many clients as the scenario claims. Blocks keep scenarios apart;
/// bystanders and probes use 127.0.0.x, outside every block.
pub fn client_ip(block: u8, i: usize) -> Ipv4Addr {
    assert!(i < 250 * 250, "at most 62,500 addresses per block");
    Ipv4Addr::new(127, block, (i / 250) as u8, (i % 250 + 1) as u8)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// "p50 / p99 / max (n)" of some latencies.
pub fn latency_summary(mut values: Vec<Duration>) -> String {
    values.sort();
    match (
        percentile(&values, 50.0),
        percentile(&values, 99.0),
        values.last(),
    ) {
        (Some(p50), Some(p99), Some(max)) => format!(
            "{} / {} / {} (n = {})",
            ms(p50),
            ms(p99),
            ms(*max),
            values.len()
        ),
        _ => "none answered".to_owned(),
    }
}

/// "min / median / max" of durations, in seconds.
pub fn spread_secs(mut values: Vec<Duration>) -> String {
    values.sort();
    match (values.first(), percentile(&values, 50.0), values.last()) {
        (Some(min), Some(median), Some(max)) => {
            format!("{} / {} / {}", secs(*min), secs(median), secs(*max))
        }
        _ => "–".to_owned(),
    }
}

/// "401 × 998, 429 × 2": outcome counts in a stable order.
pub fn counts(outcomes: &BTreeMap<String, usize>) -> String {
    if outcomes.is_empty() {
        return "–".to_owned();
    }
    outcomes
        .iter()
        .map(|(k, n)| format!("{k} × {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A three-column Markdown table: figure, value, aim.
#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 3]>,
}

impl Table {
    pub fn row(&mut self, figure: impl Into<String>, value: impl Into<String>, aim: &str) {
        self.rows
            .push([figure.into(), value.into(), aim.to_owned()]);
    }

    pub fn print(&self, title: &str) {
        let header = ["figure", "value", "aim (issue 8)"];
        let mut widths = header.map(|h| h.chars().count());
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 3]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        println!("\n{title}\n");
        line(header);
        println!(
            "|{}|",
            widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            line([&row[0], &row[1], &row[2]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn client_addresses_stay_in_their_block_and_never_repeat() {
        assert_eq!(client_ip(1, 0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(client_ip(1, 249), Ipv4Addr::new(127, 1, 0, 250));
        assert_eq!(client_ip(1, 250), Ipv4Addr::new(127, 1, 1, 1));
        let all: std::collections::HashSet<_> = (0..1300).map(|i| client_ip(1, i)).collect();
        assert_eq!(all.len(), 1300);
    }
}
