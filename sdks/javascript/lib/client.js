'use strict';

/** The client: builds events on the caller's turn (cheap), hands them to the worker, and never throws. */

const { buildEvent, buildMessageEvent, clientFingerprint, encodeEvent } = require('./event');
const { Logger } = require('./log');
const { Redactor } = require('./redact');
const { currentRequest } = require('./request');
const { installedModules } = require('./modules');
const { SourceCache } = require('./source');
const { FAILED, HttpTransport } = require('./transport');
const { Worker } = require('./worker');

const DISCARDED = 'discarded';

class Client {
  constructor(options, log = new Logger(options.debug)) {
    this.options = options;
    this.log = log;
    this.framework = null;
    this.redactor = new Redactor(options.redactKeys);
    this.sources = new SourceCache();
    // Errors already reported: the Express handler and a crash may see the same one.
    this.captured = new WeakSet();
    this.worker = null;
    if (options.destination !== null) {
      this.transport = new HttpTransport(options.destination, {
        timeout: options.timeout,
        maxRetries: options.maxRetries,
        log,
      });
      this.worker = new Worker((event, signal) => this.deliver(event, signal), options.maxQueueSize, log);
    }
  }

  get enabled() {
    return this.worker !== null && !this.worker.stopped;
  }

  get stats() {
    if (this.worker === null) return { queued: 0, sent: 0, dropped: 0, rejected: 0, failed: 0, discarded: 0 };
    return this.worker.stats;
  }

  /**
   * Queue `error` and return its event id; null when nothing will be sent (off, sampled out, already
   * reported, queue full, closed). `request` describes the request it failed (default: the one
   * `requestHandler()` is serving, if any). `tags` and `contexts` are added to the event as given.
   */
  captureException(error, { request, mechanism = 'generic', level = 'error', tags, contexts } = {}) {
    if (!this.enabled) return null;
    try {
      return this.capture(error, request, mechanism, level, { tags, contexts });
    } catch (failure) {
      // Reporting an error must never become one.
      this.log.warn('bugstack could not capture an error', failure);
      return null;
    }
  }

  capture(error, request, mechanism, level, { tags, contexts }) {
    if (this.alreadyCaptured(error) || !this.admits()) return null;
    const data = request === undefined ? this.currentRequestData() : request;
    const event = buildEvent(error, this.options, {
      mechanism,
      level,
      request: data,
      framework: this.framework,
      tags,
      contexts,
    });
    return this.worker.submit(event) ? event.event_id : null;
  }

  /**
   * Queue `message` (level "fatal", "error", "warning", "info" or "debug"; anything else is "info") with
   * the stack of the code that called it, and return its event id; null when nothing will be sent.
   * `internal.stackStart` is the function whose caller the stack begins at (default: this method), so the
   * SDK's own frames are left out.
   */
  captureMessage(message, level = 'info', internal = {}) {
    if (!this.enabled) return null;
    try {
      if (!this.admits()) return null;
      const given = internal?.stackStart;
      const holder = {};
      Error.captureStackTrace(holder, typeof given === 'function' ? given : Client.prototype.captureMessage);
      const event = buildMessageEvent(message, holder.stack, this.options, {
        level,
        request: this.currentRequestData(),
        framework: this.framework,
      });
      return this.worker.submit(event) ? event.event_id : null;
    } catch (failure) {
      this.log.warn('bugstack could not capture a message', failure);
      return null;
    }
  }

  /** Whether an event may be built: sampled in, and with room in the queue (else counted as dropped). */
  admits() {
    if (this.options.sampleRate < 1 && Math.random() >= this.options.sampleRate) return false;
    if (!this.worker.hasRoom()) {
      this.worker.drop(); // an error storm should not also pay for events that cannot be sent
      return false;
    }
    return true;
  }

  alreadyCaptured(error) {
    if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return false;
    if (this.captured.has(error)) return true;
    this.captured.add(error);
    return false;
  }

  currentRequestData() {
    const store = currentRequest.getStore();
    return store && typeof store.describe === 'function' ? store.describe(this.options) : null;
  }

  /**
   * In the background: source lines, the client fingerprint, `modules`, `beforeSend`, redaction, then the
   * wire.
   */
  async deliver(event, signal) {
    const values = event.exception.values;
    for (const value of values) await this.sources.addContext(value.stacktrace.frames);
    event.tags.client_fingerprint = clientFingerprint(values);
    if (this.options.sendModules) event.modules = { ...(await installedModules(this.options.projectRoot)) };
    const final = this.options.beforeSend === null ? event : await this.runBeforeSend(event);
    if (final === null || typeof final !== 'object') {
      this.log.debug(`bugstack event ${event.event_id}: dropped by beforeSend`);
      return DISCARDED;
    }
    let body;
    try {
      body = encodeEvent(this.redactor.redact(final));
    } catch (error) {
      this.log.warn('bugstack could not encode an event; it was dropped', error);
      return FAILED;
    }
    const outcome = await this.transport.deliver(body, signal);
    this.log.debug(`bugstack event ${event.event_id}: ${outcome}`);
    return outcome;
  }

  async runBeforeSend(event) {
    try {
      return await this.options.beforeSend(event);
    } catch (error) {
      // The hook is often where an app scrubs data of its own: sending what it failed on could leak it.
      this.log.warn("bugstack's beforeSend threw; the event was dropped", error);
      return null;
    }
  }

  /** Resolve true once queued events were sent (or given up on); false if `timeoutMs` passed first. */
  flush(timeoutMs = this.options.shutdownTimeout) {
    if (this.worker === null) return Promise.resolve(true);
    return this.worker.flush(timeoutMs);
  }

  /** Flush, then stop sending; later captures are dropped. */
  close(timeoutMs = this.options.shutdownTimeout) {
    if (this.worker === null) return Promise.resolve(true);
    return this.worker.close(timeoutMs);
  }

  hasPendingEvents() {
    return this.worker !== null && !this.worker.isIdle();
  }
}

module.exports = { Client };
