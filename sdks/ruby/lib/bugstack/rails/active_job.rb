# frozen_string_literal: true

module Bugstack
  module Rails
    # Reports an exception a job raises past its own `retry_on`/`discard_on` handling, then raises it
    # again, so the queue adapter's retries and failure handling run as before.
    module ActiveJob
      def perform_now
        super
      rescue Exception => e # rubocop:disable Lint/RescueException -- raised again below, unchanged
        Bugstack.client.capture_exception(e, mechanism: "active_job", handled: false,
                                             contexts: { "active_job" => job_context })
        raise
      end

      private

      # Which job failed, never its arguments: they are the app's data.
      def job_context
        { "job_class" => self.class.name, "job_id" => job_id, "queue_name" => queue_name,
          "executions" => executions, "adapter" => self.class.queue_adapter_name }
      rescue StandardError
        { "job_class" => self.class.name }
      end
    end
  end
end
