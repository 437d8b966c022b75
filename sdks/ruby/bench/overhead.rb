# frozen_string_literal: true

# Middleware overhead, in-process: the same Rack app bare and behind Bugstack::Rack::Middleware, called
# directly (no sockets) many times, without and with an error.
#
#     ruby -Ilib bench/overhead.rb --dsn http://key@127.0.0.1:PORT/1 [--iterations 200000] [--rounds 7]
#
# The app sits under LAYERS pass-through middlewares, so that a failing request's backtrace is as deep as
# a small framework's. A failing request is answered by an outer error handler in both variants; the SDK
# captures the error (a new exception each time: the same one is reported once) and the event goes to the
# sink at --dsn in the background, as in production. The queue is made large enough that no event is
# dropped: a dropped event costs less than a queued one, and would flatter the figure.
#
# Variants alternate round by round and each figure is the median of the rounds' means, so drift on a
# shared machine hits both alike. Prints one JSON line.

require "json"
require "optparse"

require "bugstack"

LAYERS = 30

# A middleware that only passes the request on, as most of a framework's stack does.
class PassThrough
  def initialize(app)
    @app = app
  end

  def call(env)
    @app.call(env)
  end
end

# Answers a failing request with a 500, as a server or framework does for an error nothing else handled.
class ErrorPage
  def initialize(app)
    @app = app
  end

  def call(env)
    @app.call(env)
  rescue StandardError
    [500, {}, ["error"]]
  end
end

def priced(cents, rate)
  raise ZeroDivisionError, "tax rate must not be zero" if rate.zero? # the bug the error route exercises

  cents + cents * 100 / rate
end

APP = lambda do |env|
  rate = env["PATH_INFO"] == "/broken" ? 0 : 20
  [200, { "Content-Type" => "text/plain" }, [priced(1000, rate).to_s]]
end

def stack(sdk)
  app = APP
  app = Bugstack::Rack::Middleware.new(app) if sdk
  LAYERS.times { app = PassThrough.new(app) }
  ErrorPage.new(app)
end

def env_for(path)
  { "REQUEST_METHOD" => "GET", "PATH_INFO" => path, "QUERY_STRING" => "page=2", "SERVER_NAME" => "shop.test",
    "SERVER_PORT" => "80", "rack.url_scheme" => "http", "HTTP_HOST" => "shop.test",
    "HTTP_ACCEPT" => "text/html", "HTTP_USER_AGENT" => "bench" }
end

# Mean microseconds per call over `iterations` calls.
def mean_us(app, path, iterations)
  env = env_for(path)
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  iterations.times { app.call(env.dup) }
  (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1e6 / iterations
end

def median(values)
  sorted = values.sort
  (sorted[(sorted.length - 1) / 2] + sorted[sorted.length / 2]) / 2.0
end

options = { iterations: 200_000, error_iterations: 2000, rounds: 7 }
OptionParser.new do |parser|
  parser.on("--dsn DSN") { |dsn| options[:dsn] = dsn }
  parser.on("--iterations N", Integer) { |n| options[:iterations] = n }
  parser.on("--error-iterations N", Integer) { |n| options[:error_iterations] = n }
  parser.on("--rounds N", Integer) { |n| options[:rounds] = n }
end.parse!
abort "--dsn is required" unless options[:dsn]

Bugstack.init(dsn: options[:dsn], queue_size: options[:error_iterations] * (options[:rounds] + 1) + 10)
apps = { bare: stack(false), bugstack: stack(true) }
results = Hash.new { |hash, key| hash[key] = [] }
(options[:rounds] + 1).times do |round|
  order = round.even? ? %i[bare bugstack] : %i[bugstack bare]
  order.each do |variant|
    ok = mean_us(apps[variant], "/products", options[:iterations])
    error = mean_us(apps[variant], "/broken", options[:error_iterations])
    Bugstack.flush(30) # the worker's sending is kept out of the next measurement
    next if round.zero? # warm-up

    results[[variant, :ok]] << ok
    results[[variant, :error]] << error
  end
end

figures = results.transform_values { |values| median(values) }
overhead_us = figures[%i[bugstack ok]] - figures[%i[bare ok]]
error_added_ms = (figures[%i[bugstack error]] - figures[%i[bare error]]) / 1000
flushed = Bugstack.flush(30)
puts JSON.generate(
  ok: { bare_us: figures[%i[bare ok]].round(3), bugstack_us: figures[%i[bugstack ok]].round(3) },
  error: { bare_us: figures[%i[bare error]].round(3), bugstack_us: figures[%i[bugstack error]].round(3) },
  overhead_us: overhead_us.round(3),
  error_added_ms: error_added_ms.round(4),
  budget_overhead_held: overhead_us < 5,
  budget_error_held: error_added_ms < 1,
  bugstack_stats: Bugstack.client.stats,
  flushed: flushed,
  iterations: options[:iterations],
  error_iterations: options[:error_iterations],
  rounds: options[:rounds],
  ruby: RUBY_DESCRIPTION
)
