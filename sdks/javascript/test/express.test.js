'use strict';

// A real Express app reporting through the SDK to a local sink.

const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');

const bugstack = require('..');
const { createApp } = require('../testing/express-app');
const { useSink } = require('../testing/sink');

const TESTING_DIR = path.join(__dirname, '..', 'testing');
const SECRET_TOKEN = 'Bearer s3cr3t-t0ken-value-1234567890';

const sink = useSink();

/** Serve `createApp` on a free port; resolves {url, close}. */
function serve(options) {
  const server = createApp(bugstack, options).listen(0, '127.0.0.1');
  return new Promise((resolve) => {
    server.on('listening', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}

async function withApp(sdkOptions, run, appOptions) {
  bugstack.init({ dsn: sink.dsn, projectRoot: TESTING_DIR, release: 'abc123', ...sdkOptions });
  const app = await serve(appOptions);
  try {
    return await run(app.url);
  } finally {
    await app.close();
  }
}

async function lastEvent(count = sink.received.length + 1) {
  assert.equal(await bugstack.flush(5000), true);
  const received = await sink.waitFor(count);
  return received.at(-1);
}

test('a crashing route is reported with its type, message, frames and route', async () => {
  const before = sink.received.length;
  const response = await withApp({}, (url) => fetch(`${url}/users/42?page=2`));

  assert.equal(response.status, 500, "Express's own handler still answers");
  const { body: event, headers, path: sentTo } = await lastEvent(before + 1);
  assert.equal(sentTo, '/api/v1/events/');
  assert.equal(headers.authorization, 'Bearer public-key');
  assert.equal(headers['content-encoding'], 'gzip');
  const value = event.exception.values.at(-1);
  assert.equal(value.type, 'TypeError');
  assert.equal(value.value, "Cannot read properties of undefined (reading 'name')");
  assert.deepEqual(value.mechanism, { type: 'express', handled: false });
  const frames = value.stacktrace.frames;
  const raiseSite = frames.at(-1);
  assert.equal(raiseSite.filename, 'express-app.js');
  assert.equal(raiseSite.abs_path, path.join(TESTING_DIR, 'express-app.js'));
  assert.equal(raiseSite.in_app, true);
  assert.equal(raiseSite.context_line.trim(), 'res.json({ name: user.name });');
  assert.equal(raiseSite.pre_context.length, 5);
  assert.equal(raiseSite.post_context.length, 5);
  const library = frames.filter((frame) => frame.filename.startsWith('router/'));
  assert.ok(library.length > 0, "Express's router frames are in the stack");
  assert.ok(library.every((frame) => frame.in_app === false && frame.abs_path.includes('node_modules')));
  assert.deepEqual(event.request, { method: 'GET', route: '/users/:id' }, "the router's mount path included");
  assert.deepEqual(event.contexts.response, { status_code: 500 });
  assert.equal(event.contexts.framework.name, 'express');
  assert.equal(event.contexts.framework.version, require('express/package.json').version);
  assert.equal(event.release, 'abc123');
  assert.equal(event.platform, 'node');
});

test('an async route that rejects is reported with its route', async () => {
  const before = sink.received.length;
  const response = await withApp({}, (url) => fetch(`${url}/orders/7`));

  assert.equal(response.status, 500);
  const { body: event } = await lastEvent(before + 1);
  assert.equal(event.exception.values.at(-1).type, 'RangeError');
  assert.equal(event.exception.values.at(-1).stacktrace.frames.at(-1).filename, 'express-app.js');
  assert.deepEqual(event.request, { method: 'GET', route: '/orders/:id' });
});

test("the app's own error handler still answers, and the response waits for nothing", async () => {
  sink.hang = true; // the server never answers: a delayed response would show as a timeout here
  try {
    const before = sink.received.length;
    const response = await withApp(
      {},
      (url) => fetch(`${url}/users/42`, { signal: AbortSignal.timeout(10_000) }),
      { ownErrorHandler: true },
    );
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), {
      handledBy: 'app',
      message: "Cannot read properties of undefined (reading 'name')",
    });
    await sink.waitFor(before + 1);
    assert.equal(await bugstack.flush(100), false, 'the event is still waiting for the hung server');
  } finally {
    sink.hang = false;
  }
});

test('an Authorization header and a password field never leave the process', async () => {
  const before = sink.received.length;
  const response = await withApp({ sendRequestHeaders: true, sendRequestBody: true }, (url) =>
    fetch(`${url}/login?token=q-tok-9f8e7d&lang=en`, {
      method: 'POST',
      headers: { Authorization: SECRET_TOKEN, 'Content-Type': 'application/json', 'X-Trace': 'kept' },
      body: JSON.stringify({ user: 'ada', password: 'hunter2-correct-horse' }),
    }),
  );

  assert.equal(response.status, 500);
  const { body: event, text } = await lastEvent(before + 1);
  assert.doesNotMatch(text, /s3cr3t-t0ken|hunter2|q-tok-9f8e7d/);
  assert.equal(event.request.method, 'POST');
  assert.equal(event.request.route, '/login');
  assert.equal(event.request.url, '/login');
  assert.equal(event.request.query_string, 'token=%5BFiltered%5D&lang=en');
  assert.equal(event.request.headers.authorization, '[Filtered]');
  assert.equal(event.request.headers['x-trace'], 'kept');
  assert.deepEqual(event.request.data, { user: 'ada', password: '[Filtered]' });
  assert.equal(event.exception.values.at(-1).value, 'login failed for ada');
});

test('by default a request says its method and route, never its headers or body', async () => {
  const before = sink.received.length;
  await withApp({}, (url) =>
    fetch(`${url}/login`, {
      method: 'POST',
      headers: { Authorization: SECRET_TOKEN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'ada', password: 'hunter2-correct-horse' }),
    }),
  );

  const { body: event, text } = await lastEvent(before + 1);
  assert.deepEqual(event.request, { method: 'POST', route: '/login' });
  assert.doesNotMatch(text, /s3cr3t|hunter2|authorization/i);
});

test('an error that asks for a 4xx is the client’s mistake and is not reported', async () => {
  const before = sink.received.length;
  const response = await withApp({}, (url) => fetch(`${url}/missing`));

  assert.equal(response.status, 404);
  assert.equal(await bugstack.flush(1000), true);
  assert.equal(sink.received.length, before);
  assert.equal(bugstack.getClient().stats.sent, 0);
});

test('captureException inside a request describes that request (requestHandler)', async () => {
  const before = sink.received.length;
  const response = await withApp({}, (url) => fetch(`${url}/reported`));

  const { id } = await response.json();
  assert.match(id, /^[0-9a-f]{32}$/);
  const { body: event } = await lastEvent(before + 1);
  assert.equal(event.event_id, id);
  assert.deepEqual(event.request, { method: 'GET', route: '/reported' });
  assert.deepEqual(event.exception.values.at(-1).mechanism, { type: 'generic', handled: true });
  assert.equal(event.contexts.response, undefined, 'no status is known while the request is served');
});

test('without init the middleware does nothing and the app answers as before', async () => {
  bugstack.init({ enabled: false });
  const app = await serve();
  try {
    const response = await fetch(`${app.url}/users/42`);
    assert.equal(response.status, 500);
    assert.equal(bugstack.getClient().stats.queued, 0);
  } finally {
    await app.close();
  }
});
