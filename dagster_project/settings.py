"""Environment settings, read in one place. Documented in README (Configuration)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    storage: str  # REFINERY_STORAGE: "local" (default) or "s3"
    local_store: Path  # REFINERY_LOCAL_STORE: the folder used as object store in local mode
    default_controller: str  # REFINERY_DEFAULT_CONTROLLER: controller id for `refinery run` without --controller

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        storage = env.get("REFINERY_STORAGE", "local").strip().lower()
        if storage not in ("local",):
            raise ValueError(f"REFINERY_STORAGE={storage!r} is not supported (expected 'local')")
        return cls(
            storage=storage,
            local_store=Path(env.get("REFINERY_LOCAL_STORE", ".refinery/store")).expanduser(),
            default_controller=env.get("REFINERY_DEFAULT_CONTROLLER", "default"),
        )
