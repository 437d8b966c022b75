'use strict';

/**
 * A bounded queue drained in the background: capturing only appends and returns.
 *
 * When the queue is full the newest event is dropped and counted (never wait in a request). One event is
 * delivered at a time, starting on a later turn of the event loop (`setImmediate`). The drain holds the
 * process open only while it reads source files and compresses; its sockets and timers are unref'ed.
 * `flush` and `close` wait with a timer that is not: whoever awaits them asked the process to wait.
 */

const { FAILED } = require('./transport');

class Worker {
  constructor(deliver, maxSize, log) {
    this.deliver = deliver; // async (item, signal) => 'sent' | 'rejected' | 'failed' | 'discarded'
    this.maxSize = maxSize;
    this.log = log;
    this.pending = [];
    this.draining = false;
    this.inFlight = false;
    this.counts = { sent: 0, dropped: 0, rejected: 0, failed: 0, discarded: 0 };
    this.stopping = new AbortController(); // aborted at close: waits and requests end at once
    this.idleWaiters = new Set();
  }

  get stopped() {
    return this.stopping.signal.aborted;
  }

  get stats() {
    return { queued: this.pending.length + (this.inFlight ? 1 : 0), ...this.counts };
  }

  /** A hint: lets a caller skip building an event that would be dropped. */
  hasRoom() {
    return this.pending.length < this.maxSize;
  }

  submit(item) {
    if (this.stopped) return false;
    if (!this.hasRoom()) {
      this.drop();
      return false;
    }
    this.pending.push(item);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
    return true;
  }

  drop() {
    this.counts.dropped += 1;
    const dropped = this.counts.dropped;
    if ((dropped & (dropped - 1)) === 0) {
      // 1, 2, 4, 8…: visible without flooding the log
      this.log.warn(`bugstack's event queue is full; ${dropped} events dropped so far`);
    }
  }

  isIdle() {
    return this.pending.length === 0 && !this.inFlight;
  }

  /** Resolve true once everything queued was handled; false when `timeoutMs` came first. */
  flush(timeoutMs) {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          this.idleWaiters.delete(waiter);
          resolve(this.isIdle());
        },
        Math.max(0, timeoutMs),
      );
      this.idleWaiters.add(waiter);
    });
  }

  /** Flush within `timeoutMs`, then stop: a wait for a retry or a request still out ends at once. */
  async close(timeoutMs) {
    const flushed = await this.flush(timeoutMs);
    this.stopping.abort();
    return flushed;
  }

  async drain() {
    while (this.pending.length > 0) {
      const item = this.pending.shift();
      this.inFlight = true;
      const outcome = this.stopped ? FAILED : await this.deliverSafely(item);
      this.inFlight = false;
      this.counts[outcome] += 1;
    }
    this.draining = false;
    for (const waiter of this.idleWaiters) waiter();
    this.idleWaiters.clear();
  }

  async deliverSafely(item) {
    try {
      return await this.deliver(item, this.stopping.signal);
    } catch (error) {
      // The worker must outlive any one bad event.
      this.log.warn('bugstack could not send an event', error);
      return FAILED;
    }
  }
}

module.exports = { Worker };
