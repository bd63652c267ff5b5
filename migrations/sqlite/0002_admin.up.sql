-- Admin page accounts and their server-side sessions (SQLite; times as in README.md).

-- An operator sees every tenant (tenant_id NULL); a tenant admin sees exactly one.
-- Usernames are stored lower-case, so UNIQUE is case-insensitive in effect.
CREATE TABLE admin_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator', 'tenant-admin')),
    tenant_id TEXT,
    created_at TEXT NOT NULL,
    CHECK ((role = 'operator' AND tenant_id IS NULL) OR (role = 'tenant-admin' AND tenant_id IS NOT NULL))
);

-- The cookie carries a random token; only its SHA-256 is stored, so a leaked table cannot be
-- replayed as a cookie. Each session has its own CSRF token.
CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
