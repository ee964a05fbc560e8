#!/usr/bin/env python3
"""Independent Authsignal webhook signatures (X-Signature-V2) for the `authsignal` crate.

Writes fixtures/authsignal/independent/webhook-hmac.json. HMAC-SHA256 comes from the PyPI
package `cryptography` (not from the crate under test); base64 from the standard library.
Deterministic: fixed secrets, timestamps and bodies. Prints nothing secret.

    python3 xtask/independent/authsignal.py
"""
import base64
import json
import os
import platform
import sys

import cryptography
from cryptography.hazmat.primitives import hashes, hmac

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "authsignal", "independent", "webhook-hmac.json")


def sig(secret: str, t: int, body: bytes) -> str:
    h = hmac.HMAC(secret.encode("utf-8"), hashes.SHA256())
    h.update(str(t).encode("ascii") + b"." + body)
    return base64.b64encode(h.finalize()).decode("ascii").rstrip("=")


SPEC_BODY = (
    '{"version":1,"id":"bc1598bc-e5d6-4c69-9afb-1a6fe3469d6e","source":"https://authsignal.com",'
    '"time":"2025-02-20T01:51:56.070Z","tenantId":"7752d28e-e627-4b1b-bb81-b45d68d617bc",'
    '"type":"email.created","data":{"to":"not-a-real-email@authsignal.com","code":"157743",'
    '"userId":"b9f74d36-fcfc-4efc-87f1-3664ab5a7fb0","actionCode":"accountRecovery",'
    '"idempotencyKey":"ba8c1a7c-775d-4dff-9abe-be798b7b8bb9","verificationMethod":"EMAIL_OTP"}}'
)

CASES = [
    ("spec_worked_example", ["YOUR_AUTHSIGNAL_SECRET_KEY"], 1740016316, SPEC_BODY),
    ("php_test_secret", ["test-secret-key-123"], 1700000000,
     '{"version":1,"id":"evt-1","source":"https://authsignal.com","time":"2023-11-14T22:13:20.000Z",'
     '"tenantId":"t-1","type":"sms.created","data":{"to":"+64270000000","code":"123456",'
     '"userId":"u-1","actionCode":"signIn","idempotencyKey":"k-1","verificationMethod":"SMS"}}'),
    ("non_ascii_body_and_pretty_printing", ["sk_ünïcode_secret"], 1750000000,
     json.dumps({"version": 1, "id": "evt-2", "source": "https://authsignal.com",
                 "time": "2025-06-15T15:06:40.000Z", "tenantId": "t-2",
                 "type": "authenticator.created",
                 "data": {"authenticator": {"userAuthenticatorId": "a-1", "userId": "Zoë",
                                            "verificationMethod": "EMAIL_OTP",
                                            "email": "zoë@example.com"}}},
                indent=2, ensure_ascii=False)),
    ("rotation_two_secrets", ["whsec_old", "whsec_new"], 1760000000,
     '{"version":1,"id":"evt-3","source":"https://authsignal.com","time":"2025-10-09T08:53:20.000Z",'
     '"tenantId":"t-3","type":"authenticator.deleted","data":{"authenticator":'
     '{"userAuthenticatorId":"a-9","userId":"u-9","verificationMethod":"PASSKEY"}}}'),
]


def main() -> None:
    cases = []
    for name, secrets, t, body in CASES:
        raw = body.encode("utf-8")
        sigs = [sig(s, t, raw) for s in secrets]
        cases.append({
            "name": name,
            "secrets": secrets,
            "timestamp": t,
            "body": body,
            "signatures": sigs,
            "header": "t=%d," % t + ",".join("v2=" + s for s in sigs),
        })
    doc = {
        "_provenance": {
            "made_by": "xtask/independent/authsignal.py",
            "how": "HMAC-SHA256(secret as UTF-8, '<t>.' + raw UTF-8 body), standard base64 without '=' padding",
            "packages": {"cryptography": cryptography.__version__},
            "python": platform.python_version(),
            "deterministic": True,
        },
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote %s (%d cases)" % (os.path.relpath(OUT, ROOT), len(cases)), file=sys.stderr)


if __name__ == "__main__":
    main()
