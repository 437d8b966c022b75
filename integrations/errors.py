"""Errors from the outside world, each saying whether trying again could help."""


class IntegrationError(Exception):
    """A call to a code host or a model failed.

    ``permanent`` errors (bad credentials, missing permissions, unknown repository or model) need a person;
    the message says what to do. Transient ones (network, 5xx, rate limits, overload) are worth retrying.
    """

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class TransientError(IntegrationError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, permanent=False, retry_after=retry_after)


class ModelUnavailable(TransientError):
    """The model provider is down, overloaded or rate limiting (5xx, 429, timeouts, connection errors).

    An outage says nothing about the error being fixed: past the stage's retries the run waits for the
    model instead of failing.
    """
