// A provider that makes the ID tokens a real one never would, for the tests of each refusal:
// it publishes its own key through a JWKS it serves and signs tokens with it (jose, the library
// oidc-provider itself uses), broken as the test asks. Test-only.
//
//   REDIRECT_URI=http://127.0.0.1:8080/login/oidc/callback node tests/oidc/forged.mjs
//
// Prints `ISSUER <url>` once it listens. `POST /fault?name=<fault>` sets what the next tokens get
// wrong: none, wrong_audience, wrong_issuer, expired, not_yet_valid, bad_signature,
// wrong_nonce, rotated_key (signed with a key published only after the first JWKS fetch: the
// client must fetch the keys again), error_page (discovery answers 500), bad_discovery
// (a discovery document without its required fields).
import http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const clientId = process.env.CLIENT_ID || 'samordna';
const email = process.env.EMAIL || 'larare@ekby.test';
const first = await generateKeyPair('RS256');
const second = await generateKeyPair('RS256');
const stranger = await generateKeyPair('RS256');
const jwk = async (key, kid) => ({ ...(await exportJWK(key.publicKey)), kid, alg: 'RS256', use: 'sig' });
const keys = [await jwk(first, 'k1')];
const later = await jwk(second, 'k2');
let fault = 'none';
let jwksFetched = 0;
const codes = new Map();

function json(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

const server = http.createServer(async (req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, issuer);
  if (url.pathname === '/fault' && req.method === 'POST') {
    fault = url.searchParams.get('name');
    return json(res, 200, { fault });
  }
  if (url.pathname === '/.well-known/openid-configuration') {
    if (fault === 'error_page') return json(res, 500, { error: 'down' });
    if (fault === 'bad_discovery') return json(res, 200, { issuer });
    return json(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (url.pathname === '/jwks') {
    jwksFetched += 1;
    return json(res, 200, { keys: jwksFetched > 1 && fault === 'rotated_key' ? [...keys, later] : keys });
  }
  if (url.pathname === '/auth') {
    // Signs in at once: the person is who the token will say.
    const code = `code-${Math.random().toString(36).slice(2)}`;
    codes.set(code, url.searchParams.get('nonce'));
    const back = new URL(url.searchParams.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', url.searchParams.get('state'));
    res.statusCode = 303;
    res.setHeader('location', back.href);
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const form = await body(req);
    const nonce = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    if (nonce === undefined) return json(res, 400, { error: 'invalid_grant' });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: fault === 'wrong_issuer' ? 'https://another-issuer.example' : issuer,
      aud: fault === 'wrong_audience' ? 'another-client' : clientId,
      sub: 'forged-subject',
      email,
      email_verified: fault !== 'unverified_email',
      nonce: fault === 'wrong_nonce' ? 'not-the-nonce-that-was-sent' : nonce,
      iat: fault === 'not_yet_valid' ? now + 3600 : fault === 'expired' ? now - 7200 : now,
      exp: fault === 'expired' ? now - 3600 : fault === 'not_yet_valid' ? now + 7200 : now + 300,
    };
    const [key, kid] = fault === 'bad_signature' ? [stranger, 'k1'] : fault === 'rotated_key' ? [second, 'k2'] : [first, 'k1'];
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key.privateKey);
    return json(res, 200, { access_token: 'forged-access-token', token_type: 'Bearer', expires_in: 300, id_token: idToken });
  }
  json(res, 404, { error: 'not_found' });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`ISSUER http://127.0.0.1:${server.address().port}`);
});
