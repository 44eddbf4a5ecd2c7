// A real OpenID Provider for the tests: the `oidc-provider` package (OpenID Certified), on
// loopback, with the test client, test users and an end_session_endpoint. Test-only.
//
//   REDIRECT_URI=http://127.0.0.1:8080/login/oidc/callback \
//   POST_LOGOUT_REDIRECT_URI=http://127.0.0.1:8080/login?logged_out=1 \
//   node tests/oidc/provider.mjs
//
// Prints `ISSUER <url>` on its first line once it listens (PORT, default 0: any free port).
// Other settings: CLIENT_ID (default "samordna"), CLIENT_SECRET (default
// "samordna-test-secret"), OIDC_USERS (JSON list of {login, password, sub, email, hsa_id, acr,
// amr}; default the two users below). Its own login and consent pages are plain HTML forms
// at /interaction/{uid}; "Avbryt" on the login page answers the client with access_denied.
import http from 'node:http';
import Provider from 'oidc-provider';

const LOA3 = 'http://id.elegnamnden.se/loa/1.0/loa3';
const LOA2 = 'http://id.elegnamnden.se/loa/1.0/loa2';

const redirectUri = process.env.REDIRECT_URI;
if (!redirectUri) {
  console.error('REDIRECT_URI is required');
  process.exit(2);
}
const postLogout = process.env.POST_LOGOUT_REDIRECT_URI || new URL('/login?logged_out=1', redirectUri).href;
const users = JSON.parse(process.env.OIDC_USERS || 'null') || [
  // Signs in with two factors at the provider (acr loa3).
  { login: 'handlaggare', password: 'provlosen', sub: 'sub-handlaggare', email: 'handlaggare@ekby.test', acr: LOA3, amr: ['pwd', 'otp'] },
  // One factor only (acr loa2).
  { login: 'larare', password: 'provlosen', sub: 'sub-larare', email: 'larare@ekby.test', acr: LOA2, amr: ['pwd'] },
];

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(html);
}

async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return send(res, 200, page('Logga in hos testleverantören', `
<form method="post" action="/interaction/${uid}/login">
<p><label for="login">Användarnamn</label><br><input id="login" name="login" autocomplete="username"></p>
<p><label for="password">Lösenord</label><br><input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button type="submit">Logga in</button></p>
</form>
<form method="post" action="/interaction/${uid}/abort"><p><button type="submit">Avbryt</button></p></form>`));
    }
    return send(res, 200, page('Godkänn', `
<p>${escape(params.client_id)} vill läsa: ${escape([...(prompt.details.missingOIDCScope || [])].join(', '))}</p>
<form method="post" action="/interaction/${uid}/confirm"><p><button type="submit">Godkänn</button></p></form>
<form method="post" action="/interaction/${uid}/abort"><p><button type="submit">Avbryt</button></p></form>`));
  }
  if (path.endsWith('/abort')) {
    return provider.interactionFinished(req, res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false });
  }
  if (path.endsWith('/login')) {
    const form = await readForm(req);
    const user = users.find((u) => u.login === form.login && u.password === form.password);
    if (!user) {
      return send(res, 401, page('Fel användarnamn eller lösenord', `<p><a href="/interaction/${uid}">Försök igen</a></p>`));
    }
    const login = { accountId: user.sub };
    if (user.acr) login.acr = user.acr;
    if (user.amr) login.amr = user.amr;
    return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  }
  // consent
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

let handle = (req, res) => send(res, 503, 'starting');
const server = http.createServer((req, res) => handle(req, res));
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID || 'samordna',
      client_secret: process.env.CLIENT_SECRET || 'samordna-test-secret',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogout],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    async findAccount(ctx, sub) {
      const user = users.find((u) => u.sub === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: user.email, email_verified: true, hsa_id: user.hsa_id };
        },
      };
    },
    claims: {
      acr: null, amr: null, sid: null, auth_time: null, iss: null,
      // The provider tells every client how the person signed in (acr, amr), as SITHS and Freja
      // providers do.
      openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], hsa: ['hsa_id'],
    },
    scopes: ['openid', 'email', 'hsa'],
    acrValues: [LOA2, LOA3],
    // Claims of the scopes asked for go into the ID token, as the client reads them there.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['samordna-test-provider-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
    },
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
  });
  provider.on('server_error', (ctx, err) => console.error('provider error', err));
  const callback = provider.callback();
  handle = (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        console.error(err);
        send(res, 400, page('Fel', `<p>${escape(err.message)}</p>`));
      });
    } else {
      callback(req, res);
    }
  };
  console.log(`ISSUER ${issuer}`);
});
