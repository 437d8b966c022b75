'use strict';

/**
 * A script that crashes, run by the tests as its own process: `node crash.js <how>`, where how is
 * "throw", "reject", "reject-string", "handled" (the app has its own uncaughtException listener) or
 * "pending" (captures an error and ends normally). The SDK is on when BUGSTACK_DSN is set.
 */

const bugstack = require('..');

bugstack.init({ projectRoot: __dirname, shutdownTimeout: Number(process.env.SHUTDOWN_TIMEOUT || 2000) });
process.on('exit', (code) => process.stdout.write(`exit listener ran with code ${code}\n`));

const how = process.argv[2];

function chargeCard() {
  throw new TypeError('card declined');
}

if (how === 'throw') {
  setTimeout(() => chargeCard(), 1);
} else if (how === 'reject') {
  Promise.reject(new TypeError('payment rejected'));
} else if (how === 'reject-string') {
  Promise.reject('plain reason');
} else if (how === 'handled') {
  process.on('uncaughtException', (error) => process.stdout.write(`the app handled: ${error.message}\n`));
  setTimeout(() => chargeCard(), 1);
} else if (how === 'pending') {
  try {
    chargeCard();
  } catch (error) {
    bugstack.captureException(error);
  }
}
