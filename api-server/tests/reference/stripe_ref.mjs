// Reference oracle: Stripe's official Node library (npm `stripe`).
//
// Reads a JSON array of requests on stdin and prints the array of answers, in order:
//   {"op":"sign", payload, secret, timestamp}            -> {header}   (webhooks.generateTestHeaderString)
//   {"op":"verify", payload, header, secret, tolerance}  -> {ok, reason?} (webhooks.constructEvent)
//   {"op":"checkout", base, key, params}                 -> {id, url}  (checkout.sessions.create)
//   {"op":"portal", base, key, params}                   -> {id, url}  (billingPortal.sessions.create)
// `base` is a local capture server (http://127.0.0.1:PORT): the library is pointed at it
// with its own host/port/protocol options, so what it sends can be compared with ours.
// Used by api-server/tests/api/billing*.rs.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Stripe = require("stripe");

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));

function client(req) {
  const u = new URL(req.base);
  return new Stripe(req.key, { host: u.hostname, port: Number(u.port), protocol: u.protocol.replace(":", "") });
}

const offline = new Stripe("sk_test_offline");
const answers = [];
for (const req of requests) {
  try {
    switch (req.op) {
      case "sign":
        answers.push({
          header: offline.webhooks.generateTestHeaderString({ payload: req.payload, secret: req.secret, timestamp: req.timestamp }),
        });
        break;
      case "verify":
        try {
          offline.webhooks.constructEvent(req.payload, req.header, req.secret, req.tolerance ?? 300);
          answers.push({ ok: true });
        } catch (e) {
          answers.push({ ok: false, reason: e.message });
        }
        break;
      case "checkout": {
        const s = await client(req).checkout.sessions.create(req.params);
        answers.push({ id: s.id, url: s.url });
        break;
      }
      case "portal": {
        const s = await client(req).billingPortal.sessions.create(req.params);
        answers.push({ id: s.id, url: s.url });
        break;
      }
      default:
        answers.push({ error: `unknown op ${req.op}` });
    }
  } catch (e) {
    answers.push({ error: `${e.name}: ${e.message}` });
  }
}
process.stdout.write(JSON.stringify(answers));
