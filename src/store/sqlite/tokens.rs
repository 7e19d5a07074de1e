//! API tokens: made, listed and revoked by their owner, looked up by hash on every call that
//! presents one.

use crate::api_token::ApiTokenId;
use crate::monitor::UserId;
use crate::store::{ApiToken, ApiTokenUse, Result, StoreError};
use crate::timestamp::Timestamp;
use sqlx::{SqliteConnection, SqlitePool};

type Row = (i64, i64, String, i64, i64, Option<i64>);

fn token((id, owner, name, created_at, expires_at, last_used_at): Row) -> ApiToken {
    ApiToken {
        id: ApiTokenId(id),
        owner: UserId(owner),
        name,
        created_at: Timestamp::from_millis(created_at),
        expires_at: Timestamp::from_millis(expires_at),
        last_used_at: last_used_at.map(Timestamp::from_millis),
    }
}

pub async fn create(
    conn: &mut SqliteConnection,
    owner: UserId,
    name: &str,
    token_hash: &[u8],
    now: Timestamp,
    expires: Timestamp,
    max: u32,
) -> Result<ApiToken> {
    // Expired tokens go as a new one comes: they neither count against the limit nor keep
    // their names taken, and the table never grows without end.
    sqlx::query("DELETE FROM api_tokens WHERE user_id = ? AND expires_at <= ?")
        .bind(owner.0)
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = ?")
        .bind(owner.0)
        .fetch_one(&mut *conn)
        .await?;
    if held >= i64::from(max) {
        return Err(StoreError::LimitReached(max));
    }
    let inserted = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(owner.0)
    .bind(name)
    .bind(token_hash)
    .bind(now.as_millis())
    .bind(expires.as_millis())
    .fetch_one(&mut *conn)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // The name: two hashes of 256 random bits never collide.
        Err(e) if super::is_unique_violation(&e) => return Err(StoreError::Conflict),
        Err(e) => return Err(e.into()),
    };
    Ok(token((
        id,
        owner.0,
        name.to_owned(),
        now.as_millis(),
        expires.as_millis(),
        None,
    )))
}

pub async fn list(pool: &SqlitePool, owner: UserId) -> Result<Vec<ApiToken>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens \
         WHERE user_id = ? ORDER BY id",
    )
    .bind(owner.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(token).collect())
}

pub async fn delete(pool: &SqlitePool, owner: UserId, id: ApiTokenId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = ? AND user_id = ?")
        .bind(id.0)
        .bind(owner.0)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

pub async fn find(
    pool: &SqlitePool,
    token_hash: &[u8],
    now: Timestamp,
) -> Result<Option<ApiTokenUse>> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ? AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(now.as_millis())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, owner, last_used_at)| ApiTokenUse {
        id: ApiTokenId(id),
        owner: UserId(owner),
        last_used_at: last_used_at.map(Timestamp::from_millis),
    }))
}

pub async fn touch(pool: &SqlitePool, id: ApiTokenId, now: Timestamp) -> Result<()> {
    // Concurrent calls may both write; the later instant wins.
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = ? \
         WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
    )
    .bind(now.as_millis())
    .bind(id.0)
    .bind(now.as_millis())
    .execute(pool)
    .await?;
    Ok(())
}
