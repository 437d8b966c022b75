'use strict';

/** The SDK's configuration: arguments to `init` first, then `BUGSTACK_*` environment variables. */

const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { DsnError, fromEndpoint, parseDsn } = require('./dsn');

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

const DEFAULTS = Object.freeze({
  environment: 'production',
  maxQueueSize: 100,
  timeout: 2000,
  maxRetries: 3,
  shutdownTimeout: 2000,
  sampleRate: 1,
});

/**
 * Merge `init` arguments with the environment; throw `DsnError` when the destination is malformed.
 *
 * `destination` is null when the SDK is off: no DSN (nor key and endpoint), or `enabled: false`.
 */
function buildOptions(given = {}, env = process.env) {
  const root = path.resolve(given.projectRoot || process.cwd());
  const enabled = given.enabled !== false;
  const destination = enabled ? destinationOf(given, env) : null;
  return Object.freeze({
    destination,
    environment: given.environment || envValue(env, 'BUGSTACK_ENVIRONMENT') || DEFAULTS.environment,
    // Asking git costs a process: only worth it when events will be sent.
    release: given.release || envValue(env, 'BUGSTACK_RELEASE') || (destination ? gitHead(root) : null),
    serverName: given.serverName || envValue(env, 'BUGSTACK_SERVER_NAME') || os.hostname(),
    projectRoot: root,
    inAppInclude: packageNames(given.inAppInclude),
    sendRequestHeaders: flag(given.sendRequestHeaders, env, 'BUGSTACK_SEND_REQUEST_HEADERS'),
    sendRequestBody: flag(given.sendRequestBody, env, 'BUGSTACK_SEND_REQUEST_BODY'),
    sendModules: given.sendModules !== false,
    redactKeys: redactKeys(given.redactKeys, env),
    beforeSend: typeof given.beforeSend === 'function' ? given.beforeSend : null,
    sampleRate: sampleRate(given.sampleRate),
    debug: Boolean(given.debug),
    captureUncaught: given.captureUncaught !== false,
    maxQueueSize: Math.max(1, wholeNumber(given.maxQueueSize, DEFAULTS.maxQueueSize)),
    timeout: Math.max(1, wholeNumber(given.timeout, DEFAULTS.timeout)),
    maxRetries: Math.max(0, wholeNumber(given.maxRetries, DEFAULTS.maxRetries)),
    shutdownTimeout: Math.max(0, wholeNumber(given.shutdownTimeout, DEFAULTS.shutdownTimeout)),
  });
}

function destinationOf(given, env) {
  const dsn = given.dsn || envValue(env, 'BUGSTACK_DSN');
  if (dsn) return parseDsn(dsn);
  const key = given.key || envValue(env, 'BUGSTACK_KEY');
  const endpoint = given.endpoint || envValue(env, 'BUGSTACK_ENDPOINT');
  if (key && endpoint) return fromEndpoint(endpoint, key);
  if (key || endpoint) {
    const missing = key ? 'endpoint (BUGSTACK_ENDPOINT)' : 'key (BUGSTACK_KEY)';
    throw new DsnError(`a key and an endpoint go together: the ${missing} is missing`);
  }
  return null;
}

function envValue(env, name) {
  const value = env[name];
  return typeof value === 'string' ? value.trim() : '';
}

function flag(value, env, name) {
  if (value !== undefined && value !== null) return Boolean(value);
  return TRUE_WORDS.has(envValue(env, name).toLowerCase());
}

function redactKeys(given, env) {
  const keys = [...(Array.isArray(given) ? given : []), ...envValue(env, 'BUGSTACK_REDACT_KEYS').split(',')];
  return Object.freeze([...new Set(keys.map((key) => String(key).trim().toLowerCase()).filter(Boolean))]);
}

/** Package names (`shoptool`, `@acme/plugin`); anything but a list of non-empty strings is none. */
function packageNames(given) {
  const names = Array.isArray(given) ? given.filter((name) => typeof name === 'string') : [];
  return Object.freeze([...new Set(names.map((name) => name.trim()).filter(Boolean))]);
}

/** A rate outside 0..1, or not a number, is read as 1: sending too much is the recoverable mistake. */
function sampleRate(value) {
  if (value === undefined || value === null) return DEFAULTS.sampleRate;
  const rate = Number(value);
  return Number.isFinite(rate) && rate >= 0 && rate <= 1 ? rate : DEFAULTS.sampleRate;
}

function wholeNumber(value, fallback) {
  const number = Number(value);
  return value === undefined || value === null || !Number.isFinite(number) ? fallback : Math.floor(number);
}

/**
 * The commit the app runs from, so the server can tell which release contains a fix.
 *
 * Only when the project root is itself the top of a repository: a parent repository's commit would name
 * some other project's history.
 */
function gitHead(root) {
  let output;
  try {
    output = childProcess.execFileSync('git', ['rev-parse', '--show-toplevel', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
      windowsHide: true,
    });
  } catch {
    return null; // no git, not a repository, or no commit yet
  }
  const lines = output.split(/\s+/).filter(Boolean);
  if (lines.length !== 2 || realpath(lines[0]) !== realpath(root)) return null;
  return lines[1];
}

function realpath(file) {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

module.exports = { DEFAULTS, buildOptions };
