#!/usr/bin/env python3
"""Independent LaunchKey JOSE fixtures, made with PyPI `jwcrypto` and `cryptography`.

Writes fixtures/launchkey/independent/*.json from the checked-in TEST keys in
fixtures/launchkey/keys/. JWS (RSASSA-PKCS1-v1_5) and the key ids are deterministic; RSA-OAEP
and the JWE IV/CEK are randomized, so the checked-in output is the record.
Prints nothing secret. Run from the workspace root: python3 xtask/independent/launchkey.py
(or `cargo xtask fixtures --independent launchkey`).
"""
# requires: jwcrypto==1.6.1 cryptography==50.0.2
import base64
import hashlib
import json
import os
import sys
import textwrap
from importlib.metadata import version

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_encode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = os.path.join(ROOT, "fixtures", "launchkey", "keys")
OUT = os.path.join(ROOT, "fixtures", "launchkey", "independent")

PROVENANCE = (
    f"made by xtask/independent/launchkey.py with jwcrypto {version('jwcrypto')} and "
    f"cryptography {version('cryptography')} (Python {sys.version.split()[0]}) from the test keys "
    "in fixtures/launchkey/keys/; RSA-OAEP and JWE IV/CEK are random, so this file is the record"
)
SERVICE_ID = "9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19"
AUTH_REQUEST = "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5"
IAT = 1700000000


def load(name):
    with open(os.path.join(KEYS, name), "rb") as f:
        return f.read()


def kid_of(pub_pem):
    pub = serialization.load_pem_public_key(pub_pem)
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())


def write(name, doc):
    doc = {"_provenance": PROVENANCE, **doc}
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote", os.path.relpath(os.path.join(OUT, name), ROOT))


def main():
    os.makedirs(OUT, exist_ok=True)
    svc_pub_pem = load("service-a-pkcs1.pub.pem")
    svc_pub = jwk.JWK.from_pem(svc_pub_pem)
    api_priv = jwk.JWK.from_pem(load("api.pem"))
    svc_kid = kid_of(svc_pub_pem)
    api_kid = kid_of(load("api.pub.pem"))

    write("kids.json", {
        "kids": {
            name: kid_of(load(name))
            for name in ["service-a-pkcs1.pub.pem", "service-b-pkcs8.pub.pem", "api.pub.pem"]
        },
        "sha256_hex": {"Testing": hashlib.sha256(b"Testing").hexdigest()},
    })

    device = {
        "type": "AUTHORIZED", "reason": "APPROVED", "denial_reason": None,
        "auth_request": AUTH_REQUEST, "device_id": "d1e2v3i4-c5e6", "service_pins": ["1234", "2345"],
        "auth_policy": {"requirement": "types", "amount": 0, "types": ["KNOWLEDGE"], "geofences": []},
        "auth_methods": [{"method": "PIN_CODE", "set": True, "active": True, "allowed": True,
                          "supported": True, "user_required": True, "passed": True, "error": False}],
    }
    jwes = {}
    for alg in ["RSA-OAEP", "RSA-OAEP-256"]:
        header = {"alg": alg, "enc": "A256CBC-HS512", "kid": svc_kid, "cty": "application/json"}
        t = jwe.JWE(json.dumps(device).encode(), protected=json_encode(header))
        t.add_recipient(svc_pub)
        jwes[alg] = t.serialize(compact=True)
    write("jwe.json", {"recipient_key": "service-a-pkcs1.pem", "plaintext": device, "compact": jwes})

    claims = {"iss": "lka", "aud": "svc:" + SERVICE_ID, "sub": "svc:" + SERVICE_ID, "iat": IAT,
              "nbf": IAT, "exp": IAT + 5, "jti": "5b6f1d2e-1111-4222-8333-444455556666",
              "response": {"status": 204}}
    tokens = {}
    for alg in ["RS256", "RS384", "RS512"]:
        t = jws.JWS(json.dumps(claims).encode())
        t.add_signature(api_priv, alg=alg, protected=json_encode({"alg": alg, "kid": api_kid}))
        tokens[alg] = t.serialize(compact=True)
    write("jws.json", {"signing_key": "api.pem", "kid": api_kid, "claims": claims, "compact": tokens})

    legacy = {"auth_request": AUTH_REQUEST, "response": True, "device_id": "d1e2v3i4-c5e6",
              "service_pins": ["1234"]}
    pub = serialization.load_pem_public_key(svc_pub_pem)
    ct = pub.encrypt(json.dumps(legacy).encode(), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    wrapped = "\n".join(textwrap.wrap(base64.b64encode(ct).decode(), 64))

    # A complete authorization-response webhook: JWE body to the service key, JWS over the
    # request claims (method, path, body hash) signed by the API key.
    core = {"type": "AUTHORIZATION_RESPONSE", "auth": wrapped, "auth_jwe": jwes["RSA-OAEP"],
            "service_user_hash": "suh-123", "org_user_hash": "ouh-456", "user_push_id": "upi-789",
            "public_key_id": svc_kid}
    header = {"alg": "RSA-OAEP", "enc": "A256CBC-HS512", "kid": svc_kid, "cty": "application/json"}
    body_tok = jwe.JWE(json.dumps(core).encode(), protected=json_encode(header))
    body_tok.add_recipient(svc_pub)
    body = body_tok.serialize(compact=True)
    wh_claims = {"iss": "lka", "aud": "svc:" + SERVICE_ID, "sub": "svc:" + SERVICE_ID, "iat": IAT,
                 "nbf": IAT, "exp": IAT + 5, "jti": "0f0e0d0c-1111-4222-8333-444455556666",
                 "request": {"meth": "POST", "path": "/webhooks/launchkey", "func": "S256",
                             "hash": hashlib.sha256(body.encode()).hexdigest()}}
    t = jws.JWS(json.dumps(wh_claims).encode())
    t.add_signature(api_priv, alg="RS512", protected=json_encode({"alg": "RS512", "kid": api_kid}))
    write("legacy_auth.json", {"recipient_key": "service-a-pkcs1.pem", "plaintext": legacy,
                               "base64_wrapped": wrapped})
    write("webhook.json", {"service_id": SERVICE_ID, "api_key": "api.pub.pem", "api_kid": api_kid,
                           "iat": IAT, "method": "POST", "path": "/webhooks/launchkey",
                           "content_type": "application/jose", "x_iov_jwt": t.serialize(compact=True),
                           "body": body, "device_package": device, "core": {k: v for k, v in core.items() if k not in ("auth", "auth_jwe")}})


def check_rust_generated():
    """The other direction: jwcrypto verifies the request tokens this crate generated
    (fixtures/launchkey/generated/wire.json, RSASSA-PKCS1-v1_5 is deterministic)."""
    path = os.path.join(ROOT, "fixtures", "launchkey", "generated", "wire.json")
    if not os.path.exists(path):
        print("skipped: generated/wire.json not found (run `cargo xtask fixtures`)")
        return
    with open(path) as f:
        doc = json.load(f)
    svc_pub = jwk.JWK.from_pem(load("service-a-pkcs1.pub.pem"))
    for alg, token in sorted(doc["request_tokens_service_a"].items()):
        t = jws.JWS()
        t.deserialize(token)
        t.verify(svc_pub, alg=alg)
        assert json.loads(t.payload) == doc["request_token_claims"], alg
        assert kid_of(load("service-a-pkcs1.pub.pem")) == json.loads(
            base64.urlsafe_b64decode(token.split(".")[0] + "==")
        )["kid"], alg
        print("jwcrypto verified the crate's", alg, "request token")


if __name__ == "__main__":
    main()
    check_rust_generated()
