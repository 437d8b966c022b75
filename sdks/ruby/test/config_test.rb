# frozen_string_literal: true

require_relative "test_helper"

class ConfigTest < Minitest::Test
  include SinkTest

  def test_a_dsn_names_the_events_and_batch_urls_and_the_key
    destination = Bugstack::Dsn.parse("https://s3cr%40t@bugstack.example:8443/errors/12/")

    assert_equal "https://bugstack.example:8443/errors/api/v1/events/", destination.events_url
    assert_equal "https://bugstack.example:8443/errors/api/v1/events/batch/", destination.batch_url
    assert_equal ["s3cr@t", "12"], [destination.key, destination.project_id]
  end

  def test_a_malformed_dsn_says_what_is_wrong_without_repeating_it
    {
      "bugstack.example/1" => "must start with http:// or https://",
      "ftp://k@bugstack.example/1" => "must start with http:// or https://",
      "http://bugstack.example/1" => "has no key",
      "http://key@bugstack.example/" => "has no project id",
      "http://key@bugstack.example:99x/1" => "is not a URL"
    }.each do |dsn, problem|
      error = assert_raises(Bugstack::DsnError) { Bugstack::Dsn.parse(dsn) }
      assert_includes error.message, problem
      refute_includes error.message, "key@", "the DSN holds the key: it is not repeated"
    end
  end

  def test_init_with_a_malformed_dsn_warns_and_leaves_the_sdk_off_without_raising
    client = Bugstack.init(dsn: "http://bugstack.example/1", logger: Logger.new(@log))

    refute client.enabled?
    assert_includes log_text, "bugstack is off: the DSN has no key"
    assert_nil Bugstack.capture_exception(RuntimeError.new("ignored"))
    assert Bugstack.flush(1)
  end

  def test_unset_options_are_read_from_bugstack_variables
    env = { "BUGSTACK_DSN" => @sink.dsn, "BUGSTACK_ENVIRONMENT" => "staging", "BUGSTACK_RELEASE" => "abc123",
            "BUGSTACK_SERVER_NAME" => "web-2", "BUGSTACK_REDACT_KEYS" => "ssn, iban",
            "BUGSTACK_SEND_REQUEST_HEADERS" => "off" }
    config = Bugstack::Configuration.new
    config.environment = "production-eu"
    settings = config.resolve(env)

    assert_equal @sink.dsn.sub("public-key@", "").sub("/7", "/api/v1/events/"), settings.destination.events_url
    assert_equal %w[production-eu abc123 web-2], [settings.environment, settings.release, settings.server_name]
    assert_equal %w[ssn iban], settings.redact_keys
    refute settings.send_request_headers
  end

  def test_a_key_and_an_endpoint_stand_for_a_dsn
    settings = Bugstack::Configuration.new.resolve({ "BUGSTACK_KEY" => " k-1 ",
                                                     "BUGSTACK_ENDPOINT" => "http://bugstack.internal:8000/" })

    assert_equal ["http://bugstack.internal:8000/api/v1/events/", "k-1"],
                 [settings.destination.events_url, settings.destination.key]
  end

  def test_a_key_without_an_endpoint_is_refused
    error = assert_raises(Bugstack::DsnError) { Bugstack::Configuration.new.resolve({ "BUGSTACK_KEY" => "k" }) }
    assert_includes error.message, "the endpoint (BUGSTACK_ENDPOINT) is missing"
  end

  def test_without_a_dsn_the_sdk_is_off
    settings = Bugstack::Configuration.new.resolve({})

    assert_nil settings.destination
    refute Bugstack::Client.new(settings, Logger.new(@log)).enabled?
  end
end
