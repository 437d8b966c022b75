'use strict';

// index.d.ts: it compiles against an app's use of the SDK, and declares exactly what index.js exports.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const ROOT = path.join(__dirname, '..');

test("an app's use of the SDK type-checks against index.d.ts, and misuse does not", () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--lib',
      'es2022',
      '--module',
      'nodenext',
      'testing/types-usage.ts',
      'testing/types-next-usage.ts',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('index.d.ts declares every export of index.js, and nothing more', () => {
  const declarations = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
  const declared = [...declarations.matchAll(/^export declare (?:function|class|const) (\w+)/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(declared.sort(), Object.keys(require('..')).sort());
});

test('next.d.ts declares every export of next.js, and nothing more', () => {
  const declarations = fs.readFileSync(path.join(ROOT, 'next.d.ts'), 'utf8');
  const declared = [...declarations.matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(declared.sort(), Object.keys(require('../next')).sort());
});

test('package.json exports the SDK and @bugstack/sdk/next, with their types', () => {
  assert.equal(require.resolve('@bugstack/sdk'), path.join(ROOT, 'index.js'));
  assert.equal(require.resolve('@bugstack/sdk/next'), path.join(ROOT, 'next.js'));
  const { exports } = require('../package.json');
  assert.equal(exports['.'].types, './index.d.ts');
  assert.equal(exports['./next'].types, './next.d.ts');
});
