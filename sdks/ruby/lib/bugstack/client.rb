# frozen_string_literal: true

require "bugstack/event"
require "bugstack/redact"
require "bugstack/request"
require "bugstack/source"
require "bugstack/stacktrace"
require "bugstack/transport"
require "bugstack/worker"

module Bugstack
  # The client: builds events on the caller's thread (cheap), hands them to the worker, and never raises.
  class Client
    REQUEST_KEY = :bugstack_rack_env # the Rack env being served, fiber-local, set by the middleware

    attr_reader :settings, :logger

    def initialize(settings, logger)
      @settings = settings
      @logger = logger
      @stacktrace = Stacktrace.new(settings.project_root, settings.in_app_include)
      @builder = EventBuilder.new(settings, @stacktrace)
      @redactor = Redact::Redactor.new(settings.redact_keys)
      @sources = SourceCache.new
      # Exceptions already reported: the middleware, Rails and ActiveJob may all see the same one.
      @captured = ObjectSpace::WeakMap.new
      @captured_lock = Mutex.new
      @worker = settings.destination && start_worker(settings)
    end

    def enabled?
      !@worker.nil? && !@worker.stopped?
    end

    # Queues `exception` and returns its event id; nil when nothing will be sent (off, already reported,
    # queue full, closed). `request` is a Rack env (default: the one the middleware is serving, if any).
    def capture_exception(exception, request: nil, mechanism: "generic", handled: true, level: "error", tags: {},
                          contexts: {})
      return nil unless enabled? && exception.is_a?(Exception)
      return nil if already_captured?(exception) || !room?

      captured = @builder.exception_event(exception, mechanism: mechanism, handled: handled, level: level.to_s,
                                                     request: request_data(request), tags: tags, contexts: contexts)
      @worker.submit(captured) ? captured.event["event_id"] : nil
    rescue StandardError => e
      warn_about("capture an error", e) # reporting an error must never become one
    end

    # Queues `message` with the stack of `locations` (the code that called the SDK) and returns its event id.
    def capture_message(message, locations, level: "info", request: nil, tags: {})
      return nil unless enabled? && room?

      captured = @builder.message_event(message, locations, level: level, request: request_data(request),
                                                           tags: tags)
      @worker.submit(captured) ? captured.event["event_id"] : nil
    rescue StandardError => e
      warn_about("capture a message", e)
    end

    # True once every queued event was sent (or given up on); false when `timeout` seconds passed first.
    def flush(timeout = settings.shutdown_timeout)
      @worker.nil? || @worker.flush(timeout)
    end

    # Flushes, then stops sending: later captures are dropped.
    def close(timeout = settings.shutdown_timeout)
      @worker.nil? || @worker.close(timeout)
    end

    def stats
      @worker ? @worker.stats : { queued: 0, dropped: 0, sent: 0, rejected: 0, failed: 0, discarded: 0 }
    end

    # Whether an exception the framework answers with a 4xx status is to be left out.
    def client_error?(exception)
      return false if settings.capture_client_errors || !defined?(::ActionDispatch::ExceptionWrapper)

      ::ActionDispatch::ExceptionWrapper.status_code_for_exception(exception.class.name) < 500
    rescue StandardError
      false
    end

    private

    def start_worker(settings)
      transport = Transport.new(settings.destination, timeout: settings.timeout,
                                                      max_retries: settings.max_retries, logger: logger)
      Worker.new(settings.queue_size, logger) { |events, stopping| deliver(transport, events, stopping) }
    end

    def room?
      return true if @worker.room?

      @worker.drop # an error storm should not also pay for events that cannot be sent
      false
    end

    def already_captured?(exception)
      @captured_lock.synchronize do
        return true if @captured.key?(exception)

        @captured[exception] = true
        false
      end
    end

    def request_data(request)
      env = request.respond_to?(:env) ? request.env : request
      env ||= Thread.current[REQUEST_KEY]
      env.is_a?(Hash) ? Request.from_env(env, settings) : nil
    end

    # On the worker's thread: frames and their source lines, `modules`, the client fingerprint,
    # `before_send`, redaction, then the wire.
    def deliver(transport, captured_events, stopping)
      prepared = captured_events.map { |captured| prepare(captured) }
      bodies = prepared.grep(String)
      sent = bodies.empty? ? [] : transport.deliver(bodies, stopping)
      prepared.map { |body_or_outcome| body_or_outcome.is_a?(String) ? sent.shift : body_or_outcome }
    end

    # The event's JSON body, or the outcome that ends it here (:discarded by `before_send`, :failed).
    def prepare(captured)
      @builder.add_frames(captured)
      event = captured.event
      values = event["exception"]["values"]
      values.each { |value| @sources.add_context(value["stacktrace"]["frames"]) }
      event["tags"]["client_fingerprint"] = Fingerprint.of(values)
      event["modules"] = Environment.modules if settings.send_modules
      final = settings.before_send ? run_before_send(event) : event
      return :discarded unless final.is_a?(Hash)

      Wire.encode(@redactor.redact(final))
    rescue StandardError => e
      warn_about("encode an event; it was dropped", e)
      :failed
    end

    def run_before_send(event)
      settings.before_send.call(event)
    rescue StandardError => e
      # The hook is often where an app scrubs data of its own: sending what it failed on could leak it.
      warn_about("run before_send; the event was dropped", e)
    end

    def warn_about(what, error)
      logger.warn("bugstack could not #{what}: #{error.class}: #{error.message}")
      nil
    rescue StandardError # an error whose own message raises
      nil
    end
  end
end
