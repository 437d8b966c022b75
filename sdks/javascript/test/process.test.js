'use strict';

// Crashes, rejections and exit, each in a process of its own: Node's exit behaviour must not change.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { startSink } = require('../testing/sink');

const CRASH = path.join(__dirname, '..', 'testing', 'crash.js');

let sink;
before(async () => {
  sink = await startSink();
});
after(() => sink.stop());

/** Run crash.js; `dsn` null runs it without the SDK. Resolves {code, stdout, stderr}. */
function run(how, { dsn = sink.dsn, env = {} } = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.BUGSTACK_DSN;
  if (dsn) childEnv.BUGSTACK_DSN = dsn;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CRASH, how], { env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash.js ${how} did not end: ${stderr}`));
    }, 20_000);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The stack's lines as Node printed them, from the error's line to the end (no source-line header). */
function printedStack(stderr, firstLine) {
  assert.ok(stderr.includes(firstLine), stderr);
  return stderr.slice(stderr.indexOf(firstLine));
}

function eventsSince(count) {
  return sink.received.slice(count).map((item) => item.body);
}

test('an uncaught error is reported, then Node prints it and exits with code 1 as before', async () => {
  const before = sink.received.length;
  const withSdk = await run('throw');
  const withoutSdk = await run('throw', { dsn: null });

  assert.equal(withSdk.code, 1);
  assert.equal(withoutSdk.code, 1);
  assert.equal(
    printedStack(withSdk.stderr, 'TypeError: card declined'),
    printedStack(withoutSdk.stderr, 'TypeError: card declined'),
  );
  assert.match(withSdk.stdout, /exit listener ran with code 1/);
  const [event] = eventsSince(before);
  const value = event.exception.values.at(-1);
  assert.equal(value.type, 'TypeError');
  assert.equal(value.value, 'card declined');
  assert.deepEqual(value.mechanism, { type: 'onuncaughtexception', handled: false });
  assert.equal(event.level, 'fatal');
  const raiseSite = value.stacktrace.frames.at(-1);
  assert.equal(raiseSite.filename, 'crash.js');
  assert.equal(raiseSite.function, 'chargeCard');
  assert.equal(raiseSite.context_line.trim(), "throw new TypeError('card declined');");
});

test('an unhandled rejection is reported, and Node still crashes on it as it would have', async () => {
  const before = sink.received.length;
  const withSdk = await run('reject');
  const withoutSdk = await run('reject', { dsn: null });

  assert.equal(withSdk.code, 1);
  assert.equal(withoutSdk.code, 1);
  assert.equal(
    printedStack(withSdk.stderr, 'TypeError: payment rejected'),
    printedStack(withoutSdk.stderr, 'TypeError: payment rejected'),
  );
  const [event] = eventsSince(before);
  const value = event.exception.values.at(-1);
  assert.equal(value.type, 'TypeError');
  assert.equal(value.value, 'payment rejected');
  assert.deepEqual(value.mechanism, { type: 'onunhandledrejection', handled: false });
});

test('a rejection with a plain value is reported under the error Node makes of it', async () => {
  const before = sink.received.length;
  const withSdk = await run('reject-string');
  const withoutSdk = await run('reject-string', { dsn: null });

  assert.equal(withSdk.code, 1);
  assert.equal(
    printedStack(withSdk.stderr, 'UnhandledPromiseRejection:'),
    printedStack(withoutSdk.stderr, 'UnhandledPromiseRejection:'),
  );
  const value = eventsSince(before)[0].exception.values.at(-1);
  assert.equal(value.type, 'UnhandledPromiseRejection');
  assert.match(value.value, /The promise rejected with the reason "plain reason"/);
});

test('an app with its own uncaughtException listener keeps running: the SDK only reports', async () => {
  const before = sink.received.length;
  const result = await run('handled');

  assert.equal(result.code, 0);
  assert.match(result.stdout, /the app handled: card declined/);
  assert.equal(result.stderr, '');
  assert.equal(eventsSince(before)[0].exception.values.at(-1).value, 'card declined');
});

test('a process that ends with an event queued sends it before exiting with code 0', async () => {
  const before = sink.received.length;
  const result = await run('pending');

  assert.equal(result.code, 0);
  assert.equal(eventsSince(before)[0].exception.values.at(-1).value, 'card declined');
});

test('a process whose event cannot be delivered still exits normally', async () => {
  sink.hang = true;
  try {
    const before = sink.received.length;
    const result = await run('pending', { env: { SHUTDOWN_TIMEOUT: '300' } });

    assert.equal(result.code, 0, result.stderr);
    assert.equal(eventsSince(before).length, 1, 'the request went out; no answer ever came');
  } finally {
    sink.hang = false;
  }
});

test('without a DSN the SDK listens to nothing: a crash is Node’s alone', async () => {
  const result = await run('throw', { dsn: null });
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stderr, /bugstack/);
});
