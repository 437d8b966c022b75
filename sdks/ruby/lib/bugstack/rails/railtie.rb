# frozen_string_literal: true

require "rails/railtie"

require "bugstack/rails/active_job"
require "bugstack/rails/error_subscriber"

module Bugstack
  module Rails
    # Wires the SDK into a Rails app: the Rack middleware inside Rails' exception pages, `Rails.error`
    # reports (Rails 7 and later), and ActiveJob failures. The SDK is initialised from `BUGSTACK_*`
    # variables after the app's initializers, unless one of them called `Bugstack.init` itself.
    class Railtie < ::Rails::Railtie
      # Inside ShowExceptions and DebugExceptions: the exception reaches the middleware before Rails turns
      # it into an error page.
      initializer "bugstack.middleware" do |app|
        app.config.middleware.insert_after ::ActionDispatch::DebugExceptions, Bugstack::Rack::Middleware
      end

      initializer "bugstack.active_job" do
        ActiveSupport.on_load(:active_job) { prepend Bugstack::Rails::ActiveJob }
      end

      config.after_initialize do
        Bugstack.init unless Bugstack.initialized?
        reporter = ::Rails.respond_to?(:error) && ::Rails.error
        reporter.subscribe(ErrorSubscriber.new) if reporter.respond_to?(:subscribe)
      end
    end
  end
end
