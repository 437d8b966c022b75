# frozen_string_literal: true

module Bugstack
  module Rails
    # Receives what `Rails.error.report`, `handle` and `record` report (Rails 7 and later).
    class ErrorSubscriber
      def report(error, handled:, severity: :error, context: {}, source: nil)
        client = Bugstack.client
        return if client.client_error?(error)

        tags = source ? { "rails.source" => source } : {}
        client.capture_exception(error, mechanism: "rails", handled: handled, level: level(severity), tags: tags,
                                        contexts: { "rails" => context.to_h.transform_keys(&:to_s) })
      end

      private

      def level(severity)
        %w[warning info].include?(severity.to_s) ? severity.to_s : "error"
      end
    end
  end
end
