'use strict';

/** Where events go: a DSN, or an endpoint and a key, turned into the events URL and the key to send. */

const EVENTS_PATH = '/api/v1/events/';

/** The DSN or endpoint cannot be used; the message names what is wrong. */
class DsnError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DsnError';
  }
}

/** Read `http(s)://<key>@host[:port][/prefix]/<project id>`. */
function parseDsn(dsn) {
  const url = parseUrl(dsn, 'the DSN');
  if (!url.username) {
    throw new DsnError('the DSN has no key: expected http(s)://<key>@host/<project id>');
  }
  const path = trimTrailingSlashes(url.pathname);
  const cut = path.lastIndexOf('/');
  const projectId = path.slice(cut + 1);
  if (!isDigits(projectId)) {
    throw new DsnError('the DSN has no project id: expected http(s)://<key>@host/<project id>');
  }
  return {
    eventsUrl: `${url.protocol}//${url.host}${path.slice(0, cut)}${EVENTS_PATH}`,
    key: decodeKey(url.username),
    projectId,
  };
}

/** Use a bugstack base URL (`http://bugstack.internal:8000`) and a project key. */
function fromEndpoint(endpoint, key) {
  const trimmedKey = String(key).trim();
  if (!trimmedKey) throw new DsnError('the project key is empty');
  const url = parseUrl(endpoint, JSON.stringify(String(endpoint)));
  return {
    eventsUrl: `${url.protocol}//${url.host}${trimTrailingSlashes(url.pathname)}${EVENTS_PATH}`,
    key: trimmedKey,
    projectId: null,
  };
}

function parseUrl(text, name) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    // The DSN holds the key: its text is not repeated in a message that may reach a log.
    throw new DsnError(`${name} is not a URL with a host (and a valid port, if any)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DsnError(`${name} must start with http:// or https://`);
  }
  if (!url.hostname) throw new DsnError(`${name} has no host`);
  return url;
}

function trimTrailingSlashes(path) {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end -= 1;
  return path.slice(0, end);
}

function isDigits(text) {
  if (!text) return false;
  for (const char of text) {
    if (char < '0' || char > '9') return false;
  }
  return true;
}

function decodeKey(username) {
  try {
    return decodeURIComponent(username);
  } catch {
    return username;
  }
}

module.exports = { DsnError, EVENTS_PATH, fromEndpoint, parseDsn };
