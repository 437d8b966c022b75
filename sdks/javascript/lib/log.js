'use strict';

/**
 * The SDK's own messages, on stderr; each begins with "bugstack".
 *
 * Warnings and errors (a malformed DSN, an event the server refused, a full queue) are always written, as
 * the Python SDK's logger shows them by default; `debug: true` adds what happens to each event. Writing a
 * message never throws: a closed stderr must not turn reporting into a crash.
 */
class Logger {
  constructor(debugEnabled = false) {
    this.debugEnabled = Boolean(debugEnabled);
  }

  debug(message, error) {
    if (this.debugEnabled) write(message, error);
  }

  warn(message, error) {
    write(message, error);
  }
}

function write(message, error) {
  try {
    const detail = error === undefined ? '' : `: ${describe(error)}`;
    process.stderr.write(`${message}${detail}\n`);
  } catch {
    // Nowhere left to say it.
  }
}

function describe(error) {
  try {
    return error instanceof Error ? error.stack || String(error) : String(error);
  } catch {
    return 'an unprintable error';
  }
}

module.exports = { Logger };
