# frozen_string_literal: true

require_relative "test_helper"
require_relative "../testing/shop"

# The shop served by WEBrick behind the middleware, requested over HTTP as a browser would.
class RackTest < Minitest::Test
  include SinkTest

  # The app's own error page, outside the SDK's middleware, as an app's error handling would be.
  class ErrorPage
    def initialize(app)
      @app = app
    end

    def call(env)
      @app.call(env)
    rescue StandardError => e
      [500, { "Content-Type" => "text/plain" }, ["sorry: #{e.class}"]]
    end
  end

  def setup
    super
    init(project_root: TESTING_DIR, send_request_headers: true)
    app = Rack::Builder.new do
      use ErrorPage
      use Bugstack::Rack::Middleware
      run Shop
    end
    @port = serve(app.to_app)
  end

  def frames(event)
    event["exception"]["values"].last["stacktrace"]["frames"]
  end

  def test_an_error_is_reported_and_the_apps_own_error_page_still_answers
    response = get("/cart?coupon=SPRING&access_token=abc123", "Authorization" => "Bearer s3cr3tt0ken",
                                                              "X-Request-Id" => "req-1")

    assert_equal ["500", "sorry: ZeroDivisionError"], [response.code, response.body]
    event = @sink.wait_for_events(1).first
    value = event["exception"]["values"].last
    assert_equal ["ZeroDivisionError", "divided by 0"], value.values_at("type", "value")
    assert_equal({ "type" => "rack", "handled" => false }, value["mechanism"])
    in_app = frames(event).select { |frame| frame["in_app"] }.map { |frame| frame.values_at("filename", "function") }
    assert_equal [%w[shop.rb call], %w[shop.rb cart], %w[shop.rb average_price], %w[shop.rb /]], in_app
    assert_equal "prices.sum / prices.length", frames(event).last["context_line"].strip
    assert_equal "average_price", frames(event)[-2]["function"]
    libraries = frames(event).select { |frame| frame["abs_path"]&.match?(%r{/gems/(rack|webrick)-}) }
    refute_empty libraries
    assert(libraries.all? { |frame| frame["in_app"] == false && frame["filename"].match?(/\A(rack|webrick)-\d/) })
    sdk = frames(event).find { |frame| frame["abs_path"]&.end_with?("lib/bugstack/rack/middleware.rb") }
    assert_equal ["bugstack/rack/middleware.rb", false], sdk.values_at("filename", "in_app")
  end

  def test_request_data_is_sent_redacted
    get("/cart?coupon=SPRING&access_token=abc123", "Authorization" => "Bearer s3cr3tt0ken", "Cookie" => "sid=1",
                                                   "X-Note" => "card 4111 1111 1111 1111")

    request = @sink.wait_for_events(1).first["request"]
    assert_equal "GET", request["method"]
    assert_equal "http://127.0.0.1:#{@port}/cart", request["url"]
    assert_equal "coupon=SPRING&access_token=%5BFiltered%5D", request["query_string"]
    assert_equal "[Filtered]", request["headers"]["Authorization"]
    assert_equal "[Filtered]", request["headers"]["Cookie"]
    assert_equal "card [Filtered]", request["headers"]["X-Note"]
    assert_equal "127.0.0.1:#{@port}", request["headers"]["Host"]
    refute request.key?("data"), "no body by default"
  end

  def test_by_default_only_the_method_is_sent
    init(project_root: TESTING_DIR)
    get("/cart?coupon=SPRING", "X-Request-Id" => "req-1")

    assert_equal({ "method" => "GET" }, @sink.wait_for_events(1).first["request"])
  end

  def test_an_error_the_app_rendered_itself_is_reported_from_rack_exception
    response = get("/rescued")

    assert_equal ["500", "inventory unavailable"], [response.code, response.body]
    event = @sink.wait_for_events(1).first
    assert_equal ["IOError", "inventory feed closed"], event["exception"]["values"].last.values_at("type", "value")
    assert_equal "load_inventory", frames(event).last["function"]
  end

  def test_the_cause_of_an_error_arrives_with_it
    assert_equal "500", get("/orders/7/pay").code

    values = @sink.wait_for_events(1).first["exception"]["values"]
    assert_equal ["KeyError", "Shop::PaymentError"], values.map { |value| value["type"] }
  end

  def test_requests_without_errors_send_nothing
    assert_equal "200", get("/health").code
    assert_equal "404", get("/missing").code

    assert Bugstack.flush(2)
    assert_empty @sink.attempts
  end

  def test_a_capture_inside_a_request_describes_that_request
    app = lambda do |_env|
      Bugstack.capture_exception(RuntimeError.new("handled in the app"))
      [200, {}, ["ok"]]
    end
    env = Rack::MockRequest.env_for("http://shop.test/checkout?step=2")
    Bugstack::Rack::Middleware.new(app).call(env)

    request = @sink.wait_for_events(1).first["request"]
    assert_equal ["http://shop.test/checkout", "step=2"], request.values_at("url", "query_string")
  end
end
