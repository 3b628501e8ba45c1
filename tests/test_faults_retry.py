"""The bounded retry loop (resources/retry.py): how long it waits, when it stops, what it names."""

from __future__ import annotations

import random

import pytest

from resources.retry import GaveUp, RetryPolicy, call_with_retry, key_kind


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    policy = RetryPolicy(base_seconds=0.5, max_seconds=4)
    delays = policy.delays(random.Random(1))
    for ceiling in (0.5, 1, 2, 4, 4, 4):  # doubles, then stays at the maximum
        assert 0 <= next(delays) <= ceiling
    firsts = [next(policy.delays(random.Random(seed))) for seed in range(200)]
    assert min(firsts) < 0.1 and max(firsts) > 0.4  # spread over the whole [0, ceiling]


def test_stops_after_the_attempts_and_keeps_the_last_error():
    calls, pauses = [], []

    def flaky():
        calls.append(1)
        raise ConnectionResetError(f"attempt {len(calls)}")

    with pytest.raises(GaveUp) as info:
        call_with_retry(flaky, transient=lambda e: True, policy=RetryPolicy(attempts=4), sleep=pauses.append)
    assert len(calls) == 4 and len(pauses) == 3
    assert info.value.attempts == 4 and str(info.value.last) == "attempt 4"


def test_stops_at_the_deadline_whatever_the_attempts():
    calls = []

    def down():
        calls.append(1)
        raise TimeoutError

    policy = RetryPolicy(attempts=1000, base_seconds=0.02, max_seconds=0.02, deadline_seconds=0.2)
    with pytest.raises(GaveUp):
        call_with_retry(down, transient=lambda e: True, policy=policy)
    assert 3 < len(calls) < 100


def test_a_non_transient_error_is_raised_at_once_and_a_success_returns():
    seen = []

    def refused():
        seen.append(1)
        raise PermissionError("403")

    with pytest.raises(PermissionError):
        call_with_retry(refused, transient=lambda e: isinstance(e, TimeoutError), policy=RetryPolicy(), sleep=lambda s: None)
    assert len(seen) == 1
    outcomes = iter([TimeoutError(), TimeoutError(), "ok"])

    def recovers():
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    repaired = []
    assert call_with_retry(recovers, transient=lambda e: True, policy=RetryPolicy(attempts=3),
                           before_retry=repaired.append, sleep=lambda s: None) == "ok"
    assert len(repaired) == 2  # the reconnect hook ran before each new attempt


def test_messages_name_the_kind_of_object_never_an_upload_key():
    assert key_kind("exports/acme/up-1/contacts.csv") == "an export file (contacts.csv)"
    assert key_kind("work/acme/up-1/raw_upload.parquet") == "working data (raw_upload.parquet)"
    assert key_kind("uploads/acme/Prospects Zéphyrine.csv") == "an uploaded file"
    assert key_kind("work/acme/") == "working data"
    assert key_kind("somewhere/else") == "an object"


def test_settings_come_from_the_environment_and_are_checked():
    policy = RetryPolicy.from_env({"REFINERY_RETRY_ATTEMPTS": "5", "REFINERY_RETRY_DEADLINE_SECONDS": "9"})
    assert policy.attempts == 5 and policy.deadline_seconds == 9
    assert RetryPolicy.database_from_env({"REFINERY_DB_RETRY_SECONDS": "12"}).deadline_seconds == 12
    with pytest.raises(ValueError, match="REFINERY_RETRY_ATTEMPTS='0' must be at least 1"):
        RetryPolicy.from_env({"REFINERY_RETRY_ATTEMPTS": "0"})
    with pytest.raises(ValueError, match="REFINERY_RETRY_BASE_SECONDS='soon' is not a number"):
        RetryPolicy.from_env({"REFINERY_RETRY_BASE_SECONDS": "soon"})
    from resources.s3_store import S3ClientSettings

    assert S3ClientSettings.from_env({"REFINERY_S3_RETRY_MODE": "adaptive", "REFINERY_S3_MAX_ATTEMPTS": "8"}).max_attempts == 8
    with pytest.raises(ValueError, match="REFINERY_S3_RETRY_MODE='legacy'"):
        S3ClientSettings.from_env({"REFINERY_S3_RETRY_MODE": "legacy"})
