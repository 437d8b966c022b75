'use strict';

// Delivery: gzip and the key, retries, Retry-After, refusals, a full queue, a down or hung server.

const assert = require('node:assert/strict');
const net = require('node:net');
const { test } = require('node:test');

const bugstack = require('..');
const { parseRetryAfter } = require('../lib/transport');
const { useSink } = require('../testing/sink');

const sink = useSink();

function error(n = 0) {
  return new Error(`failure ${n}`);
}

/** Warnings the SDK writes to stderr while `run` runs. */
async function stderrOf(run) {
  const written = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => (
    written.push(String(chunk)),
    write.call(process.stderr, chunk, ...rest)
  );
  try {
    await run();
  } finally {
    process.stderr.write = write;
  }
  return written.join('');
}

/** A port on which nothing listens. */
function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test('an event is sent gzipped with the key and the SDK named, and counted as sent', async () => {
  const client = bugstack.init({ dsn: sink.dsn });
  const before = sink.received.length;
  const id = bugstack.captureException(error());

  assert.equal(await bugstack.flush(5000), true);
  const [sent] = (await sink.waitFor(before + 1)).slice(before);
  assert.equal(sent.body.event_id, id);
  assert.equal(sent.headers['content-encoding'], 'gzip');
  assert.equal(sent.headers['content-type'], 'application/json');
  assert.equal(sent.headers.authorization, 'Bearer public-key');
  assert.match(sent.headers['user-agent'], /^bugstack-sdk-node\/\d+\.\d+\.\d+$/);
  assert.deepEqual(sent.body.sdk, { name: 'bugstack.node', version: require('../package.json').version });
  assert.equal(client.stats.sent, 1);
});

test('a 429 is retried once the server’s Retry-After has passed, with the same event id', async () => {
  const client = bugstack.init({ dsn: sink.dsn });
  const before = sink.received.length;
  sink.replies.push([429, { 'Retry-After': '0' }]);
  const id = bugstack.captureException(error());

  assert.equal(await bugstack.flush(5000), true);
  const [first, second] = (await sink.waitFor(before + 2)).slice(before);
  assert.equal(first.body.event_id, id);
  assert.equal(second.body.event_id, id, 'a retry resends the same event id');
  assert.equal(client.stats.sent, 1);
});

test('a long Retry-After is waited for, not ignored, and close ends the wait', async () => {
  const client = bugstack.init({ dsn: sink.dsn });
  const before = sink.received.length;
  sink.replies.push([429, { 'Retry-After': '120' }]);
  bugstack.captureException(error(1));
  await sink.waitFor(before + 1);
  bugstack.captureException(error(2));

  assert.equal(await bugstack.flush(200), false, 'the server asked for two minutes of quiet');
  assert.equal(sink.received.length, before + 1, 'nothing was sent again, nor the next event');
  await bugstack.close(0);
  assert.equal(await client.flush(2000), true, 'closing ends the wait instead of holding up the process');
  assert.equal(sink.received.length, before + 1);
  assert.deepEqual({ failed: client.stats.failed, sent: client.stats.sent }, { failed: 2, sent: 0 });
});

test('server errors are retried with backoff', async () => {
  const client = bugstack.init({ dsn: sink.dsn, maxRetries: 2 });
  const before = sink.received.length;
  sink.replies.push([503, {}], [500, {}]);
  bugstack.captureException(error());

  assert.equal(await bugstack.flush(10_000), true);
  assert.equal(sink.received.length, before + 3);
  assert.equal(client.stats.sent, 1);
});

for (const status of [400, 401, 413, 415]) {
  test(`a ${status} is not retried, and the server's reason is written to stderr`, async () => {
    const client = bugstack.init({ dsn: sink.dsn });
    const before = sink.received.length;
    sink.replies.push([status, {}]);
    const written = await stderrOf(async () => {
      bugstack.captureException(error());
      assert.equal(await bugstack.flush(5000), true);
    });

    assert.equal(sink.received.length, before + 1);
    assert.equal(client.stats.rejected, 1);
    assert.match(written, new RegExp(`bugstack refused an event \\(HTTP ${status}\\): refused`));
  });
}

test('an unreachable server costs the app nothing but the event: no throw, no hang', async () => {
  const port = await freePort();
  const client = bugstack.init({ dsn: `http://k@127.0.0.1:${port}/1`, maxRetries: 1 });

  assert.match(bugstack.captureException(error()), /^[0-9a-f]{32}$/);
  assert.equal(await bugstack.flush(10_000), true, 'both attempts were refused and given up on');
  assert.equal(client.stats.failed, 1);
});

test('a server that never answers makes flush time out; the request ends at its deadline', async () => {
  sink.hang = true;
  const client = bugstack.init({ dsn: sink.dsn, timeout: 300, maxRetries: 0 });
  const before = sink.received.length;
  bugstack.captureException(error());

  assert.equal(await bugstack.flush(100), false);
  await sink.waitFor(before + 1);
  assert.equal(await bugstack.flush(5000), true, 'the request timed out on its own');
  assert.equal(client.stats.failed, 1);
});

test('a full queue drops new events and counts them', async () => {
  sink.hang = true;
  const client = bugstack.init({ dsn: sink.dsn, maxQueueSize: 2, timeout: 60_000 });
  const before = sink.received.length;
  bugstack.captureException(error(0));
  await sink.waitFor(before + 1); // the first is out (and hangs): the queue is empty again
  const written = await stderrOf(() => {
    const ids = [1, 2, 3, 4, 5].map((n) => bugstack.captureException(error(n)));
    assert.equal(ids.filter(Boolean).length, 2);
    assert.deepEqual(ids.slice(2), [null, null, null]);
  });

  assert.deepEqual({ queued: client.stats.queued, dropped: client.stats.dropped }, { queued: 3, dropped: 3 });
  assert.match(written, /event queue is full; 1 events dropped so far/);
  assert.match(written, /event queue is full; 2 events dropped so far/);
  assert.doesNotMatch(written, /3 events dropped/, 'warnings thin out as drops go on');
});

test('captures after close are dropped', async () => {
  bugstack.init({ dsn: sink.dsn });
  await bugstack.close(1000);
  assert.equal(bugstack.captureException(error()), null);
});

test('init again closes the previous client; its queued event still goes out', async () => {
  const first = bugstack.init({ dsn: sink.dsn });
  const before = sink.received.length;
  const id = bugstack.captureException(error());
  const second = bugstack.init({ dsn: sink.dsn, environment: 'staging' });

  assert.notEqual(first, second);
  assert.equal(await first.flush(5000), true);
  assert.equal((await sink.waitFor(before + 1))[before].body.event_id, id);
  assert.equal(first.enabled, false);
  assert.equal(second.enabled, true);
});

test('the same error is reported once, however many handlers see it', async () => {
  const client = bugstack.init({ dsn: sink.dsn });
  const failure = error();
  assert.notEqual(bugstack.captureException(failure), null);
  assert.equal(bugstack.captureException(failure), null);
  assert.equal(await bugstack.flush(5000), true);
  assert.equal(client.stats.sent, 1);
});

test('Retry-After is read as seconds or as an HTTP date, within bounds', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('1.5', now), 1500);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: at once');
  assert.equal(parseRetryAfter('86400', now), 300_000, 'capped at five minutes');
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter('', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
});

test('beforeSend sees the whole event, source lines included, and may change it', async () => {
  let seen;
  bugstack.init({
    dsn: sink.dsn,
    beforeSend: async (event) => {
      seen = structuredClone(event);
      event.tags.team = 'payments';
      return event;
    },
  });
  const before = sink.received.length;
  bugstack.captureException(error());

  assert.equal(await bugstack.flush(5000), true);
  const [sent] = (await sink.waitFor(before + 1)).slice(before);
  assert.equal(sent.body.tags.team, 'payments');
  assert.match(seen.tags.client_fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(
    seen.exception.values[0].stacktrace.frames.at(-1).context_line,
    '  return new Error(`failure ${n}`);',
  );
});

test('an event beforeSend drops, or throws on, is not sent', async () => {
  const dropping = bugstack.init({ dsn: sink.dsn, beforeSend: () => null });
  const before = sink.received.length;
  bugstack.captureException(error(1));
  assert.equal(await bugstack.flush(5000), true);
  assert.equal(dropping.stats.discarded, 1);

  const throwing = bugstack.init({
    dsn: sink.dsn,
    beforeSend: () => {
      throw new Error('scrubber broke');
    },
  });
  const written = await stderrOf(async () => {
    bugstack.captureException(error(2));
    assert.equal(await bugstack.flush(5000), true);
  });
  assert.equal(throwing.stats.discarded, 1);
  assert.match(written, /beforeSend threw; the event was dropped: Error: scrubber broke/);
  assert.equal(sink.received.length, before);
});

test('what beforeSend adds is redacted too, with the app’s own redactKeys', async () => {
  // Built here rather than written out: the source lines sent with the event would hold them.
  const ssn = ['078', '05', '1120'].join('-');
  bugstack.init({
    dsn: sink.dsn,
    redactKeys: ['ssn'],
    beforeSend: (event) => ({ ...event, extra: { ssn, note: 'paid with 4111 1111 1111 1111' } }),
  });
  const before = sink.received.length;
  bugstack.captureException(new Error('charge failed for Bearer abcdefgh12345678'));

  assert.equal(await bugstack.flush(5000), true);
  const [sent] = (await sink.waitFor(before + 1)).slice(before);
  assert.deepEqual(sent.body.extra, { ssn: '[Filtered]', note: 'paid with [Filtered]' });
  assert.equal(sent.body.exception.values[0].value, 'charge failed for Bearer [Filtered]');
  assert.doesNotMatch(sent.text, /078-05-1120|4111|abcdefgh12345678/);
});

test('captureException never throws, whatever it is given', () => {
  bugstack.init({ dsn: sink.dsn });
  const hostile = new Proxy(new Error('x'), {
    get: () => {
      throw new Error('trap');
    },
  });
  for (const value of [undefined, null, 42, 'text', Symbol('s'), { a: 1 }, hostile, Object.create(null)]) {
    assert.doesNotThrow(() => bugstack.captureException(value));
  }
});
