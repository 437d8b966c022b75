'use strict';

// captureMessage: a message sent as the server says a Sentry message-only event, with the caller's stack.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const bugstack = require('..');
const { useSink } = require('../testing/sink');

const ROOT = path.join(__dirname, '..');
const THIS_FILE = path.relative(ROOT, __filename);
const SOURCE_LINES = fs.readFileSync(__filename, 'utf8').split('\n');

const sink = useSink();

/** The one event `capture` queues, as the sink received it. */
async function sent(capture) {
  const before = sink.received.length;
  const id = capture();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(await bugstack.flush(5000), true);
  const [event] = (await sink.waitFor(before + 1)).slice(before);
  assert.equal(event.body.event_id, id);
  return event;
}

function lineOf(marker) {
  return SOURCE_LINES.findIndex((line) => line.includes(marker)) + 1;
}

function reportCacheMiss() {
  return bugstack.captureMessage('cache miss for user 42', 'warning'); // THE MODULE CALL
}

test('a message is one exception value of type Message, with the caller’s frame last', async () => {
  bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  const { body } = await sent(reportCacheMiss);

  assert.equal(body.message, 'cache miss for user 42');
  assert.equal(body.level, 'warning');
  assert.equal(body.platform, 'node');
  assert.equal(body.exception.values.length, 1);
  const [value] = body.exception.values;
  assert.equal(value.type, 'Message');
  assert.equal(value.value, 'cache miss for user 42');
  assert.equal(value.mechanism, undefined, 'nothing was raised, nor handled');
  const frames = value.stacktrace.frames;
  const caller = frames.at(-1);
  assert.equal(caller.function, 'reportCacheMiss');
  assert.equal(caller.filename, THIS_FILE);
  assert.equal(caller.lineno, lineOf('// THE MODULE CALL'));
  assert.equal(caller.in_app, true);
  assert.equal(caller.context_line.trim(), SOURCE_LINES[caller.lineno - 1].trim(), 'source lines are added');
  assert.ok(
    frames.every((frame) => frame.filename !== 'index.js' && !frame.filename.startsWith('lib/')),
    "the SDK's own frames are left out",
  );
  assert.ok(frames.some((frame) => frame.filename.startsWith('node:') && !frame.in_app));
  assert.match(body.tags.client_fingerprint, /^[0-9a-f]{64}$/);
});

test('Client.captureMessage starts the stack at its caller too, at level info by default', async () => {
  const client = bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  function logStartup() {
    return client.captureMessage('worker started'); // THE CLIENT CALL
  }
  const { body } = await sent(logStartup);

  assert.equal(body.level, 'info');
  assert.equal(body.message, 'worker started');
  const caller = body.exception.values[0].stacktrace.frames.at(-1);
  assert.equal(caller.function, 'logStartup');
  assert.equal(caller.lineno, lineOf('// THE CLIENT CALL'));
  assert.equal(caller.in_app, true);
});

test('the level is one of the protocol’s; anything else is info', async () => {
  bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  for (const level of ['fatal', 'error', 'warning', 'info', 'debug']) {
    assert.equal((await sent(() => bugstack.captureMessage('m', level))).body.level, level);
  }
  for (const level of ['warn', 'ERROR', 3, null, { toString: () => 'error' }]) {
    assert.equal((await sent(() => bugstack.captureMessage('m', level))).body.level, 'info', String(level));
  }
});

test('a secret in the message is masked before it leaves the process', async () => {
  bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  const token = ['abcDEF', '0123456789', 'ghiJKL'].join(''); // built, so no source line holds it
  const { body, text } = await sent(() =>
    bugstack.captureMessage(`upstream refused Authorization: Bearer ${token}`, 'error'),
  );

  assert.equal(body.message, 'upstream refused Authorization: Bearer [Filtered]');
  assert.equal(body.exception.values[0].value, 'upstream refused Authorization: Bearer [Filtered]');
  assert.ok(!text.includes(token), 'the token is nowhere in what was sent');
});

test('a long message is capped like an error message; any value is said as text', async () => {
  bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  const long = (await sent(() => bugstack.captureMessage('x'.repeat(20_000)))).body;
  assert.equal(long.message.length, 8192);
  assert.equal(long.exception.values[0].value.length, 8192);

  const numeric = (await sent(() => bugstack.captureMessage(404))).body;
  assert.equal(numeric.message, '404');
});

test('captureMessage never throws, and returns null when nothing will be sent', async () => {
  assert.equal(bugstack.captureMessage('before init'), null, 'the SDK is off');
  const sampled = bugstack.init({ dsn: sink.dsn, projectRoot: ROOT, sampleRate: 0 });
  assert.equal(bugstack.captureMessage('sampled out'), null);
  assert.equal(sampled.stats.queued, 0);

  const client = bugstack.init({ dsn: sink.dsn, projectRoot: ROOT });
  const unprintable = {
    toString() {
      throw new Error('no');
    },
  };
  assert.equal((await sent(() => bugstack.captureMessage(unprintable))).body.message, '<unprintable value>');

  const written = [];
  const write = process.stderr.write;
  const prepare = Error.prepareStackTrace;
  process.stderr.write = (chunk) => written.push(String(chunk));
  Error.prepareStackTrace = () => {
    throw new Error('an app’s stack formatter failed');
  };
  let id;
  try {
    id = bugstack.captureMessage('while the stack cannot be read');
  } finally {
    Error.prepareStackTrace = prepare;
    process.stderr.write = write;
  }
  assert.equal(id, null);
  assert.match(written.join(''), /bugstack could not capture a message/);
  assert.equal(client.stats.queued, 0);

  await bugstack.close(1000);
  assert.equal(bugstack.captureMessage('after close'), null);
});
