# frozen_string_literal: true

require "json"
require "net/http"
require "time"
require "zlib"

require "bugstack/version"

module Bugstack
  # HTTP delivery: gzip, timeouts, retries with backoff on 429/5xx/network errors, and `Retry-After`
  # honoured so that a busy server is not hammered. Several events go in one request to the batch URL,
  # one alone to the events URL. Runs on the worker's thread only.
  class Transport
    SENT = :sent
    REJECTED = :rejected # the server said no for good (400, 401, 403, 413, 415): retrying cannot help
    FAILED = :failed # retries used up, or the SDK is shutting down

    BASE_BACKOFF = 0.5
    MAX_BACKOFF = 30.0
    MAX_RETRY_AFTER = 300.0 # a longer pause is more likely a misconfigured proxy than a plan
    MAX_REPLY_BYTES = 64 * 1024 # a batch's results; anything longer is not bugstack answering
    MAX_DETAIL_LENGTH = 2048
    MAX_BATCH_EVENTS = 100
    MAX_BATCH_BYTES = 10 * 1024 * 1024 # under the server's 20 MiB, decompressed

    # One HTTP answer; status 0 when none came back (refused, reset, timed out).
    Reply = Struct.new(:status, :retry_after, :detail, :body, keyword_init: true) do
      def success?
        status.between?(200, 299)
      end

      def final_refusal?
        status.positive? && status != 429 && status < 500 && !success?
      end
    end

    def initialize(destination, timeout:, max_retries:, logger:)
      @destination = destination
      @timeout = timeout
      @max_retries = max_retries
      @logger = logger
      @not_before = 0.0 # monotonic time before which the server asked not to hear from us
      @batch_supported = true
    end

    # Delivers JSON `bodies` (one event each); returns one outcome per body, in order.
    def deliver(bodies, stopping)
      return bodies.map { |body| deliver_one(body, stopping) } if bodies.length == 1 || !@batch_supported

      outcomes = []
      batches(bodies).each { |batch| outcomes.concat(deliver_batch(batch, stopping)) }
      outcomes
    end

    # Seconds to wait from a `Retry-After` value (seconds or an HTTP date, RFC 9110 §10.2.3); nil if unreadable.
    def self.parse_retry_after(value, now = Time.now)
      text = value.to_s.strip
      return nil if text.empty? || text.length > 64

      seconds = text.match?(/\A\d+(?:\.\d+)?\z/) ? text.to_f : Time.httpdate(text) - now
      seconds.clamp(0.0, MAX_RETRY_AFTER)
    rescue ArgumentError
      nil
    end

    # Exponential with jitter, so that processes that failed together do not retry together.
    def self.backoff(attempt)
      [MAX_BACKOFF, BASE_BACKOFF * 2**attempt].min * (0.5 + rand / 2)
    end

    private

    # Runs of at most MAX_BATCH_EVENTS events and MAX_BATCH_BYTES, in order.
    def batches(bodies)
      bodies.each_with_object([[]]) do |body, batches|
        current = batches.last
        full = current.length >= MAX_BATCH_EVENTS || current.sum(&:bytesize) + body.bytesize > MAX_BATCH_BYTES
        batches << (current = []) if full && !current.empty?
        current << body
      end
    end

    def deliver_one(body, stopping)
      compressed = Zlib.gzip(body)
      (0..@max_retries).each do |attempt|
        return FAILED unless stopping.wait_until(@not_before)

        reply = post(@destination.events_url, compressed, 1)
        return SENT if reply.success?
        return refused(reply) if reply.final_refusal?

        pause(reply.retry_after || Transport.backoff(attempt), reply.detail, attempt)
      end
      FAILED
    end

    def deliver_batch(bodies, stopping)
      outcomes = Array.new(bodies.length, FAILED)
      pending = (0...bodies.length).to_a
      (0..@max_retries).each do |attempt|
        break unless stopping.wait_until(@not_before)

        batch = Zlib.gzip("[#{bodies.values_at(*pending).join(",")}]")
        reply = post(@destination.batch_url, batch, pending.length)
        return fall_back_to_single(bodies, pending, outcomes, stopping) if [404, 405].include?(reply.status)

        if reply.success?
          pending, wait = settle(pending, results(reply, pending.length), outcomes)
          return outcomes if pending.empty?

          delay = [wait, reply.retry_after].compact.max || Transport.backoff(attempt)
          pause(delay, "#{pending.length} events over the rate limit", attempt)
        elsif reply.final_refusal?
          outcome = refused(reply)
          pending.each { |index| outcomes[index] = outcome }
          return outcomes
        else
          pause(reply.retry_after || Transport.backoff(attempt), reply.detail, attempt)
        end
      end
      outcomes
    end

    # Records each event's own answer; returns those to send again later, and the longest wait asked (or nil).
    def settle(pending, results, outcomes)
      if results.nil?
        pending.each { |index| outcomes[index] = SENT }
        return [[], nil]
      end

      later = pending.zip(results).reject do |index, result|
        outcome = event_outcome(result)
        outcomes[index] = outcome if outcome
      end
      waits = later.filter_map { |_, result| Transport.parse_retry_after(result["retry_after"]) }
      [later.map(&:first), waits.max]
    end

    # SENT, REJECTED, or nil for an event to send again later (429).
    def event_outcome(result)
      status = result["status"].is_a?(Integer) ? result["status"] : 0
      return SENT if status.between?(200, 299)
      return nil if status == 429

      @logger.warn("bugstack refused an event (#{status}): #{result["detail"].to_s[0, MAX_DETAIL_LENGTH]}")
      REJECTED
    end

    # The batch's results, one per event sent; nil when the 200 does not say (it was taken whole).
    def results(reply, count)
      results = JSON.parse(reply.body.to_s)["results"]
      results.is_a?(Array) && results.length == count && results.all?(Hash) ? results : nil
    rescue JSON::ParserError, TypeError, NoMethodError
      nil
    end

    # A server without the batch endpoint: each event goes on its own, as before it existed.
    def fall_back_to_single(bodies, pending, outcomes, stopping)
      @batch_supported = false
      @logger.debug("bugstack's server has no batch endpoint; sending events one at a time")
      pending.each { |index| outcomes[index] = deliver_one(bodies[index], stopping) }
      outcomes
    end

    def refused(reply)
      @logger.warn("bugstack refused an event (HTTP #{reply.status}): #{reply.detail}")
      REJECTED
    end

    # Kept after the last attempt too: the next events also wait as long as the server asked.
    def pause(delay, detail, attempt)
      @not_before = monotonic + delay
      next_step = attempt < @max_retries ? format("retrying in %.1f s", delay) : "giving up"
      @logger.debug("bugstack could not deliver (#{detail}); #{next_step}")
    end

    def post(url, compressed, count)
      reply = exchange(URI(url), compressed)
      answer = reply.status.zero? ? reply.detail : "HTTP #{reply.status}"
      @logger.debug("bugstack sent #{count} event(s) to #{url}: #{answer}")
      reply
    end

    def exchange(uri, compressed)
      request = Net::HTTP::Post.new(uri, headers)
      request.body = compressed
      # Leaving by `throw` closes the connection at once: Net::HTTP would otherwise read the rest of the body.
      catch(:answered) do
        http(uri).start do |connection|
          connection.request(request) { |response| throw :answered, read_reply(response) }
        end
      end
    rescue StandardError, Timeout::Error => e
      Reply.new(status: 0, detail: "#{e.class}: #{e.message}"[0, MAX_DETAIL_LENGTH])
    end

    def headers
      { "Content-Type" => "application/json", "Content-Encoding" => "gzip",
        "Authorization" => "Bearer #{@destination.key}", "User-Agent" => "bugstack-sdk-ruby/#{VERSION}" }
    end

    def http(uri)
      http = Net::HTTP.new(uri.host, uri.port)
      http.use_ssl = uri.scheme == "https"
      http.open_timeout = http.read_timeout = http.write_timeout = http.ssl_timeout = @timeout
      http.max_retries = 0 # retries are ours, with backoff
      http
    end

    # The answer's status, `Retry-After` and first bytes; a longer body is cut, never read whole.
    def read_reply(response)
      body = +""
      response.read_body do |chunk|
        body << chunk.byteslice(0, MAX_REPLY_BYTES - body.bytesize)
        break if body.bytesize >= MAX_REPLY_BYTES
      end
      Reply.new(status: response.code.to_i, retry_after: Transport.parse_retry_after(response["Retry-After"]),
                detail: detail_of(body), body: body)
    end

    def detail_of(body)
      parsed = JSON.parse(body)
      detail = parsed.is_a?(Hash) && parsed["detail"].is_a?(String) ? parsed["detail"] : body
      detail[0, MAX_DETAIL_LENGTH]
    rescue JSON::ParserError
      body[0, MAX_DETAIL_LENGTH].to_s.scrub
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
