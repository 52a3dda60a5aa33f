//! The configuration in effect as the status page shows it: the file as
//! parsed, with every secret replaced by `<secret>`, as Prometheus shows
//! its own configuration.
//!
//! What is masked: every value under a tenant's `auth` (token digests and
//! bcrypt hashes: enough to try passwords offline), and every inline
//! plugin `config` value whose key names a secret (`password`, `token`,
//! ...), in case one was written inline instead of referenced. A
//! `{ file: ... }` or `{ env: ... }` reference is shown as written: it
//! names where the secret is, not the secret.

use std::collections::BTreeMap;

use serde_norway::Value;

/// Shown in place of a secret.
pub const SECRET: &str = "<secret>";

/// Words that make a plugin configuration key a secret's.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "auth",
    "apikey",
    "api_key",
    "private",
];

/// The configuration in effect, masked: the whole of it for the operator,
/// and each tenant's own section for that tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShownConfig {
    /// The whole configuration as YAML.
    pub whole: String,
    /// Each tenant's section as YAML, by tenant name.
    pub tenants: BTreeMap<String, String>,
}

impl ShownConfig {
    /// The masked form of configuration `text` (already known to parse).
    pub fn from_text(text: &str) -> ShownConfig {
        let mut value: Value = serde_norway::from_str(text).unwrap_or(Value::Null);
        mask(&mut value);
        let tenants = value
            .get("tenants")
            .and_then(Value::as_mapping)
            .map(|tenants| {
                tenants
                    .iter()
                    .filter_map(|(name, section)| Some((name.as_str()?.to_owned(), yaml(section))))
                    .collect()
            })
            .unwrap_or_default();
        ShownConfig {
            whole: yaml(&value),
            tenants,
        }
    }

    /// A plugins directory served alone (`--plugins.dir`).
    pub fn plugins_dir(dir: &std::path::Path) -> ShownConfig {
        let mut map = serde_norway::Mapping::new();
        map.insert(
            "plugins_dir".into(),
            Value::String(dir.display().to_string()),
        );
        ShownConfig {
            whole: yaml(&Value::Mapping(map)),
            tenants: BTreeMap::new(),
        }
    }
}

fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).unwrap_or_default()
}

fn mask(config: &mut Value) {
    mask_plugins(config.get_mut("plugins"));
    if let Some(tenants) = config.get_mut("tenants").and_then(Value::as_mapping_mut) {
        for (_, tenant) in tenants.iter_mut() {
            if let Some(auth) = tenant.get_mut("auth") {
                mask_all(auth);
            }
            mask_plugins(tenant.get_mut("plugins"));
        }
    }
}

fn mask_plugins(plugins: Option<&mut Value>) {
    let Some(plugins) = plugins.and_then(Value::as_sequence_mut) else {
        return;
    };
    for plugin in plugins {
        let Some(config) = plugin.get_mut("config").and_then(Value::as_mapping_mut) else {
            continue;
        };
        for (key, value) in config.iter_mut() {
            let secret_key = key.as_str().is_some_and(is_secret_key);
            if secret_key && !is_reference(value) {
                *value = Value::String(SECRET.into());
            }
        }
    }
}

/// Every scalar in `value` becomes `<secret>`; map keys (user names) stay.
fn mask_all(value: &mut Value) {
    match value {
        Value::Mapping(map) => map.iter_mut().for_each(|(_, v)| mask_all(v)),
        Value::Sequence(items) => items.iter_mut().for_each(mask_all),
        Value::Tagged(tagged) => mask_all(&mut tagged.value),
        Value::Null => {}
        other => *other = Value::String(SECRET.into()),
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// A `{ file: ... }` or `{ env: ... }` reference to a secret.
fn is_reference(value: &Value) -> bool {
    value.as_mapping().is_some_and(|m| {
        !m.is_empty()
            && m.keys()
                .all(|k| matches!(k.as_str(), Some("file") | Some("env")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_references_kept() {
        let text = r#"
plugins:
  - path: redis.wasm
    config:
      address: 127.0.0.1:6379
      password: hunter2
      api_token: { file: /etc/token }
tenants:
  payments:
    auth:
      bearer_token_sha256: [abcdef0123]
      basic_auth_users: { alice: "$2y$10$hash" }
    plugins:
      - path: a.wasm
        config: { db_password: swordfish, user: bob }
"#;
        let shown = ShownConfig::from_text(text);
        for secret in ["hunter2", "abcdef0123", "$2y$10$hash", "swordfish"] {
            assert!(!shown.whole.contains(secret), "{secret} in {}", shown.whole);
        }
        for kept in ["127.0.0.1:6379", "/etc/token", "alice", "bob"] {
            assert!(shown.whole.contains(kept), "{kept} not in {}", shown.whole);
        }
        let payments = &shown.tenants["payments"];
        assert!(payments.contains("<secret>") && payments.contains("a.wasm"));
        assert!(!payments.contains("swordfish") && !payments.contains("redis.wasm"));
    }
}
