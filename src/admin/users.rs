//! Admin accounts: user names, creation (`slotkeeper admin create-user`), and reading the new
//! password without putting it on the command line.
//!
//! Guarantees: a user name is stored lower-case and limited to `[a-z0-9._@-]{3,64}`; a password is
//! checked by [`check_strength`] before it is hashed; a tenant admin's tenant must be configured;
//! an operator has no tenant. The password never appears in arguments, logs or messages.

use std::io::{BufRead, IsTerminal, Read, Write};

use chrono::{DateTime, Utc};

use super::password::{MAX_PASSWORD_BYTES, WeakPassword, check_strength, hash_password};
use crate::config::Settings;
use crate::domain::{Catalogue, TenantId};
use crate::store::admin::{AdminRole, NewAdminUser};
use crate::store::{Store, StoreError, StoreOptions};

/// The environment variable `admin create-user` reads the password from (else stdin).
pub const PASSWORD_ENV: &str = "SLOTKEEPER_ADMIN_PASSWORD";

/// The role as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Sees and changes every tenant.
    Operator,
    /// Sees and changes one tenant (`--tenant`).
    TenantAdmin,
}

impl From<RoleArg> for AdminRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Operator => AdminRole::Operator,
            RoleArg::TenantAdmin => AdminRole::TenantAdmin,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("invalid user name: use 3 to 64 characters from a-z, 0-9, '.', '_', '-', '@'")]
    Username,
    #[error("weak password: {0}")]
    Weak(#[from] WeakPassword),
    #[error("a tenant admin needs --tenant (one of: {0})")]
    TenantRequired(String),
    #[error("an operator sees every tenant; leave out --tenant")]
    TenantNotAllowed,
    #[error("unknown tenant {0:?} (configured: {1})")]
    UnknownTenant(String, String),
    #[error("the user {0:?} exists already")]
    Exists(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("store: {0}")]
    Store(StoreError),
}

/// What `create-user` needs.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub username: String,
    pub role: AdminRole,
    pub tenant: Option<String>,
    pub password: String,
}

/// The stored form of a user name, or an error.
pub fn normalize_username(raw: &str) -> Result<String, CreateUserError> {
    let name = raw.trim().to_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@');
    if (3..=64).contains(&name.len()) && name.chars().all(allowed) { Ok(name) } else { Err(CreateUserError::Username) }
}

/// Validates and stores a new account; returns its id.
pub async fn create_user(
    store: &Store,
    catalogue: &Catalogue,
    request: NewUserRequest,
    now: DateTime<Utc>,
) -> Result<i64, CreateUserError> {
    let username = normalize_username(&request.username)?;
    let tenant = resolve_tenant(catalogue, request.role, request.tenant.as_deref())?;
    check_strength(&username, &request.password)?;
    let password = request.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| CreateUserError::Hash(e.to_string()))?
        .map_err(CreateUserError::Hash)?;
    let user =
        NewAdminUser { username: &username, password_hash: &hash, role: request.role, tenant: tenant.as_ref(), now };
    match store.create_admin_user(user).await {
        Ok(id) => Ok(id),
        Err(StoreError::Duplicate(_)) => Err(CreateUserError::Exists(username)),
        Err(other) => Err(CreateUserError::Store(other)),
    }
}

fn resolve_tenant(
    catalogue: &Catalogue,
    role: AdminRole,
    tenant: Option<&str>,
) -> Result<Option<TenantId>, CreateUserError> {
    let configured = || catalogue.tenants().iter().map(|t| t.id.to_string()).collect::<Vec<_>>().join(", ");
    match (role, tenant.map(str::trim).filter(|t| !t.is_empty())) {
        (AdminRole::Operator, None) => Ok(None),
        (AdminRole::Operator, Some(_)) => Err(CreateUserError::TenantNotAllowed),
        (AdminRole::TenantAdmin, None) => Err(CreateUserError::TenantRequired(configured())),
        (AdminRole::TenantAdmin, Some(id)) => {
            let id = TenantId::from(id);
            match catalogue.tenant(&id) {
                Some(_) => Ok(Some(id)),
                None => Err(CreateUserError::UnknownTenant(id.to_string(), configured())),
            }
        }
    }
}

/// The new password: `$SLOTKEEPER_ADMIN_PASSWORD` when set, else one line from stdin (asked twice
/// when stdin is a terminal).
pub fn read_password(username: &str) -> Result<String, String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let ask = |prompt: &str| -> Result<String, String> {
        if interactive {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        stdin
            .lock()
            .take((MAX_PASSWORD_BYTES + 2) as u64)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        Ok(line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_owned())
    };
    if interactive {
        eprintln!(
            "The password is read from the terminal and shown while typing; set {PASSWORD_ENV} or pipe it to avoid that."
        );
    }
    let password = ask(&format!("New password for {username}: "))?;
    if interactive && ask("Repeat the password: ")? != password {
        return Err("the two passwords differ".into());
    }
    Ok(password)
}

/// `slotkeeper admin create-user`: returns the line to print, or an exit code and a message.
pub async fn create_user_command(
    settings: &Settings,
    username: String,
    role: RoleArg,
    tenant: Option<String>,
) -> Result<String, (u8, String)> {
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    let normalized = normalize_username(&username).map_err(|e| (2, e.to_string()))?;
    let role = AdminRole::from(role);
    resolve_tenant(&catalogue, role, tenant.as_deref()).map_err(|e| (2, e.to_string()))?;
    let password = read_password(&normalized).map_err(|e| (2, e))?;
    let store = Store::connect(&StoreOptions {
        url: settings.database.url.clone(),
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_millis(settings.database.acquire_timeout_ms),
        node_id: "cli".into(),
    })
    .await
    .map_err(|e| (1, e.to_string()))?;
    store.migrate().await.map_err(|e| (1, e.to_string()))?;
    let request = NewUserRequest { username: normalized.clone(), role, tenant: tenant.clone(), password };
    let created = create_user(&store, &catalogue, request, Utc::now()).await;
    store.close().await;
    let id = created.map_err(|e| match e {
        CreateUserError::Store(_) | CreateUserError::Hash(_) => (1, e.to_string()),
        other => (2, other.to_string()),
    })?;
    let scope = tenant.map_or_else(|| "every tenant".to_owned(), |t| format!("tenant {}", t.trim()));
    Ok(format!("created admin user {normalized} (id {id}, {role}, {scope}); sign in at /admin/login"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_lower_case_and_plain() {
        assert_eq!(normalize_username("  Anna.Schmidt@salon ").unwrap(), "anna.schmidt@salon");
        assert!(normalize_username("ab").is_err());
        assert!(normalize_username("anna schmidt").is_err());
        assert!(normalize_username("<script>").is_err());
        assert!(normalize_username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn roles_and_tenants_must_fit_together() {
        let catalogue = Settings::embedded_default().validate().unwrap();
        assert!(matches!(resolve_tenant(&catalogue, AdminRole::Operator, None), Ok(None)));
        assert!(matches!(
            resolve_tenant(&catalogue, AdminRole::Operator, Some("salon-beispiel")),
            Err(CreateUserError::TenantNotAllowed)
        ));
        assert!(matches!(
            resolve_tenant(&catalogue, AdminRole::TenantAdmin, None),
            Err(CreateUserError::TenantRequired(_))
        ));
        assert!(matches!(
            resolve_tenant(&catalogue, AdminRole::TenantAdmin, Some("nope")),
            Err(CreateUserError::UnknownTenant(..))
        ));
        let own = resolve_tenant(&catalogue, AdminRole::TenantAdmin, Some("salon-beispiel")).unwrap();
        assert_eq!(own.as_ref().map(TenantId::as_str), Some("salon-beispiel"));
    }
}
