#!/usr/bin/env node
// Generates the labelled detection corpus: core/tests/corpus/crm.jsonl.
//
// Each line is one CRM-like document:
//   {"id": "card-17", "kind": "card", "text": "...",
//    "phones": [{"start_utf16": 12, "end_utf16": 26, "e164": "+14155550134", "ext": null}],
//    "distractors": [{"start_utf16": 40, "end_utf16": 50, "kind": "date"}]}
// Offsets are UTF-16 code units (JS string indices). A phone span covers the number as
// written, from its first character ("+", "(" or a digit) to its last digit, including a
// written extension ("x204", "ext. 12", ";ext=5"). Every phone's E.164 is checked with
// libphonenumber-js (max metadata) so the labels do not depend on our detector.
//
// Usage (from the repository root): node core/tools/gen-corpus.mjs
// Deterministic (seeded PRNG): re-running gives the same file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'package.json'));
const lpnDir = path.dirname(require.resolve('libphonenumber-js/package.json'));
const { parsePhoneNumberFromString, isValidPhoneNumber } = await import(path.join(lpnDir, 'max/index.js'));
const examples = JSON.parse(fs.readFileSync(path.join(lpnDir, 'examples.mobile.json'), 'utf8'));

let seed = 0xc0ffee;
function rnd() {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const chance = (p) => rnd() < p;
const digits = (n) => Array.from({ length: n }, () => int(0, 9)).join('');
const pad = (n, w) => String(n).padStart(w, '0');

// ---------------------------------------------------------------- document builder
class Doc {
  constructor(id, kind) { this.id = id; this.kind = kind; this.text = ''; this.phones = []; this.distractors = []; }
  t(s) { this.text += s; return this; }
  phone(written, e164, ext = null) {
    const start = this.text.length; this.text += written;
    this.phones.push({ start_utf16: start, end_utf16: this.text.length, e164, ext });
    return this;
  }
  d(kind, s) {
    const start = this.text.length; this.text += s;
    this.distractors.push({ start_utf16: start, end_utf16: this.text.length, kind });
    return this;
  }
  json() { return JSON.stringify({ id: this.id, kind: this.kind, text: this.text, phones: this.phones, distractors: this.distractors }); }
}

// ---------------------------------------------------------------- phone numbers
const AREA = [201, 202, 203, 205, 206, 207, 208, 210, 212, 213, 214, 215, 216, 217, 224, 225, 228, 229, 231, 234,
  248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313,
  314, 315, 316, 317, 318, 319, 320, 321, 323, 330, 334, 336, 337, 339, 347, 351, 352, 360, 361, 385, 386, 401, 402,
  404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 425, 430, 432, 434, 435, 440, 443, 469, 470,
  475, 478, 479, 480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516, 517, 518, 520, 530, 540,
  541, 551, 559, 561, 562, 563, 567, 570, 571, 573, 574, 575, 580, 585, 586, 601, 602, 603, 605, 606, 607, 608, 609,
  610, 612, 614, 615, 616, 617, 618, 619, 620, 623, 626, 630, 631, 636, 641, 646, 650, 651, 657, 660, 661, 662, 678,
  682, 701, 702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716, 717, 718, 719, 720, 724, 727, 731, 732, 734, 740,
  754, 757, 760, 763, 765, 770, 772, 773, 774, 775, 781, 785, 786, 801, 802, 803, 804, 805, 806, 808, 810, 812, 813,
  814, 815, 816, 817, 818, 828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857, 858, 859, 860, 862, 863, 864, 865,
  870, 872, 878, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916, 917, 918, 919, 920, 925, 928, 931,
  936, 937, 940, 941, 947, 949, 951, 952, 954, 956, 970, 971, 972, 973, 978, 979, 980, 985, 989,
  416, 604, 514, 403, 613, 780, 902, 506, 800, 888, 877, 866, 855, 844, 833];

/** A valid NANP number as [area, exchange, line] strings. */
function nanp() {
  for (;;) {
    const a = String(pick(AREA));
    const x = chance(0.3) ? '555' : String(int(200, 999));
    const l = chance(0.3) && x === '555' ? '01' + pad(int(0, 99), 2) : pad(int(0, 9999), 4);
    if (isValidPhoneNumber('+1' + a + x + l)) return [a, x, l];
  }
}

const NANP_FORMATS = [
  [8, ([a, x, l]) => `(${a}) ${x}-${l}`],
  [8, ([a, x, l]) => `${a}-${x}-${l}`],
  [4, ([a, x, l]) => `${a}.${x}.${l}`],
  [3, ([a, x, l]) => `${a} ${x} ${l}`],
  [2, ([a, x, l]) => `(${a})${x}-${l}`],
  [2, ([a, x, l]) => `1-${a}-${x}-${l}`],
  [1, ([a, x, l]) => `1 (${a}) ${x}-${l}`],
  [1, ([a, x, l]) => `1.${a}.${x}.${l}`],
  [3, ([a, x, l]) => `+1 ${a}-${x}-${l}`],
  [3, ([a, x, l]) => `+1 (${a}) ${x}-${l}`],
  [2, ([a, x, l]) => `+1 ${a} ${x} ${l}`],
  [2, ([a, x, l]) => `+1.${a}.${x}.${l}`],
  [3, ([a, x, l]) => `+1${a}${x}${l}`],
  [2, ([a, x, l]) => `${a}${x}${l}`],
  [1, ([a, x, l]) => `1${a}${x}${l}`],
  [1, ([a, x, l]) => `${a}-${x}${l}`],
];
const weighted = (list) => { const total = list.reduce((s, [w]) => s + w, 0); let r = rnd() * total; for (const [w, f] of list) { if ((r -= w) < 0) return f; } return list[0][1]; };

const EXT_FORMATS = [
  (e) => [` x${e}`, e], (e) => [`x${e}`, e], (e) => [` ext. ${e}`, e], (e) => [` ext ${e}`, e], (e) => [` Ext. ${e}`, e],
  (e) => [`, extension ${e}`, e], (e) => [` extension ${e}`, e], (e) => [` x ${e}`, e],
];

/** A NANP phone as written, with its E.164 and extension. */
function nanpPhone(opts = {}) {
  const n = nanp();
  let written = weighted(NANP_FORMATS)(n);
  let ext = null;
  if (opts.ext ?? chance(0.1)) {
    const e = String(int(1, 9999));
    const [suffix, ex] = pick(EXT_FORMATS)(e);
    written += suffix; ext = ex;
  }
  return { written, e164: '+1' + n.join(''), ext };
}

/** International numbers: fixed-line examples (facts) and each region's mobile example. */
const INTL_SEEDS = ['+442079460', '+4930901820', '+33142685', '+81312345', '+862161234', '+61290001', '+912261234',
  '+551130001', '+525550001', '+34915001', '+390660001', '+31201234', '+41446681', '+46812345', '+4722123',
  '+353120001', '+6562341', '+85228001', '+97143001', '+27211234', '+82220001', '+48221234', '+4319001', '+3222001'];
const INTL_REGIONS = ['GB', 'DE', 'FR', 'JP', 'CN', 'AU', 'IN', 'BR', 'MX', 'ES', 'IT', 'NL', 'CH', 'SE', 'NO', 'IE',
  'SG', 'HK', 'AE', 'ZA', 'KR', 'PL', 'AT', 'BE', 'PH', 'NG', 'IL', 'AR', 'CO', 'NZ', 'PT', 'DK', 'FI', 'TR', 'EG'];
function intlNumber() {
  for (;;) {
    let candidate;
    if (chance(0.5)) {
      const s = pick(INTL_SEEDS);
      // Complete to a plausible length by trying lengths until libphonenumber says valid.
      for (let extra = 2; extra <= 6 && !candidate; extra++) {
        const c = s + digits(extra);
        if (isValidPhoneNumber(c)) candidate = c;
      }
    } else {
      const r = pick(INTL_REGIONS);
      const ex = examples[r];
      const cc = parsePhoneNumberFromString(ex, r).countryCallingCode;
      const c = '+' + cc + ex.slice(0, ex.length - 3) + digits(3);
      if (isValidPhoneNumber(c)) candidate = c;
    }
    if (candidate) return parsePhoneNumberFromString(candidate);
  }
}
function intlPhone() {
  const pn = intlNumber();
  const intl = pn.formatInternational();
  const cc = pn.countryCallingCode;
  const rest = intl.slice(cc.length + 2);
  const r = rnd();
  let written;
  if (r < 0.5) written = intl;
  else if (r < 0.62) written = pn.number;
  else if (r < 0.72) written = `+${cc} ${rest.replace(/ /g, '-')}`;
  else if (r < 0.8) written = `00${cc} ${rest}`;
  else if (r < 0.86) written = `011 ${cc} ${rest}`;
  else if (r < 0.93 && ['44', '49', '41', '31', '43', '39'].includes(cc) && pn.nationalNumber[0] !== '0') written = `+${cc} (0)${rest}`;
  else written = `+${cc} ${rest.replace(/ /g, '.')}`;
  return { written, e164: pn.number, ext: null };
}

// ---------------------------------------------------------------- people, places
const FIRST = ['José', 'Zoë', 'Łukasz', 'Søren', 'Chloé', 'Jürgen', 'Siobhán', 'Renée', 'Ana', 'Priya', 'Mei', 'Olusegun',
  'Aarav', 'François', 'Björn', 'Noémie', 'Dmitri', 'Fatima', 'Hiroshi', 'Ngọc', 'Maria', 'John', 'Emily', 'Carlos',
  'Aisha', 'David', 'Sarah', 'Wei', 'Kenji', 'Olga', '田中', '王', '김', 'Ahmed', 'Lucía', 'Thomas', 'Ines'];
const LAST = ['Müller', 'García', 'Nguyễn', 'O’Brien', 'Kowalski', 'Dubois', 'Smith', 'Johnson', 'Sørensen', 'Åberg',
  'Núñez', 'Patel', 'Chen', 'Okafor', 'Rossi', 'Yamamoto', '太郎', '伟', '민준', 'Schröder', 'Brown', 'Lefèvre'];
const COMPANY = ['Acme Corp', 'Globex GmbH', 'Initech', 'Umbrella Ltd', 'Société Générale Démo', 'Müller & Söhne KG',
  '株式会社サンプル', 'Stark Industries', 'Wayne Enterprises', 'Hooli', 'Vandelay Industries', 'Pied Piper',
  'Café Olé S.A.', 'Nordic Fjörd AB', '北京示例科技有限公司', 'Soylent Inc.', 'Massive Dynamic'];
const CITY = ['San Francisco, CA', 'New York, NY', 'Austin, TX', 'Chicago, IL', 'Toronto, ON', 'Seattle, WA', 'München',
  'São Paulo', 'Zürich', 'Kraków', 'Montréal, QC', 'Denver, CO', 'Boston, MA', '東京都港区', 'Miami, FL'];
const STREET = ['Main St', 'Market St', 'Elm Ave', 'Oak Blvd', 'Hauptstraße', 'Rue de Rivoli', 'Broadway', 'Calle Mayor'];
const EMOJI = ['🙂', '📞', '✅', '⭐', '🚀', '📅', '👍', '🔥', '💼', '📌', '☕', '🎉'];
const name = () => `${pick(FIRST)} ${pick(LAST)}`;
const sp = () => (chance(0.15) ? ` ${pick(EMOJI)} ` : ' ');

const PHONE_LABELS = ['Phone: ', 'Phone ', 'Tel: ', 'Tel. ', 'Mobile: ', 'Mobile ', 'Cell: ', 'Office: ', 'Fax: ', 'Work: ',
  'Direct: ', 'Main: ', 'Téléphone : ', 'Telefon: ', 'Teléfono: ', 'T: ', 'M: ', 'F: ', 'P: ', '☎ ', '📞 ', 'Ph: ',
  'Phone number: ', 'Mobile no. ', 'Home: ', 'Tel ', '電話：', 'Contact: ', 'Call ', 'Hotline: '];

function anyPhone(opts = {}) {
  return chance(opts.intl ?? 0.22) ? intlPhone() : nanpPhone(opts);
}
function addPhone(doc, p) { doc.phone(p.written, p.e164, p.ext); }
/** A bare-digit NANP number after a phone label (a phone even though the digits are bare). */
function labelledBare(doc) {
  const n = nanp();
  const w = chance(0.8) ? n.join('') : '1' + n.join('');
  doc.t(pick(['Phone: ', 'Tel ', 'Mobile: ', 'Fax: ', '☎ ', 'Cell ', 'Tel: ']));
  doc.phone(w, '+1' + n.join(''));
}

// ---------------------------------------------------------------- distractors
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function validDigits10() { return nanp().join(''); }
const D = {
  date: () => {
    const y = int(1998, 2027), m = int(1, 12), d = int(1, 28);
    return pick([
      `${y}-${pad(m, 2)}-${pad(d, 2)}`, `${pad(m, 2)}/${pad(d, 2)}/${y}`, `${m}/${d}/${String(y).slice(2)}`,
      `${pad(d, 2)}.${pad(m, 2)}.${y}`, `${MONTHS[m - 1]} ${d}, ${y}`, `${y}/${pad(m, 2)}/${pad(d, 2)}`,
      `${pad(d, 2)}-${pad(m, 2)}-${y}`, `${y}${pad(m, 2)}${pad(d, 2)}`, `${d} ${MONTHS[m - 1]} ${y}`,
      `${y}-${pad(m, 2)}-${pad(d, 2)}T${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}Z`,
      `${y}年${m}月${d}日`,
    ]);
  },
  time: () => pick([`${int(1, 12)}:${pad(int(0, 59), 2)} ${pick(['AM', 'PM', 'am', 'pm'])}`, `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}`,
    `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}`, `${int(0, 23)}h${pad(int(0, 59), 2)}`]),
  zip4: () => `${pad(int(10000, 99999), 5)}-${pad(int(0, 9999), 4)}`,
  ssn: () => `${pad(int(100, 665), 3)}-${pad(int(1, 99), 2)}-${pad(int(1, 9999), 4)}`,
  card: () => pick([
    () => `4${digits(3)} ${digits(4)} ${digits(4)} ${digits(4)}`, () => `5${int(1, 5)}${digits(2)}-${digits(4)}-${digits(4)}-${digits(4)}`,
    () => `3${pick(['4', '7'])}${digits(2)} ${digits(6)} ${digits(5)}`, () => `4${digits(15)}`, () => `**** **** **** ${digits(4)}`,
  ])(),
  ip: () => pick([`192.168.${int(0, 255)}.${int(1, 254)}`, `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
    `172.${int(16, 31)}.${int(0, 255)}.${int(1, 254)}`, `${int(11, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`]),
  money: () => pick([`$${int(1, 999)},${pad(int(0, 999), 3)}.${pad(int(0, 99), 2)}`, `$${int(100, 999)},${pad(int(0, 999), 3)},${pad(int(0, 999), 3)}.00`,
    `€${int(1, 99)}.${pad(int(0, 999), 3)},${pad(int(0, 99), 2)}`, `USD ${int(1, 999)},${pad(int(0, 999), 3)},${pad(int(0, 999), 3)}.${pad(int(0, 99), 2)}`,
    `${int(1, 999)} ${pad(int(0, 999), 3)} ${pad(int(0, 999), 3)},${pad(int(0, 99), 2)} €`, `£${int(1000, 99999)}.${pad(int(0, 99), 2)}`,
    `$${int(1, 9)},${pad(int(0, 999), 3)},${pad(int(0, 999), 3)},${pad(int(0, 999), 3)}`]),
  version: () => pick([`v${int(1, 20)}.${int(0, 30)}.${int(0, 99)}`, `${int(1, 20)}.${int(0, 30)}.${int(0, 999)}`,
    `10.0.${int(10000, 22999)}.${int(100, 4999)}`, `${int(100, 140)}.0.${int(1000, 6999)}.${int(10, 200)}`, `build ${int(2019, 2025)}.${int(1, 12)}.${int(1, 9999)}`]),
  isbn: () => pick(['ISBN 978-0-306-40615-7', 'ISBN-13: 978-1-4028-9462-6', 'ISBN 0-306-40615-2', '978-3-16-148410-0', 'ISBN 9780306406157',
    `978-${int(0, 1)}-${digits(3)}-${digits(5)}-${int(0, 9)}`, `ISBN ${int(0, 1)}-${digits(4)}-${digits(4)}-${int(0, 9)}`]),
  tracking: () => pick([`1Z${digits(3)}${pick(['AA', 'E0', 'X4'])}${digits(10)}`, `${digits(4)} ${digits(4)} ${digits(4)}`,
    `9400 ${digits(4)} ${digits(4)} ${digits(4)} ${digits(4)} ${digits(2)}`, `92${digits(20)}`, `${digits(12)}`,
    `JD${digits(16)}`, `${digits(4)} ${digits(4)} ${digits(4)} ${digits(4)} ${digits(4)} ${digits(2)}`]),
  year_range: () => { const y = int(1990, 2024); return pick([`${y}-${y + int(1, 6)}`, `${y}–${y + int(1, 6)}`, `${y}/${String(y + 1).slice(2)}`, `FY${y}-${y + 1}`, `${y} - ${y + int(1, 5)}`]); },
  coordinates: () => {
    const la = (rnd() * 180 - 90).toFixed(int(4, 6)), lo = (rnd() * 360 - 180).toFixed(int(4, 6));
    return pick([`${la}, ${lo}`, `${la},${lo}`, `${Math.abs(la)}° N, ${Math.abs(lo)}° W`, `(${la}, ${lo})`, `${la} ${lo}`]);
  },
  percentage: () => pick([`${int(1, 99)}.${int(0, 9)}%`, `${int(1, 100)}%`, `${int(1, 99)}.${pad(int(0, 99), 2)} %`, `+${int(1, 40)}.${int(0, 9)}%`]),
  glued: () => pick([`SKU${validDigits10()}`, `A${validDigits10()}B`, `ID${validDigits10()}`, `X${nanp().join('-')}`,
    `${validDigits10()}abc`, `INV-${validDigits10()}`, `#${validDigits10()}`, `REF${validDigits10()}`, `user_${validDigits10()}`,
    `${validDigits10()}kg`, `SN:${validDigits10()}X`]),
  labelled_id: () => {
    const label = pick(['Order #', 'Order # ', 'Order: ', 'Order No. ', 'Invoice ', 'Invoice #', 'Invoice No: ', 'Policy ', 'Policy No. ',
      'Policy #', 'Claim ', 'Claim #', 'Claim number: ', 'Account ', 'Account: ', 'Account #', 'Account number ', 'Acct ',
      'Acct# ', 'Ticket #', 'Ticket ', 'Case ', 'Case #', 'Case No. ', 'Member ID ', 'Member ID: ', 'PO ', 'PO# ', 'PO #',
      'Ref: ', 'Ref ', 'Reference: ', 'Loan ', 'Loan #', 'Loan number: ', 'Tracking ', 'Tracking #', 'Tracking number: ',
      'Confirmation #', 'Booking ref ', 'Customer ID: ', 'Serial No. ', 'Contract ', 'Quote #', 'Transaction ID: ', 'RMA #',
      'Subscriber ID ', 'Patient ID: ', 'MRN ', 'License # ', 'Rechnung Nr. ', 'Commande n° ', 'Factura ']);
    const n = nanp();
    const digitsPart = pick([n.join(''), n.join(''), n.join(''), `${n[0]}-${n[1]}-${n[2]}`, '1' + n.join('')]);
    return [label, digitsPart];
  },
  invalid_phone: () => pick(['123-456-7890', '(555) 123-4567', '000-000-0000', `(${int(100, 199)}) ${int(200, 999)}-${pad(int(0, 9999), 4)}`,
    `${int(200, 999)}-${pad(int(0, 199), 3)}-${pad(int(0, 9999), 4)}`, `911-${int(200, 999)}-${pad(int(0, 9999), 4)}`,
    `+999 ${digits(3)} ${digits(4)}`, `${int(200, 999)}-${int(200, 999)}-${digits(5)}`]),
};
const DKINDS = Object.keys(D);
/** Appends a distractor of `kind`; labelled IDs keep their label outside the span. */
function addD(doc, kind) {
  const v = D[kind]();
  if (Array.isArray(v)) { doc.t(v[0]); doc.d(kind, v[1]); } else doc.d(kind, v);
}

// ---------------------------------------------------------------- documents
function contactCard(id) {
  const doc = new Doc(id, 'card');
  doc.t(`${name()}${sp()}\n${pick(['VP Sales', 'Account Manager', 'CTO', 'Buyer', 'Office Manager', 'Directeur commercial'])} — ${pick(COMPANY)}\n`);
  for (let i = 0, n = int(1, 3); i < n; i++) {
    doc.t(pick(PHONE_LABELS)); addPhone(doc, anyPhone()); doc.t('\n');
  }
  doc.t(`Address: ${int(1, 9999)} ${pick(STREET)}, ${pick(CITY)} `); addD(doc, 'zip4'); doc.t('\n');
  doc.t('Customer since '); addD(doc, 'date'); doc.t('\n');
  if (chance(0.7)) { addD(doc, 'labelled_id'); doc.t('\n'); }
  if (chance(0.4)) { doc.t('Last contact: '); addD(doc, 'date'); doc.t(' at '); addD(doc, 'time'); doc.t('\n'); }
  if (chance(0.3)) { labelledBare(doc); doc.t('\n'); }
  if (chance(0.3)) { doc.t('SSN on file: '); addD(doc, 'ssn'); doc.t('\n'); }
  return doc;
}

function tableRows(id) {
  const doc = new Doc(id, 'table');
  const sep = pick([' | ', '\t', ' │ ']);
  doc.t(['Name', 'Order', 'Date', 'Amount', 'Phone', 'Status'].join(sep) + '\n');
  for (let i = 0, n = int(3, 8); i < n; i++) {
    doc.t(name() + sep);
    doc.t(pick([`SO-${int(100000, 999999)}`, `#${int(10000, 999999)}`, `INV-${int(2019, 2025)}-${pad(int(1, 99999), 5)}`, `${int(100000, 9999999)}`]) + sep);
    addD(doc, 'date'); doc.t(sep);
    addD(doc, 'money'); doc.t(sep);
    addPhone(doc, anyPhone({ intl: 0.15, ext: chance(0.05) })); doc.t(sep);
    doc.t(pick(['Open', 'Closed ✅', 'Pending', 'Won 🎉', 'Lost', 'Réglé', '保留中']) + '\n');
  }
  return doc;
}

function note(id) {
  const doc = new Doc(id, 'note');
  const who = name();
  doc.t(`${pick(['Called', 'Spoke with', 'Left voicemail for', 'Emailed', 'Met'])} ${who} on `); addD(doc, 'date');
  doc.t(' at '); addD(doc, 'time'); doc.t(`.${sp()}`);
  doc.t(pick(['Asked us to call back at ', 'Best number: ', 'Reach her at ', 'New direct line ', 'Prefers mobile, ', 'Call him on ']));
  addPhone(doc, anyPhone()); doc.t(pick(['. ', ', ', ' — ', '; ']));
  const k1 = pick(DKINDS);
  doc.t(pick(['Re: ', 'Regarding ', 'About ', 'Note: ', 'FYI ']));
  addD(doc, k1); doc.t('. ');
  const k2 = pick(DKINDS);
  doc.t(pick(['Also mentioned ', 'See ', 'Details: ', 'Ref. data ', 'Logged ']));
  addD(doc, k2);
  if (chance(0.5)) { doc.t(`. Alternate: `); addPhone(doc, anyPhone()); }
  doc.t(`.${chance(0.3) ? ' ' + pick(EMOJI) : ''}\n`);
  return doc;
}

function signature(id) {
  const doc = new Doc(id, 'signature');
  doc.t(`--\n${name()} | ${pick(['Senior Consultant', 'Head of Support', 'Kundenbetreuer', 'Ingénieure'])}\n${pick(COMPANY)}\n`);
  const sepr = pick([' | ', ' · ', '\n', '  ']);
  doc.t(pick(['T: ', 'Tel: ', 'O: ', 'Office ', 'Direct: ', 'P: ']));
  addPhone(doc, anyPhone({ intl: 0.3 }));
  if (chance(0.7)) { doc.t(sepr + pick(['M: ', 'Mobile: ', 'Cell: ', 'C: ', 'Mob. '])); addPhone(doc, anyPhone({ intl: 0.3 })); }
  if (chance(0.3)) { doc.t(sepr + pick(['F: ', 'Fax: '])); addPhone(doc, anyPhone({ intl: 0.3, ext: false })); }
  doc.t(`\n${int(1, 999)} ${pick(STREET)}, ${pick(CITY)}\n`);
  if (chance(0.4)) { doc.t('📍 '); addD(doc, 'coordinates'); doc.t('\n'); }
  if (chance(0.3)) { doc.t(`Sent from app `); addD(doc, 'version'); doc.t('\n'); }
  return doc;
}

function activityLog(id) {
  const doc = new Doc(id, 'log');
  for (let i = 0, n = int(3, 7); i < n; i++) {
    addD(doc, 'date'); doc.t(' ');
    const r = rnd();
    if (r < 0.4) { doc.t(pick(['Outbound call to ', 'Inbound call from ', 'Missed call from ', 'SMS to '])); addPhone(doc, anyPhone({ ext: false })); doc.t(` (${int(0, 59)}m ${int(0, 59)}s)`); }
    else if (r < 0.55) { doc.t('Payment received '); addD(doc, 'money'); doc.t(' card '); addD(doc, 'card'); }
    else if (r < 0.65) { doc.t('Login from '); addD(doc, 'ip'); doc.t(' client '); addD(doc, 'version'); }
    else if (r < 0.75) { doc.t('Shipped, '); addD(doc, 'labelled_id'); doc.t(' via '); addD(doc, 'tracking'); }
    else if (r < 0.85) { doc.t('Renewal '); addD(doc, 'year_range'); doc.t(' discount '); addD(doc, 'percentage'); }
    else { doc.t('Updated record: '); addD(doc, pick(DKINDS)); }
    doc.t('\n');
  }
  return doc;
}

function misc(id) {
  const doc = new Doc(id, 'misc');
  for (let i = 0, n = int(4, 9); i < n; i++) {
    const k = pick(DKINDS);
    const lead = {
      isbn: 'Book: ', tracking: pick(['Tracking: ', 'UPS ', 'FedEx ', 'Shipment ', 'Parcel ']), money: 'Total ',
      coordinates: 'Location ', percentage: 'Win rate ', version: 'Version ', ip: 'IP ', card: 'Card ', ssn: 'SSN ',
      zip4: 'ZIP ', date: 'Due ', time: 'Meeting ', year_range: 'Term ', glued: 'Code ', labelled_id: '', invalid_phone: 'Placeholder: ',
    }[k];
    doc.t(lead); addD(doc, k); doc.t(pick(['; ', '\n', ' · ', ', ', ' — ']));
    if (chance(0.25)) { doc.t(pick(PHONE_LABELS)); addPhone(doc, anyPhone()); doc.t('\n'); }
  }
  return doc;
}

const out = [];
const kinds = [[contactCard, 260], [tableRows, 130], [note, 330], [signature, 260], [activityLog, 170], [misc, 300]];
for (const [f, n] of kinds) for (let i = 0; i < n; i++) out.push(f(`${f.name}-${i}`).json());
const file = path.join(root, 'core/tests/corpus/crm.jsonl');
fs.writeFileSync(file, out.join('\n') + '\n');
let phones = 0, distractors = 0; const byKind = {};
for (const line of out) { const o = JSON.parse(line); phones += o.phones.length; distractors += o.distractors.length; for (const d of o.distractors) byKind[d.kind] = (byKind[d.kind] || 0) + 1; }
console.log(`wrote ${file}: ${out.length} documents, ${phones} phones, ${distractors} distractors`, byKind, `${fs.statSync(file).size} bytes`);
