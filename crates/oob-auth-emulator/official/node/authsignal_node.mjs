// The official Authsignal Node SDK (npm @authsignal/node, pinned in package.json) against
// oob-auth-emulator: track, the challenge approved on the emulator's phone, validate, OTP
// challenge / verify / claim, users, authenticators, sessions, webhooks (delivered by the
// emulator to a server this script runs, verified with webhook.constructEvent).
// Prints `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail` per scenario; exits 1 if any failed.
// Sets the tenant's rules: run the official-SDK scripts one after the other.
//
//   OOB_EMULATOR_URL=http://127.0.0.1:4700 node authsignal_node.mjs
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createServer } from "node:http";
import { createRequire } from "node:module";

import { Authsignal } from "@authsignal/node";

// The package's `exports` hide its package.json: find it next to its entry point.
const entry = createRequire(import.meta.url).resolve("@authsignal/node");
const version = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")).version;
const SDK = `node @authsignal/node@${version}`;

async function call(url, body, method) {
  const init = body === undefined
    ? { method: method ?? "GET" }
    : { method: method ?? "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const r = await fetch(url, init);
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method} ${url} -> ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function info() {
  if (process.env.OOB_EMULATOR_INFO) {
    return JSON.parse(readFileSync(process.env.OOB_EMULATOR_INFO, "utf8"));
  }
  const url = (process.env.OOB_EMULATOR_URL ?? "http://127.0.0.1:4700").replace(/\/$/, "");
  return call(`${url}/providers`);
}

const sig = (await info()).providers.authsignal;
const control = (path, body) => call(sig.control_url + path, body);
const command = (body) => control("/control", body);
const client = new Authsignal({ apiSecretKey: sig.secret_key, apiUrl: sig.api_url, retries: 0 });
const ACTION = `node-withdraw-${randomUUID().slice(0, 6)}`;
const state = {};
let failed = 0;

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function run(scenario, fn) {
  let line;
  try {
    const detail = (await fn()) ?? "";
    line = `${scenario}\t${SDK}\tok\t${detail}`;
  } catch (e) {
    failed += 1;
    line = `${scenario}\t${SDK}\tFAIL\t${String(e?.stack ?? e).split("\n").slice(0, 2).join(" ").slice(0, 300)}`;
  }
  console.log(line.replace(/\n/g, " "));
}

async function newUser(phone) {
  const user = `node-${randomUUID().slice(0, 10)}`;
  await control("/users", { user, details: { phone_number: phone } });
  return user;
}

await run("authsignal: users", async () => {
  const userId = `node-user-${randomUUID().slice(0, 8)}`;
  await client.updateUser({ userId, attributes: { email: "ada@example.test", username: "ada" } });
  const got = await client.getUser({ userId });
  expect(got.email === "ada@example.test" && got.isEnrolled === false, `got ${JSON.stringify(got)}`);
  const found = await client.queryUsers({ email: "ada@example.test" });
  expect(found.users.some((u) => u.userId === userId), `query ${JSON.stringify(found)}`);
  await client.deleteUser({ userId });
  const gone = await client.getUser({ userId });
  expect(gone.isEnrolled === false && gone.email === undefined, `after delete ${JSON.stringify(gone)}`);
  return "update, get, query, delete";
});

await run("authsignal: authenticators", async () => {
  const userId = `node-user-${randomUUID().slice(0, 8)}`;
  const enrolled = await client.enrollVerifiedAuthenticator({
    userId, attributes: { verificationMethod: "EMAIL_OTP", email: "ada@example.test" },
  });
  const id = enrolled.authenticator.userAuthenticatorId;
  const listed = await client.getAuthenticators({ userId });
  expect(listed.length === 1 && listed[0].userAuthenticatorId === id, `listed ${JSON.stringify(listed)}`);
  await client.deleteAuthenticator({ userId, userAuthenticatorId: id });
  expect((await client.getAuthenticators({ userId })).length === 0, "still listed after delete");
  return "enroll EMAIL_OTP, list, delete";
});

await run("authsignal: track (challenge)", async () => {
  await command({ command: "set_rules", rules: [{ id: "node-challenge", action: ACTION, outcome: "CHALLENGE" }] });
  const userId = await newUser("+64270000011");
  const t = await client.track({ userId, action: ACTION, attributes: { redirectUrl: "https://app.example.test/" } });
  expect(t.state === "CHALLENGE_REQUIRED", `state ${t.state}`);
  const pending = await control("/pending");
  expect(pending.some((p) => p.id === t.idempotencyKey), "the challenge is not pending");
  Object.assign(state, { userId, key: t.idempotencyKey, token: t.token });
  return `CHALLENGE_REQUIRED, pending on the phone as ${t.idempotencyKey}`;
});

await run("authsignal: challenge approved, validate", async () => {
  const done = await control(`/step-ups/${state.key}/approve`, {});
  const v = await client.validateChallenge({ token: done.token ?? state.token, userId: state.userId, action: ACTION });
  expect(v.isValid === true && v.state === "CHALLENGE_SUCCEEDED", `validate ${JSON.stringify(v)}`);
  const a = await client.getAction({ userId: state.userId, action: ACTION, idempotencyKey: state.key });
  expect(a.state === "CHALLENGE_SUCCEEDED", `action ${JSON.stringify(a)}`);
  return "valid, CHALLENGE_SUCCEEDED";
});

await run("authsignal: challenge denied", async () => {
  const userId = await newUser("+64270000012");
  const t = await client.track({ userId, action: ACTION });
  await control(`/step-ups/${t.idempotencyKey}/deny`, {});
  const a = await client.getAction({ userId, action: ACTION, idempotencyKey: t.idempotencyKey });
  expect(a.state === "CHALLENGE_FAILED", `action ${JSON.stringify(a)}`);
  return "CHALLENGE_FAILED";
});

await run("authsignal: OTP challenge, verify, claim", async () => {
  const userId = await newUser("+64270000013");
  const c = await client.challenge({ verificationMethod: "SMS", action: "node-otp", phoneNumber: "+64270000013" });
  expect(typeof c.expiresAt === "number", `expiresAt ${c.expiresAt}`);
  const { code } = await command({ command: "provider", body: { otp_code: c.challengeId } });
  const other = code === "000000" ? "111111" : "000000";
  const wrong = await client.verify({ challengeId: c.challengeId, verificationCode: other });
  expect(wrong.isVerified === false, `wrong code verified: ${JSON.stringify(wrong)}`);
  const ok = await client.verify({ challengeId: c.challengeId, verificationCode: code });
  expect(ok.isVerified === true, `verify ${JSON.stringify(ok)}`);
  const claimed = await client.claimChallenge({ challengeId: c.challengeId, userId });
  expect(claimed.token, "no token");
  Object.assign(state, { claimUser: userId, claimToken: claimed.token });
  return `wrong code refused (${wrong.failureReason ?? "no reason"}), right code verified, claimed`;
});

await run("authsignal: sessions", async () => {
  const s = await client.createSession({ clientId: "node-app", token: state.claimToken });
  const v = await client.validateSession({ accessToken: s.accessToken });
  expect(v.user.userId === state.claimUser, `validate ${JSON.stringify(v)}`);
  const r = await client.refreshSession({ refreshToken: s.refreshToken });
  expect(r.accessToken && r.accessToken !== s.accessToken, "refresh gave no new token");
  await client.revokeSession({ accessToken: r.accessToken });
  let refused = false;
  try {
    await client.validateSession({ accessToken: r.accessToken });
  } catch (e) {
    refused = true;
  }
  expect(refused, "a revoked session still validates");
  return "create, validate, refresh, revoke";
});

await run("authsignal: webhooks", async () => {
  const received = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      received.push({ body, signature: req.headers["x-signature-v2"] });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}/authsignal/webhook`;
    await command({ command: "provider", body: { webhook_url: url } });
    const userId = `node-user-${randomUUID().slice(0, 8)}`;
    await client.enrollVerifiedAuthenticator({ userId, attributes: { verificationMethod: "SMS", phoneNumber: "+64270000014" } });
    const delivered = await command({ command: "provider", body: { deliver_webhooks: true } });
    expect(received.length > 0, `nothing delivered (${JSON.stringify(delivered)})`);
    const events = received.map((r) => client.webhook.constructEvent(r.body, r.signature));
    const mine = events.find((e) => e.data?.userId === userId);
    expect(mine, `no event for the user among ${events.map((e) => e.type).join(", ")}`);
    let refused = false;
    try {
      client.webhook.constructEvent(received[0].body.replace(/}$/, ' }'), received[0].signature);
    } catch (e) {
      refused = true;
    }
    expect(refused, "a tampered webhook was accepted");
    return `${received.length} delivered and verified (${mine.type}); a tampered body is refused`;
  } finally {
    server.close();
  }
});

process.exit(failed ? 1 : 0);
