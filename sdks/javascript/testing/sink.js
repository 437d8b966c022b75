'use strict';

/** A local ingest endpoint for the SDK's tests: records what arrives and answers as each test scripts it. */

const http = require('node:http');
const zlib = require('node:zlib');

class Sink {
  constructor() {
    this.received = []; // {path, headers, text (the body as it left the SDK, unzipped), body (parsed)}
    this.replies = []; // [status, headers] answered in turn, then 202
    this.hang = false; // hold every request open, answering nothing
    this.waiters = [];
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  start() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this)));
  }

  get port() {
    return this.server.address().port;
  }

  get dsn() {
    return `http://public-key@127.0.0.1:${this.port}/7`;
  }

  /** The events received once there are `count` of them; rejects after `timeoutMs`. */
  waitFor(count, timeoutMs = 5000) {
    if (this.received.length >= count) return Promise.resolve(this.received.slice());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the sink got ${this.received.length} events, not ${count}`)),
        timeoutMs,
      );
      this.waiters.push({ count, resolve: (events) => (clearTimeout(timer), resolve(events)) });
    });
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text =
        req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw).toString() : raw.toString();
      const body = JSON.parse(text);
      this.record({ path: req.url, headers: req.headers, text, body });
      if (this.hang) return;
      const [status, headers] = this.replies.shift() || [202, {}];
      const payload = JSON.stringify(status === 202 ? { id: body.event_id } : { detail: 'refused' });
      res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
      res.end(payload);
    });
  }

  record(item) {
    this.received.push(item);
    for (const waiter of this.waiters.filter((w) => this.received.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(this.received.slice());
    }
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function startSink() {
  return new Sink().start();
}

/**
 * For a test file of the SDK's own process: a sink listening for its tests, its script cleared and the SDK
 * turned off after each test, and closed after the last.
 */
function useSink() {
  const { after, afterEach, before } = require('node:test');
  const bugstack = require('..');
  const sink = new Sink();
  before(() => sink.start());
  after(() => sink.stop());
  afterEach(async () => {
    sink.hang = false;
    sink.replies = [];
    await bugstack.close(0);
    bugstack.init({ enabled: false });
  });
  return sink;
}

module.exports = { Sink, startSink, useSink };
