"""What every official-SDK script shares: where the emulator is, its control API, and the
one-line-per-scenario report (`scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail`).

The emulator is found through OOB_EMULATOR_URL (its control URL, e.g. http://127.0.0.1:4700)
or OOB_EMULATOR_INFO (a file holding the line `oob-auth-emulator --print-json` printed).
Only the standard library is used here.
"""
import json
import os
import sys
import traceback
import urllib.error
import urllib.request
import uuid


def info():
    path = os.environ.get("OOB_EMULATOR_INFO")
    if path:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.read())
    url = os.environ.get("OOB_EMULATOR_URL", "http://127.0.0.1:4700").rstrip("/")
    return call(url + "/providers")


def call(url, body=None, method=None):
    """A control API call; answers the JSON (raises RuntimeError with the body on an error)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ("GET" if data is None else "POST"))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s %s -> %s %s" % (req.method, url, e.code, e.read().decode()))
    return json.loads(text) if text else None


class Provider:
    """One provider's part of the emulator: its URLs, credentials and control routes."""

    def __init__(self, name):
        self.all = info()
        self.name = name
        self.p = self.all["providers"][name]
        self.control_url = self.p["control_url"]

    def __getitem__(self, key):
        return self.p[key]

    def new_user(self, prefix, details=None):
        user = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        body = {"user": user}
        if details is not None:
            body["details"] = details
        return user, call(self.control_url + "/users", body)

    def pending(self):
        return call(self.control_url + "/pending")

    def step_up(self, id_, action, body=None):
        return call("%s/step-ups/%s/%s" % (self.control_url, id_, action), body or {})

    def command(self, body):
        return call(self.control_url + "/control", body)


class Report:
    """Runs scenarios and prints one line per scenario; exit status 1 if any failed."""

    def __init__(self, sdk):
        self.sdk = sdk
        self.failed = 0

    def run(self, scenario, fn):
        try:
            detail = fn() or ""
            line = "%s\t%s\tok\t%s" % (scenario, self.sdk, detail)
        except Exception as e:  # a scenario's failure is reported, the next one still runs
            self.failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            line = "%s\t%s\tFAIL\t%s: %s (line %s)" % (
                scenario, self.sdk, type(e).__name__, str(e).replace("\n", " ")[:300], where.lineno)
        print(line.replace("\n", " "), flush=True)

    def exit(self):
        sys.exit(1 if self.failed else 0)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
