'use strict';

// `modules`: the installed packages' versions, read once per process, sent with each event.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const bugstack = require('..');
const { installedModules, packageDirectory } = require('../lib/modules');
const { useSink } = require('../testing/sink');

const sink = useSink();

/** A project directory with these files (path → JSON value, or a string written as it is). */
function project(files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bugstack-modules-'));
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, ...file.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

test('the packages the project names, as installed, and the packages of the files it loaded', async () => {
  const root = project({
    'package.json': {
      dependencies: { 'left-pad': '^1.0.0', '@acme/client': '^2.0.0', 'never-installed': '^1.0.0' },
      devDependencies: { 'test-runner': '^3.0.0' },
    },
    'node_modules/left-pad/package.json': { name: 'left-pad', version: '1.3.0' },
    'node_modules/@acme/client/package.json': { name: '@acme/client', version: '2.4.1' },
    'node_modules/left-pad/node_modules/repeat/package.json': { name: 'repeat', version: '0.2.0' },
    'node_modules/left-pad/node_modules/repeat/index.js': '',
  });
  const loaded = [
    path.join(root, 'node_modules', 'left-pad', 'node_modules', 'repeat', 'index.js'),
    path.join(root, 'src', 'app.js'),
  ];

  assert.deepEqual(await installedModules(root, loaded), {
    'left-pad': '1.3.0',
    '@acme/client': '2.4.1',
    repeat: '0.2.0',
  });
});

test('a package is found where Node would find it: in a node_modules above the project', async () => {
  const workspace = project({
    'node_modules/shared/package.json': { name: 'shared', version: '5.0.0' },
    'apps/web/package.json': { dependencies: { shared: '*' } },
  });
  assert.deepEqual(await installedModules(path.join(workspace, 'apps', 'web'), []), { shared: '5.0.0' });
});

test('what a package says of itself is bounded, and a name cannot climb out of node_modules', async () => {
  const root = project({
    'package.json': { dependencies: { broken: '1', huge: '1', odd: '1', '../../etc': '1', unread: '1' } },
    'node_modules/broken/package.json': '{"name": "broken", "version": ',
    'node_modules/huge/package.json': { name: 'huge', version: 'x'.repeat(5000) },
    'node_modules/odd/package.json': { name: ['odd'], version: { major: 1 } },
    'etc/package.json': { name: 'outside', version: '1.0.0' },
    'node_modules/unread/index.js': '',
  });
  assert.deepEqual(await installedModules(root, []), {});
});

test('the package a loaded file belongs to is the one after its last node_modules', () => {
  const at = (...parts) => path.join(path.sep, 'app', ...parts);
  assert.equal(packageDirectory(at('node_modules', 'a', 'lib', 'x.js')), at('node_modules', 'a'));
  assert.equal(packageDirectory(at('node_modules', '@s', 'b', 'x.js')), at('node_modules', '@s', 'b'));
  assert.equal(
    packageDirectory(at('node_modules', 'a', 'node_modules', 'c', 'x.js')),
    at('node_modules', 'a', 'node_modules', 'c'),
  );
  assert.equal(packageDirectory(at('src', 'x.js')), null);
  assert.equal(packageDirectory('node:fs'), null);
});

test('an event carries the installed versions, read once per process; sendModules: false sends none', async () => {
  let seen;
  bugstack.init({ dsn: sink.dsn, beforeSend: (event) => ((seen = event), event) });
  const before = sink.received.length;
  bugstack.captureException(new Error('first'));
  bugstack.captureException(new Error('second'));
  assert.equal(await bugstack.flush(5000), true);
  const [first, second] = (await sink.waitFor(before + 2)).slice(before).map((sent) => sent.body);

  // This package's own devDependencies are installed here: Express is one, loaded by other tests or not.
  assert.equal(first.modules.express, require('express/package.json').version);
  assert.deepEqual(second.modules, first.modules);
  assert.equal(seen.modules.express, first.modules.express, 'beforeSend sees them');

  await bugstack.close(0);
  bugstack.init({ dsn: sink.dsn, sendModules: false });
  const after = sink.received.length;
  bugstack.captureException(new Error('third'));
  assert.equal(await bugstack.flush(5000), true);
  const [third] = (await sink.waitFor(after + 1)).slice(after);
  assert.equal(third.body.modules, undefined);
});
