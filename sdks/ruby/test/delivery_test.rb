# frozen_string_literal: true

require "socket"

require_relative "test_helper"

class DeliveryTest < Minitest::Test
  include SinkTest

  # Holds the sink's next answer until `release`: the SDK's request stays in flight meanwhile.
  def hold_next_answer
    gate = Queue.new
    @sink.answer_next do |events|
      gate.pop
      [202, {}, { id: events.first["event_id"] }]
    end
    -> { gate << true }
  end

  def capture(message)
    Bugstack.capture_exception(RuntimeError.new(message))
  end

  def message_of(event)
    event["exception"]["values"].last["value"]
  end

  def wait_until(timeout = 5)
    deadline = monotonic + timeout
    sleep 0.01 until yield || monotonic > deadline
  end

  def test_events_go_gzipped_with_the_key_and_a_length
    init
    capture("one")
    assert Bugstack.flush(5)

    request = @sink.received.first
    assert_equal "/api/v1/events/", request.path
    assert_equal ["gzip", "application/json", "Bearer public-key"],
                 request.headers.values_at("content-encoding", "content-type", "authorization")
    assert_operator request.headers["content-length"].to_i, :>, 0
  end

  def test_events_that_queued_while_one_was_in_flight_go_together_to_the_batch_url
    init(timeout: 5)
    release = hold_next_answer
    capture("first")
    wait_until { @sink.attempts.any? }
    5.times { |index| capture("queued #{index}") }
    release.call

    assert Bugstack.flush(5)
    messages = @sink.received.map { |request| [request.path, request.events.map { |e| message_of(e) }] }
    assert_equal [["/api/v1/events/", ["first"]], ["/api/v1/events/batch/", (0..4).map { |i| "queued #{i}" }]],
                 messages
    assert_equal 6, Bugstack.client.stats[:sent]
  end

  def test_a_full_queue_drops_new_events_without_blocking_the_host
    init(queue_size: 3, timeout: 5)
    release = hold_next_answer
    capture("in flight")
    wait_until { @sink.attempts.any? }

    started = monotonic
    ids = 13.times.map { |index| capture("burst #{index}") }
    elapsed = monotonic - started
    release.call

    assert_operator elapsed, :<, 0.1, "13 captures took #{elapsed} s"
    assert_equal [3, 10], [ids.compact.length, ids.count(nil)]
    assert Bugstack.flush(5)
    assert_equal 4, @sink.events.length
    assert_equal 10, Bugstack.client.stats[:dropped]
    assert_includes log_text, "bugstack's event queue is full; 8 events dropped so far"
  end

  def test_a_server_that_is_down_costs_the_host_nothing_and_flush_says_so_in_time
    port = TCPServer.open("127.0.0.1", 0) { |server| server.addr[1] } # closed again: nothing listens
    Bugstack.init(dsn: "http://k@127.0.0.1:#{port}/1", logger: Logger.new(@log), max_retries: 5)

    started = monotonic
    10.times { |index| refute_nil capture("down #{index}") }
    assert_operator monotonic - started, :<, 0.1

    started = monotonic
    refute Bugstack.flush(0.5)
    assert_in_delta 0.5, monotonic - started, 0.3
  end

  def test_a_server_that_never_answers_costs_the_host_nothing
    silent = TCPServer.new("127.0.0.1", 0)
    Bugstack.init(dsn: "http://k@127.0.0.1:#{silent.addr[1]}/1", logger: Logger.new(@log), timeout: 0.2,
                  max_retries: 0)

    started = monotonic
    capture("unanswered")
    assert_operator monotonic - started, :<, 0.05
    assert Bugstack.flush(3), "the request times out and the event is given up"
    assert_equal 1, Bugstack.client.stats[:failed]
  ensure
    silent&.close
  end

  def test_a_huge_answer_is_not_read_whole
    server = TCPServer.new("127.0.0.1", 0)
    written = Queue.new
    Thread.new do
      client = server.accept
      client.readpartial(65_536) # the request, enough of it
      client.write("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: #{1 << 30}\r\n\r\n")
      total = 0
      chunk = "x" * 65_536
      total += client.write(chunk) while total < (1 << 30)
    rescue SystemCallError, IOError # the SDK closed the connection
      written << total
    end
    Bugstack.init(dsn: "http://k@127.0.0.1:#{server.addr[1]}/1", logger: Logger.new(@log))
    capture("answered at length")

    assert Bugstack.flush(5)
    assert_operator written.pop, :<, 16 << 20, "bytes the server could write before the SDK hung up"
    assert_equal 1, Bugstack.client.stats[:rejected]
    assert_includes log_text, "bugstack refused an event (HTTP 400): xxxx"
  ensure
    server&.close
  end

  def test_429_with_retry_after_is_honoured
    init
    @sink.answer_next(429, headers: { "Retry-After" => "1" }, body: { detail: "slow down" })
    capture("limited")

    assert Bugstack.flush(5)
    (_, first), (_, second) = @sink.attempts
    assert_operator second - first, :>=, 0.95
    assert_equal 1, @sink.events.length
  end

  def test_a_refused_event_is_not_sent_again
    init
    @sink.answer_next(400, body: { detail: "not the protocol" })
    capture("refused")

    assert Bugstack.flush(5)
    assert_equal 1, @sink.attempts.length
    assert_equal 1, Bugstack.client.stats[:rejected]
    assert_includes log_text, "bugstack refused an event (HTTP 400): not the protocol"
  end

  def test_each_event_of_a_batch_is_settled_by_its_own_result
    init(timeout: 5)
    release = hold_next_answer
    capture("first")
    wait_until { @sink.attempts.any? }
    %w[stored invalid limited].each { |message| capture(message) }
    @sink.answer_next do |events|
      [200, { "Retry-After" => "1" }, { results: [{ id: events[0]["event_id"], status: 202 },
                                                  { status: 400, detail: "bad level" },
                                                  { status: 429, detail: "over the limit", retry_after: 1 }] }]
    end
    release.call

    assert Bugstack.flush(5)
    attempts = @sink.attempts
    assert_equal 3, attempts.length
    assert_operator attempts[2][1] - attempts[1][1], :>=, 0.95
    assert_equal ["limited"], @sink.received.last.events.map { |event| message_of(event) }
    assert_equal({ queued: 0, dropped: 0, sent: 3, rejected: 1, failed: 0, discarded: 0 }, Bugstack.client.stats)
  end

  def test_events_still_over_the_rate_limit_when_retries_run_out_count_as_failed
    init(timeout: 5, max_retries: 1)
    release = hold_next_answer
    capture("first")
    wait_until { @sink.attempts.any? }
    2.times { |index| capture("limited #{index}") }
    2.times do
      @sink.answer_next do |events|
        [200, {}, { results: events.map { { status: 429, detail: "over the limit", retry_after: 0 } } }]
      end
    end
    release.call

    assert Bugstack.flush(5)
    assert_equal 3, @sink.attempts.length
    assert_equal({ queued: 0, dropped: 0, sent: 1, rejected: 0, failed: 2, discarded: 0 }, Bugstack.client.stats)
  end

  def test_a_server_without_the_batch_endpoint_gets_the_events_one_by_one
    init(timeout: 5)
    release = hold_next_answer
    capture("first")
    wait_until { @sink.attempts.any? }
    2.times { |index| capture("queued #{index}") }
    @sink.answer_next(404, body: { detail: "Not Found" })
    release.call

    assert Bugstack.flush(5)
    assert_equal %w[/api/v1/events/ /api/v1/events/batch/ /api/v1/events/ /api/v1/events/],
                 @sink.attempts.map(&:first)
    assert_equal 3, @sink.events.length
  end

  def test_a_forked_child_delivers_its_events_with_a_thread_of_its_own
    init
    capture("from the parent") # the parent's worker thread is running when it forks
    assert Bugstack.flush(5)

    child = fork do
      Bugstack.capture_exception(RuntimeError.new("from the child"), tags: { "pid" => Process.pid })
      exit!(Bugstack.flush(5) ? 0 : 1) # exit! skips at_exit: only the child's own flush sends
    end
    Process.wait(child)

    assert_equal 0, $?.exitstatus
    child_events = @sink.events.select { |event| event["tags"]["pid"] == child.to_s }
    assert_equal ["from the child"], child_events.map { |event| message_of(event) }
    assert_equal 1, Bugstack.client.stats[:sent], "the parent's counts are its own"
  end

  # A logger that raises at every call, as one writing to a closed file does.
  class BrokenLogger
    def debug(_message) = raise(IOError, "closed stream")
    def warn(_message) = raise(IOError, "closed stream")
  end

  def test_a_logger_that_raises_does_not_stop_capturing_or_sending
    Bugstack.init(dsn: @sink.dsn, logger: BrokenLogger.new, debug: true)
    @sink.answer_next(400, body: { detail: "refused, and logged" })

    refute_nil capture("refused")
    assert Bugstack.flush(5)
    refute_nil capture("sent")
    assert Bugstack.flush(5)
    assert_equal({ sent: 1, rejected: 1 }, Bugstack.client.stats.slice(:sent, :rejected))
  end

  def test_queued_events_go_out_at_a_normal_exit
    script = <<~RUBY
      require "bugstack"
      Bugstack.init(dsn: #{@sink.dsn.inspect})
      Bugstack.capture_exception(RuntimeError.new("at exit"))
    RUBY

    assert system(RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", script)
    assert_equal ["at exit"], @sink.events.map { |event| message_of(event) }
  end

  def test_retry_after_reads_seconds_and_dates_and_caps_the_wait
    now = Time.utc(2026, 1, 1, 12, 0, 0)

    assert_equal 2.5, Bugstack::Transport.parse_retry_after("2.5", now)
    assert_equal 30.0, Bugstack::Transport.parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now)
    assert_equal 300.0, Bugstack::Transport.parse_retry_after("86400", now)
    assert_nil Bugstack::Transport.parse_retry_after("soon", now)
  end
end
