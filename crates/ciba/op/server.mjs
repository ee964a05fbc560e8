// A real OpenID Provider for the `ciba` crate's tests: npm `oidc-provider` (OpenID-certified),
// CIBA poll and ping modes, configured for loopback use. TEST ONLY: it has no user interface,
// keeps everything in memory, and serves a `/test/...` control API without authentication.
//
//   node server.mjs --modules <folder holding node_modules/oidc-provider> [--port 0]
//
// Environment (all optional):
//   CIBA_OP_CLIENT_JWKS   JSON JWK set (public keys) of the `ciba-jwt-*` clients (private_key_jwt)
//   CIBA_OP_PING_URL      https URL of the `ciba-ping` client's notification endpoint
//   CIBA_OP_MIN_POLL_MS   answer `slow_down` to a token request for the same auth_req_id sooner
//                         than this after the previous one (default 0: off)
//
// When it listens it prints one line, `issuer=http://127.0.0.1:<port>`, and nothing else on
// stdout; diagnostics go to stderr. It stops on SIGTERM, SIGINT, or when stdin closes (so it
// never outlives the test process that started it).
//
// Control API (test only), answering JSON:
//   GET  /test/requests                  every backchannel request triggerAuthenticationDevice saw
//   GET  /test/requests/<auth_req_id>    one of them (404 if unknown)
//   POST /test/requests/<id>/approve     the user approves (provider.backchannelResult with a Grant)
//   POST /test/requests/<id>/deny        the user denies (backchannelResult with AccessDenied)
//   POST /test/rotate-keys               a new signing key first, the old ones still published
//   GET  /test/stats                     {"jwks_fetches": n, "token_requests": n}

import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const modules = arg('modules', process.env.CIBA_OP_MODULES);
if (!modules) {
  console.error('usage: node server.mjs --modules <folder with node_modules> [--port N]');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'package.json'));
const { default: Provider, errors } = await import(pathToFileURL(require.resolve('oidc-provider')).href);

const port = Number(arg('port', '0'));
const minPollMs = Number(process.env.CIBA_OP_MIN_POLL_MS ?? '0');
const clientJwks = JSON.parse(process.env.CIBA_OP_CLIENT_JWKS ?? '{"keys":[]}');
const pingUrl = process.env.CIBA_OP_PING_URL;

// The users. `user_code` is what the user would have set up with the OP (CIBA §7.1).
const accounts = new Map([
  ['alice', { name: 'Alice Liddell', email: 'alice@example.com', user_code: '246810' }],
  ['bob', { name: 'Bob Builder', email: 'bob@example.com' }],
]);

// What triggerAuthenticationDevice saw, by auth_req_id.
const requests = new Map();
const stats = { jwks_fetches: 0, token_requests: 0 };

function clients() {
  const list = [
    {
      client_id: 'ciba-basic',
      client_secret: 'basic-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'ciba-post',
      client_secret: 'post-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_post',
    },
    ...['RS256', 'PS256', 'ES256'].map((alg) => ({
      client_id: `ciba-jwt-${alg.toLowerCase()}`,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      jwks: clientJwks,
    })),
    {
      // What the FAPI-CIBA profile asks for: private_key_jwt with PS256, signed requests,
      // PS256 ID tokens.
      client_id: 'ciba-fapi',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'PS256',
      backchannel_authentication_request_signing_alg: 'PS256',
      id_token_signed_response_alg: 'PS256',
      jwks: clientJwks,
    },
  ].map((c) => ({
    grant_types: [CIBA_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    backchannel_token_delivery_mode: 'poll',
    ...c,
  }));
  if (pingUrl) {
    list.push({
      client_id: 'ciba-ping',
      client_secret: 'ping-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [CIBA_GRANT],
      response_types: [],
      redirect_uris: [],
      backchannel_token_delivery_mode: 'ping',
      backchannel_client_notification_endpoint: pingUrl,
    });
  }
  return list;
}

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = crypto.randomBytes(8).toString('hex');
  jwk.use = 'sig';
  return jwk;
}

function newEcKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = crypto.randomBytes(8).toString('hex');
  jwk.use = 'sig';
  return jwk;
}

let signingKeys = [newSigningKey(), newEcKey()];

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: clients(),
    jwks: { keys: signingKeys },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    findAccount(ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: account.name, email: account.email };
        },
      };
    },
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    // TEST ONLY: the tests' notification endpoint listens on loopback, which oidc-provider's
    // SSRF protection (rightly) refuses to call; drop that protection for loopback URLs only.
    fetch(url, options) {
      const { hostname } = new URL(url);
      if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
        const { dispatcher, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },
    features: {
      devInteractions: { enabled: false },
      requestObjects: { enabled: true },
      ciba: {
        enabled: true,
        deliveryModes: ['poll', 'ping'],
        async processLoginHint(ctx, loginHint) {
          return accounts.has(loginHint) ? loginHint : undefined;
        },
        async processLoginHintToken() {
          throw new errors.InvalidRequest('login_hint_token is not supported by this OP');
        },
        async validateBindingMessage(ctx, bindingMessage) {
          // Printable text, at most 100 characters (StepUp messages have spaces).
          if (bindingMessage !== undefined && !/^[\p{L}\p{N}\p{P}\p{S} ]{1,100}$/u.test(bindingMessage)) {
            throw new errors.InvalidBindingMessage('binding_message must be 1-100 printable characters');
          }
        },
        async validateRequestContext() {},
        async verifyUserCode(ctx, account, userCode) {
          if (userCode === undefined) return;
          const expected = accounts.get(account.accountId)?.user_code;
          if (expected === undefined || expected !== userCode) {
            throw new errors.InvalidUserCode('user_code does not match');
          }
        },
        async triggerAuthenticationDevice(ctx, request, account, client) {
          requests.set(request.jti, {
            auth_req_id: request.jti,
            account: account.accountId,
            client_id: client.clientId,
            scope: request.scope,
            binding_message: request.params.binding_message ?? null,
            acr_values: request.params.acr_values ?? null,
            requested_expiry: request.params.requested_expiry ?? null,
            user_code_checked: request.params.user_code !== undefined,
            signed_request: ctx.oidc.params.request !== undefined || ctx.oidc.body?.request !== undefined,
            expires_in: request.expiration,
            polls: 0,
            last_poll: null,
            state: 'pending',
          });
        },
      },
    },
  });
  provider.proxy = false;

  // An OP may answer `slow_down` to a client that polls too fast (CIBA §11); oidc-provider does
  // not, so this one does when CIBA_OP_MIN_POLL_MS is set.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      stats.token_requests += 1;
      const raw = await readBody(ctx.req);
      ctx.req.body = raw; // oidc-provider reads an already read body from here
      const params = new URLSearchParams(raw);
      const record = params.get('grant_type') === CIBA_GRANT ? requests.get(params.get('auth_req_id')) : undefined;
      if (record) {
        record.polls += 1;
        const now = Date.now();
        const tooSoon = minPollMs > 0 && record.last_poll !== null && now - record.last_poll < minPollMs;
        record.last_poll = now;
        if (tooSoon) {
          ctx.status = 400;
          ctx.set('cache-control', 'no-store');
          ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly' };
          return;
        }
      }
    }
    await next();
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return provider;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

let provider;
let handler;

async function control(req, res, url) {
  const parts = url.pathname.split('/').filter(Boolean); // ['test', ...]
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'requests') {
    return json(res, 200, [...requests.values()]);
  }
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'stats') {
    return json(res, 200, stats);
  }
  if (req.method === 'POST' && parts.length === 2 && parts[1] === 'rotate-keys') {
    signingKeys = [newSigningKey(), ...signingKeys];
    provider = makeProvider(provider.issuer);
    handler = provider.callback();
    return json(res, 200, { kid: signingKeys[0].kid });
  }
  if (parts.length >= 3 && parts[1] === 'requests') {
    const id = decodeURIComponent(parts[2]);
    const record = requests.get(id);
    if (!record) return json(res, 404, { error: 'unknown auth_req_id' });
    if (req.method === 'GET' && parts.length === 3) return json(res, 200, record);
    if (req.method === 'POST' && parts.length === 4 && parts[3] === 'approve') {
      const grant = new provider.Grant({ accountId: record.account, clientId: record.client_id });
      grant.addOIDCScope(record.scope);
      const grantId = await grant.save();
      await provider.backchannelResult(id, grantId, {
        acr: 'urn:example:acr:phone',
        amr: ['hwk', 'user'],
        authTime: Math.floor(Date.now() / 1000),
      });
      record.state = 'approved';
      return json(res, 200, record);
    }
    if (req.method === 'POST' && parts.length === 4 && parts[3] === 'deny') {
      await provider.backchannelResult(id, new errors.AccessDenied('the user denied the request'));
      record.state = 'denied';
      return json(res, 200, record);
    }
  }
  return json(res, 404, { error: 'no such control route' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/test/')) {
    control(req, res, url).catch((err) => {
      const cause = err?.cause ? `: ${err.cause.code ?? ''} ${err.cause.message ?? err.cause}` : '';
      json(res, 500, { error: `${err?.message ?? err}${cause}` });
    });
    return;
  }
  if (url.pathname === '/jwks') stats.jwks_fetches += 1;
  handler(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = makeProvider(issuer);
  handler = provider.callback();
  process.stdout.write(`issuer=${issuer}\n`);
  // stdout carries only that line: everything else (oidc-provider's notices included) goes
  // to stderr, and a closed stdout is not an error.
  console.log = console.error;
  console.info = console.error;
  process.stdout.on('error', () => {});
});

function stop() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
