# frozen_string_literal: true

require "logger"
require "open3"
require "socket"

require "bugstack/dsn"

module Bugstack
  # What `Bugstack.init` is given: every option may be left unset, and `BUGSTACK_*` variables fill it in.
  class Configuration
    TRUE_WORDS = %w[1 true yes on].freeze
    FALSE_WORDS = %w[0 false no off].freeze

    attr_accessor :dsn, :key, :endpoint, :environment, :release, :server_name, :project_root,
                  :before_send, :redact_keys, :in_app_include, :queue_size, :timeout, :max_retries,
                  :shutdown_timeout, :send_modules, :send_request_headers, :send_request_body,
                  :capture_client_errors, :enabled, :debug, :logger

    def initialize
      @redact_keys = []
      @in_app_include = []
      @queue_size = 100
      @timeout = 2.0
      @max_retries = 3
      @shutdown_timeout = 2.0
      @send_modules = true
      @capture_client_errors = false
      @enabled = true
      @debug = false
    end

    # The frozen settings a client runs with; raises `DsnError` when the destination is malformed.
    def resolve(env = ENV)
      root = File.expand_path(project_root || default_root)
      destination = enabled == false ? nil : destination_from(env)
      Settings.new(
        destination: destination,
        environment: presence(environment) || env_value(env, "BUGSTACK_ENVIRONMENT") || "production",
        # Asking git costs a process: only worth it when events will be sent.
        release: presence(release) || env_value(env, "BUGSTACK_RELEASE") || (destination && git_head(root)),
        server_name: presence(server_name) || env_value(env, "BUGSTACK_SERVER_NAME") || Socket.gethostname,
        project_root: root,
        in_app_include: Array(in_app_include).map { |path| File.expand_path(path.to_s, root) }.freeze,
        before_send: before_send.respond_to?(:call) ? before_send : nil,
        redact_keys: redact_keys_from(env),
        queue_size: [whole(queue_size, 100), 1].max,
        timeout: positive(timeout, 2.0),
        max_retries: [whole(max_retries, 3), 0].max,
        shutdown_timeout: [number(shutdown_timeout, 2.0), 0].max,
        send_modules: send_modules != false,
        send_request_headers: flag(send_request_headers, env, "BUGSTACK_SEND_REQUEST_HEADERS", false),
        send_request_body: flag(send_request_body, env, "BUGSTACK_SEND_REQUEST_BODY", false),
        capture_client_errors: capture_client_errors == true
      ).freeze
    end

    # The logger the SDK writes to: the one given, else stderr (warnings always, the rest with `debug`).
    def resolved_logger
      SafeLogger.new(logger || Logger.new($stderr, progname: "bugstack",
                                                   level: debug ? Logger::DEBUG : Logger::WARN))
    end

    private

    def default_root
      defined?(::Rails) && ::Rails.respond_to?(:root) && ::Rails.root ? ::Rails.root.to_s : Dir.pwd
    end

    def destination_from(env)
      dsn = presence(self.dsn) || env_value(env, "BUGSTACK_DSN")
      return Dsn.parse(dsn) if dsn

      key = presence(self.key) || env_value(env, "BUGSTACK_KEY")
      endpoint = presence(self.endpoint) || env_value(env, "BUGSTACK_ENDPOINT")
      return Dsn.from_endpoint(endpoint, key) if key && endpoint
      return nil unless key || endpoint

      missing = key ? "endpoint (BUGSTACK_ENDPOINT)" : "key (BUGSTACK_KEY)"
      raise DsnError, "a key and an endpoint go together: the #{missing} is missing"
    end

    def redact_keys_from(env)
      given = Array(redact_keys) + env_value(env, "BUGSTACK_REDACT_KEYS").to_s.split(",")
      given.map { |key| key.to_s.strip.downcase }.reject(&:empty?).uniq.freeze
    end

    def presence(value)
      text = value.to_s.strip
      text.empty? ? nil : text
    end

    def env_value(env, name)
      presence(env[name])
    end

    # An option given wins; else the variable ("1", "true", "yes", "on" or their opposites); else the default.
    def flag(value, env, name, default)
      return value ? true : false unless value.nil?

      word = env_value(env, name).to_s.downcase
      return true if TRUE_WORDS.include?(word)
      return false if FALSE_WORDS.include?(word)

      default
    end

    def number(value, fallback)
      Float(value)
    rescue ArgumentError, TypeError
      fallback
    end

    def positive(value, fallback)
      seconds = number(value, fallback)
      seconds.positive? ? seconds : fallback
    end

    def whole(value, fallback)
      Integer(value)
    rescue ArgumentError, TypeError, FloatDomainError
      fallback
    end

    # The commit the app runs from, so the server can tell which release contains a fix. Only when the
    # project root is itself the top of a repository: a parent repository's commit names another history.
    def git_head(root)
      output, status = Open3.capture2("git", "rev-parse", "--show-toplevel", "HEAD", chdir: root,
                                                                                   err: File::NULL)
      top, head, *rest = output.split
      return nil unless status.success? && rest.empty? && head && File.realpath(top) == File.realpath(root)

      head
    rescue SystemCallError, IOError
      nil
    end
  end

  # Writes the SDK's messages; a logger that raises (a closed file, a broken formatter) is ignored, so that
  # reporting an error never becomes one.
  class SafeLogger
    def initialize(logger)
      @logger = logger
    end

    def debug(message)
      @logger.debug(message)
    rescue StandardError
      nil
    end

    def warn(message)
      @logger.warn(message)
    rescue StandardError
      nil
    end
  end

  # The options a client runs with, resolved once.
  Settings = Struct.new(
    :destination, :environment, :release, :server_name, :project_root, :in_app_include, :before_send,
    :redact_keys, :queue_size, :timeout, :max_retries, :shutdown_timeout, :send_modules,
    :send_request_headers, :send_request_body, :capture_client_errors,
    keyword_init: true
  )
end
