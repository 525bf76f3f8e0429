// Reference oracle for Twilio REST requests: Twilio's official Node library (npm
// `twilio`) runs the provisioning sequence against a stand-in, so the requests it
// sends can be compared with ours (twilio/tests/rest_reference.rs).
//
// Reads JSON on stdin: {base, account_sid, auth_token, main_number_sid, friendly_name,
// key_name, app: {friendly_name, voice_url, status_callback}, country, area_code}.
// Runs, in order: create subaccount, create API key, create TwiML App, list one
// available local number, buy it, suspend and reactivate the subaccount, transfer a
// main-account number into the subaccount and point it at the app, then read the
// subaccount and list its numbers (the admin's verify). Prints {ok: true}
// or {error}.
//
// The library talks to https://api.twilio.com; a custom httpClient wraps the library's
// own RequestClient (which builds the auth header and encodes the form) and only
// rewrites the origin to the stand-in's.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const twilio = require("twilio");

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const inner = new twilio.RequestClient();
const httpClient = {
  request(opts) {
    opts.uri = opts.uri.replace(/^https:\/\/api\.twilio\.com/, req.base);
    return inner.request(opts);
  },
};

try {
  const client = twilio(req.account_sid, req.auth_token, { httpClient });
  const api = client.api.v2010;
  const sub = await api.accounts.create({ friendlyName: req.friendly_name });
  const acct = api.accounts(sub.sid);
  await acct.newKeys.create({ friendlyName: req.key_name });
  const app = await acct.applications.create({
    friendlyName: req.app.friendly_name,
    voiceUrl: req.app.voice_url,
    voiceMethod: "POST",
    statusCallback: req.app.status_callback,
    statusCallbackMethod: "POST",
  });
  const available = await acct.availablePhoneNumbers(req.country).local.list({ areaCode: req.area_code, limit: 1 });
  await acct.incomingPhoneNumbers.create({ phoneNumber: available[0].phoneNumber, voiceApplicationSid: app.sid });
  await api.accounts(sub.sid).update({ status: "suspended" });
  await api.accounts(sub.sid).update({ status: "active" });
  await api.accounts(req.account_sid).incomingPhoneNumbers(req.main_number_sid).update({ accountSid: sub.sid });
  await acct.incomingPhoneNumbers(req.main_number_sid).update({ voiceApplicationSid: app.sid });
  await api.accounts(sub.sid).fetch();
  await acct.incomingPhoneNumbers.list({ pageSize: 50, limit: 50 });
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: `${e.name}: ${e.message} ${e.status ?? ""} ${JSON.stringify(e.moreInfo ?? "")}` }));
}
