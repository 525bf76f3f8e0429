// The peer for `mpt-loadgen`'s token benchmark: the usual token server, i.e. Twilio's
// official Node helper library (`twilio` 6.x: `jwt.AccessToken` + `VoiceGrant`) behind a
// minimal Express 5 app.
//
// Per request it does: parse the `Authorization: Bearer …` header, compare it in
// constant time with a shared secret (crypto.timingSafeEqual), mint a Voice access
// token (HS256 JWT, identity + outgoing application + incoming allow, TTL 3600 s) and
// answer JSON `{token, identity, ttl_seconds, expires_at}`.
//
// Usage (from the repository root, where node_modules is):
//   BENCH_BEARER=secret node tests/bench/node-token-server.mjs
// Listens on 127.0.0.1, port 0 (or $PORT); prints {"event":"listening","url":…} once
// ready; exits on SIGTERM/SIGINT.
import crypto from 'node:crypto';
import express from 'express';
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

const ACCOUNT_SID = process.env.BENCH_ACCOUNT_SID || 'AC' + 'a'.repeat(32);
const API_KEY_SID = process.env.BENCH_API_KEY_SID || 'SK' + 'b'.repeat(32);
const API_KEY_SECRET = process.env.BENCH_API_KEY_SECRET || 'bench-api-key-secret-0123456789ab';
const APP_SID = process.env.BENCH_TWIML_APP_SID || 'AP' + 'c'.repeat(32);
const BEARER = Buffer.from(process.env.BENCH_BEARER || 'bench-bearer-secret');
const TTL = 3600;

function authorized(req) {
  const h = req.get('authorization') || '';
  if (!h.startsWith('Bearer ')) return false;
  const given = Buffer.from(h.slice(7));
  return given.length === BEARER.length && crypto.timingSafeEqual(given, BEARER);
}

const app = express();
app.disable('x-powered-by');
app.post('/token', (req, res) => {
  if (!authorized(req)) {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  const identity = 'bench-agent';
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity, ttl: TTL });
  token.addGrant(new VoiceGrant({ outgoingApplicationSid: APP_SID, incomingAllow: true }));
  res.json({ token: token.toJwt(), identity, ttl_seconds: TTL, expires_at: Date.now() + TTL * 1000 });
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}` }));
});
server.keepAliveTimeout = 65_000;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
