//! What the Token Server model remembers: every kind of record in a [`Capped`] map, the event
//! and request logs as rings. Nothing here grows without bound.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use super::endpoints::Req;
use super::model::{AppConfig, LOG_CAPACITY, LOGGED_REQUEST_LIMIT, MAX_RECORDS, VersionStatus};
use crate::wire::SecretField;

/// A map that keeps at most `cap` entries: inserting beyond it drops the oldest entry.
/// Keys are the model's random ids (and IdP user names), so insertion order is age.
pub(super) struct Capped<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
    cap: usize,
}

impl<V> Default for Capped<V> {
    fn default() -> Self {
        Capped {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: MAX_RECORDS,
        }
    }
}

impl<V> Capped<V> {
    pub(super) fn insert(&mut self, key: String, value: V) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.cap {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&oldest);
        }
        // Keys removed since are still queued: drop them before the queue doubles.
        if self.order.len() > 2 * self.map.len() + 16 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }

    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<V> {
        self.map.remove(key)
    }

    pub(super) fn retain(&mut self, keep: impl FnMut(&String, &mut V) -> bool) {
        self.map.retain(keep);
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.map.iter()
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Pin,
    Fingerprint,
}

pub(super) struct PendingDcr {
    pub(super) version: Option<(String, String)>,
    pub(super) challenge: String,
    pub(super) expires: SystemTime,
}

pub(super) struct ClientRecord {
    pub(super) secret: SecretField,
    pub(super) version: (String, String),
}

pub(super) struct AuthSession {
    pub(super) client_id: String,
    pub(super) created: SystemTime,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) state: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) user_id: Option<String>,
    pub(super) expires: SystemTime,
}

pub(super) struct CodeRecord {
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) scopes: Vec<String>,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: Option<String>,
    pub(super) expires: SystemTime,
    pub(super) used: bool,
}

/// A live refresh token. Revoked and rotated tokens are removed (only a fingerprint token
/// leaves a [`RetiredFingerprint`] behind).
pub(super) struct RefreshRecord {
    pub(super) client_id: String,
    pub(super) user_id: String,
    /// The registration (code exchange) the token descends from: a PIN token and the
    /// fingerprint tokens registered with its access tokens share it, across rotations.
    pub(super) grant: String,
    pub(super) kind: TokenKind,
    pub(super) secret: Vec<u8>,
    pub(super) scopes: Vec<String>,
    pub(super) failed: u32,
}

/// A live access token (revoked ones are removed, expired ones forgotten).
pub(super) struct AccessRecord {
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) grant: String,
    pub(super) scopes: Vec<String>,
    pub(super) expires: SystemTime,
}

/// A fingerprint token that is no longer honoured while its registration's PIN token still
/// is (revoked on its own, or rotated away): presenting it is answered with
/// `authenticator_deregistered`, not `user_deregistered`. At most one per registration.
pub(super) struct RetiredFingerprint {
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) grant: String,
    pub(super) secret: Vec<u8>,
}

pub(super) struct IdpUser {
    pub(super) password: SecretField,
    pub(super) user_id: String,
}

/// A ring buffer of text entries: the newest [`LOG_CAPACITY`].
#[derive(Default)]
pub(super) struct Log(VecDeque<String>);

impl Log {
    pub(super) fn push(&mut self, entry: String) {
        if self.0.len() == LOG_CAPACITY {
            self.0.pop_front();
        }
        self.0.push_back(entry);
    }

    pub(super) fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

pub(super) struct State {
    pub(super) app: AppConfig,
    pub(super) users: Capped<IdpUser>,
    pub(super) pending_dcr: Capped<PendingDcr>,
    pub(super) clients: Capped<ClientRecord>,
    pub(super) sessions: Capped<AuthSession>,
    pub(super) codes: Capped<CodeRecord>,
    pub(super) refresh_tokens: Capped<RefreshRecord>,
    pub(super) retired_fingerprints: Capped<RetiredFingerprint>,
    pub(super) access_tokens: Capped<AccessRecord>,
    pub(super) events: Log,
    pub(super) requests: Log,
}

impl State {
    pub(super) fn event(&mut self, text: String) {
        self.events.push(text);
    }

    /// Logs a request: method, URL and body, cut to [`LOGGED_REQUEST_LIMIT`] bytes.
    pub(super) fn log_request(&mut self, request: &Req) {
        let mut entry = format!(
            "{} {} {}",
            request.method,
            request.target,
            String::from_utf8_lossy(&request.body)
        );
        if entry.len() > LOGGED_REQUEST_LIMIT {
            let mut cut = LOGGED_REQUEST_LIMIT;
            while !entry.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.truncate(cut);
        }
        self.requests.push(entry);
    }

    pub(super) fn user_name(&self, user_id: &str) -> String {
        self.users
            .iter()
            .find(|(_, u)| u.user_id == user_id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| user_id.to_owned())
    }

    /// Revokes every token of `user_id` (for one client, or all): refresh tokens of both
    /// kinds, access tokens, and what is remembered of retired fingerprint tokens.
    pub(super) fn revoke_user(&mut self, client_id: Option<&str>, user_id: &str) {
        let keep = |c: &str, u: &str| u != user_id || client_id.is_some_and(|id| id != c);
        self.refresh_tokens
            .retain(|_, r| keep(&r.client_id, &r.user_id));
        self.access_tokens
            .retain(|_, a| keep(&a.client_id, &a.user_id));
        self.retired_fingerprints
            .retain(|_, r| keep(&r.client_id, &r.user_id));
    }

    /// Takes the fingerprint token `rt_id` out of service while its registration's PIN token
    /// lives on: it is remembered (one per registration) so that presenting it is answered
    /// with `authenticator_deregistered`.
    pub(super) fn retire_fingerprint(&mut self, rt_id: &str) {
        let Some(record) = self
            .refresh_tokens
            .remove(rt_id)
            .filter(|r| r.kind == TokenKind::Fingerprint)
        else {
            return;
        };
        self.retired_fingerprints
            .retain(|_, r| r.grant != record.grant);
        self.retired_fingerprints.insert(
            rt_id.to_owned(),
            RetiredFingerprint {
                client_id: record.client_id,
                user_id: record.user_id,
                grant: record.grant,
                secret: record.secret,
            },
        );
    }

    /// Whether the registration `grant` still has a live PIN token.
    pub(super) fn pin_token_lives(&self, grant: &str) -> bool {
        self.refresh_tokens
            .values()
            .any(|r| r.grant == grant && r.kind == TokenKind::Pin)
    }

    /// Drops pending DCRs, login sessions, codes and access tokens whose time is over, so a
    /// client hammering the endpoints cannot grow the server's memory without bound. (A used
    /// code stays until it expires, so its reuse is still reported as such.)
    pub(super) fn forget_expired(&mut self, now: SystemTime) {
        self.pending_dcr.retain(|_, p| now < p.expires);
        self.sessions.retain(|_, x| now < x.expires);
        self.codes.retain(|_, c| now < c.expires);
        self.access_tokens.retain(|_, a| now < a.expires);
    }

    pub(super) fn version_status(&self, version: &(String, String)) -> Option<VersionStatus> {
        self.app
            .versions
            .iter()
            .find(|v| v.version == version.0 && v.platform == version.1)
            .map(|v| v.status)
    }
}
