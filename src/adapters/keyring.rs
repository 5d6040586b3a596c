//! The Linux kernel keyring as a credential store (keyutils): each credential is a `user` key
//! named `signet:<scope key>` in the session keyring, readable only by processes that possess
//! that keyring (the login session's processes), with a kernel timeout at the certificate's
//! notAfter so the kernel itself forgets it. Used only when a probe (add, find, read, invalidate)
//! works: containers and CI often have no usable session keyring, and then the agent is used.

use linux_keyutils::{
    Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
};
use zeroize::Zeroizing;

use crate::core::agent_proto::EntrySummary;
use crate::core::credential::{Credential, MAX_CREDENTIAL_BYTES};
use crate::core::time::UnixTime;

const PREFIX: &str = "signet:";
const PROBE: &str = "signet-probe";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the session keyring cannot be used: {0:?}")]
    Unavailable(KeyError),
    #[error("keyring operation {action} failed: {error:?}")]
    Operation {
        action: &'static str,
        error: KeyError,
    },
    #[error("the cached credential in the keyring is not usable: {0}")]
    Corrupt(String),
}

fn op(action: &'static str) -> impl FnOnce(KeyError) -> KeyringError {
    move |error| KeyringError::Operation { action, error }
}

/// The session keyring, once a probe showed it works.
pub struct KeyringStore {
    ring: KeyRing,
}

/// Only processes possessing the keyring may read or change the key; the owner may see it.
fn permissions() -> linux_keyutils::KeyPermissions {
    KeyPermissionsBuilder::builder()
        .posessor(Permission::ALL)
        .user(Permission::VIEW)
        .build()
}

fn description(scope_key: &str) -> String {
    format!("{PREFIX}{scope_key}")
}

impl KeyringStore {
    /// The session keyring if storing, finding, reading and removing a short-lived probe key
    /// all work there.
    pub fn probe() -> Result<Self, KeyringError> {
        let ring = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
            .map_err(KeyringError::Unavailable)?;
        let key = ring
            .add_key(PROBE, b"probe")
            .map_err(KeyringError::Unavailable)?;
        let checked = (|| {
            key.set_perms(permissions())?;
            key.set_timeout(5)?;
            let found = ring.search(PROBE)?;
            let mut buf = [0u8; 8];
            if found.read(&mut buf)? != 5 {
                return Err(KeyError::InvalidDescription);
            }
            Ok(())
        })();
        let removed = key.invalidate();
        checked.map_err(KeyringError::Unavailable)?;
        removed.map_err(KeyringError::Unavailable)?;
        Ok(Self { ring })
    }

    fn find(&self, scope_key: &str) -> Result<Option<Key>, KeyringError> {
        match self.ring.search(&description(scope_key)) {
            Ok(key) => Ok(Some(key)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(op("search")(e)),
        }
    }

    /// The credential cached for `scope_key`, if any.
    pub fn get(&self, scope_key: &str) -> Result<Option<Credential>, KeyringError> {
        let Some(key) = self.find(scope_key)? else {
            return Ok(None);
        };
        let mut buf = Zeroizing::new(vec![0u8; MAX_CREDENTIAL_BYTES + 1]);
        let n = match key.read(&mut *buf) {
            Ok(n) => n,
            Err(KeyError::KeyExpired | KeyError::KeyRevoked | KeyError::KeyDoesNotExist) => {
                return Ok(None);
            }
            Err(e) => return Err(op("read")(e)),
        };
        if n > MAX_CREDENTIAL_BYTES {
            return Err(KeyringError::Corrupt(format!(
                "{n} bytes, more than {MAX_CREDENTIAL_BYTES}"
            )));
        }
        let credential =
            Credential::decode(&buf[..n]).map_err(|e| KeyringError::Corrupt(e.to_string()))?;
        if credential.scope_key != scope_key {
            return Err(KeyringError::Corrupt(
                "it was stored for another scope".into(),
            ));
        }
        Ok(Some(credential))
    }

    /// Keep `credential` until its certificate expires (the kernel removes it then).
    pub fn put(&self, credential: &Credential, now: UnixTime) -> Result<(), KeyringError> {
        let lifetime = credential.not_after.0 - now.0;
        let Ok(lifetime) = usize::try_from(lifetime) else {
            return Err(KeyringError::Corrupt(
                "the certificate has already expired".into(),
            ));
        };
        let encoded = credential.encode();
        let key = self
            .ring
            .add_key(&description(&credential.scope_key), &*encoded)
            .map_err(op("add"))?;
        let settled = key
            .set_perms(permissions())
            .and_then(|()| key.set_timeout(lifetime.max(1)));
        if let Err(e) = settled {
            // Never leave a key the kernel would not expire.
            let _ = key.invalidate();
            return Err(op("set permissions and timeout")(e));
        }
        Ok(())
    }

    /// Forget the credential for `scope_key`; whether there was one.
    pub fn delete(&self, scope_key: &str) -> Result<bool, KeyringError> {
        match self.find(scope_key)? {
            Some(key) => key.invalidate().map(|()| true).map_err(op("invalidate")),
            None => Ok(false),
        }
    }

    /// What the session keyring holds for signet.
    pub fn list(&self) -> Result<Vec<EntrySummary>, KeyringError> {
        let links = self.ring.get_links(1024).map_err(op("list"))?;
        let mut out = Vec::new();
        for node in links.iter() {
            let Some(key) = node.as_key() else { continue };
            let Ok(meta) = key.metadata() else { continue };
            let Some(scope_key) = meta.get_description().strip_prefix(PREFIX) else {
                continue;
            };
            if let Ok(Some(c)) = self.get(scope_key) {
                out.push(EntrySummary {
                    scope_key: c.scope_key.clone(),
                    identity: c.identity.clone(),
                    issuer: c.issuer.clone(),
                    not_after: c.not_after,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::credential::tests::credential_valid;
    use crate::core::testworld::World;

    /// Join a fresh anonymous session keyring: this test process (nextest runs each test in its
    /// own) then has a keyring nobody else possesses.
    fn private_session() {
        // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL) takes no pointers we own.
        let id = unsafe { libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<libc::c_char>()) };
        assert!(id > 0, "cannot join a session keyring");
    }

    #[test]
    fn keyring_round_trip_and_expiry_by_the_kernel() {
        private_session();
        let store = KeyringStore::probe().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let scope = "v1-cccccccccccccccccccccccccccccccc";
        assert!(store.get(scope).unwrap().is_none());
        let w = World::new();
        // Valid for 2 more seconds: the kernel timeout is set to that.
        let c = credential_valid(&w, scope, (now - 60, now + 2));
        store.put(&c, UnixTime(now)).unwrap();
        let got = store.get(scope).unwrap().unwrap();
        assert_eq!(*got.key_pkcs8, *c.key_pkcs8);
        assert_eq!(store.list().unwrap().len(), 1);
        // Put replaces.
        let c2 = credential_valid(&w, scope, (now - 60, now + 600));
        store.put(&c2, UnixTime(now)).unwrap();
        assert_eq!(*store.get(scope).unwrap().unwrap().key_pkcs8, *c2.key_pkcs8);
        assert!(store.delete(scope).unwrap());
        assert!(!store.delete(scope).unwrap());
        assert!(store.get(scope).unwrap().is_none());
        // An expired certificate is refused; a short one vanishes when the kernel times it out.
        let expired = credential_valid(&w, scope, (now - 600, now - 1));
        assert!(store.put(&expired, UnixTime(now)).is_err());
        let short = credential_valid(&w, scope, (now - 60, now + 1));
        store.put(&short, UnixTime(now)).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while store.get(scope).unwrap().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the kernel kept the key"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    #[test]
    fn a_corrupt_entry_is_an_error_not_a_credential() {
        private_session();
        let store = KeyringStore::probe().unwrap();
        let scope = "v1-dddddddddddddddddddddddddddddddd";
        let key = store
            .ring
            .add_key(&description(scope), b"not a credential")
            .unwrap();
        key.set_timeout(30).unwrap();
        assert!(matches!(store.get(scope), Err(KeyringError::Corrupt(_))));
        key.invalidate().unwrap();
    }
}
