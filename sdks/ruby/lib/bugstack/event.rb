# frozen_string_literal: true

require "digest"
require "etc"
require "json"
require "securerandom"
require "time"

require "bugstack/version"

module Bugstack
  # An event as captured, with each exception value's stack as Ruby gave it (`backtrace_locations`, or
  # `backtrace` lines): its frames are made on the worker's thread (`EventBuilder#add_frames`).
  Captured = Struct.new(:event, :stacks)

  # Turning an exception into a native protocol v1 event (DESIGN.md, "Event schema").
  #
  # When the error is captured only what cannot wait is read: the exception chain, messages, the stacks
  # as Ruby recorded them, and the request (its env changes once the response is sent). Frames, source
  # lines, `modules`, the client fingerprint and redaction are added in the background, just before
  # sending (`Client#prepare`).
  class EventBuilder
    MAX_CHAIN = 10 # what the server keeps: the last ten, nearest the handler
    MAX_MESSAGE_LENGTH = 8192
    MESSAGE_TYPE = "Message" # as the server names a Sentry message-only event's exception
    LEVELS = %w[fatal error warning info debug].freeze

    def initialize(settings, stacktrace)
      @settings = settings
      @stacktrace = stacktrace
    end

    # The event for `exception`; `mechanism` says what caught it (`handled` when the app did).
    def exception_event(exception, mechanism:, handled:, level: "error", request: nil, tags: {}, contexts: {})
      chain = exception_chain(exception)
      values = chain.map { |error| exception_value(error) }
      values.last["mechanism"] = { "type" => mechanism, "handled" => handled }
      event = envelope(values, level: level, request: request, tags: tags, contexts: contexts)
      Captured.new(event, chain.map { |error| error.backtrace_locations || error.backtrace })
    end

    # The event for a message, said as the server says a Sentry message-only event: one exception value
    # of type "Message" whose frames are the caller's (`locations`).
    def message_event(message, locations, level: "info", request: nil, tags: {})
      text = safe_string(message)[0, MAX_MESSAGE_LENGTH]
      value = { "type" => MESSAGE_TYPE, "value" => text, "stacktrace" => { "frames" => [] } }
      event = envelope([value], level: LEVELS.include?(level.to_s) ? level.to_s : "info", request: request,
                                tags: tags, contexts: {})
      event["message"] = text
      Captured.new(event, [locations])
    end

    # Fills in each exception value's frames from the stack captured with it.
    def add_frames(captured)
      captured.event["exception"]["values"].zip(captured.stacks) do |value, stack|
        value["stacktrace"]["frames"] = @stacktrace.frames(stack)
      end
    end

    # `exception` and its causes, oldest cause first; a cause seen before ends the chain.
    def exception_chain(exception)
      chain = []
      seen = {}.compare_by_identity
      current = exception
      while current.is_a?(Exception) && !seen.key?(current) && chain.length < MAX_CHAIN
        chain << current
        seen[current] = true
        current = current.cause
      end
      chain.reverse
    end

    private

    def exception_value(error)
      name = error.class.name || error.class.superclass.name || "Exception"
      value = { "type" => name, "value" => safe_message(error)[0, MAX_MESSAGE_LENGTH],
                "stacktrace" => { "frames" => [] } }
      namespace, separator, = name.rpartition("::")
      value["module"] = namespace unless separator.empty?
      value
    end

    def envelope(values, level:, request:, tags:, contexts:)
      event = {
        "event_id" => SecureRandom.hex(16),
        "timestamp" => Time.now.utc.iso8601(6),
        "platform" => "ruby",
        "level" => level,
        "environment" => @settings.environment,
        "server_name" => @settings.server_name,
        "exception" => { "values" => values },
        "contexts" => Environment.contexts.merge(contexts),
        "sdk" => { "name" => SDK_NAME, "version" => VERSION },
        "tags" => tags.to_h { |key, tag| [key.to_s, tag.to_s] }
      }
      event["release"] = @settings.release if @settings.release
      event["request"] = request if request
      event
    end

    def safe_message(error)
      safe_string(error.message)
    rescue StandardError
      "<unprintable #{error.class}>" # a broken #message must not cost the report
    end

    def safe_string(value)
      value.to_s.dup.force_encoding(Encoding::UTF_8).scrub
    rescue StandardError
      "<unprintable value>"
    end
  end

  # What is the same for every event of a process: the runtime, the OS, the framework, installed gems.
  module Environment
    module_function

    def contexts
      contexts = { "runtime" => { "name" => RUBY_ENGINE, "version" => RUBY_VERSION },
                   "os" => os_context.dup }
      contexts["framework"] = framework if framework
      contexts
    end

    def os_context
      @os_context ||= begin
        uname = Etc.uname
        { "name" => uname[:sysname], "version" => uname[:release] }.freeze
      rescue StandardError
        { "name" => RbConfig::CONFIG["host_os"] }.freeze
      end
    end

    # Rails when it is loaded, else Rack when its middleware is in use.
    def framework
      if defined?(::Rails) && ::Rails.respond_to?(:version)
        { "name" => "rails", "version" => ::Rails.version.to_s }
      elsif defined?(::Rack) && ::Rack.respond_to?(:release)
        { "name" => "rack", "version" => ::Rack.release.to_s }
      end
    end

    # Each loaded gem's version, read once per process: by the first event the app has loaded its gems.
    def modules
      @modules ||= Gem.loaded_specs.to_h { |name, spec| [name, spec.version.to_s] }.freeze
    rescue StandardError
      {}
    end
  end

  # The same ingredients as the server's grouping: types and in-app frames, never line numbers.
  module Fingerprint
    module_function

    def of(values)
      digest = Digest::SHA256.new
      values.each do |value|
        digest << value["type"].to_s
        frames = value.dig("stacktrace", "frames") || []
        chosen = frames.any? { |frame| frame["in_app"] } ? frames.select { |frame| frame["in_app"] } : frames
        chosen.each do |frame|
          line = frame["context_line"].to_s.split.join(" ")
          digest << "\0#{frame["filename"]}\0#{frame["function"]}\0#{line}"
        end
        digest << value["value"].to_s if frames.empty?
      end
      digest.hexdigest
    end
  end

  # JSON for the wire. Under the server's default 1 MiB limit: an event it would refuse with 413 loses
  # library source lines, then all source lines, then its outer frames.
  module Wire
    MAX_EVENT_BYTES = 900 * 1024
    INNER_FRAMES_KEPT = 20
    SHRINKS = %i[drop_library_context drop_all_context keep_inner_frames].freeze

    module_function

    def encode(event, limit = MAX_EVENT_BYTES)
      body = JSON.generate(event)
      SHRINKS.each do |shrink|
        break if body.bytesize <= limit

        send(shrink, event)
        body = JSON.generate(event)
      end
      body
    end

    def drop_library_context(event)
      all_frames(event).each { |frame| drop_context(frame) unless frame["in_app"] }
    end

    def drop_all_context(event)
      all_frames(event).each { |frame| drop_context(frame) }
    end

    def keep_inner_frames(event)
      stacktraces(event).each { |stacktrace| stacktrace["frames"] = stacktrace["frames"].last(INNER_FRAMES_KEPT) }
    end

    def drop_context(frame)
      frame.delete("pre_context")
      frame.delete("post_context")
    end

    def all_frames(event)
      stacktraces(event).flat_map { |stacktrace| stacktrace["frames"] }
    end

    def stacktraces(event)
      values = event.dig("exception", "values")
      return [] unless values.is_a?(Array)

      values.filter_map { |value| value.is_a?(Hash) && value["stacktrace"].is_a?(Hash) && value["stacktrace"] }
            .select { |stacktrace| stacktrace["frames"].is_a?(Array) }
    end
  end
end
