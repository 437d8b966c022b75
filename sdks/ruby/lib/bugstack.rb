# frozen_string_literal: true

require "bugstack/version"
require "bugstack/configuration"
require "bugstack/client"
require "bugstack/rack/middleware"
require "bugstack/rails/railtie" if defined?(::Rails::Railtie)

# Captures errors in Ruby, Rack and Rails apps, redacts them and sends them to bugstack in the background.
#
#     Bugstack.init { |c| c.environment = "staging" } # reads BUGSTACK_DSN
#     use Bugstack::Rack::Middleware                   # in config.ru (Rails: added by the Railtie)
module Bugstack
  INIT_LOCK = Mutex.new

  class << self
    # Configures the SDK (the block is given a `Configuration`; keyword options set the same fields) and
    # returns the client. A malformed DSN is written to the logger and leaves the SDK off: it never raises.
    def init(**options)
      config = Configuration.new
      options.each { |name, value| config.public_send("#{name}=", value) }
      yield config if block_given?
      INIT_LOCK.synchronize do
        previous = @client
        @client = build_client(config)
        previous&.close(0)
        register_exit_flush
        @client
      end
    end

    def initialized?
      !@client.nil?
    end

    # The client `init` made; a client that sends nothing before then.
    def client
      @client || (@disabled ||= Client.new(Configuration.new.tap { |c| c.enabled = false }.resolve({}),
                                           Configuration.new.resolved_logger))
    end

    # Queues `exception` and returns its event id, or nil when nothing will be sent. `request:` is a Rack
    # env (or a request object with `#env`); inside the middleware it defaults to the request served.
    def capture_exception(exception, request: nil, tags: {}, contexts: {}, level: "error")
      client.capture_exception(exception, request: request, tags: tags, contexts: contexts, level: level)
    end

    # Queues `message` with the stack of the line that called this; level "fatal", "error", "warning",
    # "info" (the default) or "debug".
    def capture_message(message, level: "info", request: nil, tags: {})
      client.capture_message(message, caller_locations(1), level: level, request: request, tags: tags)
    end

    # True once queued events were sent (or given up on); false when `timeout` seconds passed first.
    def flush(timeout = nil)
      timeout ? client.flush(timeout) : client.flush
    end

    # Flushes, then stops sending: later captures are dropped.
    def close(timeout = nil)
      timeout ? client.close(timeout) : client.close
    end

    private

    def build_client(config)
      logger = config.resolved_logger
      Client.new(config.resolve, logger)
    rescue DsnError => e
      logger.warn("bugstack is off: #{e.message}")
      Client.new(Configuration.new.tap { |c| c.enabled = false }.resolve({}), logger)
    end

    # At a normal exit queued events get `shutdown_timeout` to go out; `exit!` and signals skip this.
    def register_exit_flush
      return if @exit_flush_registered

      @exit_flush_registered = true
      at_exit { @client&.close }
    end
  end
end
