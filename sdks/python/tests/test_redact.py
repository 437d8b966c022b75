import pytest
from bugstack_sdk.redact import FILTERED, Redactor, filter_query, is_sensitive_key, mask_text


@pytest.mark.parametrize(
    "key",
    [
        "password", "Passwd", "db_password", "client_secret", "access_token", "X-CSRFToken", "csrftoken",
        "api_key", "apikey", "Authorization", "Proxy-Authorization", "auth", "x_auth_user", "credentials",
        "Cookie", "Set-Cookie", "session", "sessionid", "private_key", "X-Api-Key",
    ],
)  # fmt: skip
def test_denylisted_keys_are_sensitive(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["username", "email", "product_id", "route", "abs_path", "context_line"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(
    "secret",
    [
        "Bearer abc.def-ghi_jkl",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "ghp_" + "a1B2" * 9,
        "github_pat_" + "x" * 30,
        "sk-ant-api03-" + "Q" * 30,
        "AKIAIOSFODNN7EXAMPLE",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
    ],
)
def test_secret_values_are_masked_inside_messages(secret: str) -> None:
    masked = mask_text(f"login failed for {secret} at step 2")
    assert masked.startswith("login failed for ") and masked.endswith(f"{FILTERED} at step 2")
    assert secret not in masked


def test_passwords_inside_urls_are_masked() -> None:
    assert mask_text("cannot reach postgres://shop:hunter2@db:5432/shop") == (
        f"cannot reach postgres://shop:{FILTERED}@db:5432/shop"
    )


def test_numbers_that_fail_the_luhn_check_are_not_card_numbers() -> None:
    assert mask_text("order 4111111111111112 not found") == "order 4111111111111112 not found"


def test_a_card_number_beside_another_number_is_still_masked() -> None:
    # The digit run takes the neighbouring number in; the card is found within it.
    assert mask_text("card 4111 1111 1111 1111 2 items") == f"card {FILTERED} 2 items"
    assert mask_text("order 7 4111-1111-1111-1111 5") == f"order 7 {FILTERED} 5"


def test_query_strings_lose_sensitive_parameters_only() -> None:
    assert filter_query("page=2&token=s3cr3t&q=shoes") == "page=2&token=[Filtered]&q=shoes"


def test_redactor_filters_keys_at_any_depth_and_masks_values_everywhere() -> None:
    event = {
        "request": {
            "headers": {"Authorization": "Bearer abc", "Accept": "text/html"},
            "data": {"user": {"password": "hunter2", "name": "ann"}, "notes": ["card 4242 4242 4242 4242"]},
        },
        "tags": {"plan": "pro"},
    }
    redacted = Redactor().redact(event)
    assert redacted["request"]["headers"] == {"Authorization": FILTERED, "Accept": "text/html"}
    assert redacted["request"]["data"]["user"] == {"password": FILTERED, "name": "ann"}
    assert redacted["request"]["data"]["notes"] == [f"card {FILTERED}"]
    assert event["request"]["data"]["user"]["password"] == "hunter2", "the caller's event is not modified"


def test_app_specific_keys_can_be_added() -> None:
    redacted = Redactor(extra_keys=["ssn"]).redact(
        {"data": {"ssn": "078-05-1120", "patient_ssn": "x", "age": 40}}
    )
    assert redacted["data"] == {"ssn": FILTERED, "patient_ssn": FILTERED, "age": 40}


# Long runs built to make a pattern scan them again from every place it could start; with such a pattern
# the larger size alone takes minutes, in the app's own process. The masked result is exact at both.
HOSTILE_RUNS = [
    ("a:", "@", "@"),
    ("x@", "", ""),
    ("a.", "://u:pw@h", f"://u:{FILTERED}@h"),
    ("-eyJ", "", ""),
    ("bearer ", "", ""),
    ("1 ", "", ""),
    ("-ghp_", "", ""),
    ("-AKIA", "", ""),
]


@pytest.mark.parametrize("size", [16 * 1024, 256 * 1024])
@pytest.mark.parametrize(("token", "tail", "masked_tail"), HOSTILE_RUNS)
def test_long_hostile_strings_are_masked_exactly(token: str, tail: str, masked_tail: str, size: int) -> None:
    run = token * (size // len(token))

    assert mask_text(run + tail) == run + masked_tail
    assert Redactor().redact({"message": run + tail}) == {"message": run + masked_tail}
