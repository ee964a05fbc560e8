//! Reference pages (rustdoc only): each provider's part of the emulator, and its memory.

pub mod providers {
    //! What each provider's part of the emulator offers: what `--print-json` prints for it, its
    //! `settings` (config file), what `add_user` takes as `details`, and its own commands
    //! (`POST /{provider}/control` with `{"command": "provider", "body": {…}}`).
    //!
    //! ## launchkey
    //!
    //! One service, made at start: `service_id`, `service_private_key_pem` (PKCS#8; also written
    //! to `service_private_key_file` in `--dir`, mode 0600) and `service_key_id`. The official
    //! SDK takes `ServiceFactory(service_id, service_private_key_pem, url=api_url)`.
    //!
    //! * settings: `service_id` (a UUID), `private_key_file` (a PEM RSA key, PKCS#1 or PKCS#8).
    //! * `add_user` details: none; the answer has the user's `service_user_hash`,
    //!   `user_push_id` and `device_id`.
    //! * step-ups: authorization requests; their id is the `auth_request` id. `deny` takes
    //!   `fraud` and `reason` (a denial reason id); `fail` takes a reason (`SENSOR`, `POLICY`,
    //!   `PERMISSION`, `AUTHENTICATION`, `CONFIGURATION`, `BUSY_LOCAL`).
    //! * faults: `{"status": 429, "retry_after": 3}` answers the next signed call with a
    //!   (signed) 429; other statuses likewise.
    //! * provider commands: `{"webhook": "authorization", "id": "<auth request>", "path":
    //!   "/webhook"}` and `{"webhook": "session_end", "user": "<username>", "path": "/webhook"}`
    //!   answer the webhook the platform would POST to `path` — `{"method", "path", "headers",
    //!   "body"}`, signed and (authorization) encrypted — for your webhook handler;
    //!   `{"totp": "123456", "user": "<username>"}` sets the user's TOTP code.
    //!
    //! ## authsignal
    //!
    //! One tenant: `secret_key`, `tenant_id`. `api_url` ends in `/v1` (current SDKs);
    //! `base_url` is the root (seed-era SDKs and CallConnect).
    //!
    //! * `add_user` details: `{"phone_number": "+64…"}` or `{"email": "…"}` enrols a verified
    //!   SMS or e-mail OTP authenticator, so the user can be challenged (default: SMS).
    //! * rules (`PUT /authsignal/rules`): a list of `{"id", "action"?, "outcome": "ALLOW" |
    //!   "CHALLENGE" | "REVIEW" | "BLOCK", "when"?: "always" | "new_device" |
    //!   {"ip_address": "…"} | {"custom_equals": [key, value]} | {"custom_greater_than": [key,
    //!   number]}, "name"?}`. The most severe matching rule wins; a challenge applies to
    //!   enrolled users only.
    //! * step-ups: tracked actions in `CHALLENGE_REQUIRED`; their id is the `idempotencyKey`.
    //!   `approve` completes the challenge (the answer carries the `token` the pre-built UI
    //!   would append to the redirect URL), `deny` / `fail` fail it.
    //! * faults: any status; 429 with `retry_after`.
    //! * provider commands: `{"webhook_url": "http://…"}` (where events go),
    //!   `{"deliver_webhooks": true}` (POST the queued events, signed `X-Signature-V2`; answers
    //!   the statuses), `{"otp_code": "<challengeId>"}` (the code the user received).
    //!
    //! ## airlock-iam
    //!
    //! The Loginapp at `api_url` (`<base>/auth`), with the crate emulator's default users
    //! (`default_users`, password `password1`: `jdoe` mobile-only, `alice` One-Touch, `bob` two
    //! devices, `carol` OTP, `dave` online QR, …).
    //!
    //! * `add_user` details: `{"password": "…", "factor": "mobile_only" | "one_touch" | "otp" |
    //!   "online_qr" | "none"}` (default `password1`, One-Touch).
    //! * step-ups: a pending Airlock 2FA request; its id is the user name. `approve`, `deny`,
    //!   `expire`.
    //! * provider commands: `{"passcode": "<user>"}` (the user's current passcode / OTP).
    //!
    //! ## logonbox
    //!
    //! The Authenticator API (key listing, direct signing, the browser's signing page). The
    //! official LogonBox clients speak https only: start with `--tls` and trust `cert.pem`.
    //!
    //! * `add_user` details: `{"keys": ["ed25519", "rsa"]}` (default one Ed25519 key); the
    //!   answer lists the user's `authorized_keys` lines.
    //! * provider commands: `{"behaviour": "approve" | "reject" | "fail", "user": "…"}`: how
    //!   the user's phone answers from now on.
    //!
    //! ## onegini-model
    //!
    //! The Token Server of one application: `identifier`, `version`, `platform`,
    //! `application_signature`, `redirect_uri` (printed). A browser registers a user through
    //! `/oauth/authorize` and the IdP's login and consent pages.
    //!
    //! * settings: `identifier`, `redirect_uri`, `version`, `platform`, `signature`.
    //! * `add_user` details: `{"password": "…"}` (default `password1`): an IdP user.
}

pub mod memory {
    //! The server's memory holding pending step-ups: the `oob-auth-emulator` binary in its own
    //! process, half LaunchKey authorization requests and half Authsignal challenges, each
    //! made through the provider's API by our clients; resident memory from
    //! `/proc/<pid>/status`. Reproduce with
    //!
    //! ```text
    //! cargo bench -p oob-auth-emulator --bench scale           # 10,000; `-- 2000` for another count
    //! ```
    //!
    //! Measured on Linux x86-64 (release build, 2 shared cores), 5,000 LaunchKey authorization
    //! requests and 5,000 Authsignal challenges, the default log capacity (1,000 per provider):
    //!
    //! | server state | pending | VmRSS | VmHWM (peak) |
    //! | --- | ---: | ---: | ---: |
    //! | started, idle | 0 | 7.1 MiB | 7.1 MiB |
    //! | 10000 step-ups created (7.7 s) | 10000 | 45.7 MiB | 55.0 MiB |
    //! | after listing them all (`GET /pending`, 6 MiB of JSON) | 10000 | 46.8 MiB | 62.2 MiB |
    //!
    //! Under 100 MB, peak included. What is kept per request beyond the pending step-ups is
    //! bounded: each provider's request log is a ring (`--log-capacity`), settled step-ups
    //! beyond each model's cap are forgotten, and `GET /pending` writes its JSON straight from
    //! the step-ups (no JSON tree of 10,000 in between).
}
