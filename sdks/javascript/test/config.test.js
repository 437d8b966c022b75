'use strict';

// Configuration: DSNs, a key and an endpoint, environment variables, and mistakes that leave the SDK off.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { afterEach, test } = require('node:test');

const bugstack = require('..');
const { DsnError, fromEndpoint, parseDsn } = require('../lib/dsn');
const { buildOptions } = require('../lib/options');

afterEach(() => {
  bugstack.init({ enabled: false });
});

test('a DSN gives the events URL, the key and the project id', () => {
  assert.deepEqual(parseDsn('http://abc123@localhost:8000/7'), {
    eventsUrl: 'http://localhost:8000/api/v1/events/',
    key: 'abc123',
    projectId: '7',
  });
  assert.equal(
    parseDsn(' https://k@errors.example.com/bugstack/12/ ').eventsUrl,
    'https://errors.example.com/bugstack/api/v1/events/',
    'a path prefix is kept, surrounding spaces and a trailing slash are not',
  );
  assert.equal(parseDsn('http://k@[::1]:9000/3').eventsUrl, 'http://[::1]:9000/api/v1/events/');
});

test('a malformed DSN is refused with a reason that does not repeat the key', () => {
  const cases = [
    ['http://localhost:8000/7', /has no key/],
    ['http://k@localhost:8000/', /has no project id/],
    ['http://k@localhost:8000/seven', /has no project id/],
    ['ftp://k@localhost/7', /must start with http/],
    ['http://secret-key@localhost:99999/7', /not a URL/],
    ['not a url secret-key', /not a URL/],
  ];
  for (const [dsn, reason] of cases) {
    assert.throws(
      () => parseDsn(dsn),
      (error) => {
        assert.ok(error instanceof DsnError);
        assert.match(error.message, reason);
        assert.doesNotMatch(error.message, /secret-key/);
        return true;
      },
    );
  }
});

test('an endpoint and a key name the same events URL', () => {
  assert.deepEqual(fromEndpoint('http://bugstack.internal:8000/', ' key '), {
    eventsUrl: 'http://bugstack.internal:8000/api/v1/events/',
    key: 'key',
    projectId: null,
  });
  assert.throws(() => fromEndpoint('http://bugstack.internal', '  '), /the project key is empty/);
});

test('options come from init first, then BUGSTACK_* variables', () => {
  const env = {
    BUGSTACK_DSN: 'http://env-key@localhost:8000/1',
    BUGSTACK_ENVIRONMENT: 'staging',
    BUGSTACK_RELEASE: 'v1.2.3',
    BUGSTACK_SERVER_NAME: 'web-1',
    BUGSTACK_SEND_REQUEST_HEADERS: 'yes',
    BUGSTACK_REDACT_KEYS: 'ssn, Tax-Id',
  };
  const fromEnv = buildOptions({}, env);
  assert.equal(fromEnv.destination.key, 'env-key');
  assert.equal(fromEnv.environment, 'staging');
  assert.equal(fromEnv.release, 'v1.2.3');
  assert.equal(fromEnv.serverName, 'web-1');
  assert.equal(fromEnv.sendRequestHeaders, true);
  assert.equal(fromEnv.sendRequestBody, false);
  assert.deepEqual(fromEnv.redactKeys, ['ssn', 'tax-id']);

  const given = buildOptions(
    { dsn: 'http://arg-key@localhost:8000/2', environment: 'test', release: 'r2', sendRequestHeaders: false },
    env,
  );
  assert.equal(given.destination.key, 'arg-key');
  assert.equal(given.environment, 'test');
  assert.equal(given.release, 'r2');
  assert.equal(given.sendRequestHeaders, false);
});

test('the defaults are those of the Python SDK', () => {
  const options = buildOptions({}, {});
  assert.equal(options.destination, null, 'no DSN: the SDK is off');
  assert.equal(options.environment, 'production');
  assert.equal(options.serverName, os.hostname());
  assert.equal(options.projectRoot, process.cwd());
  assert.equal(options.sendRequestHeaders, false);
  assert.equal(options.sendRequestBody, false);
  assert.equal(options.maxQueueSize, 100);
  assert.equal(options.timeout, 2000);
  assert.equal(options.maxRetries, 3);
  assert.equal(options.shutdownTimeout, 2000);
  assert.equal(options.sampleRate, 1);
});

test('inAppInclude keeps package names and drops anything else', () => {
  assert.deepEqual(buildOptions({}, {}).inAppInclude, []);
  assert.deepEqual(buildOptions({ inAppInclude: 'shoptool' }, {}).inAppInclude, [], 'a string is no list');
  const options = buildOptions({ inAppInclude: [' shoptool ', '@acme/plugin', 'shoptool', '', 7, null] }, {});
  assert.deepEqual(options.inAppInclude, ['shoptool', '@acme/plugin']);
  assert.ok(Object.isFrozen(options.inAppInclude));
});

test('a key and an endpoint from the environment work together, and one alone is a mistake', () => {
  const options = buildOptions({}, { BUGSTACK_KEY: 'k', BUGSTACK_ENDPOINT: 'http://h:8000' });
  assert.equal(options.destination.eventsUrl, 'http://h:8000/api/v1/events/');
  assert.throws(
    () => buildOptions({}, { BUGSTACK_KEY: 'k' }),
    /the endpoint \(BUGSTACK_ENDPOINT\) is missing/,
  );
  assert.throws(() => buildOptions({ endpoint: 'http://h' }, {}), /the key \(BUGSTACK_KEY\) is missing/);
});

test('init with a malformed DSN says why on stderr and leaves the SDK off, without throwing', () => {
  const written = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk) => written.push(String(chunk));
  let client;
  try {
    client = bugstack.init({ dsn: 'http://localhost:8000/7' });
  } finally {
    process.stderr.write = write;
  }
  assert.equal(client.enabled, false);
  assert.equal(bugstack.captureException(new Error('x')), null);
  assert.match(written.join(''), /bugstack is disabled: the DSN has no key/);
});

test('enabled: false and sampleRate: 0 send nothing', () => {
  assert.equal(bugstack.init({ dsn: 'http://k@127.0.0.1:9/1', enabled: false }).enabled, false);
  assert.equal(bugstack.captureException(new Error('x')), null);
  const client = bugstack.init({ dsn: 'http://k@127.0.0.1:9/1', sampleRate: 0 });
  assert.equal(client.enabled, true);
  assert.equal(bugstack.captureException(new Error('x')), null);
  assert.equal(client.stats.queued, 0);
  bugstack.close(0);
});

test('a sample rate that is no rate is read as 1', () => {
  for (const rate of [-1, 2, 'half', Number.NaN])
    assert.equal(buildOptions({ sampleRate: rate }, {}).sampleRate, 1);
  assert.equal(buildOptions({ sampleRate: '0.25' }, {}).sampleRate, 0.25);
});

test('the release defaults to the commit, when the project root is the top of a git repository', (t) => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'bugstack-release-'));
  t.after(() => fs.rmSync(repo, { recursive: true, force: true }));
  const git = (...args) =>
    execFileSync('git', args, {
      cwd: repo,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@b.c',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@b.c',
      },
    }).trim();
  git('init', '-q');
  git('commit', '-q', '--allow-empty', '-m', 'first');
  const head = git('rev-parse', 'HEAD');
  const dsn = 'http://k@127.0.0.1:9/1';

  assert.equal(buildOptions({ dsn, projectRoot: repo }, {}).release, head);
  fs.mkdirSync(path.join(repo, 'app'));
  assert.equal(
    buildOptions({ dsn, projectRoot: path.join(repo, 'app') }, {}).release,
    null,
    "a parent repository's commit names some other project's history",
  );
  assert.equal(buildOptions({ projectRoot: repo }, {}).release, null, 'the SDK is off: git is not asked');
});
