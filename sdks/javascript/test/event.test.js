'use strict';

// Events: V8 stacks read into frames, in-app rules, source lines, cause chains and the event's fields.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const { buildEvent, clientFingerprint, encodeEvent, exceptionValues } = require('../lib/event');
const { buildOptions } = require('../lib/options');
const { SourceCache } = require('../lib/source');
const { classify, framesFromStack, parseFrameLine } = require('../lib/stacktrace');

const ROOT = path.join(__dirname, '..');
const THIS_FILE = path.relative(ROOT, __filename);

function outer() {
  return middle();
}
function middle() {
  return inner();
}
function inner() {
  throw new TypeError('deep down'); // THE RAISE SITE
}
const RAISE_LINE =
  fs
    .readFileSync(__filename, 'utf8')
    .split('\n')
    .indexOf("  throw new TypeError('deep down'); // THE RAISE SITE") + 1;

function caught(run) {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

test('frames run oldest first, the raise site last, app code named relative to the project root', () => {
  const [value] = exceptionValues(caught(outer), ROOT);
  const frames = value.stacktrace.frames;
  assert.deepEqual(
    frames.slice(-3).map((frame) => frame.function),
    ['outer', 'middle', 'inner'],
  );
  const raiseSite = frames.at(-1);
  assert.equal(raiseSite.filename, THIS_FILE);
  assert.equal(raiseSite.abs_path, __filename);
  assert.equal(raiseSite.lineno, RAISE_LINE);
  assert.equal(raiseSite.colno, 9);
  assert.equal(raiseSite.in_app, true);
  const internal = frames.filter((frame) => frame.filename.startsWith('node:'));
  assert.ok(internal.length > 0, "Node's test runner frames are in the stack");
  assert.ok(internal.every((frame) => frame.in_app === false && frame.abs_path === undefined));
});

test('each kind of V8 frame line is read', () => {
  const cases = [
    [
      '    at getUser (/srv/app/routes/users.js:42:17)',
      { func: 'getUser', file: '/srv/app/routes/users.js', lineno: 42, colno: 17 },
    ],
    [
      '    at /srv/app/server.js:10:5',
      { func: '<anonymous>', file: '/srv/app/server.js', lineno: 10, colno: 5 },
    ],
    ['    at async Promise.all (index 0)', { func: 'Promise.all', file: '', lineno: null, colno: null }],
    [
      '    at async handler (/srv/app/h.js:3:9)',
      { func: 'handler', file: '/srv/app/h.js', lineno: 3, colno: 9 },
    ],
    [
      '    at new Order (/srv/app/order.js:1:2)',
      { func: 'new Order', file: '/srv/app/order.js', lineno: 1, colno: 2 },
    ],
    [
      '    at Timeout.tick [as _onTimeout] (/srv/app/t.js:5:3)',
      { func: 'Timeout.tick', file: '/srv/app/t.js', lineno: 5, colno: 3 },
    ],
    ['    at Array.map (<anonymous>)', { func: 'Array.map', file: '<anonymous>', lineno: null, colno: null }],
    [
      '    at eval (eval at run (/srv/app/x.js:21:9), <anonymous>:1:24)',
      { func: 'eval', file: '<anonymous>', lineno: 1, colno: 24 },
    ],
    [
      '    at file:///srv/app/main.mjs:4:1',
      { func: '<anonymous>', file: 'file:///srv/app/main.mjs', lineno: 4, colno: 1 },
    ],
    ['    at load (C:\\app\\x.js:7:8)', { func: 'load', file: 'C:\\app\\x.js', lineno: 7, colno: 8 }],
    [
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      {
        func: 'process.processTicksAndRejections',
        file: 'node:internal/process/task_queues',
        lineno: 95,
        colno: 5,
      },
    ],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseFrameLine(line), expected, line);
  assert.equal(parseFrameLine('TypeError: at (not a frame)'), null);
  assert.equal(
    parseFrameLine('at unindented (/srv/app/x.js:1:1)'),
    null,
    "V8 indents frames; a message's line is none",
  );
});

test('inAppInclude makes a package’s frames the app’s own wherever it is installed', () => {
  const root = path.join(path.sep, 'srv', 'app');
  const include = ['shoptool', '@acme/plugin'];
  const cases = [
    [['node_modules', 'shoptool', 'lib', 'cli.js'], 'shoptool/lib/cli.js', true],
    [['node_modules', '@acme', 'plugin', 'index.js'], '@acme/plugin/index.js', true],
    // pnpm: the package sits in the store's own node_modules folder
    [['node_modules', '.pnpm', 'shoptool@1.2.0', 'node_modules', 'shoptool', 'x.js'], 'shoptool/x.js', true],
    [['node_modules', 'shoptool', 'node_modules', 'express', 'index.js'], 'express/index.js', false],
    [['node_modules', '@acme', 'other', 'index.js'], '@acme/other/index.js', false],
    [['node_modules', 'shoptool-extra', 'index.js'], 'shoptool-extra/index.js', false],
  ];
  for (const [parts, filename, inApp] of cases) {
    assert.deepEqual(classify(path.join(root, ...parts), root, include), { filename, inApp }, filename);
  }
  // A globally installed tool, outside the project root
  assert.deepEqual(classify('/usr/lib/node_modules/shoptool/bin/run.js', root, include), {
    filename: 'shoptool/bin/run.js',
    inApp: true,
  });
  assert.deepEqual(classify(path.join(root, 'src', 'main.js'), root, include), {
    filename: 'src/main.js',
    inApp: true,
  });
});

test('in-app is under the project root and outside node_modules; Node internals never are', () => {
  const root = path.join(path.sep, 'srv', 'app');
  assert.deepEqual(classify(path.join(root, 'routes', 'users.js'), root), {
    filename: 'routes/users.js',
    inApp: true,
  });
  assert.deepEqual(classify(path.join(root, 'node_modules', 'express', 'lib', 'router.js'), root), {
    filename: 'express/lib/router.js',
    inApp: false,
  });
  assert.deepEqual(
    classify(path.join(root, 'node_modules', '@scope', 'pkg', 'node_modules', 'dep', 'i.js'), root),
    {
      filename: 'dep/i.js',
      inApp: false,
    },
  );
  assert.deepEqual(classify('/srv/application/x.js', root), {
    filename: '/srv/application/x.js',
    inApp: false,
  });
  assert.deepEqual(classify('node:internal/timers', root), {
    filename: 'node:internal/timers',
    inApp: false,
  });
  assert.deepEqual(classify('<anonymous>', root), { filename: '<anonymous>', inApp: false });

  const stack = 'Error: x\n    at main (file:///srv/app/src/main.mjs:4:1)';
  const [frame] = framesFromStack(stack, 'Error: x', root);
  assert.deepEqual(frame, {
    filename: 'src/main.mjs',
    function: 'main',
    in_app: true,
    abs_path: '/srv/app/src/main.mjs',
    lineno: 4,
    colno: 1,
  });
});

test('a message cannot forge a frame, nor name a file for the SDK to read', () => {
  const error = new Error('lookup failed\n    at evil (/etc/passwd:1:1)');
  const [value] = exceptionValues(error, ROOT);
  assert.equal(value.value, 'lookup failed\n    at evil (/etc/passwd:1:1)');
  assert.ok(value.stacktrace.frames.every((frame) => frame.abs_path !== '/etc/passwd'));
  assert.equal(value.stacktrace.frames.at(-1).filename, THIS_FILE);
});

test('a runaway stack keeps the 100 frames nearest the error', () => {
  const lines = Array.from({ length: 150 }, (_, n) => `    at f${n} (/srv/app/x.js:${n + 1}:1)`);
  const frames = framesFromStack(
    `RangeError: too deep\n${lines.join('\n')}`,
    'RangeError: too deep',
    '/srv/app',
  );
  assert.equal(frames.length, 100);
  assert.equal(frames.at(-1).function, 'f0', 'the raise site, printed first by V8, is last');
  assert.equal(frames[0].function, 'f99');
});

test('a cause chain is sent causes first, the error that was caught last', () => {
  const root = new Error('connection refused');
  const middle = new Error('query failed', { cause: root });
  const top = new TypeError('could not load the order', { cause: middle });
  const values = exceptionValues(top, ROOT);
  assert.deepEqual(
    values.map((value) => value.value),
    ['connection refused', 'query failed', 'could not load the order'],
  );
  assert.deepEqual(values[0].mechanism, { type: 'chained', source: 'cause' });
  assert.equal(values.at(-1).mechanism, undefined, 'the caller sets the last one');
});

test("an AggregateError's errors come before it, each saying where it was", () => {
  const aggregate = new AggregateError([new RangeError('first'), new SyntaxError('second')], 'all failed');
  const values = exceptionValues(aggregate, ROOT);
  assert.deepEqual(
    values.map((value) => [value.type, value.value, value.mechanism?.source]),
    [
      ['RangeError', 'first', 'errors[0]'],
      ['SyntaxError', 'second', 'errors[1]'],
      ['AggregateError', 'all failed', undefined],
    ],
  );
});

test('cycles end, and a long chain keeps the ten nearest the handler', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  a.cause = b;
  assert.deepEqual(
    exceptionValues(b, ROOT).map((value) => value.value),
    ['a', 'b'],
  );

  let error = new Error('cause 0');
  for (let n = 1; n < 15; n += 1) error = new Error(`cause ${n}`, { cause: error });
  const values = exceptionValues(error, ROOT);
  assert.equal(values.length, 10);
  assert.equal(values.at(-1).value, 'cause 14');
});

test('thrown values that are no Error are still reported', () => {
  assert.deepEqual(exceptionValues('plain text', ROOT), [
    { type: 'Error', value: 'plain text', stacktrace: { frames: [] } },
  ]);
  assert.equal(
    exceptionValues({ code: 42, reason: 'x' }, ROOT)[0].value,
    'Non-Error exception captured with keys: code, reason',
  );
  assert.equal(exceptionValues(null, ROOT)[0].value, '');
  const hostile = new Proxy(
    {},
    {
      get: () => {
        throw new Error('trap');
      },
      ownKeys: () => {
        throw new Error('trap');
      },
    },
  );
  assert.equal(exceptionValues(hostile, ROOT)[0].type, 'Error');
});

test("an error's type is its name, or its class when the name is the inherited 'Error'", () => {
  class PaymentError extends Error {}
  class NamedError extends Error {
    constructor(message) {
      super(message);
      this.name = 'CardDeclined';
    }
  }
  assert.equal(exceptionValues(new PaymentError('x'), ROOT)[0].type, 'PaymentError');
  assert.equal(exceptionValues(new NamedError('x'), ROOT)[0].type, 'CardDeclined');
  assert.equal(exceptionValues(new Error('x'), ROOT)[0].type, 'Error');
});

test('source lines: five either side, clipped, only from source files of a bounded size', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bugstack-source-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines = Array.from({ length: 20 }, (_, n) => `line ${n + 1}`);
  lines[9] = `x${'y'.repeat(400)}`;
  const small = path.join(dir, 'small.js');
  fs.writeFileSync(small, lines.join('\r\n'));
  const large = path.join(dir, 'large.js');
  fs.writeFileSync(large, 'line\n'.repeat(300_000));
  const notSource = path.join(dir, 'secrets.env');
  fs.writeFileSync(notSource, lines.join('\n'));

  const frames = [
    { abs_path: small, lineno: 10 },
    { abs_path: small, lineno: 1 },
    { abs_path: small, lineno: 99 },
    { abs_path: large, lineno: 2 },
    { abs_path: notSource, lineno: 2 },
    { abs_path: path.join(dir, 'gone.js'), lineno: 1 },
    { filename: 'node:internal/timers', lineno: 1 },
  ];
  await new SourceCache().addContext(frames);

  assert.equal(frames[0].context_line, `x${'y'.repeat(299)}…`);
  assert.deepEqual(frames[0].pre_context, ['line 5', 'line 6', 'line 7', 'line 8', 'line 9']);
  assert.deepEqual(frames[0].post_context, ['line 11', 'line 12', 'line 13', 'line 14', 'line 15']);
  assert.deepEqual(frames[1].pre_context, []);
  assert.equal(frames[1].context_line, 'line 1');
  for (const frame of frames.slice(2)) assert.equal(frame.context_line, undefined, JSON.stringify(frame));
});

test("the client fingerprint ignores line numbers but not the failing line's text", () => {
  const values = () => [
    {
      type: 'TypeError',
      value: 'x',
      stacktrace: {
        frames: [
          {
            filename: 'express/lib/router.js',
            function: 'handle',
            in_app: false,
            lineno: 5,
            context_line: 'a()',
          },
          {
            filename: 'routes/users.js',
            function: 'getUser',
            in_app: true,
            lineno: 42,
            context_line: '  return user.id;',
          },
        ],
      },
    },
  ];
  const moved = values();
  moved[0].stacktrace.frames[1].lineno = 50;
  moved[0].stacktrace.frames[1].context_line = 'return   user.id;';
  moved[0].stacktrace.frames[0].context_line = 'b()'; // a library frame: not counted while app frames exist
  const changed = values();
  changed[0].stacktrace.frames[1].context_line = '  return user.name;';

  assert.equal(clientFingerprint(moved), clientFingerprint(values()));
  assert.notEqual(clientFingerprint(changed), clientFingerprint(values()));
  assert.match(clientFingerprint(values()), /^[0-9a-f]{64}$/);
});

test('an event carries what the protocol asks for', () => {
  const options = buildOptions(
    { environment: 'staging', release: 'v2', serverName: 'web-1', projectRoot: ROOT },
    {},
  );
  const event = buildEvent(caught(outer), options, { mechanism: 'express', level: 'error' });
  assert.match(event.event_id, /^[0-9a-f]{32}$/);
  assert.equal(typeof event.timestamp, 'number');
  assert.ok(Math.abs(event.timestamp - Date.now() / 1000) < 60);
  assert.equal(event.platform, 'node');
  assert.equal(event.level, 'error');
  assert.equal(event.environment, 'staging');
  assert.equal(event.release, 'v2');
  assert.equal(event.server_name, 'web-1');
  assert.deepEqual(event.contexts.runtime, { name: 'node', version: process.versions.node });
  assert.deepEqual(event.contexts.os, { name: os.type(), version: os.release() });
  assert.deepEqual(event.exception.values.at(-1).mechanism, { type: 'express', handled: false });
  assert.equal(event.request, undefined);
});

test('an oversized event loses library source first, then all source, then outer frames', () => {
  const frame = (inApp, n) => ({
    filename: `f${n}.js`,
    function: 'f',
    in_app: inApp,
    context_line: 'x',
    pre_context: ['p'.repeat(2000)],
    post_context: ['q'.repeat(2000)],
  });
  const event = () => ({
    exception: {
      values: [
        {
          type: 'E',
          value: 'v',
          stacktrace: { frames: [...Array.from({ length: 60 }, (_, n) => frame(n % 2 === 0, n))] },
        },
      ],
    },
  });

  const first = event();
  encodeEvent(first, 150_000);
  const kept = first.exception.values[0].stacktrace.frames;
  assert.ok(kept.filter((f) => !f.in_app).every((f) => f.pre_context === undefined));
  assert.ok(kept.filter((f) => f.in_app).every((f) => f.pre_context !== undefined));

  const second = event();
  encodeEvent(second, 3000);
  assert.equal(second.exception.values[0].stacktrace.frames.length, 20);
  assert.equal(
    second.exception.values[0].stacktrace.frames.at(-1).filename,
    'f59.js',
    'the innermost frames stay',
  );
  assert.ok(second.exception.values[0].stacktrace.frames.every((f) => f.context_line === 'x'));
});
