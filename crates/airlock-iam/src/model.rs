//! Codes, ids and states of the Loginapp flow.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::DISPLAY_LIMIT;

/// Displays a code cut to [`DISPLAY_LIMIT`] bytes (on a character boundary).
pub(crate) struct Bounded<'a>(pub(crate) &'a str);

impl fmt::Display for Bounded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.len() <= DISPLAY_LIMIT {
            return f.write_str(text);
        }
        let mut cut = DISPLAY_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        write!(f, "{}…", &text[..cut])
    }
}

auth_core::wire_enum! {
    /// The `nextAuthStep` code: which call the flow expects next.
    ///
    /// The variants are the codes confirmed by Airlock documentation or the observed
    /// transcript; every other code (the reference has many more, depending on the configured
    /// flow) is kept verbatim in [`NextAuthStep::Other`] — read the step's extra attributes from
    /// [`StepResponse::attributes`](crate::StepResponse::attributes) and drive it yourself.
    ///
    /// ```
    /// use airlock_iam::NextAuthStep;
    ///
    /// assert_eq!(NextAuthStep::from_code("OTP_REQUIRED"), NextAuthStep::OtpRequired);
    /// let tos = NextAuthStep::from_code("TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED");
    /// assert_eq!(tos, NextAuthStep::Other("TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED".into()));
    /// assert!(NextAuthStep::Airlock2faPollingRequired.is_polling());
    /// ```
    pub enum NextAuthStep {
        /// `PASSWORD_REQUIRED`: call the password check (documented).
        PasswordRequired => "PASSWORD_REQUIRED",
        /// `OTP_REQUIRED`: the generic OTP step, `otp/check/` (documented).
        OtpRequired => "OTP_REQUIRED",
        /// `MTAN_OTP_REQUIRED`: an SMS OTP; extra attribute `phoneNumber` (documented).
        MtanOtpRequired => "MTAN_OTP_REQUIRED",
        /// `FIDO_AUTHENTICATION_CHALLENGE_RETRIEVAL_REQUIRED`: FIDO challenge (documented; not
        /// driven by this crate).
        FidoAuthenticationChallengeRetrievalRequired => "FIDO_AUTHENTICATION_CHALLENGE_RETRIEVAL_REQUIRED",
        /// `AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED`: a One-Touch push was sent; poll, or
        /// switch to an offline factor (documented).
        Airlock2faPollingOrOfflineRequired => "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED",
        /// `AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED`: the user has several devices; list and select
        /// one (documented).
        Airlock2faDeviceChoiceRequired => "AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED",
        /// `AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED`: fetch the mobile-only
        /// challenge (documented).
        Airlock2faMobileOnlyChallengeRetrievalRequired => "AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED",
        /// `AIRLOCK_2FA_POLLING_REQUIRED`: keep polling (observed for mobile-only).
        Airlock2faPollingRequired => "AIRLOCK_2FA_POLLING_REQUIRED",
    }
}

impl NextAuthStep {
    /// Parses a wire code; unknown codes become `Other` (never an error). The same as
    /// [`NextAuthStep::from_wire`].
    pub fn from_code(code: &str) -> Self {
        Self::from_wire(code)
    }

    /// Whether this code means "the user has not decided yet: poll again".
    ///
    /// Both polling codes count, in every flow (the spec leaves open which flows use which).
    pub fn is_polling(&self) -> bool {
        matches!(
            self,
            NextAuthStep::Airlock2faPollingRequired
                | NextAuthStep::Airlock2faPollingOrOfflineRequired
        )
    }
}

auth_core::wire_enum! {
    /// The `errors[].code` of a Loginapp error document.
    ///
    /// Codes marked *model choice* are what this crate's emulator answers where Airlock's
    /// code is not known; a real server may use another code, which then arrives as
    /// [`ErrorCode::Other`].
    pub enum ErrorCode {
        /// `NOT_AUTHORIZED` (401): the application needs (more) authentication (documented).
        NotAuthorized => "NOT_AUTHORIZED",
        /// `USERNAME_PASSWORD_WRONG` (400) (documented).
        UsernamePasswordWrong => "USERNAME_PASSWORD_WRONG",
        /// `USER_LOCKED` (403): permanently locked (documented).
        UserLocked => "USER_LOCKED",
        /// `USER_TEMPORARILY_LOCKED` (403): retried before `temporaryLockExpiry` (documented).
        UserTemporarilyLocked => "USER_TEMPORARILY_LOCKED",
        /// `OTP_WRONG` (400) (documented).
        OtpWrong => "OTP_WRONG",
        /// `UNEXPECTED_CALL`: the call is not allowed in the current flow state (documented;
        /// status unconfirmed).
        UnexpectedCall => "UNEXPECTED_CALL",
        /// `AIRLOCK_2FA_AUTHENTICATION_REJECTED`: declined on the phone (model choice).
        Airlock2faAuthenticationRejected => "AIRLOCK_2FA_AUTHENTICATION_REJECTED",
        /// `AIRLOCK_2FA_AUTHENTICATION_TIMEOUT`: nobody answered in time (model choice).
        Airlock2faAuthenticationTimeout => "AIRLOCK_2FA_AUTHENTICATION_TIMEOUT",
        /// `CSRF_HEADER_MISSING`: no `X-Same-Domain` header (model choice).
        CsrfHeaderMissing => "CSRF_HEADER_MISSING",
    }
}

impl ErrorCode {
    /// Parses a wire code; unknown codes become `Other` (never an error). The same as
    /// [`ErrorCode::from_wire`].
    pub fn from_code(code: &str) -> Self {
        Self::from_wire(code)
    }
}

/// Where a flow stands, as far as the client knows (the server is the source of truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FlowState {
    /// Nothing sent yet (or the flow was aborted).
    Start,
    /// The server expects this step next.
    Next(NextAuthStep),
    /// The flow finished: the last step response had empty attributes.
    Done,
}

impl FlowState {
    /// Whether the flow finished.
    pub fn is_done(&self) -> bool {
        matches!(self, FlowState::Done)
    }

    /// The expected step, if any.
    pub fn next_step(&self) -> Option<&NextAuthStep> {
        match self {
            FlowState::Next(step) => Some(step),
            _ => None,
        }
    }
}

auth_core::id_type! {
    /// An Airlock IAM application id: `[a-z0-9_-]{1,30}` (documented), checked at construction.
    ///
    /// ```
    /// use airlock_iam::ApplicationId;
    /// assert!(ApplicationId::new("ebanking_2-fa").is_ok());
    /// assert!(ApplicationId::new("E-Banking").is_err());
    /// assert!(ApplicationId::new("").is_err());
    /// assert!(ApplicationId::new("a".repeat(31)).is_err());
    /// ```
    pub struct ApplicationId("application id", max = 30, check = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            .then_some(())
            .ok_or("must match [a-z0-9_-]{1,30}")
    });
}

auth_core::id_type! {
    /// An Airlock 2FA device id, as listed by the device retrieval (opaque; non-empty, at most
    /// 256 bytes, no control characters, not `.` or `..`).
    ///
    /// The id becomes a path segment of the device selection call; `.` and `..` (even
    /// percent-encoded) would be normalised away by the URL parser and send the call elsewhere,
    /// so a server listing such an id gets a typed error instead.
    pub struct DeviceId("device id", max = 256, check = |s: &str| {
        if s == "." || s == ".." {
            Err("a dot segment cannot be a device id")
        } else {
            Ok(())
        }
    });
}

auth_core::secret_type! {
    /// A user's password: sent only in the password-check body; redacted in `Debug`.
    pub struct Password;
}

auth_core::secret_type! {
    /// A one-time password or Airlock 2FA passcode typed by the user; redacted in `Debug`.
    pub struct Otp;
}

auth_core::secret_type! {
    /// The Futurae authentication session token carried by a `mobileAuthUri`.
    pub struct SessionToken;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        let steps = [
            "PASSWORD_REQUIRED",
            "OTP_REQUIRED",
            "MTAN_OTP_REQUIRED",
            "FIDO_AUTHENTICATION_CHALLENGE_RETRIEVAL_REQUIRED",
            "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED",
            "AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED",
            "AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED",
            "AIRLOCK_2FA_POLLING_REQUIRED",
        ];
        for code in steps {
            let step = NextAuthStep::from_code(code);
            assert!(!matches!(step, NextAuthStep::Other(_)), "{code}");
            assert_eq!(step.as_str(), code);
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(serde_json::from_str::<NextAuthStep>(&json).unwrap(), step);
        }
        for code in ["NOT_AUTHORIZED", "OTP_WRONG", "CSRF_HEADER_MISSING"] {
            let known = ErrorCode::from_code(code);
            assert!(!matches!(known, ErrorCode::Other(_)), "{code}");
            assert_eq!(known.as_str(), code);
        }
        // Exact case, as sent: no official SDK exists to say Airlock's codes are
        // case-insensitive, so a differently cased code is an unknown one (kept verbatim).
        assert_eq!(
            NextAuthStep::from_code("otp_required"),
            NextAuthStep::Other("otp_required".into())
        );
        let odd = NextAuthStep::from_code("SELECTION_REQUIRED");
        assert_eq!(odd, NextAuthStep::Other("SELECTION_REQUIRED".into()));
        assert_eq!(odd.to_string(), "SELECTION_REQUIRED");
        assert!(!odd.is_polling());
        let huge = "É".repeat(100_000);
        let code = ErrorCode::from_code(&huge);
        assert_eq!(code.as_str(), huge, "kept verbatim");
        let shown = Bounded(code.as_str()).to_string();
        assert!(shown.len() <= DISPLAY_LIMIT + "…".len(), "{}", shown.len());
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn flow_state_serializes_readably() {
        let s = FlowState::Next(NextAuthStep::Airlock2faPollingRequired);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "next", "step": "AIRLOCK_2FA_POLLING_REQUIRED"})
        );
        assert_eq!(serde_json::from_value::<FlowState>(json).unwrap(), s);
        let done = serde_json::to_value(FlowState::Done).unwrap();
        assert_eq!(done, serde_json::json!({"state": "done"}));
    }

    #[test]
    fn ids_are_validated() {
        assert!(ApplicationId::new("a/b").is_err());
        assert!(serde_json::from_str::<ApplicationId>("\"UPPER\"").is_err());
        assert!(DeviceId::new("").is_err());
        assert!(DeviceId::new("a\nb").is_err());
        assert_eq!(DeviceId::new("dev 1").unwrap().as_str(), "dev 1");
        assert!(DeviceId::new(".").is_err());
        assert!(DeviceId::new("..").is_err());
        // Other ids with dots or escapes stay one segment once encoded.
        let base = auth_core::BaseUrl::parse("https://iam.example.com/auth").unwrap();
        for id in ["...", ".hidden", "%2e%2e", "a/../b"] {
            let id = DeviceId::new(id).unwrap();
            let path =
                crate::endpoints::fill("devices/{deviceId}/select/", "deviceId", id.as_str());
            let url = base.join(&format!("/rest/{path}"));
            assert!(url.path().starts_with("/auth/rest/devices/"), "{url}");
            assert!(url.path().ends_with("/select/"), "{url}");
        }
    }
}
