# frozen_string_literal: true

# Serves the shop with WEBrick on a free port of 127.0.0.1, set up as the README says, and prints
# "listening on <port>". Reads BUGSTACK_DSN.
#
#     ruby -I lib testing/server.rb

require "rack"
require "rack/handler/webrick"
require "webrick"

require "bugstack"
require_relative "shop"

Bugstack.init { |config| config.project_root = __dir__ }

app = Rack::Builder.new do
  use Bugstack::Rack::Middleware
  run Shop
end

server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, AccessLog: [],
                                 Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN))
server.mount("/", Rack::Handler::WEBrick, app.to_app)
trap("TERM") { server.shutdown }
trap("INT") { server.shutdown }
$stdout.puts "listening on #{server.config[:Port]}"
$stdout.flush
server.start
