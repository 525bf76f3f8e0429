//! Encryption at rest and keyed hashes.
//!
//! - Secrets, phone numbers and notes are sealed with AES-256-GCM under a key derived
//!   from the master key. The stored form is `v1.<key id>.<base64(nonce ‖ ciphertext)>`;
//!   the key id lets `key rotate` and a list of previous keys decrypt old values.
//!   Each value is bound to its place (tenant, table, column) as associated data, so a
//!   ciphertext copied elsewhere does not decrypt.
//! - Numbers also get a blind index (HMAC-SHA256 under a separate derived key, scoped by
//!   tenant) so logs can be found by number without storing it in clear.
//! - The server's own JWT signing key is derived from the master key too.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Errors of key loading and decryption.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key is not base64 of 32 bytes.
    #[error("master key must be base64 of exactly 32 bytes")]
    BadKey,
    /// No master key configured.
    #[error("no master key: set MPT_MASTER_KEY or MPT_MASTER_KEY_FILE (or run with --demo)")]
    NoKey,
    /// Reading or writing the key file failed.
    #[error("master key file: {0}")]
    Io(#[from] std::io::Error),
    /// The stored value is malformed, from an unknown key, or was tampered with.
    #[error("cannot decrypt value")]
    Decrypt,
}

struct KeySet {
    id: String,
    aead: Aes256Gcm,
    bidx: [u8; 32],
}

/// The server's keys.
pub struct Crypto {
    current: KeySet,
    previous: Vec<KeySet>,
    jwt: [u8; 32],
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto").field("key_id", &self.current.id).finish_non_exhaustive()
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl KeySet {
    fn new(master: &[u8; 32]) -> KeySet {
        let id = hex(&Sha256::digest(derive(master, "mpt:key-id:v1"))[..4]);
        let enc = derive(master, "mpt:enc:v1");
        KeySet { id, aead: Aes256Gcm::new(&enc.into()), bidx: derive(master, "mpt:bidx:v1") }
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hex SHA-256 (for hashing refresh tokens and API keys before storing them).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A random token: `n` random bytes, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A random id: 16 random bytes in hex, with a prefix.
pub fn new_id(prefix: &str) -> String {
    let mut buf = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut buf);
    format!("{prefix}{}", hex(&buf))
}

/// Parses a base64 master key.
pub fn parse_master_key(b64: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = B64.decode(b64.trim()).map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// Generates a new master key, base64.
pub fn generate_master_key() -> String {
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    B64.encode(k)
}

/// Loads the key from `MPT_MASTER_KEY`, else `MPT_MASTER_KEY_FILE`; in demo mode, from
/// (or newly into) `<data_dir>/master.key`.
pub fn load_master_key(b64: Option<&str>, file: Option<&Path>, data_dir: &Path, demo: bool) -> Result<[u8; 32], CryptoError> {
    if let Some(b) = b64 {
        return parse_master_key(b);
    }
    if let Some(f) = file {
        return parse_master_key(&std::fs::read_to_string(f)?);
    }
    if demo {
        let path = data_dir.join("master.key");
        if path.exists() {
            return parse_master_key(&std::fs::read_to_string(&path)?);
        }
        std::fs::create_dir_all(data_dir)?;
        let key = generate_master_key();
        write_private(&path, &key)?;
        return parse_master_key(&key);
    }
    Err(CryptoError::NoKey)
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        f.write_all(contents.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents)
    }
}

impl Crypto {
    /// Keys from a master key, plus previous master keys that may still decrypt old values.
    pub fn new(master: &[u8; 32], previous: &[[u8; 32]]) -> Crypto {
        Crypto { current: KeySet::new(master), previous: previous.iter().map(KeySet::new).collect(), jwt: derive(master, "mpt:jwt:v1") }
    }

    /// Id of the current key.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Key for the server's own access tokens.
    pub fn jwt_key(&self) -> &[u8; 32] {
        &self.jwt
    }

    /// Encrypts `plain`, bound to `context` (e.g. `"tenant:<id>:auth_token"`).
    pub fn seal(&self, context: &str, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .current
            .aead
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .unwrap_or_default(); // AES-GCM encryption fails only beyond 64 GiB inputs.
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("v1.{}.{}", self.current.id, B64.encode(blob))
    }

    /// Decrypts a value sealed by [`Crypto::seal`] with the same context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Decrypt);
        };
        let keys = std::iter::once(&self.current).chain(self.previous.iter());
        let key = keys.into_iter().find(|k| k.id == kid).ok_or(CryptoError::Decrypt)?;
        let blob = B64.decode(b).map_err(|_| CryptoError::Decrypt)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = blob.split_at(12);
        let plain =
            key.aead.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() }).map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }

    /// Key id a sealed value was written with.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        sealed.split('.').nth(1)
    }

    /// Blind index of a phone number (or any exact-match value) within a tenant.
    pub fn blind_index(&self, tenant_id: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.current.bidx).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(tenant_id.as_bytes());
        mac.update(b"\x00");
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto() -> Crypto {
        Crypto::new(&[7u8; 32], &[])
    }

    #[test]
    fn seal_open_roundtrip_and_context_binding() {
        let c = crypto();
        let s = c.seal("tenant:a:notes", "call back Tuesday");
        assert!(s.starts_with(&format!("v1.{}.", c.key_id())));
        assert!(!s.contains("Tuesday"));
        assert_eq!(c.open("tenant:a:notes", &s).expect("open"), "call back Tuesday");
        assert!(c.open("tenant:b:notes", &s).is_err(), "context must bind");
        // Two seals of the same text differ (random nonce).
        assert_ne!(s, c.seal("tenant:a:notes", "call back Tuesday"));
    }

    #[test]
    fn tampering_is_detected() {
        let c = crypto();
        let s = c.seal("x", "secret");
        let mut bytes = s.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(bytes).expect("utf8");
        assert!(c.open("x", &t).is_err());
        assert!(c.open("x", "garbage").is_err());
    }

    #[test]
    fn previous_keys_still_open_old_values() {
        let old = Crypto::new(&[1u8; 32], &[]);
        let sealed = old.seal("ctx", "v");
        let new = Crypto::new(&[2u8; 32], &[[1u8; 32]]);
        assert_ne!(old.key_id(), new.key_id());
        assert_eq!(new.open("ctx", &sealed).expect("open with previous key"), "v");
        assert!(Crypto::new(&[2u8; 32], &[]).open("ctx", &sealed).is_err());
    }

    #[test]
    fn blind_index_is_keyed_and_tenant_scoped() {
        let c = crypto();
        let a = c.blind_index("t1", "+14155550100");
        assert_eq!(a, c.blind_index("t1", "+14155550100"));
        assert_ne!(a, c.blind_index("t2", "+14155550100"));
        assert_ne!(a, Crypto::new(&[8u8; 32], &[]).blind_index("t1", "+14155550100"));
    }

    #[test]
    fn master_key_parsing() {
        assert!(parse_master_key("c2hvcnQ=").is_err());
        let k = generate_master_key();
        assert!(parse_master_key(&k).is_ok());
    }
}
