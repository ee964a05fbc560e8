//! Reference pages (rustdoc only): each provider's part of the emulator, and its memory.

pub mod providers {
    //! What each provider's part of the emulator offers: what `--print-json` prints for it, its
    //! `settings` (config file), what `add_user` takes as `details`, what its step-ups are, and
    //! its own commands (`POST /{provider}/control` with `{"command": "provider", "body":
    //! {…}}`). Each is its crate's protocol model (`<crate>::emulator`); the crate's emulator
    //! docs have the full list of its commands.
    //!
    //! Every provider takes `read_log`, `list_pending` and `inject_fault`; the one clock
    //! (`POST /clock/advance`) moves all of them. LaunchKey, Authsignal and CIBA send requests of
    //! their own (webhooks, notifications), which the server delivers (`GET
    //! /{provider}/deliveries`).
    //!
    //! ## launchkey
    //!
    //! One service, made at start: `service_id`, `service_private_key_pem` (PKCS#8; also written
    //! to `service_private_key_file` in `--dir`, mode 0600) and `service_key_id`. The official
    //! SDK takes `ServiceFactory(service_id, service_private_key_pem, url=api_url)`.
    //!
    //! * settings: `service_id` (a UUID), `private_key_file` (a PEM RSA key, PKCS#1 or PKCS#8),
    //!   `webhook_url` (the service's webhook URL: see below; also printed).
    //! * webhooks: with a webhook URL set, every authorization request answered through the
    //!   control API (`approve`, `deny`, `fail`, the phone page) is POSTed there by the server,
    //!   as the platform does: the encrypted `AUTHORIZATION_RESPONSE`, signed for the URL's path
    //!   (`launchkey::Client::handle_webhook` verifies it).
    //! * `add_user` details: `{"totp": "123456"}` (optional); the answer has the user's
    //!   `service_user_hash`, `org_user_hash`, `user_push_id` and `device_id`.
    //! * step-ups: authorization requests (the message is the request's `context`, the title its
    //!   `title`); their id is the `auth_request` id. `deny` takes `fraud` and `reason` (a denial
    //!   reason id); `fail` a reason (`SENSOR`, `POLICY`, …); `expire`; `rotate_keys` rotates the
    //!   API's signing key.
    //! * provider commands: `{"webhook": "authorization", "id": "<auth request>", "path":
    //!   "/webhook"}` and `{"webhook": "session_end", "user": "<username>", "path": "/webhook"}`
    //!   answer the webhook the platform would POST to `path` — `{"method", "path", "headers",
    //!   "body"}`, signed and (authorization) encrypted — for your webhook handler;
    //!   `{"webhook_url": "http://…" | null}` (where answers are posted from now on; null:
    //!   nowhere); `{"deliver_webhooks": true}` and `{"auto_deliver": bool}` as for Authsignal;
    //!   `{"totp": "123456", "user": "<username>"}`; `{"register_service": "<uuid>",
    //!   "public_key": "<PEM>"}`; `{"legacy_packages": bool}`; `{"has_session": "<username>"}`;
    //!   `{"response_fault": "tamper_body"}` (a JOSE fault on the next
    //!   signed response); `{"counts": {}}`.
    //!
    //! ## authsignal
    //!
    //! One tenant: `secret_key`, `tenant_id`. `api_url` ends in `/v1` (current SDKs);
    //! `base_url` is the root (seed-era SDKs and CallConnect).
    //!
    //! * `add_user` details: `{"phone_number": "+64…"}` or `{"email": "…"}` enrols a verified
    //!   SMS or e-mail OTP authenticator, so the user can be challenged (default: SMS).
    //! * rules (`PUT /authsignal/rules`): a list of `{"id", "action"?, "outcome": "ALLOW" |
    //!   "CHALLENGE" | "REVIEW" | "BLOCK", "when"?, "name"?}`. The most severe matching rule
    //!   wins; a challenge applies to enrolled users only.
    //! * step-ups: tracked actions in `CHALLENGE_REQUIRED` (the message is track's
    //!   `custom.message`, else the action); their id is the `idempotencyKey`, their `page` the
    //!   pre-built challenge UI (a real page with Approve / Deny that sends the browser back to
    //!   track's `redirectUrl` with `?token=…`). `approve` completes the challenge (the answer
    //!   carries that `token`), `deny` / `fail` fail it, `expire` ends its tokens;
    //!   `rotate_keys` signs webhooks with a second secret.
    //! * settings: `webhook_url` (where the server POSTs the tenant's webhook events; also
    //!   printed); `webhook_retry_seconds` (default 30, at most 60; 0: no retries): as the real tenant
    //!   does, an authenticator event that fails (no answer, or not 2xx) is sent again,
    //!   unchanged (same `id`, same signature), up to 3 times, this many seconds apart.
    //! * webhooks: events (`authenticator.created` when a user is enrolled, `sms.created` /
    //!   `email.created` for a challenge, …) are queued by the model and POSTed by the server,
    //!   signed `X-Signature-V2` with the secret key (two `v2` after `rotate_keys`), after every
    //!   request and command, once a webhook URL is set; until then they wait (within the
    //!   model's bounds). See the crate docs, "What the server sends".
    //! * provider commands: `{"webhook_url": "http://…"}` (where events go, from now on);
    //!   `{"deliver_webhooks": true}` (sends what is queued now and waits for every delivery
    //!   queued before; answers `{"delivered": [statuses], "failed": [...], "retrying": n}`);
    //!   `{"auto_deliver": false | true}` (hold events until a `deliver_webhooks`, or send them
    //!   as they come, the default); `{"take_webhooks": true}` (hands the queued ones over
    //!   instead of sending them: with automatic delivery on there is rarely anything left);
    //!   `{"otp_code": "<challengeId>"}` (the code the user received); `{"stats": true}`,
    //!   `{"set_retention": {…}}`, `{"add_tenant": "<secret>"}`, `{"call_state":
    //!   "<referenceId>"}`.
    //!
    //! ## airlock-iam
    //!
    //! The Loginapp at `api_url` (`<base>/auth`), with the crate emulator's default users
    //! (`default_users`, password `password1`: `jdoe` mobile-only, `alice` One-Touch, `bob` two
    //! devices, `carol` OTP, `dave` online QR, …).
    //!
    //! * `add_user` details: `{"password"?, "factor"?: "one_touch" | "mobile_only" | "otp" |
    //!   "online_qr" | "none", "devices"?, "locked"?, "offline_qr"?, "must_change_password"?,
    //!   "extra_step"?}` (default `password1`, One-Touch).
    //! * step-ups: pending Airlock 2FA requests; `approve`, `deny`, `expire` take the id from
    //!   the list, the session token (of a `mobileAuthUri` or QR code) or a user name.
    //! * provider commands: `{"passcode": "<user>"}` (the current passcode / OTP),
    //!   `{"csrf_protection": bool}`, `{"application": "<id>", "second_factor": bool}`,
    //!   `{"pushes": "<user>"}` (the devices pushes went to), `{"max_failed_attempts": n}`, `{"is_locked":
    //!   "<user>"}`, and the others in the crate's docs.
    //!
    //! ## logonbox
    //!
    //! The Authenticator API: the key listing, the direct `signPayload` and the browser's
    //! signing page (a real page that waits for the phone, then sends the browser back to the
    //! redirect URL with the response). The official LogonBox clients speak https only: start
    //! with `--tls` and trust `cert.pem`.
    //!
    //! * `add_user` details: `{"keys": ["ed25519", "rsa"], "behaviour": "approve" | "manual" |
    //!   "reject" | …}`. A user made without details (`--user lee@example.com`) has one Ed25519
    //!   key and answers by hand (`manual`): their signing requests wait on the phone page.
    //!   The answer lists the user's `authorized_keys` lines.
    //! * step-ups: signing requests waiting for a `manual` user, with the prompt the app shows;
    //!   `approve` signs with the user's key, `deny` (the app's message as `reason`), `fail`,
    //!   `expire`.
    //! * provider commands: `{"user": "…", "behaviour": "approve" | "manual" | "reject" |
    //!   "fail" | …, "delay_ms"?}`, `{"records": true}` (the signing requests and key listings
    //!   served), `{"user": "…", "sign": {"message": "<base64url>"}}` (the phone signs on demand) and the others in
    //!   the crate's docs.
    //!
    //! ## onegini-model
    //!
    //! The Token Server of one application: `identifier`, `version`, `platform`,
    //! `application_signature`, `redirect_uri` (printed). A browser registers a user through
    //! `/oauth/authorize` and the IdP's login and consent pages.
    //!
    //! * settings: `identifier`, `redirect_uri`, `version`, `platform`, `signature`.
    //! * `add_user` details: `{"password": "…"}` (default `password1`): an IdP user.
    //! * step-ups: login sessions waiting at the IdP (`page`: the login or the consent page);
    //!   `approve` consents, `deny` refuses, `expire` ends the session.
    //! * provider commands: the Token Server's administration, e.g. `{"command":
    //!   "revoke_user_tokens", "user": "alice"}` or `{"command": "set_development_mode", …}`
    //!   (see `onegini_model::emulator::AdminCommand`).
    //!
    //! ## ciba
    //!
    //! An OpenID Provider for CIBA Core 1.0 (poll, ping and push), its issuer the URL it is
    //! served at (`http://127.0.0.1:4706`, `https://…` with `--tls`): discovery at
    //! `/.well-known/openid-configuration`, `/backchannel`, `/token`, `/jwks` (real RS256, PS256
    //! and ES256 keys). Printed: `issuer`, `discovery_url`, the three endpoints, one client
    //! (`client_id`, `client_secret`, `token_endpoint_auth_method`, `delivery_mode`,
    //! `notification_endpoint` for ping and push) and the `interval` it announces. Our client:
    //! `ciba::Client::builder(ClientId::new(client_id)?, ClientAuth::secret_basic(client_secret))
    //! .issuer(issuer)`.
    //!
    //! * settings: `client_id` (default: the crate emulator's `emulated-client`),
    //!   `client_secret` (default: a random one made at start, printed), `token_endpoint_auth_method`
    //!   (`client_secret_basic` or `client_secret_post`), `delivery_mode` (`poll`, `ping`,
    //!   `push`) and `notification_endpoint` (required for ping and push), `interval` and
    //!   `expiry` (seconds; default 5 and 120), `clients` (more clients: a list of OpenID
    //!   registration metadata, as the `register_client` command takes).
    //! * `add_user` details: `{"user_code": "…"}` (requests for the user must carry it); the
    //!   user is found by `login_hint` = the user's name.
    //! * step-ups: backchannel requests waiting for the user; their id is the `auth_req_id`,
    //!   the message the `binding_message`. `approve`, `deny` (`access_denied`), `fail`
    //!   (`transaction_failed`), `expire`; ping and push clients are notified by the server at
    //!   their endpoint (push: the tokens, or the error) right after. A push client is also
    //!   sent `expired_token` when a request's time runs out (CIBA §12 allows it; the server
    //!   looks every second), once.
    //! * provider commands: `{"register_client": {"client_id", "client_secret" | "jwks",
    //!   "token_endpoint_auth_method", "backchannel_token_delivery_mode",
    //!   "backchannel_client_notification_endpoint", …}}`, `{"interval": n | null}`, `{"expiry":
    //!   n}`, `{"fault": "<name>"}` (a protocol fault on the next response: `slow_down`,
    //!   `wrong_at_hash`, `alg_none`, …), `{"metadata": {…}}`, `{"login_hint_token": "…", "user":
    //!   "…"}`; `{"deliver_notifications": true}` and `{"auto_deliver": bool}` as for
    //!   Authsignal's webhooks; `{"take_notifications": true}`; `{"request": "<auth_req_id>"}`,
    //!   `{"requests": true}`, `{"jwks_fetches": true}`, `{"reset": true}` (back to the settings,
    //!   open requests ended silently, undelivered notifications dropped). `rotate_keys` rotates the
    //!   signing keys (older generations stay in the JWKS).
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
    //! | started, idle (all six providers) | 0 | 8.9 MiB | 8.9 MiB |
    //! | 10000 step-ups created (5.3 s) | 10000 | 47.2 MiB | 55.9 MiB |
    //! | after listing them all (`GET /pending`, 6 MiB of JSON) | 10000 | 54.2 MiB | 63.2 MiB |
    //!
    //! Under 100 MB, peak included. What is kept per request beyond the pending step-ups is
    //! bounded: each provider's request log is a ring (`--log-capacity`), settled step-ups
    //! beyond each model's cap are forgotten, and `GET /pending` writes its JSON straight from
    //! the step-ups (no JSON tree of 10,000 in between).
}
