"""GitHub webhooks: verified news about CI and pull requests, turned into a ``code_host_event`` signal.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bugstack.models import Project
from integrations.models import Credential, WebhookDelivery
from integrations.signals import code_host_event

logger = logging.getLogger(__name__)

HANDLED_EVENTS = frozenset({"check_run", "check_suite", "status", "pull_request"})


class BadDelivery(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CodeHostNews:
    event: str
    action: str
    sha: str
    branch: str
    pr_number: int | None
    merged: bool


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    """Accept GitHub's ``check_run``, ``check_suite``, ``status`` and ``pull_request`` (closed) deliveries.

    The body must be signed (``X-Hub-Signature-256``) with the webhook secret of an account that has a project
    on the payload's repository; otherwise 401 and nothing happens. ``ping`` answers 200, any other event 204.
    A delivery id seen before answers 200 and does nothing again.
    """
    try:
        body = read_body(request)
        payload = parse_payload(body, request.content_type)
        repository = text_field(payload, "repository", "full_name")
        account_id = verified_account(repository, body, request.headers.get("X-Hub-Signature-256", ""))
        event = request.headers.get("X-GitHub-Event", "")
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if not event or not delivery:
            raise BadDelivery(400, "X-GitHub-Event and X-GitHub-Delivery headers are required.")
        if event == "ping":
            return JsonResponse({"ok": True, "zen": "verified"}, status=200)
        if event not in HANDLED_EVENTS:
            return JsonResponse({}, status=204)
        news = read_news(event, payload)
    except BadDelivery as bad:
        return error(bad.status, str(bad))
    if news is None:
        return JsonResponse({}, status=204)
    if not record_delivery(account_id, delivery, news, repository):
        return JsonResponse({"duplicate": True, "delivery": delivery}, status=200)
    project_ids = list(
        Project.objects.filter(
            account_id=account_id, code_host=Project.CodeHost.GITHUB, repository__iexact=repository
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    announce(project_ids, news)
    return JsonResponse({"accepted": True, "projects": len(project_ids)}, status=202)


def read_body(request: HttpRequest) -> bytes:
    limit = settings.BUGSTACK_WEBHOOK_MAX_BYTES
    declared = request.headers.get("Content-Length") or "0"
    if not declared.isdigit():
        raise BadDelivery(400, "Content-Length is not a number.")
    if int(declared) > limit:
        raise BadDelivery(413, f"Payload larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadDelivery(413, f"Payload larger than {limit} bytes.")
    return body


def parse_payload(body: bytes, content_type: str) -> dict:
    """JSON, or GitHub's form encoding (``payload=<json>``); the signature covers the raw body either way."""
    try:
        if content_type == "application/x-www-form-urlencoded":
            text = parse_qs(body.decode(), max_num_fields=10).get("payload", [""])[0]
        else:
            text = body.decode()
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadDelivery(400, "The body is not a JSON webhook payload.") from exc
    if not isinstance(payload, dict):
        raise BadDelivery(400, "The payload must be a JSON object.")
    return payload


def field(payload: dict, *path: str):
    value = payload
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def text_field(payload: dict, *path: str, required: bool = True) -> str:
    value = field(payload, *path)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BadDelivery(400, f"{'.'.join(path)} must be a non-empty string.")
    return value[:255]


def verified_account(repository: str, body: bytes, signature: str) -> int:
    """The account whose webhook secret signed the body, among those with a project on ``repository``."""
    if not signature.startswith("sha256="):
        raise BadDelivery(401, "X-Hub-Signature-256 is missing or not a sha256 signature.")
    accounts = Project.objects.filter(
        code_host=Project.CodeHost.GITHUB, repository__iexact=repository
    ).values("account_id")
    secrets = Credential.objects.filter(kind=Credential.Kind.GITHUB_WEBHOOK, account_id__in=accounts)
    for credential in secrets:
        expected = "sha256=" + hmac.new(credential.secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return credential.account_id
    raise BadDelivery(
        401, "The signature does not match the webhook secret of any account using this repository."
    )


def pull_request_number(items) -> int | None:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        number = items[0].get("number")
        return number if isinstance(number, int) and not isinstance(number, bool) else None
    return None


def read_news(event: str, payload: dict) -> CodeHostNews | None:
    """What the delivery says, or None when it says nothing a fix run waits for."""
    action = text_field(payload, "action", required=False)
    if event == "check_run":
        if action != "completed":
            return None
        run = field(payload, "check_run")
        return CodeHostNews(
            event,
            action,
            text_field(payload, "check_run", "head_sha"),
            text_field(payload, "check_run", "check_suite", "head_branch", required=False),
            pull_request_number(field(run, "pull_requests")),
            False,
        )
    if event == "check_suite":
        if action != "completed":
            return None
        return CodeHostNews(
            event,
            action,
            text_field(payload, "check_suite", "head_sha"),
            text_field(payload, "check_suite", "head_branch", required=False),
            pull_request_number(field(payload, "check_suite", "pull_requests")),
            False,
        )
    if event == "status":
        if text_field(payload, "state") == "pending":
            return None
        branches = field(payload, "branches")
        branch = (
            branches[0].get("name")
            if isinstance(branches, list) and branches and isinstance(branches[0], dict)
            else ""
        )
        return CodeHostNews(
            event, "", text_field(payload, "sha"), branch if isinstance(branch, str) else "", None, False
        )
    if action != "closed":
        return None
    number = field(payload, "pull_request", "number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise BadDelivery(400, "pull_request.number must be an integer.")
    return CodeHostNews(
        event,
        action,
        text_field(payload, "pull_request", "head", "sha"),
        text_field(payload, "pull_request", "head", "ref"),
        number,
        field(payload, "pull_request", "merged") is True,
    )


def record_delivery(account_id: int, delivery: str, news: CodeHostNews, repository: str) -> bool:
    """Record the delivery; False if it was recorded before (GitHub redelivers, attackers replay)."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                account_id=account_id,
                delivery_id=delivery[:100],
                event=news.event,
                action=news.action,
                repository=repository,
            )
    except IntegrityError:
        return False
    return True


def announce(project_ids: list[int], news: CodeHostNews) -> None:
    results = code_host_event.send_robust(
        sender=CodeHostNews,
        project_ids=project_ids,
        event=news.event,
        action=news.action,
        sha=news.sha,
        branch=news.branch,
        pr_number=news.pr_number,
        merged=news.merged,
    )
    for receiver, outcome in results:
        if isinstance(outcome, Exception):
            logger.error("code_host_event receiver %r failed", receiver, exc_info=outcome)
