# frozen_string_literal: true

# A minimal Rails app with the SDK, set up as the README says, booted once: a controller that raises, one
# that rescues and renders a 500 itself, a job that fails. Each test points the SDK at its own sink.
require "rails"
require "action_controller/railtie"
require "active_job/railtie"
require "bugstack/rails"

class ShopRailsApp < Rails::Application
  config.root = __dir__ # the app's frames are this file's: "rails_test.rb"
  config.eager_load = false
  config.logger = Logger.new(nil)
  config.secret_key_base = "0" * 64
  config.consider_all_requests_local = false # Rails' public error pages, as in production
  config.action_dispatch.show_exceptions = true
  config.active_job.queue_adapter = :inline
  config.hosts.clear
end

# Computes refunds; raises for an order it cannot refund.
class RefundPolicy
  def self.amount_for(order_id)
    raise ArgumentError, "order #{order_id} was never paid"
  end
end

class OrdersController < ActionController::Base
  def show
    render plain: "refund #{RefundPolicy.amount_for(params[:id])}"
  end

  def create
    params.require(:order) # a request without it is answered 400 by Rails
    head :created
  end
end

class ReportsController < ActionController::Base
  def show
    render plain: build_report
  rescue KeyError => e
    request.env["action_dispatch.exception"] = e
    render plain: "report unavailable", status: :internal_server_error
  end

  private

  def build_report
    { "daily" => "sales" }.fetch(params[:id])
  end
end

class RefundJob < ActiveJob::Base
  def perform(order_id)
    RefundPolicy.amount_for(order_id)
  end
end

ShopRailsApp.initialize!
ShopRailsApp.routes.draw do
  get "/orders/:id" => "orders#show"
  post "/orders" => "orders#create"
  get "/reports/:id" => "reports#show"
end

require_relative "test_helper"

class RailsTest < Minitest::Test
  include SinkTest

  def setup
    super
    init(send_request_headers: true) # the project root is Rails.root
    @port = serve(ShopRailsApp)
  end

  def in_app_frames(value)
    frames = value["stacktrace"]["frames"].select { |frame| frame["in_app"] }
    frames.map { |frame| frame.values_at("filename", "function") }
  end

  def test_the_railtie_inserts_the_middleware_inside_rails_error_pages
    middlewares = ShopRailsApp.middleware.map(&:klass)

    assert_equal middlewares.index(ActionDispatch::DebugExceptions) + 1,
                 middlewares.index(Bugstack::Rack::Middleware)
  end

  def test_a_controller_error_is_reported_and_rails_still_answers_its_500_page
    response = get("/orders/42?token=abc", "X-Api-Key" => "k-123")

    assert_equal "500", response.code
    event = @sink.wait_for_events(1).first
    value = event["exception"]["values"].last
    assert_equal ["ArgumentError", "order 42 was never paid"], value.values_at("type", "value")
    assert_equal [%w[rails_test.rb show], ["rails_test.rb", "amount_for"]], in_app_frames(value)
    assert_equal "amount_for", value["stacktrace"]["frames"].last["function"]
    actionpack = value["stacktrace"]["frames"].select { |frame| frame["filename"].start_with?("actionpack-") }
    refute_empty actionpack
    assert(actionpack.none? { |frame| frame["in_app"] })
    assert_equal({ "name" => "rails", "version" => Rails.version }, event["contexts"]["framework"])
    assert_equal ["GET", "orders#show", "token=%5BFiltered%5D", "[Filtered]"],
                 [event["request"]["method"], event["request"]["route"], event["request"]["query_string"],
                  event["request"]["headers"]["X-Api-Key"]]
  end

  def test_an_error_a_controller_rescued_and_rendered_is_reported
    response = get("/reports/weekly")

    assert_equal ["500", "report unavailable"], [response.code, response.body]
    value = @sink.wait_for_events(1).first["exception"]["values"].last
    assert_equal ["KeyError", 'key not found: "weekly"'], value.values_at("type", "value")
    assert_equal [%w[rails_test.rb build_report], %w[rails_test.rb fetch]], in_app_frames(value).last(2)
  end

  def test_errors_rails_answers_with_a_4xx_are_not_reported
    assert_equal "404", get("/nowhere").code
    created = Net::HTTP.start("127.0.0.1", @port) do |http|
      http.post("/orders", "{}", "Content-Type" => "application/json")
    end
    assert_equal "400", created.code

    assert Bugstack.flush(2)
    assert_empty @sink.attempts
  end

  def test_a_failing_job_is_reported_and_raised_again
    error = assert_raises(ArgumentError) { RefundJob.perform_later(7) }

    event = @sink.wait_for_events(1).first
    value = event["exception"]["values"].last
    assert_equal "order 7 was never paid", error.message
    assert_equal({ "type" => "active_job", "handled" => false }, value["mechanism"])
    assert_equal %w[RefundJob default inline],
                 event["contexts"]["active_job"].values_at("job_class", "queue_name", "adapter")
    assert_equal [%w[rails_test.rb perform], %w[rails_test.rb amount_for]], in_app_frames(value).last(2)
  end

  # Rails 7's `Rails.error` calls its subscribers so; Rails 6.1 has no `Rails.error` to subscribe to.
  def test_the_error_subscriber_reports_what_rails_error_hands_it
    refute_respond_to Rails, :error
    error = raised { RefundPolicy.amount_for(9) }

    Bugstack::Rails::ErrorSubscriber.new.report(error, handled: true, severity: :warning,
                                                       context: { order_id: 9 }, source: "application.action_dispatch")

    event = @sink.wait_for_events(1).first
    assert_equal ["warning", "application.action_dispatch"], [event["level"], event["tags"]["rails.source"]]
    assert_equal({ "order_id" => 9 }, event["contexts"]["rails"])
    assert_equal({ "type" => "rails", "handled" => true }, event["exception"]["values"].last["mechanism"])
  end
end
