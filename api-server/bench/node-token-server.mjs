// The comparison point for `mpt-api-bench`: Twilio's official Node helper library
// minting Voice access tokens behind a minimal Express server. Prints
// {"event":"listening","url":…} once ready. Run from the repository root (node_modules).
import express from 'express';
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

const ACCOUNT_SID = 'AC' + '0'.repeat(32);
const API_KEY_SID = 'SK' + '0'.repeat(32);
const API_KEY_SECRET = 'bench-secret-bench-secret-012345';
const APP_SID = 'AP' + '0'.repeat(32);

const app = express();
app.post('/token', (req, res) => {
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity: 'bench-agent', ttl: 3600 });
  token.addGrant(new VoiceGrant({ outgoingApplicationSid: APP_SID, incomingAllow: true }));
  res.json({ token: token.toJwt(), identity: 'bench-agent', ttl_seconds: 3600 });
});
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
