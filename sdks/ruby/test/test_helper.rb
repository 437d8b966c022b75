# frozen_string_literal: true

require "logger"
require "minitest/autorun"
require "net/http"
require "rack"
require "rack/handler/webrick"
require "stringio"

require "bugstack"
require_relative "sink"

TESTING_DIR = File.expand_path("../testing", __dir__)

# Every test gets a sink, a client sending to it that logs to `log_text`, and both closed afterwards.
module SinkTest
  def setup
    super
    @sink = Sink.new
    @log = StringIO.new
  end

  def teardown
    stop_servers
    Bugstack.close(0)
    @sink.stop
    super
  end

  def init(**options, &block)
    Bugstack.init(dsn: @sink.dsn, logger: Logger.new(@log, progname: "bugstack"), **options, &block)
  end

  def log_text
    @log.string
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Serves `app` with WEBrick on a free port until the test ends; returns the port.
  def serve(app)
    started = Queue.new
    server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, AccessLog: [],
                                     Logger: WEBrick::Log.new(File::NULL), StartCallback: -> { started << true })
    server.mount("/", Rack::Handler::WEBrick, app)
    thread = Thread.new { server.start }
    started.pop
    @servers = [*@servers, [server, thread]]
    server.config[:Port]
  end

  def stop_servers
    (@servers || []).each do |server, thread|
      server.shutdown
      thread.join(5)
    end
  end

  def get(path, headers = {})
    Net::HTTP.start("127.0.0.1", @port) { |http| http.get(path, headers) }
  end

  def raised(&block)
    block.call
    flunk "nothing was raised"
  rescue StandardError => e
    e
  end
end
