#!/usr/bin/env python3
"""The official Authsignal Python SDK, current (PyPI authsignal 4.1.0), against oob-auth-emulator.

Runs users, authenticators, track (allow, block, challenge), the challenge approved or denied
by the user on the emulator's phone, validate, get and update action. Prints
`scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail` per scenario; exits 1 if any failed. Sets the
tenant's rules: run the official-SDK scripts one after the other.

    OOB_EMULATOR_URL=http://127.0.0.1:4700 python3 authsignal_4_1_0.py
"""
# requires: authsignal==4.1.0
import uuid

from authsignal.client import AuthsignalClient

from _emulator import Provider, Report, expect

SDK = "python authsignal==4.1.0"
sig = Provider("authsignal")
client = AuthsignalClient(sig["secret_key"], api_url=sig["api_url"])
report = Report(SDK)
ACTION = "py-withdraw-" + uuid.uuid4().hex[:6]
BLOCKED = "py-delete-account-" + uuid.uuid4().hex[:6]
state = {}


def users():
    user = "py-user-" + uuid.uuid4().hex[:8]
    updated = client.update_user(user, {"email": "ada@example.test", "username": "ada"})
    expect(updated["email"] == "ada@example.test", "update answered %r" % updated)
    got = client.get_user(user)
    expect(got["email"] == "ada@example.test" and got["is_enrolled"] is False, "got %r" % got)
    client.delete_user(user)
    gone = client.get_user(user)
    expect(gone["is_enrolled"] is False and "email" not in gone, "after delete: %r" % gone)
    return "update, get, delete"


def authenticators():
    user = "py-user-" + uuid.uuid4().hex[:8]
    enrolled = client.enroll_verified_authenticator(
        user, {"verificationMethod": "SMS", "phoneNumber": "+64270000001"})
    aid = enrolled["authenticator"]["user_authenticator_id"]
    listed = client.get_authenticators(user)
    expect([a["user_authenticator_id"] for a in listed] == [aid], "listed %r" % listed)
    expect(client.get_user(user)["is_enrolled"] is True, "not enrolled after enrolment")
    client.delete_authenticator(user, aid)
    expect(client.get_authenticators(user) == [], "still listed after delete")
    return "enroll SMS, list, delete"


def rules():
    sig.command({"command": "set_rules", "rules": [
        {"id": "py-challenge", "action": ACTION, "outcome": "CHALLENGE"},
        {"id": "py-block", "action": BLOCKED, "outcome": "BLOCK"},
    ]})
    return "challenge %s, block %s" % (ACTION, BLOCKED)


def track_allow():
    user = "py-user-" + uuid.uuid4().hex[:8]
    answer = client.track(user, "py-sign-in")
    expect(answer["state"] == "ALLOW", "state %r" % answer["state"])
    return "no rule: ALLOW"


def track_block():
    user, _ = sig.new_user("py", {"phone_number": "+64270000002"})
    answer = client.track(user, BLOCKED)
    expect(answer["state"] == "BLOCK", "state %r" % answer["state"])
    return "block rule: BLOCK"


def track_challenge():
    user, _ = sig.new_user("py", {"phone_number": "+64270000003"})
    answer = client.track(user, ACTION, {"redirectUrl": "https://app.example.test/done"})
    expect(answer["state"] == "CHALLENGE_REQUIRED", "state %r" % answer["state"])
    key = answer["idempotency_key"]
    expect(any(p["id"] == key for p in sig.pending()), "the challenge is not pending")
    state.update(user=user, key=key, token=answer["token"], url=answer["url"])
    return "CHALLENGE_REQUIRED, pending on the phone as %s" % key


def validate_pending():
    v = client.validate_challenge({"token": state["token"], "userId": state["user"], "action": ACTION})
    expect(v["is_valid"] is False and v["state"] == "CHALLENGE_REQUIRED", "validate %r" % v)
    return "not valid while the challenge is open"


def approve():
    done = sig.step_up(state["key"], "approve")
    token = done.get("token") or state["token"]
    v = client.validate_challenge({"token": token, "userId": state["user"], "action": ACTION})
    expect(v["is_valid"] is True, "validate %r" % v)
    expect(v["state"] == "CHALLENGE_SUCCEEDED", "state %r" % v["state"])
    action = client.get_action(state["user"], ACTION, state["key"])
    expect(action["state"] == "CHALLENGE_SUCCEEDED", "action %r" % action)
    return "validate: valid, CHALLENGE_SUCCEEDED; get action agrees"


def deny():
    user, _ = sig.new_user("py", {"phone_number": "+64270000004"})
    answer = client.track(user, ACTION)
    sig.step_up(answer["idempotency_key"], "deny")
    action = client.get_action(user, ACTION, answer["idempotency_key"])
    expect(action["state"] == "CHALLENGE_FAILED", "action %r" % action)
    v = client.validate_challenge({"token": answer["token"], "userId": user, "action": ACTION})
    expect(v["is_valid"] is False, "validate %r" % v)
    return "CHALLENGE_FAILED, not valid"


def update_action():
    updated = client.update_action(state["user"], ACTION, state["key"], {"state": "REVIEW_SUCCEEDED"})
    expect(updated["state"] == "REVIEW_SUCCEEDED", "updated %r" % updated)
    expect(client.get_action(state["user"], ACTION, state["key"])["state"] == "REVIEW_SUCCEEDED",
           "get action after update")
    return "REVIEW_SUCCEEDED"


def bad_key():
    wrong = AuthsignalClient("sk_wrong", api_url=sig["api_url"])
    try:
        wrong.get_user("nobody")
    except Exception as e:  # noqa: BLE001
        expect("401" in str(e), "error %s" % e)
        return "401: %s" % e
    raise AssertionError("a wrong secret key was accepted")


report.run("authsignal: users", users)
report.run("authsignal: authenticators", authenticators)
report.run("authsignal: set rules (control API)", rules)
report.run("authsignal: track (allow)", track_allow)
report.run("authsignal: track (block)", track_block)
report.run("authsignal: track (challenge)", track_challenge)
report.run("authsignal: validate while pending", validate_pending)
report.run("authsignal: challenge approved", approve)
report.run("authsignal: challenge denied", deny)
report.run("authsignal: update action", update_action)
report.run("authsignal: wrong secret key", bad_key)
report.exit()
