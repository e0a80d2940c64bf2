//! Multi-row statements for SQLite: one statement per chunk of rows instead of one per row.
//! Every statement costs a round trip to the connection's worker thread (sqlx runs each SQLite
//! connection on a thread of its own), and a write transaction holds the database's only write
//! lock for all of them; in a batch of a hundred rows those round trips were most of the time.

use std::sync::OnceLock;

/// Rows per statement at most.
const MAX_ROWS: usize = 64;

/// A statement `head VALUES row, row, … tail` in chunks whose sizes are powers of two up to
/// [`MAX_ROWS`]: so only a handful of distinct texts exist, and all stay prepared in the
/// connection's statement cache. A batch of `n` rows takes at most `n / 64 + 6` statements.
pub(super) struct ChunkedValues {
    head: &'static str,
    /// One row's placeholders, e.g. `(?, ?, ?)`.
    row: &'static str,
    tail: &'static str,
    texts: OnceLock<Vec<String>>,
}

impl ChunkedValues {
    pub(super) const fn new(head: &'static str, row: &'static str, tail: &'static str) -> Self {
        Self {
            head,
            row,
            tail,
            texts: OnceLock::new(),
        }
    }

    /// The statement for the next chunk of `remaining` rows (at least one), and its row count.
    pub(super) fn next(&self, remaining: usize) -> (usize, &str) {
        let texts = self.texts.get_or_init(|| {
            (0..=MAX_ROWS.trailing_zeros())
                .map(|power| {
                    let rows = vec![self.row; 1 << power].join(", ");
                    format!("{} VALUES {rows} {}", self.head, self.tail)
                })
                .collect()
        });
        let power = remaining.clamp(1, MAX_ROWS).ilog2();
        (1 << power, &texts[power as usize])
    }
}

/// Ids as a JSON array, for `… WHERE id IN (SELECT value FROM json_each(?))`: one statement
/// and one parameter however many ids.
pub(super) fn json_ids(ids: &[i64]) -> String {
    let mut text = String::with_capacity(2 + ids.len() * 8);
    text.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&id.to_string());
    }
    text.push(']');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_the_largest_power_of_two_that_fits() {
        let insert = ChunkedValues::new("INSERT INTO t (a, b)", "(?, ?)", "");
        let sizes: Vec<usize> = [1, 2, 3, 63, 64, 65, 200]
            .iter()
            .map(|n| insert.next(*n).0)
            .collect();
        assert_eq!(sizes, [1, 2, 2, 32, 64, 64, 64]);
        let (rows, text) = insert.next(3);
        assert_eq!(rows, 2);
        assert_eq!(text, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ");
    }

    #[test]
    fn ids_are_a_json_array() {
        assert_eq!(json_ids(&[]), "[]");
        assert_eq!(json_ids(&[7]), "[7]");
        assert_eq!(json_ids(&[1, -2, 30]), "[1,-2,30]");
    }
}
