//! Counters of login traffic, so that a test can assert how often a client went to the issuer
//! (say, "the authorization endpoint was hit exactly once" after a cached credential was reused).
//!
//! Owns only atomics: each handler of `oidc/flows.rs` bumps its counter when it receives a
//! request, whatever the outcome; [`LoginCounters::snapshot`] reads them all, relaxed, since each
//! counter is independent and tests read them after the requests they made have been answered.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// How many requests each login endpoint of the issuer has received since the stack started,
/// answered with success or with an error alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginCounts {
    /// `GET /oidc/authorize`: the browser (authorization-code) flow.
    pub authorization: u64,
    /// `POST /oidc/device/code`: device authorization requests.
    pub device_authorization: u64,
    /// `POST /oidc/token`, every grant type (see [`TokenCounts`] for the split).
    pub token: u64,
}

/// Requests to `POST /oidc/token`, by `grant_type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// `grant_type=authorization_code`: code exchanges, good or bad.
    pub authorization_code: u64,
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: device polls, pending or not.
    pub device_code: u64,
    /// Any other grant type, or a request whose form could not be read.
    pub other: u64,
}

/// The live counters behind [`LoginCounts`] and [`TokenCounts`].
#[derive(Debug, Default)]
pub(crate) struct LoginCounters {
    authorization: AtomicU64,
    device_authorization: AtomicU64,
    token_authorization_code: AtomicU64,
    token_device_code: AtomicU64,
    token_other: AtomicU64,
}

/// Which counter a request moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hit {
    Authorization,
    DeviceAuthorization,
    TokenAuthorizationCode,
    TokenDeviceCode,
    TokenOther,
}

impl LoginCounters {
    pub(crate) fn hit(&self, hit: Hit) {
        let counter = match hit {
            Hit::Authorization => &self.authorization,
            Hit::DeviceAuthorization => &self.device_authorization,
            Hit::TokenAuthorizationCode => &self.token_authorization_code,
            Hit::TokenDeviceCode => &self.token_device_code,
            Hit::TokenOther => &self.token_other,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn tokens(&self) -> TokenCounts {
        TokenCounts {
            authorization_code: self.token_authorization_code.load(Relaxed),
            device_code: self.token_device_code.load(Relaxed),
            other: self.token_other.load(Relaxed),
        }
    }

    pub(crate) fn snapshot(&self) -> LoginCounts {
        let tokens = self.tokens();
        LoginCounts {
            authorization: self.authorization.load(Relaxed),
            device_authorization: self.device_authorization.load(Relaxed),
            token: tokens.authorization_code + tokens.device_code + tokens.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hit_moves_its_own_counter_and_the_token_total() {
        let counters = LoginCounters::default();
        assert_eq!(counters.snapshot(), LoginCounts::default());
        counters.hit(Hit::Authorization);
        counters.hit(Hit::DeviceAuthorization);
        counters.hit(Hit::DeviceAuthorization);
        counters.hit(Hit::TokenAuthorizationCode);
        counters.hit(Hit::TokenDeviceCode);
        counters.hit(Hit::TokenDeviceCode);
        counters.hit(Hit::TokenOther);
        let expected = LoginCounts {
            authorization: 1,
            device_authorization: 2,
            token: 4,
        };
        assert_eq!(counters.snapshot(), expected);
        let split = TokenCounts {
            authorization_code: 1,
            device_code: 2,
            other: 1,
        };
        assert_eq!(counters.tokens(), split);
    }
}
