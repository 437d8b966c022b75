'use strict';

/**
 * bugstack's JavaScript SDK for Node.js: capture errors, redact them and send them without slowing the app.
 *
 *     const bugstack = require('@bugstack/sdk');
 *     bugstack.init(); // reads BUGSTACK_DSN; or init({ dsn }), or init({ key, endpoint })
 *
 * Express: `app.use(bugstack.requestHandler())` first, `app.use(bugstack.expressErrorHandler())` after the
 * routes. Next.js: `@bugstack/sdk/next` (next.js). Nothing here throws into the app.
 */

const { Client } = require('./lib/client');
const current = require('./lib/current');
const { DsnError } = require('./lib/dsn');
const { expressErrorHandler, requestHandler } = require('./lib/express');
const { Logger } = require('./lib/log');
const { buildOptions } = require('./lib/options');
const { listenFor } = require('./lib/process');
const { VERSION } = require('./lib/version');

// Another copy of the SDK in the same process (a bundled route) may have configured the client already.
current.client ??= new Client(buildOptions({ enabled: false }, {}));

/**
 * Configure the SDK (arguments first, then `BUGSTACK_*` variables) and return the client.
 *
 * A malformed DSN is logged and leaves the SDK off: the app starts either way. A client configured
 * before is closed (its queued events still get `shutdownTimeout` to go out).
 */
function init(options = {}) {
  const given = options !== null && typeof options === 'object' ? options : {};
  const client = new Client(optionsOrOff(given), new Logger(given.debug));
  client.framework = current.framework; // an integration set up before init keeps its name
  const previous = current.client;
  current.client = client;
  previous.close(previous.options.shutdownTimeout).catch(() => {});
  listenFor(client);
  return client;
}

function optionsOrOff(given) {
  try {
    return buildOptions(given);
  } catch (error) {
    const reason = error instanceof DsnError ? error.message : String(error);
    new Logger().warn(`bugstack is disabled: ${reason}`);
    return buildOptions({ ...given, enabled: false });
  }
}

function getClient() {
  return current.client;
}

/** Report `error` (any thrown value); returns the event id, or null when nothing will be sent. */
function captureException(error) {
  return current.client.captureException(error);
}

/**
 * Report `message` at `level` ("fatal", "error", "warning", "info" or "debug"; anything else is "info"),
 * with the stack of the code that called it; returns the event id, or null when nothing will be sent.
 */
function captureMessage(message, level = 'info') {
  return current.client.captureMessage(message, level, { stackStart: captureMessage });
}

/** Resolve true once queued events were sent; false if `timeoutMs` passed first. Never rejects. */
function flush(timeoutMs) {
  return current.client.flush(timeoutMs);
}

/** Flush, then stop sending; later captures are dropped. */
function close(timeoutMs) {
  return current.client.close(timeoutMs);
}

module.exports = {
  Client,
  DsnError,
  VERSION,
  captureException,
  captureMessage,
  close,
  expressErrorHandler,
  flush,
  getClient,
  init,
  requestHandler,
};
