'use strict';

/**
 * HTTP delivery of one event: gzip, a deadline per request, retries with backoff on 429/5xx/network
 * errors, and `Retry-After` honoured so a busy server is not hammered.
 *
 * Requests go out on sockets that are `unref()`ed, and every wait is an `unref()`ed timer: delivery
 * alone never keeps a process alive (`flush` and `close` do, for as long as they were asked to wait).
 */

const http = require('node:http');
const https = require('node:https');
const { promisify } = require('node:util');
const zlib = require('node:zlib');

const { VERSION } = require('./version');

const gzip = promisify(zlib.gzip);

const BASE_BACKOFF = 500;
const MAX_BACKOFF = 30_000;
const MAX_RETRY_AFTER = 300_000; // a pause longer than this is more likely a misconfigured proxy than a plan
const MAX_DETAIL_BYTES = 2048;

const SENT = 'sent';
const REJECTED = 'rejected'; // the server said no for good (400, 401, 413, 415): retrying cannot help
const FAILED = 'failed'; // retries used up, or the SDK is shutting down

class HttpTransport {
  constructor(destination, { timeout, maxRetries, log }) {
    this.url = new URL(destination.eventsUrl);
    this.key = destination.key;
    this.timeout = timeout;
    this.maxRetries = maxRetries;
    this.log = log;
    this.notBefore = 0; // monotonic time before which the server asked not to hear from us
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: false });
  }

  /** Send with retries; `signal` (aborted at shutdown) ends any wait or request at once. */
  async deliver(body, signal) {
    const compressed = await gzip(body);
    for (let attempt = 0; attempt <= this.maxRetries; attempt += 1) {
      if (!(await sleep(this.notBefore - performance.now(), signal))) return FAILED;
      const reply = await this.post(compressed, signal);
      if (reply.status >= 200 && reply.status < 300) return SENT;
      if (reply.status && reply.status !== 429 && reply.status < 500) {
        this.log.warn(`bugstack refused an event (HTTP ${reply.status}): ${reply.detail}`);
        return REJECTED;
      }
      // Kept after the last attempt too: the next event also waits as long as the server asked.
      const delay = reply.retryAfter ?? backoff(attempt);
      this.notBefore = performance.now() + delay;
      const next = attempt < this.maxRetries ? `retrying in ${(delay / 1000).toFixed(1)} s` : 'giving up';
      this.log.debug(`bugstack could not deliver an event (${reply.detail}); ${next}`);
    }
    return FAILED;
  }

  /** One POST; resolves `{status, retryAfter, detail}`, status 0 when no HTTP answer came back. */
  post(compressed, signal) {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        signal.removeEventListener('abort', onAbort);
        resolve(reply);
      };
      const client = this.url.protocol === 'https:' ? https : http;
      const request = client.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
          'Content-Length': compressed.length,
          Authorization: `Bearer ${this.key}`,
          'User-Agent': `bugstack-sdk-node/${VERSION}`,
        },
      });
      const fail = (error) => {
        request.destroy();
        finish({ status: 0, retryAfter: null, detail: error.message || error.name || 'network error' });
      };
      // A whole-request deadline: a server that answers a byte at a time must not hold the sender.
      const deadline = setTimeout(() => fail(new Error(`no answer within ${this.timeout} ms`)), this.timeout);
      deadline.unref();
      const onAbort = () => fail(new Error('the SDK is shutting down'));
      if (signal.aborted) return fail(new Error('the SDK is shutting down'));
      signal.addEventListener('abort', onAbort, { once: true });
      request.on('socket', (socket) => socket.unref());
      request.on('error', fail);
      request.on('response', (response) => {
        readDetail(response).then((detail) =>
          finish({
            status: response.statusCode || 0,
            retryAfter: parseRetryAfter(response.headers['retry-after']),
            detail: detail || response.statusMessage || '',
          }),
        );
      });
      request.end(compressed);
    });
  }
}

/** The server's `detail`, from the first bytes of its answer; never more than `MAX_DETAIL_BYTES`. */
function readDetail(response) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    const done = () => {
      response.removeAllListeners('data');
      resolve(detailOf(Buffer.concat(chunks).toString('utf8')));
    };
    response.on('data', (chunk) => {
      if (size < MAX_DETAIL_BYTES) chunks.push(chunk.subarray(0, MAX_DETAIL_BYTES - size));
      size += chunk.length;
      if (size >= MAX_DETAIL_BYTES) {
        response.destroy();
        done();
      }
    });
    response.on('end', done);
    response.on('error', done);
    response.on('close', done);
  });
}

function detailOf(body) {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // not JSON: the text as it came
  }
  return body;
}

/** Sleep unless shutting down; false means stop now. The timer never holds the process open. */
function sleep(ms, signal) {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential with jitter, so many processes that failed together do not retry together. */
function backoff(attempt) {
  return Math.min(MAX_BACKOFF, BASE_BACKOFF * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** Milliseconds to wait, from seconds or an HTTP date (RFC 9110 §10.2.3); null when unreadable. */
function parseRetryAfter(value, now = Date.now()) {
  if (typeof value !== 'string' || !value.trim() || value.length > 64) return null;
  const text = value.trim();
  let ms = /^[0-9]+(?:\.[0-9]+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (Number.isNaN(ms)) return null;
  ms = Math.min(Math.max(ms, 0), MAX_RETRY_AFTER);
  return ms;
}

module.exports = { FAILED, HttpTransport, REJECTED, SENT, backoff, parseRetryAfter };
