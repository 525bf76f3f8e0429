// The harness's own comparison logic (no browser): a wrong mark must be caught.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compareMarks, e164Of } from './harness.mjs';

const truth = {
  path: '/x',
  numbers: [
    { e164: '+14155550123', contact_id: 'c-0001', text: '(415) 555-0123' },
    { e164: '+14155550123', contact_id: 'c-0001', text: '415.555.0123' },
    { e164: '+18005550100', contact_id: null, text: '1-800-555-0100' },
  ],
  not_numbers: [{ kind: 'invoice', text: 'Invoice #4158230199' }],
};

test('e164Of reads formatted numbers and extensions', () => {
  assert.equal(e164Of('(415) 555-0123'), '+14155550123');
  assert.equal(e164Of('646-555-0182 ext. 330'), '+16465550182');
  assert.equal(e164Of('+44 20 7946 0321'), '+442079460321');
  assert.match(e164Of('hello'), /^unparsable:/);
});

test('compareMarks: equal multisets agree', () => {
  const ranges = [
    { text: '415.555.0123', contactId: 'c-0001' },
    { text: '1-800-555-0100', contactId: null },
    { text: '(415) 555-0123', contactId: 'c-0001' },
  ];
  assert.deepEqual(compareMarks(ranges, truth), { extra: [], missing: [] });
});

test('compareMarks: a marked look-alike, a missed number, a wrong contact are all reported', () => {
  const ranges = [
    { text: '(415) 555-0123', contactId: 'c-0002' },
    { text: '4158230199', contactId: 'c-0001' },
    { text: '1-800-555-0100', contactId: null },
  ];
  const { extra, missing } = compareMarks(ranges, truth);
  assert.equal(extra.length, 2);
  assert.ok(extra.some((e) => e.includes('+14158230199')));
  assert.ok(extra.some((e) => e.includes('c-0002')));
  assert.deepEqual(missing, ['+14155550123 @ c-0001', '+14155550123 @ c-0001']);
});
