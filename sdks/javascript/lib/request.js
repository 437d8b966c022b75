'use strict';

/**
 * What an event says about the request that failed: route, method and status by default; URL, query,
 * headers and body only when the app turned them on (and then redacted before sending).
 */

const { AsyncLocalStorage } = require('node:async_hooks');

const MAX_BODY_BYTES = 10 * 1024;

/** The request being served, for a `captureException` inside it; set by `requestHandler()`. */
const currentRequest = new AsyncLocalStorage();

/**
 * `{payload, statusCode}` for an event. The URL, headers and body are read only when the options allow
 * them, and then through the functions given, so nothing is read that will not be sent.
 */
function describeRequest(options, { method, route, statusCode, path, queryString, headers, body }) {
  const payload = { method, route };
  if (options.sendRequestHeaders) {
    payload.url = path;
    const query = queryString();
    if (query) payload.query_string = query;
    payload.headers = headers();
  }
  if (options.sendRequestBody) {
    const data = body();
    if (data !== undefined) payload.data = data;
  }
  return { payload, statusCode };
}

/**
 * JSON and form bodies as data, so their keys can be redacted one by one; other text as is.
 *
 * A body that cannot be parsed into keys is left out rather than sent as text that might hide a
 * `"password": …` where redaction cannot see it.
 */
function decodeBody(raw, contentType) {
  const size = Buffer.byteLength(raw);
  if (size > MAX_BODY_BYTES) return `[${size} bytes not captured]`;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  if (contentType.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return '[body is not valid JSON; not captured]';
    }
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (contentType.startsWith('multipart/')) return '[multipart body not captured]';
  return text;
}

module.exports = { MAX_BODY_BYTES, currentRequest, decodeBody, describeRequest };
