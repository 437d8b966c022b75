'use strict';

// inAppInclude: an installed package named by the app is sent as the app's own frames, source lines and all.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const bugstack = require('..');
const { useSink } = require('../testing/sink');

const sink = useSink();

/** A project whose tool `shoptool`, installed in node_modules, calls its dependency `left-pad`, which throws. */
function project() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bugstack-inapp-'));
  const files = {
    'node_modules/shoptool/cli.js': [
      "const pad = require('left-pad');",
      'exports.run = function run(order) {',
      '  return pad(order.id, 8);',
      '};',
    ],
    'node_modules/left-pad/index.js': [
      'module.exports = function leftPad(value) {',
      "  throw new TypeError('value must be a string, got ' + typeof value);",
      '};',
    ],
  };
  for (const [file, lines] of Object.entries(files)) {
    const target = path.join(root, ...file.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, lines.join('\n') + '\n');
  }
  return root;
}

test('frames of a package named in inAppInclude are in-app, with their source; others stay out', async () => {
  const root = project();
  bugstack.init({ dsn: sink.dsn, projectRoot: root, inAppInclude: ['shoptool'], sendModules: false });
  const before = sink.received.length;
  try {
    require(path.join(root, 'node_modules', 'shoptool', 'cli.js')).run({ id: 42 });
    assert.fail('nothing was thrown');
  } catch (error) {
    bugstack.captureException(error);
  }
  assert.equal(await bugstack.flush(5000), true);
  const [event] = (await sink.waitFor(before + 1)).slice(before);

  const frames = event.body.exception.values[0].stacktrace.frames;
  const tool = frames.find((frame) => frame.filename === 'shoptool/cli.js');
  const library = frames.at(-1);
  assert.deepEqual([tool.function, tool.in_app, tool.lineno], ['Object.run', true, 3]);
  assert.equal(tool.context_line, '  return pad(order.id, 8);');
  assert.deepEqual([library.filename, library.in_app], ['left-pad/index.js', false]);
  assert.ok(
    frames.every((frame) => frame === tool || !frame.in_app),
    'the test file is outside the project root, and Node internals are never in-app',
  );
});
