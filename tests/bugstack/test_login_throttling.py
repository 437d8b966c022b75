"""Failed logins lock out the account and the address they came from, on the dashboard and in the admin."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import RequestFactory, override_settings
from django.urls import reverse

from bugstack.client_ip import client_ip
from tests.factories import UserFactory

PASSWORD = "pw-for-tests"
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.20"
LOCKED = "Too many failed attempts; try again in 15 minutes."  # the default lockout, 900 s


def log_in(client, username: str, password: str, address: str, url: str = "/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_fifty_times(client, username: str, address: str = ATTACKER, url: str = "/login/"):
    return [log_in(client, username, "wrong", address, url).status_code for _ in range(50)]


@pytest.fixture
def olivia(db):
    return UserFactory(username="olivia")


@pytest.fixture
def max_(db):
    return UserFactory(username="max")


def test_fifty_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(client, olivia):
    statuses = fail_fifty_times(client, "olivia")

    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the login page saying the password is wrong
    assert set(statuses[limit - 1 :]) == {429}
    response = log_in(client, "olivia", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert '<form method="post"' in response.content.decode()  # the login page, not a bare error
    assert client.get("/").status_code == 302  # not logged in


def test_the_account_is_locked_from_every_address_and_the_address_for_every_account(client, olivia, max_):
    fail_fifty_times(client, "olivia")

    assert log_in(client, "olivia", PASSWORD, NEIGHBOUR).status_code == 429
    assert log_in(client, "max", PASSWORD, ATTACKER).status_code == 429


def test_another_account_from_another_address_still_logs_in(client, olivia, max_):
    fail_fifty_times(client, "olivia")

    response = log_in(client, "max", PASSWORD, NEIGHBOUR)
    assert response.status_code == 302 and response["Location"] == "/"


def test_after_the_lockout_window_the_right_password_logs_in(client, olivia):
    fail_fifty_times(client, "olivia")
    assert log_in(client, "olivia", PASSWORD, ATTACKER).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )

    response = log_in(client, "olivia", PASSWORD, ATTACKER)
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_admin_login_is_throttled_too(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    url = reverse("admin:login")

    statuses = fail_fifty_times(client, "root", url=url)

    assert statuses[-1] == 429
    response = log_in(client, "root", PASSWORD, ATTACKER, url)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_forwarded_for_header_does_not_change_the_address_unless_configured(client, olivia, max_):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/login/", {"username": f"nobody{n}", "password": "wrong"},
            REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )  # fmt: skip

    assert log_in(client, "max", PASSWORD, ATTACKER).status_code == 429


# --- the client's address -----------------------------------------------------------------------------


def request_from(address: str, **headers: str):
    return RequestFactory().post("/login/", REMOTE_ADDR=address, **headers)


def test_without_a_configured_header_the_connection_address_counts():
    request = request_from("10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.1", HTTP_X_REAL_IP="192.0.2.2")

    assert client_ip(request) == "10.0.0.5"


@override_settings(BUGSTACK_CLIENT_IP_HEADER="X-Forwarded-For")
def test_the_configured_header_counts_by_the_address_the_proxy_added_last():
    request = request_from("10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7")

    assert client_ip(request) == "203.0.113.7"


@override_settings(BUGSTACK_CLIENT_IP_HEADER="X-Real-IP")
@pytest.mark.parametrize("value", [None, "", "not-an-address", "203.0.113.7, <script>"])
def test_a_configured_header_missing_or_not_an_address_falls_back_to_the_connection(value):
    headers = {} if value is None else {"HTTP_X_REAL_IP": value}

    assert client_ip(request_from("10.0.0.5", **headers)) == "10.0.0.5"


@override_settings(BUGSTACK_CLIENT_IP_HEADER="X-Real-IP")
def test_behind_a_proxy_each_client_address_is_counted_apart(client, olivia, max_):
    fail_fifty_times_through_proxy = [
        client.post("/login/", {"username": "olivia", "password": "wrong"},
                    REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP=ATTACKER).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]  # fmt: skip
    assert fail_fifty_times_through_proxy[-1] == 429

    response = client.post(
        "/login/", {"username": "max", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP=NEIGHBOUR
    )
    assert response.status_code == 302
