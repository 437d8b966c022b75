'use strict';

// A real Next.js app (testing/next-app) reporting through `@bugstack/sdk/next` to a local sink, and the
// hook itself called as Next.js calls it.

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { after, afterEach, before, describe, test } = require('node:test');

const bugstack = require('..');
const { onRequestError, withBugstack } = require('../next');
const { startSink } = require('../testing/sink');

const ROOT = path.join(__dirname, '..');
const APP_DIR = path.join(ROOT, 'testing', 'next-app');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const NEXT_ENV = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
const READY_TIMEOUT_MS = 30_000;
const SECRET_TOKEN = 'Bearer s3cr3t-t0ken-value-1234567890';
const SECRET_QUERY = 'token=q-tok-9f8e7d&lang=en';

let sink;
before(async () => {
  sink = await startSink();
});
after(() => sink.stop());

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `next start` in the app folder; resolves {url, stop} once it says it is ready. */
async function startNext(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: APP_DIR,
    env: { ...NEXT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`next start not ready:\n${output}`)), READY_TIMEOUT_MS);
      const listen = (chunk) => {
        output += chunk;
        if (output.includes('Ready in')) (clearTimeout(timer), resolve());
      };
      child.stdout.on('data', listen);
      child.stderr.on('data', listen);
      child.on(
        'exit',
        (code) => (clearTimeout(timer), reject(new Error(`next exited (${code}):\n${output}`))),
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop, output: () => output };
}

function eventFor(events, route) {
  const found = events.find((item) => item.body.request?.route === route);
  assert.ok(found, `an event for ${route} arrived`);
  return found.body;
}

function inAppFrames(event) {
  return event.exception.values.at(-1).stacktrace.frames.filter((frame) => frame.in_app);
}

describe('a built Next.js app', () => {
  let server;
  let events;
  let boom;
  let legacy;

  before(async () => {
    const build = spawnSync(process.execPath, [NEXT_BIN, 'build'], {
      cwd: APP_DIR,
      env: NEXT_ENV,
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    const before = sink.received.length;
    server = await startNext({ BUGSTACK_DSN: sink.dsn });
    const boomResponse = await fetch(`${server.url}/api/boom?page=2`, {
      headers: { Authorization: SECRET_TOKEN },
      signal: AbortSignal.timeout(10_000),
    });
    boom = { status: boomResponse.status, body: await boomResponse.text() };
    const legacyResponse = await fetch(`${server.url}/api/legacy`, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
    });
    legacy = { status: legacyResponse.status, body: await legacyResponse.text() };
    events = (await sink.waitFor(before + 2, 10_000)).slice(before);
  });
  after(async () => {
    await server?.stop();
  });

  test("an App Router route handler's error is reported through onRequestError", () => {
    const event = eventFor(events, '/api/boom');
    const value = event.exception.values.at(-1);
    assert.equal(value.type, 'RangeError');
    assert.equal(value.value, 'order 42 total out of range');
    assert.deepEqual(value.mechanism, { type: 'nextjs', handled: false });
    const frames = inAppFrames(event);
    assert.ok(frames.length > 0, 'the route has in-app frames');
    assert.ok(frames.every((frame) => frame.filename === '.next/server/app/api/boom/route.js'));
    assert.deepEqual(event.request, { method: 'GET', route: '/api/boom' }, 'no headers unless asked for');
    assert.deepEqual(event.contexts.nextjs, {
      router_kind: 'App Router',
      route_path: '/api/boom',
      route_type: 'route',
    });
    assert.equal(event.tags['next.router_kind'], 'App Router');
    assert.equal(event.tags['next.route_type'], 'route');
    assert.deepEqual(event.contexts.framework, {
      name: 'nextjs',
      version: require('next/package.json').version,
    });
  });

  test('a Pages Router API route wrapped with withBugstack is reported once', () => {
    const event = eventFor(events, '/api/legacy');
    const value = event.exception.values.at(-1);
    assert.equal(value.type, 'TypeError');
    assert.equal(value.value, "Cannot read properties of undefined (reading 'name')");
    assert.ok(inAppFrames(event).some((frame) => frame.filename === '.next/server/pages/api/legacy.js'));
    assert.deepEqual(event.request, { method: 'POST', route: '/api/legacy' });
    assert.equal(event.tags['next.router_kind'], 'Pages Router');
    assert.equal(events.filter((item) => item.body.request?.route === '/api/legacy').length, 1);
  });

  test("Next.js's own 500 responses are unchanged", () => {
    assert.deepEqual(boom, { status: 500, body: '' });
    assert.deepEqual(legacy, { status: 500, body: 'Internal Server Error' });
    assert.match(server.output(), /RangeError: order 42 total out of range/, 'Next.js still logs the error');
  });
});

describe('onRequestError and withBugstack in process', () => {
  afterEach(async () => {
    await bugstack.close(0);
    bugstack.init({ enabled: false });
  });

  test('headers and the path are sent only with sendRequestHeaders, and redacted', async () => {
    bugstack.init({ dsn: sink.dsn, sendRequestHeaders: true });
    const before = sink.received.length;
    const headers = new Headers({ authorization: SECRET_TOKEN, 'x-trace': 'kept' });
    const returned = onRequestError(
      new Error('render failed'),
      { path: `/shop/7?${SECRET_QUERY}`, method: 'GET', headers },
      {
        routerKind: 'App Router',
        routePath: '/shop/[id]',
        routeType: 'render',
        renderSource: 'react-server-components',
      },
    );
    assert.equal(returned, undefined, 'the hook returns at once');
    assert.equal(await bugstack.flush(5000), true);
    const { body: event, text } = (await sink.waitFor(before + 1)).at(-1);
    assert.doesNotMatch(text, /s3cr3t-t0ken|q-tok-9f8e7d/);
    assert.equal(event.request.route, '/shop/[id]');
    assert.equal(event.request.url, '/shop/7');
    assert.equal(event.request.query_string, 'token=%5BFiltered%5D&lang=en');
    assert.equal(event.request.headers.authorization, '[Filtered]');
    assert.equal(event.request.headers['x-trace'], 'kept');
    assert.equal(event.contexts.nextjs.render_source, 'react-server-components');
    assert.equal(event.tags['next.route_type'], 'render');
  });

  test('the hook never throws, whatever Next.js or the app hands it', () => {
    bugstack.init({ dsn: sink.dsn });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    for (const [request, context] of [
      [undefined, undefined],
      [null, null],
      [hostile, hostile],
      [{ path: 42, method: {}, headers: 'x' }, { routePath: 7 }],
    ]) {
      assert.doesNotThrow(() => onRequestError(new Error('x'), request, context));
    }
    assert.doesNotThrow(() => onRequestError(hostile, hostile, hostile));
  });

  test('withBugstack rethrows the same error and passes return values through', async () => {
    bugstack.init({ dsn: sink.dsn });
    const failure = new Error('api failed');
    const failing = withBugstack(async () => {
      throw failure;
    });
    await assert.rejects(
      failing({ method: 'GET', url: '/api/x?y=1', headers: {} }, {}),
      (error) => error === failure,
    );
    const ok = withBugstack((req, res) => res.value);
    assert.equal(await ok({}, { value: 7 }), 7);
    assert.throws(() => withBugstack('not a function'), TypeError);
  });
});
