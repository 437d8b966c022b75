# frozen_string_literal: true

require_relative "test_helper"
require_relative "../testing/shop"

class EventTest < Minitest::Test
  include SinkTest

  # An exception whose `cause` leads back to itself, as a class overriding `cause` can make.
  class LoopingError < StandardError
    attr_accessor :looped_cause

    def cause
      looped_cause
    end
  end

  def setup
    super
    init(project_root: TESTING_DIR, release: "v1.2.3", environment: "test")
  end

  def sent_event(exception)
    Bugstack.capture_exception(exception, tags: { "order" => 7 })
    assert Bugstack.flush(5)
    @sink.events.last
  end

  def in_app_frames(value)
    frames = value["stacktrace"]["frames"].select { |frame| frame["in_app"] }
    frames.map { |frame| frame.values_at("filename", "function") }
  end

  def test_an_event_carries_the_cause_chain_oldest_first_with_the_apps_frames_last
    event = sent_event(raised { Shop.pay("7") })

    cause, error = event["exception"]["values"]
    assert_equal ["KeyError", 'key not found: "card-7"'], [cause["type"], cause["value"]]
    assert_equal ["Shop::PaymentError", "Shop", "card declined for order 7"],
                 [error["type"], error["module"], error["value"]]
    assert_equal({ "type" => "generic", "handled" => true }, error["mechanism"])
    assert_equal [["shop.rb", "pay"], ["shop.rb", "charge"], ["shop.rb", "rescue in charge"]], in_app_frames(error)
    raising = error["stacktrace"]["frames"].last
    assert_equal "raise PaymentError, \"card declined for order \#{order_id}\"", raising["context_line"].strip
    assert_equal File.join(TESTING_DIR, "shop.rb"), raising["abs_path"]
    assert_equal 5, raising["pre_context"].length
    assert_equal ["shop.rb", "fetch"], in_app_frames(cause).last, "Hash#fetch raised, called from the app's line"
  end

  def test_an_event_has_the_protocols_envelope
    event = sent_event(raised { Shop.average_price([]) })

    assert_match(/\A\h{32}\z/, event["event_id"])
    assert_equal %w[ruby error test v1.2.3], event.values_at("platform", "level", "environment", "release")
    assert_equal({ "name" => "bugstack.ruby", "version" => Bugstack::VERSION }, event["sdk"])
    assert_equal RUBY_VERSION, event["contexts"]["runtime"]["version"]
    assert_equal "Linux", event["contexts"]["os"]["name"]
    assert_equal Gem.loaded_specs["minitest"].version.to_s, event["modules"]["minitest"]
    assert_equal "7", event["tags"]["order"]
    assert_match(/\A\h{64}\z/, event["tags"]["client_fingerprint"])
    assert Time.iso8601(event["timestamp"])
  end

  def test_frames_outside_the_project_root_and_in_ruby_s_own_library_are_not_in_app
    event = sent_event(raised { JSON.parse("{") })

    frames = event["exception"]["values"].last["stacktrace"]["frames"]
    json = frames.select { |frame| frame["abs_path"]&.include?("/json/") }
    refute_empty json
    assert(json.all? { |frame| frame["in_app"] == false && !frame["filename"].start_with?("/") })
    assert(frames.none? { |frame| frame["in_app"] }, "this test's own file is outside the project root")
  end

  def test_in_app_include_adds_code_outside_the_root
    init(project_root: TESTING_DIR, in_app_include: [__dir__])
    event = sent_event(raised { raise ArgumentError, "from the test" })

    test_frame = event["exception"]["values"].last["stacktrace"]["frames"].last
    assert_equal ["test/event_test.rb", true], test_frame.values_at("filename", "in_app")
  end

  def test_a_custom_backtrace_is_read_when_there_are_no_locations
    backtrace = ["#{TESTING_DIR}/shop.rb:29:in `average_price'", "/srv/job.rb:3"]
    error = raised { raise ArgumentError, "replayed", backtrace }
    assert_nil error.backtrace_locations

    frames = sent_event(error)["exception"]["values"].last["stacktrace"]["frames"]
    assert_equal [["/srv/job.rb", "", false, 3], ["shop.rb", "average_price", true, 29]],
                 frames.map { |frame| frame.values_at("filename", "function", "in_app", "lineno") }
  end

  def test_a_cause_loop_is_cut
    first = LoopingError.new("first")
    second = LoopingError.new("second")
    first.looped_cause = second
    second.looped_cause = first

    values = sent_event(first)["exception"]["values"]
    assert_equal %w[second first], values.map { |value| value["value"] }
  end

  def test_an_exception_is_reported_once
    error = raised { Shop.average_price([]) }

    refute_nil Bugstack.capture_exception(error)
    assert_nil Bugstack.capture_exception(error)
    assert Bugstack.flush(5)
    assert_equal 1, @sink.events.length
  end

  def test_a_message_carries_the_callers_frames
    id = Bugstack.capture_message("stock low for sku 42", level: "warning")
    assert Bugstack.flush(5)

    event = @sink.events.last
    assert_equal [id, "warning", "stock low for sku 42"], event.values_at("event_id", "level", "message")
    value = event["exception"]["values"].last
    assert_equal %w[Message stock\ low\ for\ sku\ 42], value.values_at("type", "value")
    assert_equal __method__.to_s, value["stacktrace"]["frames"].last["function"]
  end

  def test_before_send_can_change_or_drop_an_event_and_a_failing_hook_drops_it
    calls = 0
    init(before_send: lambda { |event|
      calls += 1
      raise "hook bug" if calls == 3

      calls == 1 ? event.merge("tags" => { "team" => "payments" }) : nil
    })
    3.times { Bugstack.capture_exception(RuntimeError.new("error #{calls}")) }
    assert Bugstack.flush(5)

    assert_equal [{ "team" => "payments" }], @sink.events.map { |event| event["tags"] }
    assert_equal 2, Bugstack.client.stats[:discarded]
    assert_includes log_text, "before_send; the event was dropped: RuntimeError: hook bug"
  end
end
