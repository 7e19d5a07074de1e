-- API tokens, for scripts and other programs that call the API. A token is shown once, when it
-- is made; only its SHA-256 is kept, so a copy of the database calls nothing. Every token
-- expires. Names tell a user's tokens apart, so they are unique per user; that index also
-- serves listing a user's tokens.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (user_id, name)
);

-- Since when a user's sessions count: login tokens issued and browser sessions started before
-- it are refused. Signing out everywhere and changing the password move it to the present; it
-- is 0 for a user who never did either.
ALTER TABLE users ADD COLUMN sessions_valid_after INTEGER NOT NULL DEFAULT 0;
