//! Credentials: HTTP basic auth against bcrypt hashes, as exporter-toolkit's
//! `basic_auth_users`.
//!
//! A check answers only yes or no, and costs the same whether the user is
//! unknown or the password wrong: an unknown user is checked against a
//! known user's hash, so both pay one bcrypt verification. Results are
//! cached by a SHA-256 of the user, the password and the hash, so a
//! scraper sending the same credentials every 15 s pays bcrypt once, not on
//! every scrape. bcrypt runs on the blocking pool, at most one per core at
//! once, so a flood of guesses cannot take the threads scrapes need.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// Cached results kept at most; past it the cache starts again empty.
const CACHE_ENTRIES: usize = 4096;

/// Users and their bcrypt hashes, with the cache of checks made.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// The hash an unknown user is checked against.
    decoy: String,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    bcrypt_slots: Arc<Semaphore>,
}

/// Why a user's entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHash {
    /// The user whose hash it is.
    pub user: String,
    /// What is wrong with it.
    pub reason: String,
}

impl BasicAuth {
    /// The users with their bcrypt hashes (`$2a$`, `$2b$` or `$2y$`); none
    /// may be empty and every hash must parse.
    pub fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, BadHash> {
        for (user, hash) in &users {
            if user.contains(':') {
                return Err(BadHash {
                    user: user.clone(),
                    reason: "a user name cannot contain ':' in basic auth".into(),
                });
            }
            hash.parse::<bcrypt::HashParts>().map_err(|e| BadHash {
                user: user.clone(),
                reason: format!("not a bcrypt hash ({e})"),
            })?;
        }
        // The first user's hash: an unknown user costs what that user costs.
        let decoy = users.values().next().cloned().unwrap_or_default();
        let slots = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(BasicAuth {
            users,
            decoy,
            cache: Mutex::new(HashMap::new()),
            bcrypt_slots: Arc::new(Semaphore::new(slots)),
        })
    }

    /// Whether there are users at all (no users: nothing is checked).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether an `Authorization` header carries a known user and that
    /// user's password.
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.clone(), true),
            None => (self.decoy.clone(), false),
        };
        let key = cache_key(&user, &password, &hash);
        if let Some(&ok) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return ok && known;
        }
        let Ok(_slot) = self.bcrypt_slots.clone().acquire_owned().await else {
            return false;
        };
        let verified = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = verified && known;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }
}

/// The user and password of a `Basic` authorization header.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn cache_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [user, password, hash] {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // bcrypt("secret") at cost 4: a low cost keeps the tests fast.
    const SECRET: &str = "$2b$04$dS2Y/B8L8CEVZkZ4X2cue.rAhNcB7AjLhhWjIr4GsAN3S0q2fzPkW";

    fn auth() -> BasicAuth {
        BasicAuth::new(BTreeMap::from([("alice".into(), SECRET.into())])).unwrap()
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let plain = format!("{user}:{password}");
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[tokio::test]
    async fn the_right_password_passes_and_anything_else_fails() {
        let auth = auth();
        assert!(auth.check(Some(&basic("alice", "secret"))).await);
        // Twice: the second answer comes from the cache.
        assert!(auth.check(Some(&basic("alice", "secret"))).await);
        assert!(!auth.check(Some(&basic("alice", "wrong"))).await);
        assert!(!auth.check(Some(&basic("alice", "wrong"))).await);
        // An unknown user with the decoy hash's own password still fails.
        assert!(!auth.check(Some(&basic("mallory", "secret"))).await);
        assert!(!auth.check(Some(&basic("mallory", "secret"))).await);
        assert!(!auth.check(None).await);
        assert!(
            !auth
                .check(Some(&HeaderValue::from_static("Bearer abc")))
                .await
        );
        assert!(
            !auth
                .check(Some(&HeaderValue::from_static("Basic !!!!")))
                .await
        );
    }

    #[test]
    fn a_bad_hash_names_its_user() {
        let error = BasicAuth::new(BTreeMap::from([("bob".into(), "plain".into())]))
            .err()
            .unwrap();
        assert_eq!(error.user, "bob");
        assert!(error.reason.contains("not a bcrypt hash"), "{error:?}");
        let error = BasicAuth::new(BTreeMap::from([("a:b".into(), SECRET.into())]))
            .err()
            .unwrap();
        assert!(error.reason.contains("':'"), "{error:?}");
    }
}
