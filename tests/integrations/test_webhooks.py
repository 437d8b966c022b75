"""GitHub webhooks: only a body signed with the account's secret is believed, and it wakes the right runs."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from integrations.models import Credential, WebhookDelivery
from integrations.signals import code_host_event
from tests.factories import AccountFactory, CredentialFactory, ProjectFactory

URL = "/integrations/github/webhook/"
SECRET = "whsec-acme-0123456789"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_run_payload(repository: str = "acme/shop") -> dict:
    return {
        "action": "completed",
        "repository": {"full_name": repository},
        "check_run": {
            "head_sha": "a" * 40,
            "status": "completed",
            "conclusion": "failure",
            "check_suite": {"head_branch": "bugstack/fix-1-abcdef12"},
            "pull_requests": [{"number": 7}],
        },
    }


@pytest.fixture
def events():
    received = []

    def receiver(sender, signal, **kwargs):
        received.append(kwargs)

    code_host_event.connect(receiver, dispatch_uid="test-webhooks")
    yield received
    code_host_event.disconnect(dispatch_uid="test-webhooks")


@pytest.fixture
def shop(account):
    CredentialFactory(account=account, kind=Credential.Kind.GITHUB_WEBHOOK, secret=SECRET)
    return ProjectFactory(account=account, code_host="github", repository="acme/shop")


def deliver(client, payload, event="check_run", delivery="d-1", signature=None, body=None, **extra):
    body = body if body is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
    if signature is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature or sign(body)
    return client.post(
        URL, data=body, content_type=extra.pop("content_type", "application/json"), **headers, **extra
    )


def test_signed_check_run_wakes_the_repository_projects(client, shop, events):
    response = deliver(client, check_run_payload())
    assert response.status_code == 202
    assert events == [
        {
            "project_ids": [shop.pk],
            "event": "check_run",
            "action": "completed",
            "sha": "a" * 40,
            "branch": "bugstack/fix-1-abcdef12",
            "pr_number": 7,
            "merged": False,
        }
    ]


def test_tampered_body_is_rejected_and_nothing_happens(client, shop, events):
    body = json.dumps(check_run_payload()).encode()
    tampered = body.replace(b"failure", b"success")
    response = deliver(client, None, body=tampered, signature=sign(body))
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert events == []
    assert not WebhookDelivery.objects.exists()


def test_missing_signature_is_rejected(client, shop, events):
    response = deliver(client, check_run_payload(), signature=False)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]
    assert events == []


def test_another_accounts_secret_does_not_open_this_repository(client, shop, events):
    other = AccountFactory()
    CredentialFactory(account=other, kind=Credential.Kind.GITHUB_WEBHOOK, secret="whsec-other")
    body = json.dumps(check_run_payload()).encode()
    response = deliver(client, None, body=body, signature=sign(body, "whsec-other"))
    assert response.status_code == 401
    assert events == []


def test_each_account_sharing_a_repository_wakes_only_its_own_projects(client, shop, events):
    other = AccountFactory()
    CredentialFactory(account=other, kind=Credential.Kind.GITHUB_WEBHOOK, secret="whsec-other")
    theirs = ProjectFactory(account=other, code_host="github", repository="acme/shop")
    body = json.dumps(check_run_payload()).encode()
    assert deliver(client, None, body=body, signature=sign(body, "whsec-other")).status_code == 202
    assert events[0]["project_ids"] == [theirs.pk]


def test_replayed_delivery_is_harmless(client, shop, events):
    assert deliver(client, check_run_payload(), delivery="same-id").status_code == 202
    replay = deliver(client, check_run_payload(), delivery="same-id")
    assert replay.status_code == 200
    assert replay.json()["duplicate"] is True
    assert len(events) == 1
    assert WebhookDelivery.objects.count() == 1


def test_merged_pull_request_is_announced(client, shop, events):
    payload = {
        "action": "closed",
        "repository": {"full_name": "acme/shop"},
        "pull_request": {
            "number": 7,
            "merged": True,
            "head": {"ref": "bugstack/fix-1-abcdef12", "sha": "b" * 40},
        },
    }
    assert deliver(client, payload, event="pull_request").status_code == 202
    assert (events[0]["pr_number"], events[0]["merged"], events[0]["sha"]) == (7, True, "b" * 40)


def test_status_event_in_form_encoding_is_understood(client, shop, events):
    payload = {
        "repository": {"full_name": "acme/shop"},
        "sha": "c" * 40,
        "state": "failure",
        "branches": [{"name": "bugstack/fix-1-abcdef12"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = deliver(
        client, None, event="status", body=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 202
    assert (events[0]["event"], events[0]["sha"]) == ("status", "c" * 40)


@pytest.mark.parametrize(
    ("event", "action"),
    [("push", ""), ("issues", "opened"), ("check_run", "created"), ("pull_request", "opened")],
)
def test_events_no_run_waits_for_answer_204(client, shop, events, event, action):
    payload = {**check_run_payload(), "action": action}
    assert deliver(client, payload, event=event, delivery=f"{event}-{action}").status_code == 204
    assert events == []


def test_ping_is_answered_once_verified(client, shop):
    assert (
        deliver(
            client, {"zen": "Keep it simple.", "repository": {"full_name": "acme/shop"}}, event="ping"
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not a JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"repository": {"full_name": 5}}', "repository.full_name"),
    ],
)
def test_malformed_payloads_name_the_problem(client, shop, body, message):
    response = deliver(client, None, body=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_wrongly_typed_field_in_a_signed_payload_is_a_400(client, shop, events):
    payload = check_run_payload()
    payload["check_run"]["head_sha"] = {"$ne": 1}
    response = deliver(client, payload)
    assert response.status_code == 400
    assert "check_run.head_sha" in response.json()["error"]
    assert events == []


def test_oversized_payload_is_refused(client, shop, settings):
    settings.BUGSTACK_WEBHOOK_MAX_BYTES = 1024
    payload = {**check_run_payload(), "padding": "x" * 2048}
    assert deliver(client, payload).status_code == 413


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


def test_a_failing_receiver_does_not_fail_the_delivery(client, shop):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    code_host_event.connect(broken, dispatch_uid="test-broken")
    try:
        assert deliver(client, check_run_payload()).status_code == 202
    finally:
        code_host_event.disconnect(dispatch_uid="test-broken")
