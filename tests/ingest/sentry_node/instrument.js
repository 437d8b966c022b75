// Sentry's setup for @sentry/node 8 and later: initialised in its own file, loaded before anything else, so
// that it can instrument the modules the app requires after it. The DSN is the project's, from bugstack.
const Sentry = require("@sentry/node");

Sentry.init({ dsn: process.env.SENTRY_DSN });
