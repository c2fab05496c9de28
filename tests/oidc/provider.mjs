// A real OpenID Connect provider for the single sign-on tests (tests/oidc_helpers.py starts it).
//
// It is the `oidc-provider` npm package (a certified OpenID Provider), configured from the
// environment, listening on 127.0.0.1 at a free port:
//
//   OIDC_CONFIG = {"clients": [{client_id, client_secret, redirect_uris, post_logout_redirect_uris}],
//                  "users": {"<login>": {"password": "…", "sub": "…", "amr": ["pwd", "mfa"],
//                                        "claims": {"preferred_username": "…", "groups": ["…"], …}}}}
//
// On start it prints one line, `READY <issuer>`, on standard output.
//
// Interactions: the province's sign-in page is a small form of our own (login, password), then a
// consent form; a successful login records the user's `amr` in the provider's session, which the
// provider puts into the ID token. The authorization code flow requires PKCE for every client.
//
// Test hooks (never in a real provider; they stand for an attacker between us and the provider):
//   POST /__test/tamper {"mode": …, "aud": …} — the NEXT token response carries an altered ID token:
//     wrong-signature (signed with another key under the provider's key id), wrong-aud, wrong-nonce,
//     wrong-iss, expired, other-client (aud and azp set to the given client id, correctly signed).
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_CONFIG || '{}');
const users = config.users || {};
const clients = (config.clients || []).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

// The provider's signing key, kept here so that the tamper hook can sign as the provider does.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = crypto.randomBytes(8).toString('hex');
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
const strangerKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodePart = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function signJwt(header, payload, key) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), key);
  return `${input}.${b64url(signature)}`;
}

let tamper = null; // {mode, aud}, used once

function tampered(idToken, issuer) {
  const [h, p] = idToken.split('.');
  const header = decodePart(h);
  const payload = decodePart(p);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  switch (tamper.mode) {
    case 'wrong-signature': key = strangerKey; break;
    case 'wrong-aud': payload.aud = 'somebody-else'; break;
    case 'wrong-nonce': payload.nonce = 'forged-nonce'; break;
    case 'wrong-iss': payload.iss = `${issuer}/elsewhere`; break;
    case 'expired': payload.iat = now - 7200; payload.exp = now - 3600; break;
    case 'other-client': payload.aud = tamper.aud; payload.azp = tamper.aud; break;
    default: throw new Error(`unknown tamper mode ${tamper.mode}`);
  }
  return signJwt(header, payload, key);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:"Noto Sans CJK SC",sans-serif;background:#eef2f7;margin:0;padding:24px}
main{max-width:360px;margin:40px auto;background:#fff;border-radius:8px;padding:24px;box-shadow:0 2px 8px rgba(0,0,0,.12)}
h1{font-size:20px;color:#123d7a;margin:0 0 16px}label{display:block;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;font-size:16px}
button{margin-top:16px;width:100%;padding:10px;font-size:16px;background:#123d7a;color:#fff;border:0;border-radius:4px}
.err{color:#b00020}</style></head><body><main>${body}</main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] || '').includes('application/json')) return JSON.parse(text || '{}');
  return Object.fromEntries(new URLSearchParams(text));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    claims: {
      // amr: the authentication methods of the sign-in (see the login step below), in every ID token
      openid: ['sub', 'amr'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      phone: ['phone_number'],
      groups: ['groups'],
    },
    conformIdTokenClaims: config.conformIdTokenClaims !== false,
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
    },
    async findAccount(ctx, id) {
      const user = users[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() { return { ...(user.claims || {}), sub: user.sub || id }; },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('出错了', `<h1>统一身份认证平台</h1><p class="err">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
    },
  });
  provider.proxy = false;

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test/tamper' && ctx.method === 'POST') {
      tamper = await readForm(ctx.req);
      ctx.body = { ok: true };
      return;
    }
    const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/(login|confirm))?$/);
    if (!match) {
      await next();
      if (ctx.path === '/token' && tamper && ctx.status === 200 && ctx.body && ctx.body.id_token) {
        ctx.body = { ...ctx.body, id_token: tampered(ctx.body.id_token, issuer) };
        tamper = null;
      }
      return;
    }
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    const { uid, prompt, params } = interaction;
    const step = match[3];
    if (ctx.method === 'GET' && !step) {
      ctx.type = 'html';
      if (prompt.name === 'login') {
        ctx.body = page('统一身份认证', `<h1>统一身份认证平台</h1>
<form method="post" action="/interaction/${uid}/login">
<label for="login">账号</label><input id="login" name="login" autocomplete="username" autofocus>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">登录</button></form>`);
      } else {
        ctx.body = page('授权', `<h1>统一身份认证平台</h1><p>应用“${esc(params.client_id)}”请求读取您的身份信息（${esc(params.scope)}）。</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">同意</button></form>`);
      }
      return;
    }
    if (ctx.method === 'POST' && step === 'login') {
      const form = await readForm(ctx.req);
      const user = users[form.login];
      if (!user || user.password !== form.password) {
        ctx.type = 'html';
        ctx.status = 200;
        ctx.body = page('统一身份认证', `<h1>统一身份认证平台</h1><p class="err">账号或密码错误</p>`);
        return;
      }
      const login = { accountId: form.login };
      if (user.amr) login.amr = user.amr;
      const to = await provider.interactionResult(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(to);
      return;
    }
    if (ctx.method === 'POST' && step === 'confirm') {
      const { session: { accountId }, prompt: { details } } = interaction;
      const grant = interaction.grantId
        ? await provider.Grant.find(interaction.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      if (details.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(details.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      const consent = interaction.grantId ? {} : { grantId };
      const to = await provider.interactionResult(ctx.req, ctx.res, { consent }, { mergeWithLastSubmission: true });
      ctx.status = 303;
      ctx.redirect(to);
      return;
    }
    ctx.status = 405;
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
