// Real OpenID providers for the hub's tests: panva's oidc-provider (certified), with its development
// login and consent pages. Started by tests/oidc/conftest.py as `node server.mjs CONFIG.json`; one
// process serves every provider CONFIG lists, each on its own port (its own issuer).
//
// CONFIG.json: {"state": "/path/state.json",
//               "providers": [{"issuer": "http://127.0.0.1:N", "port": N, "clients": [...], "jwks": {...}}]}
// state.json is read at every use, so a test changes users, the ID token lifetime and the provider's
// clock without a restart:
//   {"users": {"ISSUER": {"alice": {"email": ..., "email_verified": true, "groups": [...]}}},
//    "id_token_ttl": 3600, "clock_offset": 0}
// The account id is what is typed into the login page's first field (any password is accepted).
import fs from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const readState = () => JSON.parse(fs.readFileSync(config.state, 'utf8'));

// a provider whose clock is wrong (expired ID tokens): Date.now shifted by state.clock_offset seconds
const realNow = Date.now;
let offset = 0;
Date.now = () => realNow() + offset * 1000;
setInterval(() => {
  try { offset = readState().clock_offset ?? 0; } catch { /* being rewritten */ }
}, 50).unref();

for (const p of config.providers) {
  const provider = new Provider(p.issuer, {
    clients: p.clients,
    jwks: p.jwks,
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'eduperson_entitlement', 'groups', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'eduperson_orcid'],
      eduperson_entitlement: ['eduperson_entitlement'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: {
      IdToken: () => readState().id_token_ttl ?? 3600,
    },
    cookies: { keys: ['halric-test-provider-cookie-key'] },
    async findAccount(ctx, id) {
      const user = (readState().users[p.issuer] || {})[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...user };
        },
      };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.listen(p.port, '127.0.0.1', () => console.log('listening ' + p.issuer));
}
