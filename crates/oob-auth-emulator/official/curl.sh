#!/usr/bin/env bash
# curl against oob-auth-emulator: the README's examples, run by CI (run.sh). An Authsignal
# action is tracked with plain HTTP, the user approves it through the control API, and the
# challenge token validates. Prints `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail`; exits 1 on FAIL.
# Reads OOB_EMULATOR_INFO (the --print-json line in a file); python3 only picks JSON fields.
set -uo pipefail
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[k]
print(v)' "$@"; }
info="$(cat "${OOB_EMULATOR_INFO:?set OOB_EMULATOR_INFO}")"
control="$(field control_url <<<"$info")"
api="$(field providers authsignal api_url <<<"$info")"
secret="$(field providers authsignal secret_key <<<"$info")"
sdk="curl $(curl --version | head -1 | cut -d' ' -f2)"
user="curl-$RANDOM$RANDOM"
report() { printf '%s\t%s\t%s\t%s\n' "$1" "$sdk" "$2" "$3"; }

# --- the README's example, step by step ---------------------------------------------------
curl -sf -X POST "$control/authsignal/users" -d "{\"user\": \"$user\"}" > /dev/null &&
curl -sf -X PUT "$control/authsignal/rules" \
     -d '[{"id": "r1", "action": "withdraw", "outcome": "CHALLENGE"}]' > /dev/null
track="$(curl -sf -u "$secret:" -H 'content-type: application/json' \
     -X POST "$api/users/$user/actions/withdraw" -d '{}')"
state="$(field state <<<"$track" 2>/dev/null)"
key="$(field idempotencyKey <<<"$track" 2>/dev/null)"
if [ "$state" = CHALLENGE_REQUIRED ]; then
  report "authsignal: track (challenge)" ok "CHALLENGE_REQUIRED, $key"
else
  report "authsignal: track (challenge)" FAIL "track answered: $track"; exit 1
fi
pending="$(curl -sf "$control/pending?provider=authsignal")"
approved="$(curl -sf -X POST "$control/authsignal/step-ups/$key/approve")"
token="$(field token <<<"$approved" 2>/dev/null)"
valid="$(curl -sf -u "$secret:" -H 'content-type: application/json' -X POST "$api/validate" \
     -d "{\"token\": \"$token\", \"userId\": \"$user\", \"action\": \"withdraw\"}")"
# ------------------------------------------------------------------------------------------
if grep -q "$key" <<<"$pending" && [ "$(field isValid <<<"$valid" 2>/dev/null)" = True ]; then
  report "authsignal: approved on the control API, validated" ok "pending, approved, isValid"
else
  report "authsignal: approved on the control API, validated" FAIL "pending $pending; validate $valid"; exit 1
fi

# --- the README's CIBA example: backchannel request, approved on the control API, tokens ----
issuer="$(field providers ciba issuer <<<"$info")"
client_id="$(field providers ciba client_id <<<"$info")"
client_secret="$(field providers ciba client_secret <<<"$info")"
ciba_user="curl-ciba-$RANDOM$RANDOM"
curl -sf -X POST "$control/ciba/users" -d "{\"user\": \"$ciba_user\"}" > /dev/null
started="$(curl -sf -u "$client_id:$client_secret" "$issuer/backchannel" \
     -d scope=openid -d login_hint="$ciba_user" -d binding_message='Pay 10 EUR? 7B')"
auth_req_id="$(field auth_req_id <<<"$started" 2>/dev/null)"
if [ -n "$auth_req_id" ]; then
  report "ciba: backchannel authentication" ok "auth_req_id issued"
else
  report "ciba: backchannel authentication" FAIL "answered: $started"; exit 1
fi
pending_ciba="$(curl -sf "$control/pending?provider=ciba")"
curl -sf -X POST "$control/ciba/step-ups/$auth_req_id/approve" > /dev/null
tokens="$(curl -s -u "$client_id:$client_secret" "$issuer/token" \
     -d grant_type=urn:openid:params:grant-type:ciba -d auth_req_id="$auth_req_id")"
if grep -q 'Pay 10 EUR? 7B' <<<"$pending_ciba" && [ -n "$(field id_token <<<"$tokens" 2>/dev/null)" ]; then
  report "ciba: approved on the control API, token" ok "binding message pending, id_token issued"
else
  report "ciba: approved on the control API, token" FAIL "pending $pending_ciba; token $tokens"; exit 1
fi
