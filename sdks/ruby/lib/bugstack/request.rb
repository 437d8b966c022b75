# frozen_string_literal: true

module Bugstack
  # What an event says about the Rack request that failed: its method and route (when Rails knows it), as
  # the other SDKs say by default; the URL, query string and headers with `send_request_headers`, and the
  # parameters Rails parsed from the body only with `send_request_body`. Everything is redacted before sending.
  #
  # It is read from the env when the error is captured, as the env changes once the response is sent.
  module Request
    MAX_HEADERS = 100
    MAX_VALUE_LENGTH = 2048
    MAX_BODY_KEYS = 100
    # Rack keeps two headers outside `HTTP_*`.
    UNPREFIXED_HEADERS = { "CONTENT_TYPE" => "Content-Type", "CONTENT_LENGTH" => "Content-Length" }.freeze

    module_function

    def from_env(env, settings)
      payload = { "method" => env["REQUEST_METHOD"].to_s, "route" => route(env) }.compact
      if settings.send_request_headers
        payload["url"] = url(env)
        query = env["QUERY_STRING"].to_s
        payload["query_string"] = clip(query) unless query.empty?
        payload["headers"] = headers(env)
      end
      body = settings.send_request_body && body(env)
      payload["data"] = body if body
      payload
    end

    # The route as declared: Rails 7.1 names its pattern; earlier Rails, the controller and action.
    def route(env)
      pattern = env["action_dispatch.route_uri_pattern"]
      return pattern.to_s.delete_suffix("(.:format)") if pattern

      params = env["action_dispatch.request.path_parameters"]
      return nil unless params.is_a?(Hash) && params[:controller] && params[:action]

      "#{params[:controller]}##{params[:action]}"
    end

    def url(env)
      scheme = env["rack.url_scheme"] || "http"
      clip("#{scheme}://#{host(env, scheme)}#{env["SCRIPT_NAME"]}#{env["PATH_INFO"]}")
    end

    def host(env, scheme)
      return env["HTTP_HOST"] if env["HTTP_HOST"]

      port = env["SERVER_PORT"].to_s
      default_port = { "http" => "80", "https" => "443" }[scheme]
      port.empty? || port == default_port ? env["SERVER_NAME"].to_s : "#{env["SERVER_NAME"]}:#{port}"
    end

    def headers(env)
      headers = {}
      env.each do |name, value|
        break if headers.size >= MAX_HEADERS

        header = header_name(name)
        headers[header] = clip(value.to_s) if header && value.is_a?(String)
      end
      headers
    end

    def header_name(name)
      return UNPREFIXED_HEADERS[name] unless name.start_with?("HTTP_")

      name.delete_prefix("HTTP_").split("_").map(&:capitalize).join("-")
    end

    # The parameters Rails parsed from a form or JSON body, so that their keys can be redacted one by one;
    # the raw body is never read (the app may have read it, or not want it read).
    def body(env)
      params = env["action_dispatch.request.request_parameters"] || env["rack.request.form_hash"]
      return nil unless params.is_a?(Hash) && !params.empty?

      params.first(MAX_BODY_KEYS).to_h
    end

    def clip(text)
      text.length <= MAX_VALUE_LENGTH ? text : "#{text[0, MAX_VALUE_LENGTH]}…"
    end
  end
end
