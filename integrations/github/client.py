"""The raw PyGithub client for one account's token: base URL, pacing, timeouts and bounded retries, and the
translation of PyGithub's and requests' exceptions into our permanent/transient errors.

PyGithub: https://pygithub.readthedocs.io/en/stable/github.html · retries: ``github.GithubRetry`` (urllib3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait, RateLimitExceededException

from integrations.errors import PermanentError, TransientError


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    timeout: int  # seconds, per request (connect and read); PyGithub wants an int
    retries: int  # further tries after a 5xx, a timeout or a rate limit
    max_wait: float  # longest rate-limit wait done in place; longer ones become a TransientError
    pacing: bool

    @classmethod
    def from_settings(cls) -> ClientConfig:
        return cls(
            base_url=settings.BUGSTACK_GITHUB_API_URL,
            timeout=settings.BUGSTACK_GITHUB_TIMEOUT,
            retries=settings.BUGSTACK_GITHUB_RETRIES,
            max_wait=settings.BUGSTACK_GITHUB_MAX_WAIT,
            pacing=settings.BUGSTACK_GITHUB_PACING,
        )


class BoundedRetry(GithubRetry):
    """GitHub's retry rules with a ceiling on ``Retry-After`` too.

    ``GithubRetry`` caps waits it computes from the body (``max_rate_limit_wait``) but lets urllib3 sleep
    whatever a ``Retry-After`` header says; a worker must not sleep an hour, so a longer wait is raised
    and the stage is retried later instead.
    """

    def get_retry_after(self, response) -> float | None:
        wait = super().get_retry_after(response)
        if wait is not None and self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
            raise RateLimitExceededExceedsMaxWait(response.status, None, dict(response.headers), wait=wait)
        return wait


def make_retry(config: ClientConfig) -> BoundedRetry:
    return BoundedRetry(
        total=config.retries,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        backoff_max=config.max_wait,
        # A secondary rate limit without Retry-After: GitHub asks for "a few minutes", bounded by max_wait.
        secondary_rate_wait=min(60.0, config.max_wait),
        max_rate_limit_wait=config.max_wait,
        # After the last try PyGithub gets the response itself and raises with GitHub's status and message.
        raise_on_status=False,
    )


def make_client(token: str, config: ClientConfig) -> Github:
    pacing = {} if config.pacing else {"seconds_between_requests": 0, "seconds_between_writes": 0}
    return Github(
        auth=Auth.Token(token),
        base_url=config.base_url,
        timeout=config.timeout,
        retry=make_retry(config),
        # Lazy objects: a host is built per stage, and fetching the repository first would cost a request.
        lazy=True,
        **pacing,
    )


def github_message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    message = str(data.get("message") or error.message or "").strip()
    details = [
        str(e.get("message") or e.get("code") or "") for e in data.get("errors") or [] if isinstance(e, dict)
    ]
    return "; ".join(filter(None, [message, *details])) or f"HTTP {error.status}"


def seconds_until_reset(error: GithubException) -> float | None:
    if isinstance(error, RateLimitExceededExceedsMaxWait) and error.wait:
        return error.wait
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    if str(headers.get("retry-after", "")).isdigit():
        return float(headers["retry-after"])
    if str(headers.get("x-ratelimit-reset", "")).isdigit():
        reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
        return max(0.0, (reset - datetime.now(UTC)).total_seconds())
    return None


@contextlib.contextmanager
def translated(repository: str, action: str, needs: str) -> Iterator[None]:
    """Turn what PyGithub raises during ``action`` into a permanent or transient error a person can act on.

    ``needs`` names the token permission the action requires, e.g. ``contents:write``.
    """
    try:
        yield
    except RateLimitExceededException as error:
        wait = seconds_until_reset(error)
        raise TransientError(
            f"GitHub rate limit hit while trying to {action} on {repository}; retry in {wait or 60:.0f} s",
            retry_after=wait,
        ) from error
    except GithubException as error:
        raise classify(error, repository, action, needs) from error
    except (requests.Timeout, requests.ConnectionError, requests.exceptions.RetryError) as error:
        raise TransientError(
            f"GitHub did not answer while trying to {action} on {repository}: {error}"
        ) from error


def classify(error: GithubException, repository: str, action: str, needs: str) -> Exception:
    message = github_message(error)
    if error.status == 401:
        return PermanentError(
            f"GitHub rejected the account's token ({message}) while trying to {action} on {repository}: "
            "replace the GitHub credential with a valid token."
        )
    if error.status == 403:
        return PermanentError(
            f"The GitHub token lacks {needs} on {repository} ({message}); grant it and retry the run."
        )
    if error.status == 404:
        return PermanentError(
            f"GitHub answered 404 while trying to {action} on {repository}: check that the repository exists "
            f"and that the token can see it with {needs}."
        )
    if error.status >= 500 or error.status in (408, 429):
        return TransientError(f"GitHub failed (HTTP {error.status}) while trying to {action} on {repository}")
    return PermanentError(f"GitHub refused to {action} on {repository} (HTTP {error.status}: {message})")
