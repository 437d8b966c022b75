# frozen_string_literal: true

require "json"
require "socket"
require "stringio"
require "webrick"
require "zlib"

# A local bugstack that answers as the protocol says: 202 with an id for one event, 200 with one result
# per event for a batch. A test can script the next answers (`answer_next`), and reads what arrived.
class Sink
  Received = Struct.new(:path, :headers, :events, :at, keyword_init: true)

  attr_reader :port

  def initialize
    @lock = Mutex.new
    @arrived = ConditionVariable.new
    @received = []
    @attempts = [] # [path, monotonic time] of every request, whatever it was answered
    @scripted = []
    started = Queue.new
    @server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, Logger: WEBrick::Log.new(File::NULL),
                                      AccessLog: [], StartCallback: -> { started << true })
    @port = @server.config[:Port]
    @server.mount_proc("/") { |request, response| answer(request, response) }
    @thread = Thread.new { @server.start }
    started.pop # a shutdown before the server runs would be lost
  end

  def dsn(key = "public-key")
    "http://#{key}@127.0.0.1:#{port}/7"
  end

  # The next request is answered with `status`, `headers` and `body` (a Hash is sent as JSON); or, with a
  # block, with what the block returns for the events received.
  def answer_next(status = nil, headers: {}, body: {}, &block)
    @lock.synchronize { @scripted << (block || ->(_events) { [status, headers, body] }) }
  end

  def received
    @lock.synchronize { @received.dup }
  end

  def attempts
    @lock.synchronize { @attempts.dup }
  end

  def events
    received.flat_map(&:events)
  end

  # Waits until `count` events arrived; the events, or what came so far when `timeout` passed.
  def wait_for_events(count, timeout: 5)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    @lock.synchronize do
      while @received.sum { |request| request.events.length } < count
        remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        break if remaining <= 0

        @arrived.wait(@lock, remaining)
      end
    end
    events
  end

  def stop
    @server.shutdown
    @thread.join(5)
  end

  private

  def answer(request, response)
    events = decode(request)
    @lock.synchronize { @attempts << [request.path, Process.clock_gettime(Process::CLOCK_MONOTONIC)] }
    script = @lock.synchronize { @scripted.shift }
    status, headers, body = script ? script.call(events) : default_answer(request.path, events)
    record(request, events) if status.between?(200, 299)
    response.status = status
    headers.each { |name, value| response[name] = value }
    response["Content-Type"] = "application/json"
    response.body = body.is_a?(String) ? body : JSON.generate(body)
  end

  def default_answer(path, events)
    return [202, {}, { id: events.first["event_id"] }] unless path.end_with?("/batch/")

    [200, {}, { results: events.map { |event| { id: event["event_id"], status: 202 } } }]
  end

  def decode(request)
    raise "no Content-Length" unless request["Content-Length"]

    body = Zlib::GzipReader.new(StringIO.new(request.body)).read
    parsed = JSON.parse(body)
    parsed.is_a?(Array) ? parsed : [parsed]
  end

  def record(request, events)
    headers = request.header.transform_values(&:first)
    @lock.synchronize do
      @received << Received.new(path: request.path, headers: headers, events: events,
                                at: Process.clock_gettime(Process::CLOCK_MONOTONIC))
      @arrived.broadcast
    end
  end
end
