#!/usr/bin/env python3
"""Independent fixtures for the onegini-model crate.

Written from the text of RFC 6287 (OCRA), RFC 4226 (truncation), RFC 7636 (PKCE S256) and the
workspace spec (../shared/specs/onegini.md §3.3, the PIN-protected refresh token), using only
Python's standard library (hashlib, hmac, base64). It shares no code with the Rust crate.

Writes fixtures/onegini-model/independent/{ocra-extra,pin-protected-token,pkce}.json. Every input
is fixed, so the output is deterministic; running it again must give identical files.
The Rust test crates/onegini-model/tests/independent.rs recomputes every value with the crate.

Usage (from the workspace root):  python3 xtask/independent/onegini-model.py
"""

import base64
import hashlib
import hmac
import json
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "onegini-model", "independent")

HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def provenance(what):
    return {
        "tool": "xtask/independent/onegini-model.py",
        "implementation": "independent Python implementation written from the RFC/spec text; "
        "hashlib + hmac + base64 from the CPython standard library (no third-party packages)",
        "python": platform.python_version(),
        "openssl": __import__("ssl").OPENSSL_VERSION,
        "what": what,
        "deterministic": True,
    }


def step_seconds(token):
    """'T30S' -> 30, 'T5M' -> 300, 'T2H' -> 7200 (RFC 6287 section 6.3)."""
    n, unit = int(token[1:-1]), token[-1]
    return n * {"S": 1, "M": 60, "H": 3600}[unit]


def question_bytes(fmt, q):
    if fmt == "N":
        h = format(int(q), "X")
        if len(h) % 2:
            h += "0"
        raw = bytes.fromhex(h)
    elif fmt == "A":
        raw = q.encode("ascii")
    elif fmt == "H":
        h = q + ("0" if len(q) % 2 else "")
        raw = bytes.fromhex(h)
    else:
        raise ValueError(fmt)
    assert len(raw) <= 128
    return raw + b"\x00" * (128 - len(raw))


def ocra(suite, key, question, counter=None, pin=None, session=None, unix=None):
    """RFC 6287 section 5: OCRA(K, DataInput); returns (response, T or None)."""
    algo, crypto, data = suite.split(":")
    assert algo == "OCRA-1"
    _, hname, digits = crypto.split("-")
    digits = int(digits)
    msg = suite.encode("ascii") + b"\x00"
    t = None
    for tok in data.split("-"):
        if tok == "C":
            msg += counter.to_bytes(8, "big")
        elif tok[0] == "Q":
            msg += question_bytes(tok[1], question)
        elif tok[0] == "P":
            msg += hashlib.new(HASHES[tok[1:]], pin.encode("ascii")).digest()
        elif tok[0] == "S":
            n = int(tok[1:])
            s = bytes.fromhex(session)
            assert len(s) <= n
            msg += b"\x00" * (n - len(s)) + s
        elif tok[0] == "T":
            t = unix // step_seconds(tok)
            msg += t.to_bytes(8, "big")
        else:
            raise ValueError(tok)
    mac = hmac.new(key, msg, HASHES[hname]).digest()
    if digits == 0:
        return mac.hex(), t
    off = mac[-1] & 0x0F
    binary = int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF
    return str(binary % 10 ** digits).zfill(digits), t


K20 = b"12345678901234567890"
K32 = b"12345678901234567890123456789012"
K64 = b"1234567890" * 6 + b"1234"
SIGNATURE = b"AB:CD:EF:01:23:45:67:89:signing-cert-sha256"

# Suites beyond RFC 6287 Appendix C: other digit counts, no truncation, QH with odd length,
# long numeric questions, every PIN hash, session information, every time-step unit.
CASES = [
    ("OCRA-1:HOTP-SHA1-4:QN08", K20, "12345678", None, None, None, None),
    ("OCRA-1:HOTP-SHA1-10:C-QH40-PSHA256", K20, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", 4294967297, "1234", None, None),
    ("OCRA-1:HOTP-SHA256-0:QA10", K32, "Hello OCRA", None, None, None, None),
    ("OCRA-1:HOTP-SHA512-7:QH64-PSHA512-S064-T30S", K64, "00ff" * 16, None, "987654", "0123456789abcdef" * 8, 1767225600),
    ("OCRA-1:HOTP-SHA256-8:QN64-S128-T5M", K32, "9" * 64, None, None, "cafebabe", 1767225659),
    ("OCRA-1:HOTP-SHA1-6:QH07-T2H", K20, "abcdef1", None, None, None, 1700000000),
    ("OCRA-1:HOTP-SHA1-6:QN09", K20, "123456789", None, None, None, None),
    ("OCRA-1:HOTP-SHA512-9:C-QA64-PSHA1-S512-T48H", K64, "SIG" + "x" * 61, 7, "0000", "01" * 300, 1767225600),
    ("OCRA-1:HOTP-SHA256-8:QH64-T1M", SIGNATURE, "3f" * 32, None, None, None, 1767225600),
    ("OCRA-1:HOTP-SHA256-8:QH64-T1M", SIGNATURE, "3f" * 32, None, None, None, 1767225600 + 11 * 60),
]


def ocra_fixture():
    vectors = []
    for suite, key, q, c, pin, session, unix in CASES:
        resp, t = ocra(suite, key, q, c, pin, session, unix)
        vectors.append({
            "suite": suite,
            "key_hex": key.hex(),
            "question": q,
            "counter": c,
            "pin": pin,
            "session_hex": session,
            "unix_time": unix,
            "timestamp": t,
            "expected": resp,
        })
    return {"_provenance": provenance("OCRA (RFC 6287) responses for suites beyond Appendix C"), "vectors": vectors}


def pin_fixture():
    """Spec section 3.3: key = PBKDF2-HMAC-SHA256(PIN, salt, it, 32);
    ciphertext = secret XOR HMAC-SHA256(key, 'onegini-model/rt' || salt)."""
    cases = []
    for pin, salt_hex, iterations, secret_hex in [
        ("31415", "000102030405060708090a0b0c0d0e0f", 1000, "11" * 32),
        ("27182", "f0e1d2c3b4a5968778695a4b3c2d1e0f", 10000, bytes(range(32)).hex()),
        ("0000000000", "ffffffffffffffffffffffffffffffff", 1, "a5" * 32),
    ]:
        salt = bytes.fromhex(salt_hex)
        key = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations, 32)
        stream = hmac.new(key, b"onegini-model/rt" + salt, "sha256").digest()
        secret = bytes.fromhex(secret_hex)
        ct = bytes(a ^ b for a, b in zip(secret, stream))
        cases.append({"pin": pin, "salt_hex": salt_hex, "iterations": iterations,
                      "secret_hex": secret_hex, "ciphertext_hex": ct.hex()})
    return {"_provenance": provenance("PIN-protected refresh-token secret (spec 3.3), untagged"), "cases": cases}


def pkce_fixture():
    cases = []
    for verifier in ["dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "onegini-model-verifier-" + "a" * 20]:
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        cases.append({"verifier": verifier,
                      "challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")})
    return {"_provenance": provenance("PKCE S256 (RFC 7636 4.2)"), "cases": cases}


def self_check():
    """The implementation must reproduce all 70 RFC 6287 Appendix C vectors before it writes."""
    path = os.path.join(ROOT, "crates", "onegini-model", "tests", "data", "ocra-rfc6287.json")
    with open(path) as f:
        rfc = json.load(f)
    for v in rfc["vectors"]:
        key = bytes.fromhex(rfc["keys"][v["key"]]["hex"])
        unix = int(v["timestamp_hex"], 16) * 60 if v["timestamp_hex"] else None
        got, _ = ocra(v["suite"], key, v["question"], v["counter"], v["pin"], v["session_hex"], unix)
        assert got == v["expected"], (v["id"], got)
    return len(rfc["vectors"])


def main():
    checked = self_check()
    print(f"self-check: {checked} RFC 6287 vectors reproduced", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    for name, doc in [("ocra-extra.json", ocra_fixture()),
                      ("pin-protected-token.json", pin_fixture()),
                      ("pkce.json", pkce_fixture())]:
        path = os.path.join(OUT, name)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print("wrote", os.path.relpath(path, ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
