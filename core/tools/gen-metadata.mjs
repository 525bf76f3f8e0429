#!/usr/bin/env node
// Generates core/src/phone/metadata.rs from libphonenumber's public metadata as
// shipped by the libphonenumber-js npm package (metadata.max.json). Facts only: for every
// country calling code, which national-number lengths are valid for which two leading
// digits, how numbers are grouped for display, each region's national and international
// prefixes, and which NANP area codes are assigned.
//
// Usage (from the repository root): node core/tools/gen-metadata.mjs
// Deterministic: a seeded PRNG drives the sampling, so re-running gives the same file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'package.json'));
const lpnDir = path.dirname(require.resolve('libphonenumber-js/package.json'));
const meta = JSON.parse(fs.readFileSync(path.join(lpnDir, 'metadata.max.json'), 'utf8'));
const lpnVersion = JSON.parse(fs.readFileSync(path.join(lpnDir, 'package.json'), 'utf8')).version;
const { parsePhoneNumberFromString } = await import(path.join(lpnDir, 'max/index.js'));

// Mulberry32: small seeded PRNG so the output is reproducible.
let seed = 0x5eed1234;
function rnd() {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randDigits = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(rnd() * 10); return s; };

/** Returns a valid national number with this prefix and length, or null. */
function findSample(res, prefix, len) {
  const rest = len - prefix.length;
  if (rest < 0) return null;
  if (rest <= 3) {
    const n = 10 ** rest;
    for (let i = 0; i < n; i++) {
      const s = prefix + String(i).padStart(rest, '0');
      if (res.some((re) => re.test(s))) return s;
    }
    return null;
  }
  for (let i = 0; i < 400; i++) {
    // Fix the next one or two digits systematically, the rest at random.
    let s;
    if (i < 100) s = prefix + String(i).padStart(2, '0') + randDigits(rest - 2);
    else s = prefix + randDigits(rest);
    if (res.some((re) => re.test(s))) return s;
  }
  return null;
}

const templates = [];
const templateIds = new Map();
function templateId(t) {
  if (!templateIds.has(t)) { templateIds.set(t, templates.length); templates.push(t); }
  return templateIds.get(t);
}
/** Replaces the last `n` digits of `formatted` by '#'. */
function toTemplate(formatted, n) {
  const chars = [...formatted];
  let left = n;
  for (let i = chars.length - 1; i >= 0 && left > 0; i--) {
    if (chars[i] >= '0' && chars[i] <= '9') { chars[i] = '#'; left--; }
  }
  return left === 0 ? chars.join('') : null;
}

const ccs = [];
const codes = Object.keys(meta.country_calling_codes).map(Number).sort((a, b) => a - b);
for (const cc of codes) {
  const regions = meta.country_calling_codes[String(cc)];
  const entries = regions.map((r) => (r === '001' ? meta.nonGeographic[String(cc)] : meta.countries[r])).filter(Boolean);
  if (entries.length === 0) continue;
  const res = entries.map((e) => new RegExp('^(?:' + e[2] + ')$'));
  const lengths = [...new Set(entries.flatMap((e) => e[3] || []))].sort((a, b) => a - b);
  const masks = new Array(100).fill(0);
  const fmts = []; // {len, p, nat, intl}
  for (const len of lengths) {
    for (let p = 0; p < 100; p++) {
      const prefix = String(p).padStart(2, '0');
      const sample = cc === 1 ? null : findSample(res, prefix, len);
      if (cc === 1) continue; // NANP is handled by the area-code table below.
      if (!sample) continue;
      masks[p] |= 1 << len;
      const pn = parsePhoneNumberFromString('+' + cc + sample);
      let nat = null; let intl = null;
      if (pn) {
        nat = toTemplate(pn.formatNational(), len);
        const i = pn.formatInternational();
        const head = '+' + cc + ' ';
        if (i.startsWith(head)) intl = toTemplate(i.slice(head.length), len);
      }
      fmts.push({ len, p, nat: nat ?? '#'.repeat(len), intl: intl ?? '#'.repeat(len) });
    }
  }
  // Run-length encode the per-prefix masks.
  const runs = [];
  for (let p = 0; p < 100; p++) if (p === 0 || masks[p] !== masks[p - 1]) runs.push([p, masks[p]]);
  // Merge formats over consecutive prefixes with the same templates, per length.
  const frs = [];
  for (const len of lengths) {
    let cur = null;
    for (const f of fmts.filter((x) => x.len === len)) {
      const nat = templateId(f.nat); const intl = templateId(f.intl);
      if (cur && cur.nat === nat && cur.intl === intl) { cur.end = f.p; continue; }
      cur = { len, start: f.p, end: f.p, nat, intl };
      frs.push(cur);
    }
  }
  ccs.push({ cc, regions, runs, frs });
}

// NANP: which area codes (NPA) are assigned, from every NANP region's pattern.
const nanpRes = meta.country_calling_codes['1'].map((r) => new RegExp('^(?:' + meta.countries[r][2] + ')$'));
const npa = new Array(1000).fill(false);
for (let a = 200; a < 1000; a++) {
  for (let i = 0; i < 60 && !npa[a]; i++) {
    const s = String(a) + String(2 + Math.floor(rnd() * 8)) + randDigits(6);
    if (nanpRes.some((re) => re.test(s))) npa[a] = true;
  }
}
const npaBytes = [];
for (let i = 0; i < 1000; i += 8) {
  let b = 0; for (let j = 0; j < 8; j++) if (i + j < 1000 && npa[i + j]) b |= 1 << j;
  npaBytes.push(b);
}
// NANP display formats come from libphonenumber too.
{
  const pn = parsePhoneNumberFromString('+12015550123');
  const nat = templateId(toTemplate(pn.formatNational(), 10));
  const intl = templateId(toTemplate(pn.formatInternational().slice(3), 10));
  const c1 = ccs.find((c) => c.cc === 1);
  c1.runs = [[0, 1 << 10]];
  c1.frs = [{ len: 10, start: 0, end: 99, nat, intl }];
}

const regionRecs = [];
for (const [r, e] of Object.entries(meta.countries).sort(([a], [b]) => (a < b ? -1 : 1))) {
  const ip = e[1] || '';
  const intl = /^\d+$/.test(ip) ? ip : ip.startsWith('00') ? '00' : '';
  const np = /^\d+$/.test(e[5] || '') ? e[5] : '';
  if (np.length > 2 || intl.length > 4 || Number(e[0]) > 999) throw new Error(`region ${r} does not fit the record`);
  regionRecs.push(r + String(e[0]).padStart(3, '0') + np.padEnd(2, ' ') + intl.padEnd(4, ' '));
}

// Compact encoding: byte blobs and one string, so the wasm carries few pointers.
const ccRows = []; const runBytes = []; const fmtBytes = []; const mains = [];
for (const c of ccs) {
  ccRows.push(`(${c.cc}, ${runBytes.length / 4}, ${fmtBytes.length / 7})`);
  for (const [p, m] of c.runs) runBytes.push(p, m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff);
  for (const f of c.frs) fmtBytes.push(f.len, f.start, f.end, f.nat & 0xff, f.nat >> 8, f.intl & 0xff, f.intl >> 8);
  mains.push(c.regions[0] === '001' ? '00' : c.regions[0]);
}
ccRows.push(`(0, ${runBytes.length / 4}, ${fmtBytes.length / 7})`);
const tplOffsets = []; let tplText = '';
for (const t of templates) { tplOffsets.push(Buffer.byteLength(tplText)); tplText += t; }
tplOffsets.push(Buffer.byteLength(tplText));
if (Buffer.byteLength(tplText) > 65535) throw new Error('templates do not fit u16 byte offsets');

const wrap = (items, per = 16) => { const lines = []; for (let i = 0; i < items.length; i += per) lines.push('    ' + items.slice(i, i + per).join(', ') + ','); return lines; };
const out = [];
out.push('// @generated by core/tools/gen-metadata.mjs — do not edit by hand.');
out.push(`// Source: libphonenumber metadata (Google, Apache-2.0) as shipped in libphonenumber-js ${lpnVersion}`);
out.push(`// (metadata.max.json). Facts only: valid lengths by leading digits, display grouping, prefixes.`);
out.push('//! The generated numbering-plan tables; read them through `super::meta`.');
out.push('#![allow(clippy::unreadable_literal)]');
out.push('');
out.push(`/// Version of libphonenumber-js whose metadata produced this table.`);
out.push(`pub const SOURCE_VERSION: &str = "libphonenumber-js ${lpnVersion} metadata.max.json";`);
out.push('');
out.push('/// Every country calling code, sorted: `(code, first run in RUNS, first format in FORMATS)`;');
out.push('/// the entry after it bounds its ranges (a final sentinel has code 0).');
out.push('pub static CCS: &[(u16, u16, u16)] = &[');
out.push(...wrap(ccRows, 8));
out.push('];');
out.push('');
out.push('/// Main region of each calling code in CCS order, two letters each ("00" = non-geographic).');
out.push(`pub static CC_MAIN_REGION: &str = "${mains.join('')}";`);
out.push('');
out.push('/// Runs over the national number\'s first two digits, 4 bytes each: first prefix of the run');
out.push('/// (00..=99), then the 24-bit little-endian mask of valid national-number lengths.');
out.push('pub static RUNS: &[u8] = &[');
out.push(...wrap(runBytes, 24));
out.push('];');
out.push('');
out.push('/// Display formats, 7 bytes each: length, first and last two-digit prefix, national template');
out.push('/// id (u16 LE), international template id (u16 LE).');
out.push('pub static FORMATS: &[u8] = &[');
out.push(...wrap(fmtBytes, 21));
out.push('];');
out.push('');
out.push('/// Display templates, concatenated; `#` is one digit of the national number.');
out.push(`pub static TEMPLATES: &str = ${JSON.stringify(tplText)};`);
out.push('/// Byte offset of each template in TEMPLATES (and the end).');
out.push('pub static TEMPLATE_OFFSETS: &[u16] = &[');
out.push(...wrap(tplOffsets, 16));
out.push('];');
out.push('');
out.push('/// Regions sorted by code, 11 characters each: code (2), calling code (3 digits), national');
out.push('/// prefix (2, space-padded), international prefix (4, space-padded).');
out.push('pub static REGIONS: &str = concat!(');
for (let i = 0; i < regionRecs.length; i += 8) out.push(`    "${regionRecs.slice(i, i + 8).join('')}",`);
out.push(');');
out.push('');
out.push('/// Assigned NANP area codes: bit `n % 8` of byte `n / 8` is set when area code `n` is in use.');
out.push(`pub static NANP_AREA_CODES: [u8; ${npaBytes.length}] = [`);
out.push(...wrap(npaBytes, 25));
out.push('];');
out.push('');
fs.writeFileSync(path.join(root, 'core/src/phone/metadata.rs'), out.join('\n'));
console.log(`wrote metadata.rs: ${ccs.length} calling codes, ${templates.length} templates, ${regionRecs.length} regions, ${runBytes.length + fmtBytes.length + tplText.length} table bytes`);
