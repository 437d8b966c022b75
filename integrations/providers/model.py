"""What every provider backed by a model API does the same way: ask, find the proposal in the reply, send a
malformed reply back once with what was wrong, count the tokens and keep the exchange for the audit trail;
and, around a vendor SDK's own quick retries, a bounded number of longer waits.

The vendors differ only in how a request and a reply look: the subclasses (``AnthropicProvider``,
``OpenAIProvider``) say that, and nothing else.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from integrations.errors import IntegrationError, TransientError
from integrations.providers import FixProvider, FixRequest, Proposal, Usage
from integrations.providers.prompt import audit_text
from integrations.providers.proposal import MalformedProposal, parse_proposal

CORRECTIONS = 1  # malformed replies sent back to the model before the call counts as failed
MAX_WAIT_SECONDS = 60.0  # the longest wait between two rounds, whatever the server asks

log = logging.getLogger(__name__)
Reply = TypeVar("Reply")


class ModelProvider(FixProvider):
    """A fix provider that asks a model. ``model`` names it in the attempt; ``speaker`` in messages."""

    model: str
    speaker = "The model"

    def propose(self, request: FixRequest) -> Proposal | None:
        params = self.initial_params(request)
        responses: list[dict[str, Any]] = []
        usage = Usage()
        for correction in range(CORRECTIONS + 1):
            reply = self.ask(params)
            responses.append(reply.model_dump(mode="json", exclude_none=True))
            usage = self.add_usage(usage, reply)
            try:
                proposal = parse_proposal(self.proposal_input(reply))
            except MalformedProposal as problem:
                if correction == CORRECTIONS:
                    raise TransientError(
                        f"{self.speaker}'s proposal was malformed twice ({problem}); the fix can be retried."
                    ) from problem
                params = self.corrected(params, reply, str(problem))
                continue
            return dataclasses.replace(
                proposal,
                usage=usage,
                provider=self.name,
                model=self.model,
                prompt=audit_text(params),
                response=json.dumps(responses, indent=2, ensure_ascii=False),
            )
        raise AssertionError("unreachable: the last correction returns or raises")

    @abc.abstractmethod
    def initial_params(self, request: FixRequest) -> dict[str, Any]:
        """The API request asking for a fix of ``request``."""

    @abc.abstractmethod
    def ask(self, params: dict[str, Any]) -> Any:
        """The reply to ``params`` (an SDK model object); raises ``IntegrationError``."""

    @abc.abstractmethod
    def proposal_input(self, reply: Any) -> Mapping[str, Any]:
        """The ``propose_fix`` input the reply carries; ``MalformedProposal`` saying why there is none."""

    @abc.abstractmethod
    def corrected(self, params: dict[str, Any], reply: Any, problem: str) -> dict[str, Any]:
        """The conversation so far plus a turn telling the model what was wrong with ``reply``."""

    @abc.abstractmethod
    def add_usage(self, total: Usage, reply: Any) -> Usage:
        """``total`` plus the tokens ``reply`` reports."""


def call_in_rounds(
    call: Callable[[], Reply],
    translate: Callable[[Exception], IntegrationError | None],
    *,
    rounds: int,
    backoff_seconds: float,
    vendor: str,
) -> Reply:
    """``call()``, which has its SDK's quick retries, tried up to ``rounds`` times with longer waits between
    (doubling from ``backoff_seconds``, a server's ``Retry-After`` honoured, at most ``MAX_WAIT_SECONDS``).

    ``translate`` turns the SDK's error into ours, or None for an exception that is not the SDK's (raised as
    it is); a permanent one is raised at once.
    """
    for round_number in range(1, rounds + 1):
        try:
            return call()
        except Exception as error:
            failure = translate(error)
            if failure is None:
                raise
        if failure.permanent or round_number == rounds:
            raise failure
        wait = min(
            max(failure.retry_after or 0.0, backoff_seconds * 2 ** (round_number - 1)), MAX_WAIT_SECONDS
        )
        log.warning("%s call failed (%s); trying again in %.1f s", vendor, failure, wait)
        time.sleep(wait)
    raise AssertionError("unreachable: the last round returns or raises")
