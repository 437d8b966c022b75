'use strict';

// Redaction: sensitive keys filtered at any depth, credential-looking values masked anywhere.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const {
  FILTERED,
  Redactor,
  filterQuery,
  filterUrl,
  isSensitiveKey,
  luhnValid,
  maskText,
} = require('../lib/redact');

test('values under sensitive keys are filtered at any depth; others are kept', () => {
  const event = {
    request: {
      headers: { Authorization: 'Basic abc', 'X-Api-Key': 'k', 'Set-Cookie': 'a=b', Accept: 'text/html' },
      data: {
        user: { name: 'ada', db_password: 'x', sessionid: 's', csrftoken: 't' },
        items: [{ private_key: 'p' }],
      },
    },
    extra: { author: 'over-filtered on purpose', empty_token: null },
  };
  assert.deepEqual(new Redactor().redact(event), {
    request: {
      headers: {
        Authorization: FILTERED,
        'X-Api-Key': FILTERED,
        'Set-Cookie': FILTERED,
        Accept: 'text/html',
      },
      data: {
        user: { name: 'ada', db_password: FILTERED, sessionid: FILTERED, csrftoken: FILTERED },
        items: [{ private_key: FILTERED }],
      },
    },
    extra: { author: FILTERED, empty_token: null },
  });
  assert.equal(event.request.data.user.db_password, 'x', "the caller's data is left alone");
});

test("an app's redactKeys are filtered too, compared as the built-in ones are", () => {
  const redactor = new Redactor(['ssn', 'Tax-Id']);
  assert.deepEqual(redactor.redact({ SSN: '123', tax_id: '9', name: 'ada' }), {
    SSN: FILTERED,
    tax_id: FILTERED,
    name: 'ada',
  });
  assert.equal(isSensitiveKey('Proxy-Authorization'), true);
  assert.equal(isSensitiveKey('user_name'), false);
});

test('credential-looking values are masked wherever they appear', () => {
  const cases = [
    ['Authorization: Bearer abcdefgh12345678', 'Authorization: Bearer [Filtered]'],
    ['header was token   abcdefghijkl==', 'header was token [Filtered]'],
    [
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here',
      'jwt [Filtered] here',
    ],
    ['ghp_' + 'a'.repeat(36), FILTERED],
    ['github_pat_' + 'a'.repeat(40), FILTERED],
    ['key sk-ant-api03-' + 'b'.repeat(40), `key ${FILTERED}`],
    ['sk-' + 'c'.repeat(48), FILTERED],
    ['AKIAIOSFODNN7EXAMPLE', FILTERED],
    ['aws_secret_access_key = ' + 'd'.repeat(40), `aws_secret_access_key = ${FILTERED}`],
    ['sk_live_' + 'e'.repeat(24), FILTERED],
    ['whsec_' + 'f'.repeat(32), FILTERED],
    ['xoxb-1234567890-abcdef', FILTERED],
    ['postgres://app:hunter2@db:5432/shop', `postgres://app:${FILTERED}@db:5432/shop`],
    ['card 4111 1111 1111 1111 declined', `card ${FILTERED} declined`],
    ['card 4111-1111-1111-1111', `card ${FILTERED}`],
    ['order 4111 1111 1111 1112', 'order 4111 1111 1111 1112'],
    ['nothing to see in /srv/app/routes/users.js', 'nothing to see in /srv/app/routes/users.js'],
  ];
  for (const [text, expected] of cases) assert.equal(maskText(text), expected, text);
  assert.equal(
    new Redactor().redact({ message: 'failed with Bearer abcdefgh12345678' }).message,
    `failed with Bearer ${FILTERED}`,
  );
});

test('a card number beside other numbers is masked, and only the card', () => {
  // The digit run takes the neighbouring numbers in; the card is found within it, as the server finds it.
  const cases = [
    ['card 4111 1111 1111 1111 2 items', `card ${FILTERED} 2 items`],
    ['order 7 4111-1111-1111-1111 5', `order 7 ${FILTERED} 5`],
    ['2 5555 5555 5555 4444', `2 ${FILTERED}`],
    ['1 2 4111 1111 1111 1111 5 6', `1 2 ${FILTERED} 5 6`],
    // Both "7 4111 1111 1111 111" and "4111 1111 1111 111 1" pass Luhn: trailing strays are left out first.
    ['7 4111 1111 1111 111 1', `${FILTERED} 1`],
    // At most two stray groups at either end.
    ['1 2 3 4111 1111 1111 1111 5 6 7', '1 2 3 4111 1111 1111 1111 5 6 7'],
    ['1 2 3 4 5 6 7 8 9 0 1 2 3 4 5', '1 2 3 4 5 6 7 8 9 0 1 2 3 4 5'],
    ['id 12345678901234567 ok', 'id 12345678901234567 ok'],
  ];
  for (const [text, expected] of cases) assert.equal(maskText(text), expected, text);
});

test('Luhn tells card numbers from other long numbers', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('5500005555555559'), true);
  assert.equal(luhnValid('4111111111111112'), false);
});

test('query strings and URLs keep their other parameters as they were encoded', () => {
  assert.equal(filterQuery('token=abc&lang=en%20GB&page=2'), 'token=%5BFiltered%5D&lang=en%20GB&page=2');
  assert.equal(filterQuery('api-key=1&x'), 'api-key=%5BFiltered%5D&x');
  assert.equal(
    filterUrl('https://u:pw@shop.example/cart?session=s1&item=3#top'),
    `https://u:${FILTERED}@shop.example/cart?session=%5BFiltered%5D&item=3#top`,
  );
  const redacted = new Redactor().redact({ request: { url: '/a?password=x', query_string: 'secret=y&b=1' } });
  assert.deepEqual(redacted.request, {
    url: '/a?password=%5BFiltered%5D',
    query_string: 'secret=%5BFiltered%5D&b=1',
  });
});

test('deep or cyclic data is cut, and values JSON cannot hold are made safe', () => {
  const cyclic = { name: 'loop' };
  cyclic.self = cyclic;
  let deep = { leaf: true };
  for (let n = 0; n < 50; n += 1) deep = { next: deep };
  const redacted = new Redactor().redact({
    cyclic,
    deep,
    big: 12345678901234567890n,
    when: new Date('2026-01-02T03:04:05Z'),
    fn: () => 1,
    list: [undefined, () => 1],
  });
  assert.doesNotThrow(() => JSON.stringify(redacted));
  assert.equal(redacted.big, '12345678901234567890');
  assert.equal(redacted.when, '2026-01-02T03:04:05.000Z');
  assert.equal('fn' in redacted, false);
  assert.deepEqual(redacted.list, [null, null]);
  assert.match(JSON.stringify(redacted.cyclic), /\[Filtered\]/);
  assert.match(JSON.stringify(redacted.deep), /\[Filtered\]/);
});

test('hostile strings cost time linear in their length', () => {
  // Each would take minutes against a pattern that backtracks; linear patterns read them in milliseconds.
  const hostile = [
    '-eyJ'.repeat(50_000),
    'eyJaaaaa.'.repeat(20_000),
    'sk-'.repeat(50_000),
    'xoxb-'.repeat(40_000),
    '://a:'.repeat(40_000),
    `://${'a'.repeat(100_000)}:${'b'.repeat(100_000)}`,
    'token '.repeat(20_000),
    '1 '.repeat(100_000),
    '4111 1111 1111 1112 2 '.repeat(20_000),
    'ghp_'.repeat(50_000),
  ];
  for (const text of hostile) assert.equal(typeof maskText(text), 'string');
});
