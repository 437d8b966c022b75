'use strict';

/** The client `init()` configured last, and the framework an integration named (kept across `init`). */
module.exports = {
  client: null,
  framework: null,
};
