// A real, certified OpenID provider (the npm package `oidc-provider`, v9) for the end-to-end
// suite, on http://127.0.0.1:<port> (HTTP/1.1, keep-alive).
//
//   node tests/e2e/node/oidc_provider.mjs '<json config>'     (or the config in OIDC_TEST_CONFIG)
//
// Prints one JSON line `{"ready": true, "issuer": ..., "port": ...}` on stdout once it listens
// (port 0 in the config: a free one), then one line per request on stderr (method, path,
// status; never a token). Ends on SIGTERM or SIGINT, or when stdin closes.
//
// Configuration (every member optional; tests/e2e/oidc_provider.py documents it too):
//   port                 0
//   clients              oidc-provider client metadata; default one public client `e2e-public`
//                        (token_endpoint_auth_method none, application_type native, redirect
//                        http://127.0.0.1/callback on any port). Missing members get:
//                        grant_types authorization_code, refresh_token and the device grant;
//                        response_types [code]; token_endpoint_auth_method none unless a
//                        client_secret is given (then client_secret_basic).
//   users                {name: {password, name, email}}; default alice and bob
//   pkce                 "required" (default: S256 required on the authorization code flow and,
//                        with device_pkce, on the device flow), "optional" (a provider
//                        configured without PKCE: checked when sent, never required) or
//                        "reject" (a non-compliant IdP: any request carrying code_challenge,
//                        code_challenge_method or code_verifier is refused, invalid_request)
//   device_pkce          true: PKCE on the device flow as Keycloak does it (the challenge on the
//                        device authorization request, the verifier on every device-code poll;
//                        required when pkce is "required"). false: oidc-provider's own
//                        behaviour (RFC 8628 has no PKCE: the parameters are ignored).
//   device_interval      5: the `interval` (seconds) sent with every device authorization
//                        (oidc-provider sends none); a poll of one device code sooner than that
//                        after its previous poll (the first poll is free) is answered
//                        `slow_down` and raises that device code's interval by
//                        slow_down_increment (RFC 8628 3.5). 0: no `interval` and no
//                        `slow_down` (oidc-provider's own behaviour).
//   slow_down_increment  5 (seconds; RFC 8628 says 5, tests use less)
//   ttl                  seconds per artifact: IdToken 300, AccessToken 300, RefreshToken 86400,
//                        AuthorizationCode 60, DeviceCode 600, Interaction 600, Session 86400,
//                        Grant 86400
//   scopes               ["openid", "offline_access", "profile", "email"]
//
// Test-only routes: GET /_test/counts (requests per route, interaction uids as `:uid`; token
// requests per grant type; slow_down answers; PKCE refusals), POST /_test/reset (zeroes them).
//
// Pages (login, consent, the device flow's user-code pages, errors) are this file's own plain
// HTML with no external resources (oidc-provider's defaults import web fonts), so a browser on a
// closed network loads them at once. The interaction pages are a minimal handler of the provider's
// interaction API (devInteractions accepts any login with any password).
//
// Node 20 runs it; oidc-provider v9 warns "Unsupported runtime" at start (it asks for Node 22
// LTS) and "in-memory adapter" (state is lost when the process ends: what tests want).

import crypto from 'node:crypto';
import http from 'node:http';

import { Provider } from 'oidc-provider';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PKCE_PARAMS = ['code_challenge', 'code_challenge_method', 'code_verifier'];
const PKCE_MODES = new Set(['required', 'optional', 'reject']);

const DEFAULT_USERS = {
  alice: { password: 'alice-password', name: 'Alice Example', email: 'alice@example.org' },
  bob: { password: 'bob-password', name: 'Bob Example', email: 'bob@example.org' },
};
const DEFAULT_CLIENT = {
  client_id: 'e2e-public',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
};
const DEFAULT_TTL = {
  IdToken: 300,
  AccessToken: 300,
  RefreshToken: 86400,
  AuthorizationCode: 60,
  DeviceCode: 600,
  Interaction: 600,
  Session: 86400,
  Grant: 86400,
};

function readConfig() {
  const text = process.argv[2] ?? process.env.OIDC_TEST_CONFIG ?? '{}';
  const config = JSON.parse(text);
  const pkce = config.pkce ?? 'required';
  if (!PKCE_MODES.has(pkce)) {
    throw new Error(`pkce must be one of ${[...PKCE_MODES].join(', ')}`);
  }
  return {
    port: config.port ?? 0,
    clients: (config.clients ?? [DEFAULT_CLIENT]).map(clientDefaults),
    users: config.users ?? DEFAULT_USERS,
    pkce,
    devicePkce: config.device_pkce ?? true,
    deviceInterval: config.device_interval ?? 5,
    slowDownIncrement: config.slow_down_increment ?? 5,
    ttl: { ...DEFAULT_TTL, ...(config.ttl ?? {}) },
    scopes: config.scopes ?? ['openid', 'offline_access', 'profile', 'email'],
  };
}

function clientDefaults(client) {
  return {
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    token_endpoint_auth_method: client.client_secret ? 'client_secret_basic' : 'none',
    ...client,
  };
}

// -- pages -----------------------------------------------------------------------------------

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>
${body}
</body></html>`;
}

function loginPage(uid, clientId, error) {
  const message = error ? `<p id="login-error" class="error">${escape(error)}</p>` : '';
  return page('Sign in', `<p>to continue to <strong>${escape(clientId)}</strong></p>${message}
<form id="login" method="post" action="/interaction/${escape(uid)}/login">
  <label>User name <input type="text" name="login" autocomplete="username" required autofocus></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit" id="sign-in">Sign in</button>
</form>
<form id="abort" method="post" action="/interaction/${escape(uid)}/abort">
  <button type="submit" id="cancel">Cancel</button>
</form>`);
}

function consentPage(uid, clientId, scopes, accountId) {
  const items = scopes.map((s) => `<li>${escape(s)}</li>`).join('');
  return page('Authorize', `<p><strong>${escape(clientId)}</strong> asks <strong id="account">${escape(accountId)}</strong> for:</p>
<ul id="scopes">${items}</ul>
<form id="consent" method="post" action="/interaction/${escape(uid)}/confirm">
  <button type="submit" id="allow">Allow</button>
</form>
<form id="abort" method="post" action="/interaction/${escape(uid)}/abort">
  <button type="submit" id="deny">Deny</button>
</form>`);
}

// oidc-provider's device-flow forms keep their submit button outside the <form>; put one inside.
function withSubmit(form, id, label) {
  return form.replace(/<\/form>\s*$/, `<button type="submit" id="${id}">${label}</button></form>`);
}

const deviceFlow = {
  userCodeInputSource(ctx, form, out, err) {
    const message = err ? `<p id="device-error" class="error">${escape(out?.error_description ?? err.message ?? 'error')}</p>` : '';
    ctx.type = 'html';
    ctx.body = page('Enter the code', `${message}<p>Enter the code shown on your device.</p>
${withSubmit(form, 'continue', 'Continue')}`);
  },
  userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
    const abort = form
      .replace('id="op.deviceConfirmForm"', 'id="abort"')
      .replace('name="confirm"', 'name="abort"');
    ctx.type = 'html';
    ctx.body = page('Confirm the device', `<p><strong>${escape(client.clientId)}</strong> shows the code
<code id="user-code">${escape(userCode)}</code></p>
${withSubmit(form, 'confirm', 'Continue')}
${withSubmit(abort, 'deny', 'Abort')}`);
  },
  successSource(ctx) {
    ctx.type = 'html';
    ctx.body = page('Signed in', '<p id="device-success">The device is signed in. You can close this page.</p>');
  },
};

function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error', `<p id="error">${escape(out.error)}</p>
<p id="error_description">${escape(out.error_description ?? '')}</p>`);
}

// -- request plumbing -------------------------------------------------------------------------

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isForm(ctx) {
  return Boolean(ctx.is('application/x-www-form-urlencoded'));
}

// Reads a form body ahead of oidc-provider, which then takes it from `req.body` (its documented
// fallback for a body that another middleware consumed).
async function formBody(ctx) {
  if (ctx.req.body === undefined) {
    ctx.req.body = await readBody(ctx.req);
  }
  return new URLSearchParams(ctx.req.body.toString('utf8'));
}

function oauthError(ctx, status, error, description) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

function s256(verifier) {
  return crypto.createHash('sha256').update(verifier).digest('base64url');
}

// RFC 7636 4.1 and 4.2: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;

// -- the provider ---------------------------------------------------------------------------

function buildProvider(issuer, config, port) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }), kid: `op-${port}-1`, alg: 'RS256', use: 'sig',
  };
  const accounts = config.users;

  return new Provider(issuer, {
    clients: config.clients,
    jwks: { keys: [jwk] },
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url')],
      // Cookies on 127.0.0.1 are shared across ports: names of this port's own.
      names: { session: `op${port}_session`, interaction: `op${port}_interaction`, resume: `op${port}_resume` },
    },
    scopes: config.scopes,
    responseTypes: ['code'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    // Scope claims in the ID token itself, not only from userinfo.
    conformIdTokenClaims: false,
    async findAccount(ctx, sub) {
      const user = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, name: user.name, email: user.email, email_verified: true };
        },
      };
    },
    pkce: { required: () => config.pkce === 'required' },
    // Rotation on every use, for every client; a reused rotated token is `invalid_grant` and
    // revokes the grant (oidc-provider's reuse detection).
    rotateRefreshToken: true,
    ttl: config.ttl,
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true, ...deviceFlow },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page('Sign out', `${withSubmit(form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>'), 'sign-out', 'Sign out')}`);
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
        },
      },
    },
    clientBasedCORS: () => true,
    renderError,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
}

// -- middleware: interactions, PKCE policy, device flow extensions, counts -------------------

function interactionRoutes(provider, accounts) {
  return async function interactions(ctx, next) {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    ctx.set('Cache-Control', 'no-store');
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      ctx.status = 400;
      renderError(ctx, { error: 'invalid_request', error_description: err.message });
      return undefined;
    }
    if (details.uid !== uid) {
      ctx.status = 400;
      renderError(ctx, { error: 'invalid_request', error_description: 'interaction mismatch' });
      return undefined;
    }
    const { prompt, params, session, grantId } = details;
    const clientId = params.client_id;

    if (!action && ctx.method === 'GET') {
      ctx.type = 'html';
      if (prompt.name === 'login') {
        ctx.body = loginPage(uid, clientId);
      } else {
        const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
        ctx.body = consentPage(uid, clientId, scopes, session?.accountId ?? '');
      }
      return undefined;
    }
    if (ctx.method !== 'POST' || !action) {
      ctx.status = 405;
      return undefined;
    }
    ctx.respond = false; // interactionFinished writes the 303 itself
    if (action === 'abort') {
      await provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied', error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
      return undefined;
    }
    const form = isForm(ctx) ? new URLSearchParams((await readBody(ctx.req)).toString('utf8')) : new URLSearchParams();
    if (action === 'login') {
      const login = form.get('login') ?? '';
      const user = Object.hasOwn(accounts, login) ? accounts[login] : undefined;
      const password = Buffer.from(form.get('password') ?? '');
      const expected = Buffer.from(user?.password ?? '');
      if (prompt.name !== 'login' || !user || password.length !== expected.length
          || !crypto.timingSafeEqual(password, expected)) {
        ctx.respond = true;
        ctx.status = prompt.name === 'login' ? 401 : 400;
        ctx.type = 'html';
        ctx.body = loginPage(uid, clientId, prompt.name === 'login' ? 'Unknown user or wrong password.' : 'Not a login step.');
        return undefined;
      }
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } },
        { mergeWithLastSubmission: false });
      return undefined;
    }
    // confirm: grant what the consent prompt found missing.
    if (prompt.name !== 'consent') {
      ctx.respond = true;
      ctx.status = 400;
      renderError(ctx, { error: 'invalid_request', error_description: 'not a consent step' });
      return undefined;
    }
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId });
    const { details: missing } = prompt;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true });
    return undefined;
  };
}

function extensions(provider, config, counts) {
  const devices = new Map(); // device_code -> {challenge, interval, lastPoll}
  const path = (route) => new URL(provider.urlFor(route)).pathname;
  const routes = {
    authorization: path('authorization'),
    token: path('token'),
    device: path('device_authorization'),
  };

  function carriesPkce(params) {
    return PKCE_PARAMS.filter((p) => params.has(p));
  }

  // A non-compliant IdP refuses authorization requests with PKCE parameters: back to the
  // client with `invalid_request` when the redirect URI is the client's, else an error page.
  async function refuseAuthorization(ctx, params, names) {
    counts.pkce_refused += 1;
    const description = `unsupported parameter: ${names.join(', ')}`;
    const client = await provider.Client.find(params.get('client_id') ?? '');
    const redirectUri = params.get('redirect_uri');
    if (client && redirectUri && client.redirectUriAllowed(redirectUri)) {
      const to = new URL(redirectUri);
      to.searchParams.set('error', 'invalid_request');
      to.searchParams.set('error_description', description);
      if (params.has('state')) to.searchParams.set('state', params.get('state'));
      to.searchParams.set('iss', provider.issuer);
      ctx.redirect(to.href);
      return;
    }
    ctx.status = 400;
    renderError(ctx, { error: 'invalid_request', error_description: description });
  }

  async function deviceAuthorization(ctx, next) {
    const form = await formBody(ctx);
    const names = carriesPkce(form);
    if (config.pkce === 'reject' && names.length) {
      counts.pkce_refused += 1;
      return oauthError(ctx, 400, 'invalid_request', `unsupported parameter: ${names.join(', ')}`);
    }
    let challenge;
    if (config.devicePkce && config.pkce !== 'reject') {
      // As Keycloak: S256 only, the challenge bound to the device code.
      challenge = form.get('code_challenge') ?? undefined;
      const method = form.get('code_challenge_method') ?? undefined;
      if (challenge === undefined && config.pkce === 'required') {
        counts.pkce_refused += 1;
        return oauthError(ctx, 400, 'invalid_request', 'PKCE is required: code_challenge missing');
      }
      if (challenge !== undefined && method !== 'S256') {
        counts.pkce_refused += 1;
        return oauthError(ctx, 400, 'invalid_request', 'code_challenge_method must be S256');
      }
      if (challenge !== undefined && !PKCE_VALUE.test(challenge)) {
        counts.pkce_refused += 1;
        return oauthError(ctx, 400, 'invalid_request', 'code_challenge is malformed');
      }
      if (challenge === undefined && method !== undefined) {
        counts.pkce_refused += 1;
        return oauthError(ctx, 400, 'invalid_request', 'code_challenge_method without code_challenge');
      }
    }
    await next();
    if (ctx.status === 200 && ctx.body && typeof ctx.body.device_code === 'string') {
      devices.set(ctx.body.device_code, { challenge, interval: config.deviceInterval, lastPoll: undefined });
      if (config.deviceInterval > 0) ctx.body.interval = config.deviceInterval;
    }
    return undefined;
  }

  async function token(ctx, next) {
    const form = await formBody(ctx);
    const grantType = form.get('grant_type') ?? '';
    counts.token[grantType] = (counts.token[grantType] ?? 0) + 1;
    const names = carriesPkce(form);
    if (config.pkce === 'reject' && names.length) {
      counts.pkce_refused += 1;
      return oauthError(ctx, 400, 'invalid_request', `unsupported parameter: ${names.join(', ')}`);
    }
    if (grantType === DEVICE_GRANT) {
      const device = devices.get(form.get('device_code') ?? '');
      if (device) {
        const now = Date.now();
        const previous = device.lastPoll;
        device.lastPoll = now;
        // RFC 8628 3.5: polling faster than the interval is `slow_down`, and the interval grows.
        if (config.deviceInterval > 0 && previous !== undefined && now - previous < device.interval * 1000) {
          device.interval += config.slowDownIncrement;
          counts.slow_down += 1;
          return oauthError(ctx, 400, 'slow_down', `poll at most every ${device.interval} s`);
        }
        if (device.challenge !== undefined) {
          const verifier = form.get('code_verifier');
          if (verifier === null) {
            counts.pkce_refused += 1;
            return oauthError(ctx, 400, 'invalid_grant', 'PKCE: code_verifier missing');
          }
          if (!PKCE_VALUE.test(verifier) || s256(verifier) !== device.challenge) {
            counts.pkce_refused += 1;
            return oauthError(ctx, 400, 'invalid_grant', 'PKCE: code_verifier does not match');
          }
        }
      }
    }
    return next();
  }

  return async function extend(ctx, next) {
    // Per route: long random path segments (interaction uids) counted as `:uid`.
    const route = ctx.path.replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/g, '/:uid');
    counts.requests[route] = (counts.requests[route] ?? 0) + 1;
    if (ctx.path === '/_test/counts' && ctx.method === 'GET') {
      ctx.body = counts;
      return undefined;
    }
    if (ctx.path === '/_test/reset' && ctx.method === 'POST') {
      Object.assign(counts, newCounts());
      ctx.status = 204;
      return undefined;
    }
    if (ctx.path === routes.authorization && config.pkce === 'reject') {
      const params = ctx.method === 'POST' && isForm(ctx) ? await formBody(ctx) : new URLSearchParams(ctx.querystring);
      const names = carriesPkce(params);
      if (names.length) return refuseAuthorization(ctx, params, names);
    }
    if (ctx.method === 'POST' && isForm(ctx)) {
      if (ctx.path === routes.device) return deviceAuthorization(ctx, next);
      if (ctx.path === routes.token) return token(ctx, next);
    }
    return next();
  };
}

function newCounts() {
  return { requests: {}, token: {}, slow_down: 0, pkce_refused: 0 };
}

function requestLog(ctx, next) {
  const started = Date.now();
  return next().finally(() => {
    process.stderr.write(`${ctx.method} ${ctx.path} ${ctx.respond === false ? ctx.res.statusCode : ctx.status} ${Date.now() - started}ms\n`);
  });
}

// -- main ---------------------------------------------------------------------------------------

async function main() {
  const config = readConfig();
  const server = http.createServer({ keepAliveTimeout: 30_000, headersTimeout: 35_000 });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = buildProvider(issuer, config, port);
  const counts = newCounts();
  provider.use(requestLog);
  provider.use(extensions(provider, config, counts));
  provider.use(interactionRoutes(provider, config.users));
  server.on('request', provider.callback());

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`oidc test provider: ${err.stack ?? err}\n`);
  process.exit(1);
});
