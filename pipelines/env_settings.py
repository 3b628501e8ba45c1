"""Reading the operator's numeric settings from the environment, with one kind of error message.

Every REFINERY_* number (limits, retries, timeouts, DuckDB sizes) is read here, so that a typo
gives the same clear line wherever it is: `REFINERY_MAX_ROWS='10k' is not a whole number`.
"""

from __future__ import annotations

from collections.abc import Mapping


def env_number(env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None,
               positive: bool = False, whole: bool = False) -> float:
    """`env[name]` as a number (`_` allowed as a digit separator), `default` when unset or blank.
    `whole`: an integer is required; `positive`: > 0; `minimum`: >= it."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value: float = int(raw.replace("_", "")) if whole else float(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a {'whole number' if whole else 'number'}") from None
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum:g}")
    return value
