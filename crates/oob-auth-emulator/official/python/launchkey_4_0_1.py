#!/usr/bin/env python3
"""The official LaunchKey Python SDK (PyPI launchkey 4.0.1) against oob-auth-emulator.

Runs the SDK's main flows — create, poll, approve, deny, cancel, expire, sessions, TOTP,
webhooks — with the emulator playing the platform and its control API playing the user's
phone. Prints `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail` per scenario; exits 1 if any failed.

    OOB_EMULATOR_URL=http://127.0.0.1:4700 python3 launchkey_4_0_1.py
"""
# requires: launchkey==4.0.1
import warnings

from launchkey.exceptions import (
    AuthorizationInProgress,
    AuthorizationRequestCanceled,
    RequestTimedOut,
)
from launchkey.factories import ServiceFactory

from _emulator import Provider, Report, expect

warnings.simplefilter("ignore")

SDK = "python launchkey==4.0.1"
lk = Provider("launchkey")
service = ServiceFactory(
    lk["service_id"], lk["service_private_key_pem"], url=lk["api_url"]
).make_service_client()
report = Report(SDK)
state = {}


def create():
    user, _ = lk.new_user("py")
    created = service.authorization_request(
        user, context="Transfer 10.00 EUR to Bob", title="Confirm the transfer")
    rid = created.auth_request
    expect(rid, "no auth_request id")
    listed = [p for p in lk.pending() if p["id"] == rid]
    expect(listed, "the request is not among the pending step-ups")
    expect(listed[0]["user"] == user, "pending for %r, not %r" % (listed[0]["user"], user))
    state["user"], state["id"] = user, rid
    return "auth_request %s pending for %s" % (rid, user)


def poll_pending():
    answer = service.get_advanced_authorization_response(state["id"])
    expect(answer is None, "expected no answer yet, got %r" % answer)
    return "204 while pending"


def in_progress():
    try:
        service.authorization_request(state["user"])
    except AuthorizationInProgress as e:
        return "AuthorizationInProgress (%s)" % type(e).__name__
    raise AssertionError("a second request for the same user was accepted")


def approve():
    lk.step_up(state["id"], "approve")
    answer = service.get_advanced_authorization_response(state["id"])
    expect(answer is not None, "no answer after approval")
    expect(answer.authorized is True, "authorized=%r" % answer.authorized)
    expect(answer.authorization_request_id == state["id"], "answer for another request")
    return "authorized, type %s, reason %s" % (answer.type.value, answer.reason.value)


def deny():
    user, _ = lk.new_user("py")
    rid = service.authorization_request(user).auth_request
    lk.step_up(rid, "deny", {"reason": "2"})
    answer = service.get_advanced_authorization_response(rid)
    expect(answer.authorized is False, "authorized=%r" % answer.authorized)
    expect(answer.fraud is False, "fraud=%r" % answer.fraud)
    return "denied, reason %s, denial_reason %s" % (answer.reason.value, answer.denial_reason)


def deny_fraud():
    user, _ = lk.new_user("py")
    rid = service.authorization_request(user).auth_request
    lk.step_up(rid, "deny", {"fraud": True})
    answer = service.get_advanced_authorization_response(rid)
    expect(answer.authorized is False and answer.fraud is True, "fraud=%r" % answer.fraud)
    return "denied as fraud"


def cancel():
    user, _ = lk.new_user("py")
    rid = service.authorization_request(user).auth_request
    service.cancel_authorization_request(rid)
    try:
        service.get_advanced_authorization_response(rid)
    except AuthorizationRequestCanceled:
        return "poll after cancel: AuthorizationRequestCanceled"
    raise AssertionError("the poll did not report the cancellation")


def expire():
    user, _ = lk.new_user("py")
    rid = service.authorization_request(user).auth_request
    lk.step_up(rid, "expire")
    try:
        service.get_advanced_authorization_response(rid)
    except RequestTimedOut:
        return "poll after expiry: RequestTimedOut"
    raise AssertionError("the poll did not report the expiry")


def sessions():
    service.session_start(state["user"], state["id"])
    service.session_end(state["user"])
    return "session start and end accepted"


def totp():
    user, _ = lk.new_user("py")
    lk.command({"command": "provider", "body": {"totp": "123456", "user": user}})
    expect(service.verify_totp(user, "123456") is True, "the right code was refused")
    expect(service.verify_totp(user, "654321") is False, "a wrong code was accepted")
    return "right code valid, wrong code invalid"


def webhook_authorization():
    hook = lk.command({"command": "provider", "body": {
        "webhook": "authorization", "id": state["id"], "path": "/launchkey/webhook"}})
    answer = service.handle_advanced_webhook(
        hook["body"], hook["headers"], hook["method"], hook["path"])
    expect(answer.authorized is True, "authorized=%r" % answer.authorized)
    expect(answer.authorization_request_id == state["id"], "webhook for another request")
    # The SDK must refuse the same webhook with its body changed.
    try:
        service.handle_advanced_webhook(
            hook["body"][:-4] + "AAAA", hook["headers"], hook["method"], hook["path"])
    except Exception as e:  # noqa: BLE001 (any refusal is right)
        return "verified and decrypted; a tampered body is refused (%s)" % type(e).__name__
    raise AssertionError("a tampered webhook was accepted")


def webhook_session_end():
    user, created = lk.new_user("py")
    hook = lk.command({"command": "provider", "body": {
        "webhook": "session_end", "user": user, "path": "/launchkey/webhook"}})
    answer = service.handle_advanced_webhook(
        hook["body"], hook["headers"], hook["method"], hook["path"])
    expect(answer.service_user_hash == created["service_user_hash"],
           "service_user_hash %r" % answer.service_user_hash)
    return "session end for %s" % answer.service_user_hash


report.run("launchkey: create", create)
report.run("launchkey: poll while pending", poll_pending)
report.run("launchkey: second request in progress", in_progress)
report.run("launchkey: approve", approve)
report.run("launchkey: deny", deny)
report.run("launchkey: deny as fraud", deny_fraud)
report.run("launchkey: cancel", cancel)
report.run("launchkey: expire", expire)
report.run("launchkey: sessions", sessions)
report.run("launchkey: totp", totp)
report.run("launchkey: webhook (authorization)", webhook_authorization)
report.run("launchkey: webhook (session end)", webhook_session_end)
report.exit()
