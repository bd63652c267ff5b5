//! Admin passwords: the strength rule for new ones, Argon2id hashing, and verification that
//! cannot starve the runtime.
//!
//! * Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with the crate's
//!   defaults (OWASP's recommendation); each carries its own salt and parameters, so raising the
//!   cost later needs no migration.
//! * Verification runs on the blocking pool, at most [`MAX_CONCURRENT_HASHES`] at a time: a flood
//!   of login attempts queues there instead of occupying the async workers.
//! * An unknown user name is verified against a dummy hash, so the answer takes as long as for a
//!   known one and does not reveal which names exist.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{OnceCell, Semaphore};

use super::error::AdminError;

/// New passwords need at least this many characters (NIST SP 800-63B asks for 8; admins get more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer input is refused before hashing (bounds the work per attempt).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Argon2 needs ~19 MiB and tens of milliseconds per hash; two at a time on a small machine.
pub const MAX_CONCURRENT_HASHES: usize = 2;
/// A new password needs this many different characters ("aaaaaaaaaaaa" is not a password).
const MIN_DISTINCT_CHARS: usize = 6;
/// Words that, with only digits or punctuation around them, make a guessable password.
const COMMON_WORDS: &[&str] = &[
    "password",
    "passwort",
    "passw0rt",
    "qwertz",
    "qwerty",
    "asdf",
    "admin",
    "administrator",
    "salon",
    "friseur",
    "letmein",
    "welcome",
    "willkommen",
    "hallo",
    "sommer",
    "winter",
    "geheim",
    "secret",
    "slotkeeper",
    "123456",
    "abcdef",
];

/// Why a new password is refused (the message is shown by `slotkeeper admin create-user`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password is empty")]
    Empty,
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is too long: at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password repeats too few characters: use at least {MIN_DISTINCT_CHARS} different ones")]
    TooFewDistinct,
    #[error("the password contains the user name")]
    ContainsUsername,
    #[error("the password is a common word with digits; choose a passphrase of several unrelated words")]
    Common,
}

/// Refuses empty, short, repetitive, name-containing and common passwords.
pub fn check_strength(username: &str, password: &str) -> Result<(), WeakPassword> {
    if password.trim().is_empty() {
        return Err(WeakPassword::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(WeakPassword::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err(WeakPassword::TooFewDistinct);
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(WeakPassword::ContainsUsername);
    }
    let core: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let only_digits = lower.chars().all(|c| !c.is_alphabetic());
    if only_digits
        || COMMON_WORDS.iter().any(|word| core == *word || (lower.contains(word) && core.len() <= word.len() + 2))
    {
        return Err(WeakPassword::Common);
    }
    Ok(())
}

/// An Argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Does `password` match the PHC string `hash`? A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Bounded, off-runtime verification.
pub struct PasswordGate {
    permits: Semaphore,
    /// Verified against when the user does not exist (made once, on first need).
    dummy_hash: OnceCell<String>,
}

impl Default for PasswordGate {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordGate {
    pub fn new() -> Self {
        Self { permits: Semaphore::new(MAX_CONCURRENT_HASHES), dummy_hash: OnceCell::new() }
    }

    /// `true` when `password` matches `hash_opt`; for `None` (no such user) the same work is done
    /// and the answer is `false`.
    pub async fn verify(&self, password: &str, hash_opt: Option<String>) -> Result<bool, AdminError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let known_user = hash_opt.is_some();
        let hash = match hash_opt {
            Some(hash) => hash,
            None => self.dummy().await?,
        };
        let _permit = self.permits.acquire().await.map_err(|e| AdminError::Internal(e.to_string()))?;
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| AdminError::Internal(format!("password check: {e}")))?;
        Ok(matches && known_user)
    }

    async fn dummy(&self) -> Result<String, AdminError> {
        let hash = self
            .dummy_hash
            .get_or_try_init(|| async {
                let secret = hex::encode(rand::random::<[u8; 16]>());
                tokio::task::spawn_blocking(move || hash_password(&secret))
                    .await
                    .map_err(|e| AdminError::Internal(e.to_string()))?
                    .map_err(AdminError::Internal)
            })
            .await?;
        Ok(hash.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert_eq!(check_strength("anna", ""), Err(WeakPassword::Empty));
        assert_eq!(check_strength("anna", "   "), Err(WeakPassword::Empty));
        assert_eq!(check_strength("anna", "kurz"), Err(WeakPassword::TooShort));
        assert_eq!(check_strength("anna", "aaaaaaaaaaaaaaaa"), Err(WeakPassword::TooFewDistinct));
        assert_eq!(check_strength("anna", "anna-ist-die-beste"), Err(WeakPassword::ContainsUsername));
        assert_eq!(check_strength("anna", "Passwort2024!"), Err(WeakPassword::Common));
        assert_eq!(check_strength("anna", "123456789012"), Err(WeakPassword::Common));
        assert_eq!(check_strength("anna", &"x".repeat(MAX_PASSWORD_BYTES + 1)), Err(WeakPassword::TooLong));
    }

    #[test]
    fn a_passphrase_is_accepted() {
        assert_eq!(check_strength("anna", "Lampe Wolke Fahrrad 7"), Ok(()));
        assert_eq!(check_strength("operator", "correct horse battery staple"), Ok(()));
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let hash = hash_password("Lampe Wolke Fahrrad 7").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("Lampe Wolke Fahrrad 7", &hash));
        assert!(!verify_password("Lampe Wolke Fahrrad 8", &hash));
        assert!(!verify_password("Lampe Wolke Fahrrad 7", "not a phc string"));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let gate = PasswordGate::new();
        assert!(!gate.verify("anything at all", None).await.unwrap());
        let hash = hash_password("Lampe Wolke Fahrrad 7").unwrap();
        assert!(gate.verify("Lampe Wolke Fahrrad 7", Some(hash)).await.unwrap());
    }
}
