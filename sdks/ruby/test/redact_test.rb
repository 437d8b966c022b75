# frozen_string_literal: true

require "json"

require_relative "test_helper"

class RedactTest < Minitest::Test
  SERVER_TABLES = JSON.parse(File.read(File.join(__dir__, "data", "server_redaction.json")))
  Redact = Bugstack::Redact

  # The fixture is dumped from bugstack's ingest/redact.py (see the Rakefile's `redaction_fixture`):
  # when the server's rules change, this fails until the SDK's tables follow.
  def test_the_tables_are_the_servers
    assert_equal SERVER_TABLES["FILTERED"], Redact::FILTERED
    assert_equal SERVER_TABLES["DENYLIST"], Redact::DENYLIST
    assert_equal SERVER_TABLES["SECRET_PATTERNS"], Redact::SECRET_PATTERNS
    assert_equal SERVER_TABLES["CARD_CANDIDATE"], Redact::CARD_CANDIDATE
    assert_equal SERVER_TABLES["STRAY_GROUPS"], Redact::STRAY_GROUPS
    assert_equal SERVER_TABLES["MAX_GROUPS_LOOKED_INTO"], Redact::MAX_GROUPS_LOOKED_INTO
  end

  def test_credentials_and_card_numbers_are_masked_anywhere_in_a_string
    text = "Authorization: Bearer abc.def-ghi_jkl card 4111 1111 1111 1111 order 4111 1111 1111 1112 " \
           "key ghp_#{"a" * 36} db postgres://app:hunter2@db/shop aws AKIAABCDEFGHIJKLMNOP"

    assert_equal "Authorization: Bearer [Filtered] card [Filtered] order 4111 1111 1111 1112 key [Filtered] " \
                 "db postgres://app:[Filtered]@db/shop aws [Filtered]", Redact.mask_text(text)
  end

  def test_a_card_number_beside_another_number_is_still_masked
    # The digit run takes the neighbouring number in; the card is found within it and the number kept.
    assert_equal "card [Filtered] 2 items", Redact.mask_text("card 4111 1111 1111 1111 2 items")
    assert_equal "order 7 [Filtered] 5", Redact.mask_text("order 7 4111-1111-1111-1111 5")
    assert_equal "2 [Filtered]", Redact.mask_text("2 5555 5555 5555 4444")
  end

  def test_digit_runs_with_no_card_inside_are_kept_as_the_server_keeps_them
    assert_equal "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5", Redact.mask_text("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5")
    assert_equal "id 12345678901234567 ok", Redact.mask_text("id 12345678901234567 ok")
  end

  def test_sensitive_keys_are_filtered_at_any_depth_with_the_apps_own_terms
    event = { "request" => { "headers" => { "X-Api-Key" => "k", "Cookie" => "a=b", "Accept" => "text/html" },
                             "query_string" => "session_id=abc&page=2",
                             "url" => "https://shop.test/cart?access_token=xyz&sort=asc" },
              "contexts" => { "user" => [{ "password" => "pw", "name" => "ann", "patient_ssn" => "123" }] } }

    redacted = Redact::Redactor.new(["SSN"]).redact(event)

    assert_equal({ "X-Api-Key" => "[Filtered]", "Cookie" => "[Filtered]", "Accept" => "text/html" },
                 redacted["request"]["headers"])
    assert_equal "session_id=%5BFiltered%5D&page=2", redacted["request"]["query_string"]
    assert_equal "https://shop.test/cart?access_token=%5BFiltered%5D&sort=asc", redacted["request"]["url"]
    assert_equal [{ "password" => "[Filtered]", "name" => "ann", "patient_ssn" => "[Filtered]" }],
                 redacted["contexts"]["user"]
    assert_equal "pw", event["contexts"]["user"][0]["password"], "the caller's event is left alone"
  end

  def test_hostile_runs_are_scanned_in_linear_time
    runs = ["ghp_#{"a" * 100_000}_", "sk_live_#{"a" * 100_000}_", "eyJ#{"-eyJ" * 25_000}", "bearer " * 15_000,
            "://#{"a" * 100_000}", "1 " * 50_000, "1234 " * 20_000]
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    runs.each { |run| Redact.mask_text(run) }

    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 2.0
  end

  def test_bytes_that_are_not_utf8_are_replaced_so_the_event_can_be_encoded
    header = "caf\xC3\xA9 \xFF token=abc".b
    latin = (+"na\xEFve").force_encoding(Encoding::ISO_8859_1)

    redacted = Redact::Redactor.new.redact({ "X-Note" => header, "name" => latin })

    assert_equal({ "X-Note" => "café \uFFFD token=abc", "name" => "naïve" }, redacted)
    assert JSON.generate(redacted)
  end

  def test_luhn
    assert Redact.luhn_valid?("4111111111111111")
    refute Redact.luhn_valid?("4111111111111112")
  end
end
