//! Sealing of secrets at rest (XChaCha20-Poly1305 under a key id, with the row's identity as
//! associated data) and the keyed hashes that let Taskr store lookups instead of raw tokens.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// 32 bytes of key. `Debug` shows only the key id.
#[derive(Clone)]
pub struct KeyMaterial([u8; KEY_LEN]);

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial(id={}, [redacted])", self.id())
    }
}

impl KeyMaterial {
    /// Accepts standard base64 (44 characters) or 64 hex digits; anything else is refused, so
    /// the server never starts with a key of the wrong length.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.len() == 2 * KEY_LEN && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(raw).map_err(|e| e.to_string())?
        } else {
            B64.decode(raw)
                .map_err(|_| "must be 32 bytes as base64 or 64 hex digits".to_owned())?
        };
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("must be 32 bytes, got {}", b.len()))?;
        Ok(Self(key))
    }

    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// A short public name for the key, stored beside every value it seals so that keys can be
    /// rotated: the first 8 hex digits of SHA-256 over a label and the key.
    pub fn id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"taskr key id v1")
            .chain_update(self.0)
            .finalize();
        hex::encode(&digest[..4])
    }

    /// Reads `<dir>/encryption.key`, or creates it (mode 0600) with a fresh key. Demo mode only.
    pub fn load_or_create_file(dir: &Path) -> anyhow::Result<(Self, bool)> {
        use anyhow::Context;
        let path = dir.join("encryption.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key =
                    Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Ok((key, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private(&path, &B64.encode(key.0))
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok((key, true))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// A sealed value as stored: the id of the key that sealed it, and nonce ‖ ciphertext ‖ tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(key={}, {} bytes)", self.key_id, self.bytes.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("value was sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("sealed value failed authentication (wrong key, or moved to another row)")]
    Corrupt,
}

/// The keys in use: the current one seals, any configured one opens. Cloning is cheap (a few
/// small keys behind an `Arc`).
#[derive(Clone)]
pub struct Cipher {
    key_id: String,
    aead: XChaCha20Poly1305,
    mac_key: [u8; 32],
    older: std::sync::Arc<Vec<(String, XChaCha20Poly1305)>>,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cipher(key={})", self.key_id)
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Cipher {
    pub fn new(key: &KeyMaterial) -> Self {
        // A separate key for MACs, derived so that one configured key serves both purposes.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0).expect("HMAC takes any key");
        mac.update(b"taskr mac key v1");
        let mac_key: [u8; 32] = mac.finalize().into_bytes().into();
        Self {
            key_id: key.id(),
            aead: XChaCha20Poly1305::new((&key.0).into()),
            mac_key,
            older: std::sync::Arc::new(Vec::new()),
        }
    }

    /// A cipher that seals with `current` and also opens values sealed with any of `older`.
    /// MACs (CSRF tokens, lookup hashes) stay derived from the current key.
    pub fn with_older_keys(current: &KeyMaterial, older: &[KeyMaterial]) -> Self {
        let mut cipher = Self::new(current);
        cipher.older = std::sync::Arc::new(
            older
                .iter()
                .filter(|k| k.id() != cipher.key_id)
                .map(|k| (k.id(), XChaCha20Poly1305::new((&k.0).into())))
                .collect(),
        );
        cipher
    }

    /// A cipher that seals with `new` and still opens everything this one opens: what key
    /// rotation needs when the old key is the one in use.
    pub fn rotated_to(&self, new: &KeyMaterial) -> Self {
        let mut rotated = Self::new(new);
        let mut older: Vec<(String, XChaCha20Poly1305)> =
            vec![(self.key_id.clone(), self.aead.clone())];
        older.extend(self.older.iter().cloned());
        older.retain(|(id, _)| *id != rotated.key_id);
        rotated.older = std::sync::Arc::new(older);
        rotated
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether values sealed under `key_id` can be opened (the current key or an older one).
    pub fn opens(&self, key_id: &str) -> bool {
        key_id == self.key_id || self.older.iter().any(|(id, _)| id == key_id)
    }

    /// Seals `plaintext`; `context` names the row it belongs to, so a sealed value copied to
    /// another row does not open.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            key_id: self.key_id.clone(),
            bytes,
        }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, CryptoError> {
        let aead = if sealed.key_id == self.key_id {
            &self.aead
        } else {
            self.older
                .iter()
                .find(|(id, _)| *id == sealed.key_id)
                .map(|(_, aead)| aead)
                .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?
        };
        if sealed.bytes.len() < NONCE_LEN {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        aead.decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Corrupt)
    }

    /// HMAC-SHA256 of `data` under a purpose label; used for CSRF tokens and for the lookup
    /// hashes of session ids and OAuth states.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("any key");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// A random URL-safe token of 32 bytes (session ids, OAuth states).
pub fn random_token() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The associated data each kind of sealed value is sealed with, in one place: the code that
/// seals, the code that opens and key rotation (which re-seals every stored value) all build it
/// here, so they cannot drift apart. Changing a label makes every stored value of that kind
/// unreadable: they are part of the stored format.
pub mod contexts {
    /// A user's Attio access token: `attio_link:<user id>`.
    pub const ATTIO_TOKEN: &str = "attio_link";
    /// A workspace's webhook secret: `webhook_secret:<workspace id>`.
    pub const WEBHOOK_SECRET: &str = "webhook_secret";
    /// A connection's value or refresh token:
    /// `connection:<provider>:<owner kind>:<owner id>:<part>`.
    pub const CONNECTION: &str = "connection";
    /// The PKCE verifier of a connection flow in progress: `connection_flow:<state hash, hex>`.
    pub const FLOW_VERIFIER: &str = "connection_flow";

    pub fn attio_token(user: i64) -> String {
        format!("{ATTIO_TOKEN}:{user}")
    }
    pub fn webhook_secret(workspace: &str) -> String {
        format!("{WEBHOOK_SECRET}:{workspace}")
    }
    pub fn connection(provider: &str, owner_kind: &str, owner_id: &str, part: &str) -> String {
        format!("{CONNECTION}:{provider}:{owner_kind}:{owner_id}:{part}")
    }
    pub fn flow_verifier(state_hash: &[u8]) -> String {
        format!("{FLOW_VERIFIER}:{}", hex::encode(state_hash))
    }
}

/// The purposes of the keyed hashes ([`Cipher::mac`]), in one place for the same reason.
pub mod purposes {
    pub const SESSION: &str = "session";
    pub const CSRF: &str = "csrf";
    pub const KNOWN_DEVICE: &str = "known-device";
    pub const OAUTH_STATE: &str = "oauth-state";
    pub const CONNECTION_STATE: &str = "connection-state";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_context_and_key() {
        let cipher = Cipher::new(&KeyMaterial::generate());
        let sealed = cipher.seal(b"token-123", "attio_link:1");
        assert!(!sealed.bytes.windows(9).any(|w| w == b"token-123"));
        assert_eq!(cipher.open(&sealed, "attio_link:1").unwrap(), b"token-123");
        assert!(matches!(
            cipher.open(&sealed, "attio_link:2"),
            Err(CryptoError::Corrupt)
        ));
        let other = Cipher::new(&KeyMaterial::generate());
        assert!(matches!(
            other.open(&sealed, "attio_link:1"),
            Err(CryptoError::UnknownKey(_))
        ));
        let mut tampered = sealed.clone();
        let last = tampered.bytes.len() - 1;
        tampered.bytes[last] ^= 1;
        assert!(cipher.open(&tampered, "attio_link:1").is_err());
    }

    #[test]
    fn an_older_key_still_opens_what_it_sealed() {
        let old = KeyMaterial::generate();
        let new = KeyMaterial::generate();
        let sealed = Cipher::new(&old).seal(b"v", "ctx");
        let both = Cipher::with_older_keys(&new, &[old]);
        assert_eq!(both.open(&sealed, "ctx").unwrap(), b"v");
        assert_eq!(
            both.seal(b"v", "ctx").key_id,
            new.id(),
            "sealing uses the current key"
        );
        assert!(Cipher::new(&new).open(&sealed, "ctx").is_err());
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_refuse_other_lengths() {
        let hex_key = "00".repeat(32);
        assert!(KeyMaterial::parse(&hex_key).is_ok());
        assert!(KeyMaterial::parse(&B64.encode([7u8; 32])).is_ok());
        assert!(KeyMaterial::parse(&B64.encode([7u8; 16])).is_err());
        assert!(KeyMaterial::parse("!!!").is_err());
        let key = KeyMaterial::parse(&hex_key).unwrap();
        assert!(!format!("{key:?}").contains("00000000000000"));
    }

    #[test]
    fn demo_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = KeyMaterial::load_or_create_file(dir.path()).unwrap();
        assert!(created);
        let (second, created_again) = KeyMaterial::load_or_create_file(dir.path()).unwrap();
        assert!(!created_again);
        assert_eq!(first.id(), second.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("encryption.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
