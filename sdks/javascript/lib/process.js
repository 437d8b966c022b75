'use strict';

/**
 * Process-wide capture: errors nothing caught, and queued events at a natural exit.
 *
 * `uncaughtException`: Node calls this listener both for a thrown error nothing caught and, under its
 * default `--unhandled-rejections=throw` (and `strict`), for a promise rejection nothing handled (origin
 * "unhandledRejection"). The SDK does not listen to `unhandledRejection` itself: a listener there would
 * make Node treat every rejection as handled, and a process that would have crashed would carry on.
 *
 * Node's exit behaviour is kept. A listener of its own stops Node from exiting, so:
 * - when the app has an `uncaughtException` listener too, the app decides, as it did before: the SDK
 *   only reports;
 * - otherwise the SDK reports, waits up to `shutdownTimeout` for queued events to go out (the process
 *   keeps running meanwhile: timers fire and servers answer), removes its listener and hands the error
 *   back to Node: a thrown error is thrown again, a rejection is rejected again. Node then prints it and
 *   exits with code 1, runs `exit` listeners, and so on, as without the SDK. The one difference is the
 *   source line Node prints above the stack (`file:line`, the line, a caret): for a thrown error it is the
 *   SDK's line that threw it again (its comment says so), for a rejection a line of Node's own, since
 *   V8 no longer knows where the error was made once its stack has been read. The stack below it, the
 *   message and the exit code are the original's.
 *
 * `beforeExit`: when the event loop has nothing left to do, events still queued get up to
 * `shutdownTimeout` to go out, then the client closes. `process.exit()` and signals end the process
 * without it: call `await flush()` first where that matters.
 */

const current = require('./current');

const listening = { crashes: false, exit: false };
let exiting = false;

/** Listen as `client` asks: crashes when it is on with `captureUncaught`, exit when it is on at all. */
function listenFor(client) {
  setListener(
    'uncaughtException',
    onUncaughtException,
    'crashes',
    client.enabled && client.options.captureUncaught,
  );
  setListener('beforeExit', onBeforeExit, 'exit', client.enabled);
}

function setListener(event, listener, name, wanted) {
  if (wanted && !listening[name]) process.on(event, listener);
  if (!wanted && listening[name]) process.removeListener(event, listener);
  listening[name] = wanted;
}

function onUncaughtException(error, origin) {
  const client = current.client;
  const fromPromise = origin === 'unhandledRejection';
  client.captureException(error, {
    mechanism: fromPromise ? 'onunhandledrejection' : 'onuncaughtexception',
    level: 'fatal',
  });
  if (process.listeners('uncaughtException').some((listener) => listener !== onUncaughtException)) return;
  if (exiting) return; // the first error is the one Node will report; this one is reported and queued
  exiting = true;
  client.flush(client.options.shutdownTimeout).then(() => handBackToNode(error, fromPromise));
}

function handBackToNode(error, fromPromise) {
  process.removeListener('uncaughtException', onUncaughtException);
  listening.crashes = false;
  if (fromPromise) {
    Promise.reject(error);
  } else {
    process.nextTick(rethrow, error);
  }
}

function rethrow(error) {
  throw error; // @bugstack/sdk rethrew this after reporting it; the stack below is the original.
}

function onBeforeExit() {
  const client = current.client;
  if (client.enabled && client.hasPendingEvents()) {
    client.close(client.options.shutdownTimeout).catch(() => {});
  }
}

module.exports = { listenFor };
