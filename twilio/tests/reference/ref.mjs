// Reference oracle: Twilio's official Node helper library (npm `twilio`).
//
// Reads JSON on stdin: one request object, or an array of them (answered with an
// array, in order). Prints the library's result as JSON on stdout.
//
//   {"op":"token", account_sid, api_key_sid, secret, identity, ttl, now,
//    incoming_allow, outgoing_application_sid?, outgoing_params?, nbf?} -> {jwt}
//   {"op":"verify_token", jwt, secret, now}                       -> {ok, claims?, header?, reason?}
//   {"op":"signature", auth_token, url, params}                   -> {signature}
//   {"op":"validate", auth_token, signature, url, params}         -> {valid}
//   {"op":"validate_body", auth_token, signature, url, body}      -> {valid}
//   {"op":"twiml", tree: {name, attrs:[[k,v]...], text, children}} -> {xml}
//
// `params` is an object whose values are strings, or arrays of strings for a
// repeated name (the shape Express gives the library).
// Used by twilio/tests/reference.rs; run it from anywhere (module resolution walks
// up to the workspace's node_modules).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const twilio = require("twilio");
const jsonwebtoken = require("jsonwebtoken");

function withFixedNow(nowSecs, f) {
  const real = Date.now;
  Date.now = () => nowSecs * 1000;
  try {
    return f();
  } finally {
    Date.now = real;
  }
}

function token(req) {
  const { AccessToken } = twilio.jwt;
  const t = new AccessToken(req.account_sid, req.api_key_sid, req.secret, {
    identity: req.identity,
    ttl: req.ttl,
    nbf: req.nbf ?? undefined,
  });
  const grant = new AccessToken.VoiceGrant({
    incomingAllow: req.incoming_allow,
    outgoingApplicationSid: req.outgoing_application_sid ?? undefined,
    outgoingApplicationParams: req.outgoing_params ?? undefined,
  });
  t.addGrant(grant);
  return { jwt: withFixedNow(req.now, () => t.toJwt()) };
}

function verifyToken(req) {
  try {
    const claims = jsonwebtoken.verify(req.jwt, req.secret, {
      algorithms: ["HS256"],
      clockTimestamp: req.now,
    });
    const header = jsonwebtoken.decode(req.jwt, { complete: true }).header;
    return { ok: true, claims, header };
  } catch (e) {
    return { ok: false, reason: `${e.name}: ${e.message}` };
  }
}

// Library attribute values are JS values: render "true"/"false" and plain
// integers the way an application would pass them (booleans and numbers).
function jsValue(v) {
  if (v === "true") return true;
  if (v === "false") return false;
  if (/^(0|[1-9][0-9]{0,8})$/.test(v)) return Number(v);
  return v;
}

function lcfirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

// Builds `node` children with the library's own typed methods (dial(), number()…).
function build(parent, el) {
  const method = lcfirst(el.name);
  if (typeof parent[method] !== "function") {
    throw new Error(`the library has no ${method}() on ${parent.constructor.name}`);
  }
  const attrs = {};
  for (const [k, v] of el.attrs) attrs[k] = jsValue(v);
  const node = el.text == null ? parent[method](attrs) : parent[method](attrs, el.text);
  for (const c of el.children) build(node, c);
}

function twiml(req) {
  if (req.tree.name !== "Response") throw new Error("root must be Response");
  const r = new twilio.twiml.VoiceResponse();
  for (const c of req.tree.children) build(r, c);
  return { xml: r.toString() };
}

function handle(req) {
  try {
    switch (req.op) {
      case "token":
        return token(req);
      case "verify_token":
        return verifyToken(req);
      case "signature":
        return { signature: twilio.getExpectedTwilioSignature(req.auth_token, req.url, req.params) };
      case "validate":
        return { valid: twilio.validateRequest(req.auth_token, req.signature, req.url, req.params) };
      case "validate_body":
        return { valid: twilio.validateRequestWithBody(req.auth_token, req.signature, req.url, req.body) };
      case "twiml":
        return twiml(req);
      default:
        return { error: `unknown op ${req.op}` };
    }
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const out = Array.isArray(req) ? req.map(handle) : handle(req);
  process.stdout.write(JSON.stringify(out));
});
