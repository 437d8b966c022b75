'use strict';

/**
 * The client `init()` configured last, and the framework an integration named (kept across `init`).
 *
 * Kept on `globalThis`: a bundler (Next.js's webpack) may give `instrumentation.js` and each route their
 * own copy of the SDK, and every copy must see the client `register()` configured.
 */
const STATE = Symbol.for('bugstack.sdk.current');

globalThis[STATE] ??= { client: null, framework: null };

module.exports = globalThis[STATE];
