# frozen_string_literal: true

module Bugstack
  module Rack
    # Reports an exception a request raises, then raises it again, so the app's own error handling (or the
    # server's 500 page) answers as before. An exception an app rescued and rendered a 500 for itself is
    # reported too when the app left it in the env (`rack.exception`, `action_dispatch.exception`,
    # `sinatra.error`). Exceptions Rails answers with a 4xx (`ActionController::RoutingError`,
    # `ActiveRecord::RecordNotFound`…) are the client's mistake and are not reported by default.
    #
    # While a request is served, its env is what a `Bugstack.capture_exception` inside it describes.
    class Middleware
      RESCUED_KEYS = %w[rack.exception action_dispatch.exception sinatra.error].freeze
      # Not errors of the app: the process is being told to stop.
      PASSED_THROUGH = [SystemExit, SignalException, NoMemoryError].freeze

      def initialize(app)
        @app = app
      end

      def call(env)
        outer = Thread.current[Client::REQUEST_KEY]
        Thread.current[Client::REQUEST_KEY] = env
        response = @app.call(env)
        report_rescued(env, response)
        response
      rescue Exception => e # rubocop:disable Lint/RescueException -- raised again below, unchanged
        report(e, env) unless PASSED_THROUGH.any? { |kind| e.is_a?(kind) }
        raise
      ensure
        Thread.current[Client::REQUEST_KEY] = outer
      end

      private

      def report(exception, env)
        client = Bugstack.client
        return unless client.enabled? && !client.client_error?(exception)

        client.capture_exception(exception, request: env, mechanism: "rack", handled: false)
      end

      # Runs on every request: the status is checked first, and the env only for a 500.
      def report_rescued(env, response)
        return unless response.is_a?(Array) && response[0].to_i >= 500

        RESCUED_KEYS.each do |key|
          exception = env[key]
          return report(exception, env) if exception.is_a?(Exception)
        end
      end
    end
  end
end
