//! Scripted handlers: the "user" for tests, examples and demos.
//!
//! [`ScriptedUser`] answers PIN creation and PIN authentication from a queue of answers and
//! records every prompt it saw (policy errors, attempt counters), never the PINs.
//! [`ScriptedFingerprint`] answers the fingerprint prompt from a queue of scans.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::client::{
    AttemptCounter, CreatePinHandler, FingerprintHandler, FingerprintScan, PinAnswer,
    PinAuthenticationHandler, UserProfile,
};
use crate::pin::{Pin, PinValidationError};
use auth_core::sync::lock;

/// What a scripted handler was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// `startPinCreation` with the PIN length.
    CreatePin {
        /// The profile.
        profile: UserProfile,
        /// The policy's PIN length.
        pin_length: usize,
    },
    /// `onNextPinCreationAttempt` with the error code.
    PinRejected(u16),
    /// `finishPinCreation`.
    FinishPinCreation,
    /// `startAuthentication` with the counter.
    EnterPin {
        /// The profile.
        profile: UserProfile,
        /// The counter.
        counter: AttemptCounter,
    },
    /// `onNextAuthenticationAttempt` with the counter.
    WrongPin(AttemptCounter),
    /// `finishAuthentication`.
    FinishAuthentication,
}

/// The queued answers are [`Pin`]s, so `Debug` of a scripted user shows `Pin([redacted])`,
/// never the PINs it will type.
#[derive(Debug, Default)]
struct Script {
    answers: VecDeque<Option<Pin>>,
    prompts: Vec<Prompt>,
}

/// A user who types PINs from a script (`None` = deny). When the script runs out, it denies.
#[derive(Debug, Clone, Default)]
pub struct ScriptedUser {
    script: Arc<Mutex<Script>>,
}

impl ScriptedUser {
    /// A user who will type these PINs in order.
    pub fn typing<I, S>(pins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let user = ScriptedUser::default();
        user.then_type(pins);
        user
    }

    /// Queues more PINs.
    pub fn then_type<I, S>(&self, pins: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut s = lock(&self.script);
        s.answers
            .extend(pins.into_iter().map(|p| Some(Pin::new(p.into()))));
    }

    /// Queues a denial.
    pub fn then_deny(&self) {
        lock(&self.script).answers.push_back(None);
    }

    /// Every prompt seen so far.
    pub fn prompts(&self) -> Vec<Prompt> {
        lock(&self.script).prompts.clone()
    }

    fn answer(&self, prompt: Prompt) -> PinAnswer {
        let mut s = lock(&self.script);
        s.prompts.push(prompt);
        match s.answers.pop_front() {
            Some(Some(pin)) => PinAnswer::Accept(pin),
            _ => PinAnswer::Deny,
        }
    }

    fn record(&self, prompt: Prompt) {
        lock(&self.script).prompts.push(prompt);
    }
}

#[async_trait]
impl CreatePinHandler for ScriptedUser {
    async fn start_pin_creation(&self, profile: &UserProfile, pin_length: usize) -> PinAnswer {
        self.answer(Prompt::CreatePin {
            profile: profile.clone(),
            pin_length,
        })
    }

    async fn on_next_pin_creation_attempt(&self, error: &PinValidationError) -> PinAnswer {
        self.answer(Prompt::PinRejected(error.code()))
    }

    async fn finish_pin_creation(&self) {
        self.record(Prompt::FinishPinCreation);
    }
}

#[async_trait]
impl PinAuthenticationHandler for ScriptedUser {
    async fn start_authentication(
        &self,
        profile: &UserProfile,
        counter: AttemptCounter,
    ) -> PinAnswer {
        self.answer(Prompt::EnterPin {
            profile: profile.clone(),
            counter,
        })
    }

    async fn on_next_authentication_attempt(&self, counter: AttemptCounter) -> PinAnswer {
        self.answer(Prompt::WrongPin(counter))
    }

    async fn finish_authentication(&self) {
        self.record(Prompt::FinishAuthentication);
    }
}

/// A fingerprint sensor answering from a script; when the script runs out it cancels.
#[derive(Debug, Clone, Default)]
pub struct ScriptedFingerprint {
    scans: Arc<Mutex<VecDeque<FingerprintScan>>>,
    seen: Arc<Mutex<u32>>,
}

impl ScriptedFingerprint {
    /// A sensor that answers these scans in order.
    pub fn scanning(scans: impl IntoIterator<Item = FingerprintScan>) -> Self {
        let s = ScriptedFingerprint::default();
        s.then_scan(scans);
        s
    }

    /// Queues more scans.
    pub fn then_scan(&self, scans: impl IntoIterator<Item = FingerprintScan>) {
        lock(&self.scans).extend(scans);
    }

    /// How many scans were requested.
    pub fn scans_requested(&self) -> u32 {
        *lock(&self.seen)
    }
}

#[async_trait]
impl FingerprintHandler for ScriptedFingerprint {
    async fn scan(&self, _profile: &UserProfile, _attempt: u32) -> FingerprintScan {
        *lock(&self.seen) += 1;
        lock(&self.scans)
            .pop_front()
            .unwrap_or(FingerprintScan::Canceled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_queued_pins() {
        let user = ScriptedUser::typing(["31415", "27182"]);
        user.then_deny();
        let shown = format!("{user:?}");
        assert!(
            !shown.contains("31415") && !shown.contains("27182"),
            "{shown}"
        );
        assert!(shown.contains("redacted"), "{shown}");
    }
}
