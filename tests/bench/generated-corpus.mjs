// The second corpus: generated at run time from Faker (npm @faker-js/faker), so nobody here
// writes its phones or its look-alikes. Each document is CRM-like text in one locale with
// phones from that locale's own formats beside SSNs, EINs, card numbers, ISBNs, EANs, ZIP+4
// codes, IBANs, dates and labelled order numbers. Gold is the generator's field (a phone or
// not); libphonenumber-js's validity is used only to drop phone samples that are not valid
// numbers of the region (Faker's patterns make some).
import { allFakers } from '@faker-js/faker';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Faker locale → the region an agent there reads national numbers in. */
export const LOCALES = {
  en_US: 'US', en_CA: 'CA', en_GB: 'GB', en_AU: 'AU', de: 'DE', fr: 'FR', es: 'ES', it: 'IT', nl: 'NL', pt_BR: 'BR',
};

const PHONE_TEMPLATES = [
  (p, f) => `Call ${f.person.firstName()} at ${p} about the renewal.`,
  (p) => `Phone: ${p}`,
  (p, f) => `${f.person.fullName()} — ${p} — ${f.company.name()}`,
  (p) => `Left a voicemail on ${p}, will retry tomorrow.`,
  (p, f) => `Mobile ${p} | ${f.internet.email()}`,
];

/** Look-alikes: [label, text]. None of them is a phone. */
function lookAlikes(f) {
  const d = f.date.past({ years: 3 });
  const pad = (n) => String(n).padStart(2, '0');
  return [
    ['ssn', `SSN ${f.string.numeric(3)}-${f.string.numeric(2)}-${f.string.numeric(4)}`],
    ['ein', `EIN ${f.string.numeric(2)}-${f.string.numeric(7)}`],
    ['card', `Card ${f.finance.creditCardNumber()}`],
    ['isbn', `ISBN ${f.commerce.isbn(13)}`],
    ['ean', `EAN ${f.string.numeric({ length: 13, allowLeadingZeros: false })}`],
    ['zip4', `ZIP ${f.location.zipCode('#####-####')}`],
    ['iban', `IBAN ${f.finance.iban({ formatted: true })}`],
    ['date', `on ${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()}`],
    ['date', `due ${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`],
    ['order', `Order #${f.string.numeric(10)}`],
    ['order', `Invoice No. ${f.string.numeric(3)}-${f.string.numeric(3)}-${f.string.numeric(4)}`],
    ['amount', `${f.finance.amount({ min: 1000, max: 99999999, dec: 2 })} ${f.finance.currencyCode()}`],
  ];
}

/**
 * Documents `{ text, region, phones: [{start, end, e164}], kinds: [[start, end, kind]] }`
 * (UTF-16 offsets); `perLocale` documents per locale, reproducible from `seed`.
 */
export function generate({ perLocale = 200, seed = 13 } = {}) {
  const docs = [];
  let dropped = 0;
  for (const [locale, region] of Object.entries(LOCALES)) {
    const f = allFakers[locale];
    f.seed(seed);
    for (let i = 0; i < perLocale; i++) {
      const parts = [];
      const phones = [];
      const kinds = [];
      let text = '';
      const add = (s) => { text += s; };
      const nPhones = 1 + (i % 3);
      const items = [];
      for (let k = 0; k < nPhones; k++) items.push(['phone']);
      const la = lookAlikes(f);
      for (let k = 0; k < 3; k++) items.push(la[(i * 3 + k) % la.length]);
      f.helpers.shuffle(items, { inplace: true });
      for (const item of items) {
        if (text) add(i % 2 ? '\n' : ' ');
        if (item[0] !== 'phone') {
          kinds.push([text.length, text.length + item[1].length, item[0]]);
          add(`${item[1]}.`);
          continue;
        }
        const style = f.helpers.arrayElement(['human', 'national', 'international']);
        // Faker's "human" style may carry an extension ("x490"); keep the number itself.
        const p = f.phone.number({ style }).replace(/\s*(x|ext\.?)\s*\d+$/i, '');
        const parsed = parsePhoneNumberFromString(p, region);
        if (!parsed || !parsed.isValid()) { dropped++; continue; }
        const sentence = f.helpers.arrayElement(PHONE_TEMPLATES)(p, f);
        const at = text.length + sentence.indexOf(p);
        phones.push({ start: at, end: at + p.length, e164: parsed.number, raw: p });
        add(sentence);
      }
      parts.push(text);
      docs.push({ text, region, phones, kinds });
    }
  }
  return { docs, dropped };
}
