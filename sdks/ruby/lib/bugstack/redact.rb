# frozen_string_literal: true

module Bugstack
  # Redaction before anything leaves the process: values under sensitive keys become "[Filtered]", and
  # credential-looking strings and Luhn-valid card numbers are masked wherever they appear (messages and
  # source lines included).
  #
  # The tables are bugstack's server-side ones (ingest/redact.py) as written there, checked against a
  # fixture dumped from the server (test/data/server_redaction.json). The server redacts again on arrival.
  module Redact
    FILTERED = "[Filtered]"

    # Substring terms, compared with the lower-cased key with "-" read as "_": "X-Api-Key", "db_password",
    # "sessionid", "csrftoken" and "Set-Cookie" all match.
    DENYLIST = %w[
      password passwd secret token api_key apikey auth credential cookie session csrf xsrf private_key
      privatekey
    ].freeze

    # [pattern, replacement] in the server's (Python's) syntax; see `compile_pattern` for the one change.
    SECRET_PATTERNS = [
      # "Authorization: Bearer …" pasted into a message or a header value; the keyword in any case.
      ['([BbTt](?<!\w.)(?i:(?<=b)(?:earer|asic)|(?<=t)oken))\s++[A-Za-z0-9\-._~+/]{8,}=*', '\1 [Filtered]'],
      # JSON Web Tokens: three base64url parts, the first starting with '{"' encoded.
      ['eyJ(?<=\beyJ)(?=[A-Za-z0-9_-]{5})[A-Za-z0-9_]*+(?:-(?!eyJ)[A-Za-z0-9_]*+)*+' \
       '\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*', FILTERED],
      # GitHub personal, OAuth, app, refresh tokens and fine-grained PATs.
      ['gh[pousr]_(?<=\bgh[pousr]_)[A-Za-z0-9]{30,}+\b', FILTERED],
      ['github_pat_(?<=\bgithub_pat_)[A-Za-z0-9_]{30,}+\b', FILTERED],
      # Anthropic and other "sk-" style API keys.
      ['sk-ant-(?<=\bsk-ant-)[A-Za-z0-9_-]{20,}', FILTERED],
      ['sk-(?<=\bsk-)[A-Za-z0-9_-]{32,}', FILTERED],
      # AWS access key ids, and secret access keys where they are named.
      ['A(?:KIA|SIA|ROA|IDA)(?<=\bA[A-Z]{3})[0-9A-Z]{16}\b', FILTERED],
      ['([Aa](?i:ws_secret_access_key)\s*+[=:]\s*+)[A-Za-z0-9/+]{40}', '\1[Filtered]'],
      # Stripe secret, restricted and publishable keys, and webhook secrets.
      ['[srp]k_(?:live|test)_(?<=\b[srp]k_(?:live|test)_)[A-Za-z0-9]{10,}+\b', FILTERED],
      ['whsec_(?<=\bwhsec_)[A-Za-z0-9]{20,}+\b', FILTERED],
      # Slack tokens.
      ['xox[abprs]-(?<=\bxox[abprs]-)[A-Za-z0-9-]{10,}\b', FILTERED],
      # Credentials in URLs: scheme://user:password@host, found from the "://" (any scheme, or none).
      ['(://[^\s:/@]++:)[^\s@/]++@', '\1[Filtered]@']
    ].map(&:freeze).freeze

    # 13 to 19 digits, optionally grouped by single spaces or dashes; each candidate is then checked with Luhn.
    CARD_CANDIDATE = '[0-9](?<=\b[0-9])(?:[ -]?[0-9]){12,18}\b'
    DIGIT_GROUP = /[0-9]+/.freeze
    CARD_DIGITS = (13..19).freeze
    # Groups of digits a candidate may have taken in beside a card, at either end ("4111 1111 1111 1111 2 items"):
    # [leading, trailing] groups to leave out, the fewest first and otherwise in the server's order (a stable
    # sort); a bounded number of tries, whatever the text.
    MAX_STRAY_GROUPS = 2
    STRAY_GROUPS = (0..MAX_STRAY_GROUPS).to_a.product((0..MAX_STRAY_GROUPS).to_a)
      .sort_by.with_index { |pair, index| [pair.sum, index] }
      .drop(1).map(&:freeze).freeze
    # A card is written in at most five groups (4-4-4-4, 4-6-5, 4-4-4-4-3): a candidate of more groups than that
    # and the strays is not looked into, which also keeps runs of spaced single digits cheap.
    MAX_GROUPS_LOOKED_INTO = 5 + 2 * MAX_STRAY_GROUPS

    # Python reads "[…]{n,}+" as a possessive interval; Ruby reads it as the interval repeated, which
    # backtracks without end on a long run. An atomic group is what Python means.
    POSSESSIVE_INTERVAL = /(\[(?:\\.|[^\]\\])*\])(\{\d+(?:,\d*)?\})\+/.freeze

    def self.compile_pattern(source)
      Regexp.new(source.gsub(POSSESSIVE_INTERVAL) { "(?>#{Regexp.last_match(1)}#{Regexp.last_match(2)})" })
    end

    SECRETS = SECRET_PATTERNS.map { |source, replacement| [compile_pattern(source), replacement] }.freeze
    CARD = compile_pattern(CARD_CANDIDATE)
    # A cheap pre-check on the lower-cased text: most strings in an event (paths, function names, source
    # lines) hold none of these, and one search is far cheaper than running every pattern.
    MAYBE_SECRET = Regexp.new("b(?:earer|asic)|token|eyj|g(?:h[pousr]_|ithub_pat_)|sk-|a(?:kia|sia|roa|ida|ws_)" \
                              "|_(?:live|test)_|whsec_|xox|@")
    MAYBE_CARD = /[0-9]{4}/.freeze
    SHORTEST_SECRET = 7 # no pattern matches fewer characters ("://u:p@")
    BYTE_ENCODINGS = [::Encoding::BINARY, ::Encoding::US_ASCII, ::Encoding::UTF_8].freeze # read as UTF-8 bytes

    module_function

    # `text` with every credential-looking value and Luhn-valid card number replaced.
    def mask_text(text)
      return text if text.length < SHORTEST_SECRET

      masked = text
      if MAYBE_SECRET.match?(masked.downcase)
        SECRETS.each { |pattern, replacement| masked = masked.gsub(pattern, replacement) }
      end
      return masked unless MAYBE_CARD.match?(masked)

      masked.gsub(CARD) { |candidate| mask_card(candidate) }
    end

    # A card candidate with the Luhn-valid card number in it filtered: the whole candidate, or else the first
    # run of its digit groups, stray groups left out at either end, that holds a card; otherwise as it was.
    def mask_card(candidate)
      return FILTERED if luhn_valid?(candidate.delete(" -"))
      return candidate if candidate.count(" -") >= MAX_GROUPS_LOOKED_INTO

      groups = candidate.to_enum(:scan, DIGIT_GROUP).map { Regexp.last_match.offset(0) }
      STRAY_GROUPS.each do |lead, trail|
        next if lead + trail >= groups.length

        start, finish = groups[lead].first, groups[-1 - trail].last
        digits = candidate[start...finish].delete(" -")
        return candidate[0...start] + FILTERED + candidate[finish..] if card_digits?(digits)
      end
      candidate
    end

    def card_digits?(digits)
      CARD_DIGITS.cover?(digits.length) && luhn_valid?(digits)
    end

    # `text` as valid UTF-8, which JSON needs: Rack hands headers over as bytes, and a message or a source
    # line may hold anything. Bytes that are not UTF-8 become U+FFFD.
    def utf8(text)
      return text if text.encoding == ::Encoding::UTF_8 && text.valid_encoding?

      if BYTE_ENCODINGS.include?(text.encoding)
        text.dup.force_encoding(::Encoding::UTF_8).scrub
      else
        text.encode(::Encoding::UTF_8, invalid: :replace, undef: :replace)
      end
    end

    def luhn_valid?(digits)
      sum = 0
      digits.reverse.each_char.with_index do |char, index|
        digit = char.ord - 48
        sum += index.odd? ? (digit * 2) % 10 + digit / 5 : digit
      end
      (sum % 10).zero?
    end

    def normalise_key(key)
      key.to_s.strip.downcase.tr("-", "_")
    end

    # The built-in terms plus the app's own, normalised the way keys are compared.
    def denylist(extra_keys = [])
      (DENYLIST + extra_keys.map { |key| normalise_key(key) }.reject(&:empty?)).uniq.freeze
    end

    def sensitive_key?(key, terms = DENYLIST)
      normalised = normalise_key(key)
      terms.any? { |term| normalised.include?(term) }
    end

    # A query string with the values of sensitive parameters filtered; other pairs keep their encoding.
    def filter_query(query, terms = DENYLIST)
      pairs = query.split("&", -1).map do |pair|
        name, separator, = pair.partition("=")
        separator.empty? || !sensitive_key?(decode_query_part(name), terms) ? pair : "#{name}=%5BFiltered%5D"
      end
      mask_text(pairs.join("&"))
    end

    # A URL with sensitive query parameters filtered and credentials masked.
    def filter_url(url, terms = DENYLIST)
      head, question, rest = url.partition("?")
      return mask_text(url) if question.empty?

      query, hash, fragment = rest.partition("#")
      mask_text(head + question) + filter_query(query, terms) + mask_text(hash + fragment)
    end

    def decode_query_part(part)
      URI.decode_www_form_component(part)
    rescue ArgumentError
      part
    end

    # Returns a redacted copy of an event; the caller's structure is left alone.
    class Redactor
      MAX_DEPTH = 32 # deeper data is cut, not followed
      MAX_VERDICTS = 4096

      def initialize(extra_keys = [])
        @terms = Redact.denylist(extra_keys)
        @verdicts = {} # events repeat the same few dozen keys
      end

      def redact(value, depth = 0)
        case value
        when String then Redact.mask_text(Redact.utf8(value))
        when Symbol then Redact.mask_text(Redact.utf8(value.to_s))
        when nil, true, false, Integer, Float then value
        else
          return FILTERED if depth > MAX_DEPTH

          redact_structure(value, depth)
        end
      end

      private

      def redact_structure(value, depth)
        case value
        when Hash then value.to_h { |key, item| [Redact.utf8(key.to_s), field(key.to_s, item, depth)] }
        when Array then value.map { |item| redact(item, depth + 1) }
        else Redact.mask_text(Redact.utf8(value.to_s))
        end
      end

      def field(key, value, depth)
        return FILTERED if !value.nil? && sensitive?(key)
        # Query strings and URLs carry key/value pairs inside one string.
        return Redact.filter_query(value, @terms) if key == "query_string" && value.is_a?(String)
        return Redact.filter_url(value, @terms) if key == "url" && value.is_a?(String)

        redact(value, depth + 1)
      end

      def sensitive?(key)
        @verdicts.fetch(key) do
          verdict = Redact.sensitive_key?(key, @terms)
          @verdicts[key] = verdict if @verdicts.size < MAX_VERDICTS
          verdict
        end
      end
    end
  end
end
