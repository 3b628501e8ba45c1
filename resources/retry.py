"""Bounded retries with exponential backoff and full jitter, and the one-line errors they end with.

botocore already retries single S3 requests (REFINERY_S3_MAX_ATTEMPTS, see s3_store.py). This layer
covers what it does not: a response body cut off mid-read, a multi-step write (put, then confirm
encryption), a records database that restarted under us. Every loop is bounded twice, by a
number of attempts and by a deadline, so a persistent fault ends in a clear error, never a hang.

Environment (docs/operations.md, "Failure modes"):

REFINERY_RETRY_ATTEMPTS         attempts of one store operation after botocore's own retries (default 3)
REFINERY_RETRY_BASE_SECONDS     first backoff ceiling; doubles each attempt (default 0.5)
REFINERY_RETRY_MAX_SECONDS      largest backoff ceiling (default 8)
REFINERY_RETRY_DEADLINE_SECONDS no new attempt starts after this long (default 120)
REFINERY_DB_RETRY_SECONDS       how long the records database may be away before a run gives up (default 30)
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from pipelines.env_settings import env_number

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_seconds: float = 0.5
    max_seconds: float = 8.0
    deadline_seconds: float = 120.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "RetryPolicy":
        env = dict(os.environ if env is None else env)
        d = cls()
        return cls(
            attempts=int(_number(env, "REFINERY_RETRY_ATTEMPTS", d.attempts, minimum=1)),
            base_seconds=_number(env, "REFINERY_RETRY_BASE_SECONDS", d.base_seconds),
            max_seconds=_number(env, "REFINERY_RETRY_MAX_SECONDS", d.max_seconds),
            deadline_seconds=_number(env, "REFINERY_RETRY_DEADLINE_SECONDS", d.deadline_seconds),
        )

    @classmethod
    def database_from_env(cls, env: dict[str, str] | None = None) -> "RetryPolicy":
        """A PostgreSQL restart takes a few seconds: retry for a while rather than a count."""
        env = dict(os.environ if env is None else env)
        base = cls.from_env(env)
        deadline = _number(env, "REFINERY_DB_RETRY_SECONDS", 30.0)
        return cls(attempts=1000, base_seconds=base.base_seconds, max_seconds=min(base.max_seconds, 4.0),
                   deadline_seconds=deadline)

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in
        [0, min(max, base * 2**n)], so many runs retrying together spread out instead of
        hitting the recovering service in step."""
        rng = rng or random.Random()
        n = 0
        while True:
            yield rng.uniform(0.0, min(self.max_seconds, self.base_seconds * (2**n)))
            n += 1


def _number(env: dict[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    return env_number(env, name, default, minimum=minimum)


class GaveUp(Exception):
    """Internal: carries the last error and the count out of `call_with_retry`."""

    def __init__(self, last: BaseException, attempts: int, seconds: float):
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts
        self.seconds = seconds


def call_with_retry(
    fn: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    policy: RetryPolicy,
    before_retry: Callable[[BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """fn() until it succeeds, raises a non-transient error (re-raised as is), or the attempts or
    the deadline run out (GaveUp, holding the last error). `before_retry` repairs state between
    attempts (a reconnect)."""
    started = time.monotonic()
    delays = policy.delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            if not transient(exc):
                raise
            elapsed = time.monotonic() - started
            pause = next(delays)
            if attempt >= policy.attempts or elapsed + pause > policy.deadline_seconds:
                raise GaveUp(exc, attempt, elapsed) from None
            sleep(pause)
            if before_retry is not None:
                try:
                    before_retry(exc)
                except Exception as again:  # the repair itself failed: count it as this attempt's error
                    if not transient(again):
                        raise


# -- what an object key is, for messages ------------------------------------------------------
# Keys the pipeline creates hold opaque ids and fixed names, but an upload's key is the client's
# own file name (personal data, possibly): messages name the kind of object, never the key.
_KINDS = {
    "uploads": "an uploaded file",
    "manifests": "an upload manifest",
    "work": "working data",
    "exports": "an export file",
    "controllers": "controller data",
    "state": "the upload sensor's state",
}


def key_kind(key: str) -> str:
    """'exports/acme/up-1/contacts.csv' -> 'an export file (contacts.csv)'; uploads stay unnamed."""
    top, _, rest = key.partition("/")
    kind = _KINDS.get(top)
    if kind is None:
        return "an object"
    if top in ("uploads", "manifests", "state") or not rest or rest.endswith("/"):
        return kind  # (a listing's prefix names no file)
    return f"{kind} ({rest.rsplit('/', 1)[-1]})"
