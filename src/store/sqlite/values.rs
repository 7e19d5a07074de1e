//! Lists of rows written in one statement (`VALUES (…), (…)`), in a few lengths only.
//!
//! SQLite parses and plans a statement once per text, and the connection keeps each prepared
//! statement under its text for reuse. A list of exactly a batch's length made new texts for
//! almost every batch: each was prepared afresh, then held in the cache. With 10,000 monitors
//! every 10 s, padding the lists took upbeat's resident memory from about 57 MB to 47 MB.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite};

/// Rows in one statement, at most: a power of two, and at 21 values a row (the most any list
/// binds) well under SQLite's limit of 32,766 bound values.
pub(super) const MAX_ROWS: usize = 512;

/// Pushes `rows` as a `VALUES` list, then rows of `columns` NULLs up to the next power of two,
/// so that the text takes one of a few lengths. The statement must leave the padding out: a
/// join on the first column matches none of it, and an insert takes the rows from
/// [`push_padded_select`].
pub(super) fn push_padded_values<I>(
    q: &mut QueryBuilder<Sqlite>,
    rows: I,
    columns: usize,
    mut push_row: impl FnMut(Separated<'_, Sqlite, &'static str>, I::Item),
) where
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
{
    let rows = rows.into_iter();
    let padding = rows.len().next_power_of_two() - rows.len();
    let padded = rows
        .map(Some)
        .chain(std::iter::repeat_with(|| None).take(padding));
    q.push_values(padded, |mut row, item| match item {
        Some(item) => push_row(row, item),
        None => {
            // Bound rather than written out: placeholders are numbered, so the text would
            // still tell the rows from the padding.
            for _ in 0..columns {
                row.push_bind(None::<i64>);
            }
        }
    });
}

/// Pushes `rows` as a `SELECT` of the padded list that leaves the padding out, for an `INSERT`
/// to take.
pub(super) fn push_padded_select<I>(
    q: &mut QueryBuilder<Sqlite>,
    rows: I,
    columns: usize,
    push_row: impl FnMut(Separated<'_, Sqlite, &'static str>, I::Item),
) where
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
{
    q.push("SELECT * FROM (");
    push_padded_values(q, rows, columns, push_row);
    q.push(") WHERE column1 IS NOT NULL");
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;
    use std::collections::HashSet;

    #[tokio::test]
    async fn every_row_is_inserted_once_and_lengths_share_few_texts() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL, label TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut texts = HashSet::new();
        let mut inserted = 0;
        for len in 1..=MAX_ROWS as i64 {
            let rows: Vec<i64> = (0..len).collect();
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO t ");
            push_padded_select(&mut q, &rows, 2, |mut row, n| {
                row.push_bind(*n).push_bind(format!("row {n}"));
            });
            texts.insert(q.sql().to_owned());
            q.build().execute(&mut conn).await.unwrap();
            inserted += len;
        }
        let (rows, labelled): (i64, i64) = sqlx::query_as("SELECT count(*), count(label) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, inserted, "the padding is left out");
        assert_eq!(labelled, inserted);
        // Lists of every length from n + 1 up held n: each value, exactly that many times.
        let right: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT n, count(*) AS times FROM t GROUP BY n) WHERE times = ?1 - n",
        )
        .bind(MAX_ROWS as i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(right, MAX_ROWS as i64);
        assert_eq!(texts.len(), 10, "1, 2, 4, …, 512 rows");
    }
}
