#!/usr/bin/env python3
"""The seed-era official Authsignal Python SDK (PyPI authsignal 0.1.1) against oob-auth-emulator.

Runs identify, enrol an authenticator, track (allow and challenge), the challenge approved by
the user on the emulator's phone, get action, get user, and an error body the SDK reads
(`message`). Prints `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail` per scenario; exits 1 if any
failed. Sets the tenant's rules: run the official-SDK scripts one after the other.

    OOB_EMULATOR_URL=http://127.0.0.1:4700 python3 authsignal_0_1_1.py
"""
# requires: authsignal==0.1.1
import uuid

from authsignal.client import ApiException, Client

from _emulator import Provider, Report, expect

SDK = "python authsignal==0.1.1"
sig = Provider("authsignal")
# 0.1.1 appends /v1 itself: it takes the server's root.
client = Client(api_key=sig["secret_key"], api_url=sig["base_url"])
report = Report(SDK)
ACTION = "seed-withdraw-" + uuid.uuid4().hex[:6]
state = {}


def identify():
    user = "seed-" + uuid.uuid4().hex[:8]
    answer = client.identify(user, {"email": "grace@example.test"})
    expect(answer.get("email") == "grace@example.test", "identify answered %r" % answer)
    state["user"] = user
    return "email linked"


def enrol():
    answer = client.enrol_authenticator(state["user"], {"oobChannel": "SMS", "phoneNumber": "+64270000009"})
    expect("authenticator" in answer, "enrol answered %r" % answer)
    expect(client.get_user(state["user"])["isEnrolled"] is True, "not enrolled")
    return "SMS enrolled (oobChannel)"


def track_allow():
    answer = client.track_action(state["user"], "seed-sign-in", {"redirectUrl": "https://app.example.test/"})
    expect(answer["state"] == "ALLOW", "state %r" % answer["state"])
    return "ALLOW"


def track_challenge():
    sig.command({"command": "set_rules", "rules": [
        {"id": "seed-challenge", "action": ACTION, "outcome": "CHALLENGE"}]})
    answer = client.track_action(state["user"], ACTION, {"redirectUrl": "https://app.example.test/"})
    expect(answer["state"] == "CHALLENGE_REQUIRED", "state %r" % answer["state"])
    expect(answer.get("challengeUrl") or answer.get("url"), "no challenge URL")
    state["key"] = answer["idempotencyKey"]
    return "CHALLENGE_REQUIRED with a challenge URL"


def approve():
    sig.step_up(state["key"], "approve")
    action = client.get_action(state["user"], ACTION, state["key"])
    expect(action["state"] == "CHALLENGE_SUCCEEDED", "action %r" % action)
    return "get action: CHALLENGE_SUCCEEDED"


def get_user():
    answer = client.get_user(state["user"], redirect_url="https://app.example.test/")
    expect(answer["isEnrolled"] is True, "user %r" % answer)
    return "isEnrolled"


def error_message():
    try:
        client.get_action(state["user"], ACTION, str(uuid.uuid4()))
    except ApiException as e:
        expect(e.http_status_code == 404 and e.api_error_message, "error %r" % vars(e))
        return "404 with message %r" % e.api_error_message
    raise AssertionError("an unknown action was found")


report.run("authsignal: identify", identify)
report.run("authsignal: enrol authenticator", enrol)
report.run("authsignal: track (allow)", track_allow)
report.run("authsignal: track (challenge)", track_challenge)
report.run("authsignal: challenge approved", approve)
report.run("authsignal: get user", get_user)
report.run("authsignal: error body has message", error_message)
report.exit()
