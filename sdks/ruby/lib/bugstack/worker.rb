# frozen_string_literal: true

module Bugstack
  # Set at shutdown: a wait for a retry ends at once rather than delay the exit.
  class Stopping
    def initialize
      @lock = Mutex.new
      @changed = ConditionVariable.new
      @stopped = false
    end

    def stop!
      @lock.synchronize do
        @stopped = true
        @changed.broadcast
      end
    end

    def stopped?
      @stopped
    end

    # Waits until the monotonic clock reads `time`; false when stopped first.
    def wait_until(time)
      @lock.synchronize do
        loop do
          return false if @stopped

          remaining = time - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          return true if remaining <= 0

          @changed.wait(@lock, remaining)
        end
      end
    end
  end

  # A bounded queue drained by one background thread: capturing only appends and returns.
  #
  # When the queue is full the new event is dropped and counted (a request never waits). The thread
  # takes one event, and with it every event that queued meanwhile (at most `MAX_BATCH`): events that
  # queued while one request was in flight go out together. The thread starts with the first event, and
  # again in a forked child (a Puma or Unicorn worker), where the parent's thread does not exist: the
  # child notices its new pid and starts afresh, leaving the parent's queued events to the parent.
  class Worker
    MAX_BATCH = 100
    OUTCOMES = %i[sent rejected failed discarded].freeze

    # `deliver` is called on the worker's thread with a list of items and a `Stopping`, and returns one
    # outcome (one of OUTCOMES) per item.
    def initialize(max_size, logger, &deliver)
      @max_size = max_size
      @logger = logger
      @deliver = deliver
      @fork_lock = Mutex.new
      @stopping = Stopping.new
      reset
    end

    def submit(item)
      restart_after_fork
      return false if @stopping.stopped?

      @lock.synchronize { @unfinished += 1 }
      @queue.push(item, true)
      ensure_thread
      true
    rescue ThreadError, ClosedQueueError # full, or closed meanwhile
      @lock.synchronize { @unfinished -= 1 }
      drop
      false
    end

    # A hint, read without the lock: lets a caller skip building an event that would be dropped.
    def room?
      restart_after_fork
      @queue.size < @max_size
    end

    def drop
      dropped = @lock.synchronize { @counts[:dropped] += 1 }
      return unless (dropped & (dropped - 1)).zero? # 1, 2, 4, 8…: visible without flooding the log

      @logger.warn("bugstack's event queue is full; #{dropped} events dropped so far")
    end

    # Waits until everything queued was handled; false when `timeout` seconds came first.
    def flush(timeout)
      restart_after_fork
      deadline = monotonic + timeout
      @lock.synchronize do
        while @unfinished.positive?
          remaining = deadline - monotonic
          return false if remaining <= 0

          @idle.wait(@lock, remaining)
        end
      end
      true
    end

    # Flushes within `timeout`, then stops: a wait for a retry ends at once, later events are dropped.
    def close(timeout)
      flushed = flush(timeout)
      @stopping.stop!
      @queue.close
      flushed
    end

    def stopped?
      @stopping.stopped?
    end

    def stats
      restart_after_fork
      @lock.synchronize { { queued: @unfinished }.merge(@counts) }
    end

    private

    def reset
      @pid = Process.pid
      @lock = Mutex.new
      @idle = ConditionVariable.new
      @queue = SizedQueue.new(@max_size)
      @unfinished = 0
      @counts = { dropped: 0 }.merge(OUTCOMES.to_h { |outcome| [outcome, 0] })
      @thread = nil
    end

    def restart_after_fork
      return if @pid == Process.pid

      @fork_lock.synchronize { reset unless @pid == Process.pid }
    end

    def ensure_thread
      @lock.synchronize do
        return if @thread&.alive?

        @thread = Thread.new { run }
        @thread.name = "bugstack-worker"
        @thread.report_on_exception = false
      end
    end

    def run
      while (first = @queue.pop)
        items = [first]
        items << @queue.pop(true) while items.length < MAX_BATCH && !@queue.empty?
        finish(deliver_safely(items))
      end
    end

    def deliver_safely(items)
      outcomes = @deliver.call(items, @stopping)
      return outcomes if outcomes.length == items.length && outcomes.all? { |outcome| OUTCOMES.include?(outcome) }

      @logger.warn("bugstack lost track of #{items.length} events; they count as failed")
      Array.new(items.length, :failed)
    rescue Exception => e # rubocop:disable Lint/RescueException -- the worker must outlive any one bad event
      @logger.warn("bugstack could not send events: #{e.class}: #{e.message}")
      Array.new(items.length, :failed)
    end

    def finish(outcomes)
      @lock.synchronize do
        outcomes.each { |outcome| @counts[outcome] += 1 }
        @unfinished -= outcomes.length
        @idle.broadcast
      end
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
