# frozen_string_literal: true

require "uri"

module Bugstack
  # The DSN or endpoint cannot be used; the message names what is wrong (never the DSN itself: it holds the key).
  class DsnError < StandardError; end

  # Where events go: the events URL, the batch URL beside it, and the key to send.
  Destination = Struct.new(:events_url, :batch_url, :key, :project_id, keyword_init: true)

  # Reads `http(s)://<key>@host[:port][/prefix]/<project id>`, or a base URL and a key.
  module Dsn
    EVENTS_PATH = "/api/v1/events/"
    BATCH_PATH = "batch/"

    module_function

    def parse(text)
      uri = parse_url(text, "the DSN")
      raise DsnError, "the DSN has no key: expected http(s)://<key>@host/<project id>" if blank?(uri.user)

      path = uri.path.sub(%r{/+\z}, "")
      prefix, _, project_id = path.rpartition("/")
      unless project_id.match?(/\A[0-9]{1,18}\z/)
        raise DsnError, "the DSN has no project id: expected http(s)://<key>@host/<project id>"
      end

      destination(uri, prefix, URI.decode_www_form_component(uri.user), project_id)
    end

    def from_endpoint(endpoint, key)
      key = key.to_s.strip
      raise DsnError, "the project key is empty" if key.empty?

      uri = parse_url(endpoint, "the endpoint")
      destination(uri, uri.path.sub(%r{/+\z}, ""), key, nil)
    end

    def destination(uri, prefix, key, project_id)
      events_url = "#{uri.scheme}://#{host_and_port(uri)}#{prefix}#{EVENTS_PATH}"
      Destination.new(events_url: events_url, batch_url: events_url + BATCH_PATH, key: key,
                      project_id: project_id).freeze
    end

    def parse_url(text, name)
      uri = URI.parse(text.to_s.strip)
      raise DsnError, "#{name} must start with http:// or https://" unless %w[http https].include?(uri.scheme)
      raise DsnError, "#{name} has no host" if blank?(uri.host)

      uri
    rescue URI::Error, ArgumentError
      raise DsnError, "#{name} is not a URL with a host (and a valid port, if any)"
    end

    def host_and_port(uri)
      host = uri.host.include?(":") && !uri.host.start_with?("[") ? "[#{uri.host}]" : uri.host
      uri.port == uri.default_port ? host : "#{host}:#{uri.port}"
    end

    def blank?(text)
      text.nil? || text.empty?
    end
  end
end
