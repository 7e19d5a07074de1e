//! Browser sessions: created at sign-in, looked up on every page, ended at sign-out.

use crate::account::{Email, User};
use crate::monitor::UserId;
use crate::store::Result;
use crate::timestamp::Timestamp;
use sqlx::{SqliteConnection, SqlitePool};

pub async fn create(
    conn: &mut SqliteConnection,
    user: UserId,
    token_hash: &[u8],
    now: Timestamp,
    expires: Timestamp,
) -> Result<()> {
    // Expired sessions of the same user go as a new one comes: the table never grows without end.
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?")
        .bind(user.0)
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now.as_millis())
    .bind(expires.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn user(pool: &SqlitePool, token_hash: &[u8], now: Timestamp) -> Result<Option<User>> {
    let user: Option<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = ? AND s.expires_at > ?",
    )
    .bind(token_hash)
    .bind(now.as_millis())
    .fetch_optional(pool)
    .await?;
    Ok(user.map(|(id, email)| User {
        id: UserId(id),
        email: Email::from_trusted(email),
    }))
}

pub async fn end(pool: &SqlitePool, token_hash: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}
