"""Which engine scores the linkage pairs: an operator setting, not a controller's instruction
(choosing an engine changes where the work runs, not what is done to the data). Environment
variables (documented in docs/scale.md and README):

REFINERY_LINKAGE_BACKEND       duckdb (default, in-process) or spark (Splink's Spark backend)
REFINERY_SPARK_MASTER          Spark master URL (default local[2]): local[N], spark://host:7077, k8s://..., yarn
REFINERY_SPARK_CONF            extra Spark configuration: a JSON object {"spark.executor.memory": "8g", ...}
                               or the path of a spark-defaults.conf style file ("key value" per line)
REFINERY_SPARK_CHECKPOINT_DIR  where Splink writes its intermediate tables (default: a temporary folder on this
                               machine); on a cluster a location every executor reaches (hdfs://, s3a://, NFS).
                               Each run writes under its own sub-folder and deletes it when done.

Checked by `dagster_project/settings.py` when the code location loads, so a wrong value stops the
start-up instead of failing at the linkage stage.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"
# Settings that make Spark fetch jars from Maven/Ivy at start-up: nothing is downloaded at run time,
# the only jar Splink needs ships inside the splink wheel.
_DOWNLOADING_KEYS = ("spark.jars.packages", "spark.jars.repositories", "spark.jars.ivy", "spark.jars.ivySettings")


@dataclass(frozen=True)
class LinkageBackend:
    name: str = "duckdb"
    spark_master: str = DEFAULT_SPARK_MASTER
    spark_conf: dict[str, str] = field(default_factory=dict)
    checkpoint_dir: str | None = None

    @property
    def spark(self) -> bool:
        return self.name == "spark"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "LinkageBackend":
        env = dict(os.environ if env is None else env)
        name = env.get("REFINERY_LINKAGE_BACKEND", "").strip().lower() or "duckdb"
        if name not in BACKENDS:
            raise ValueError(f"REFINERY_LINKAGE_BACKEND={name!r} is not supported (expected 'duckdb' or 'spark')")
        master = env.get("REFINERY_SPARK_MASTER", "").strip() or DEFAULT_SPARK_MASTER
        if master.startswith("sc://"):
            # Splink registers its similarity functions through the JVM gateway, which Spark Connect lacks.
            raise ValueError(
                f"REFINERY_SPARK_MASTER={master!r}: Spark Connect is not supported by Splink's Spark backend; "
                "give a classic master URL (local[N], spark://, k8s://, yarn)"
            )
        if name == "spark" and importlib.util.find_spec("pyspark") is None:
            raise ValueError("REFINERY_LINKAGE_BACKEND=spark needs pyspark: install the 'spark' extra (pip install '.[spark]')")
        return cls(
            name=name,
            spark_master=master,
            spark_conf=parse_spark_conf(env.get("REFINERY_SPARK_CONF", "")),
            checkpoint_dir=env.get("REFINERY_SPARK_CHECKPOINT_DIR", "").strip() or None,
        )


def parse_spark_conf(raw: str) -> dict[str, str]:
    """REFINERY_SPARK_CONF: a JSON object, or the path of a spark-defaults.conf style file."""
    raw = raw.strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"REFINERY_SPARK_CONF is not a valid JSON object: {exc.msg} at character {exc.pos}") from None
        if not isinstance(parsed, dict):
            raise ValueError("REFINERY_SPARK_CONF must be a JSON object of Spark settings")
        conf = {str(k): _conf_value(v) for k, v in parsed.items()}
        where = "REFINERY_SPARK_CONF"
    else:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ValueError(f"REFINERY_SPARK_CONF={raw!r} is neither a JSON object nor an existing file")
        conf = {}
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise ValueError(f"REFINERY_SPARK_CONF file {path}, line {number}: expected 'key value'")
            conf[parts[0]] = parts[1].strip()
        where = f"REFINERY_SPARK_CONF file {path}"
    for key in conf:
        if not key.startswith("spark."):
            raise ValueError(f"{where}: {key!r} is not a Spark setting (keys start with 'spark.')")
        if key in _DOWNLOADING_KEYS:
            raise ValueError(
                f"{where}: {key} would download jars at run time; put jars on the cluster image and list them in spark.jars"
            )
    return conf


def _conf_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"REFINERY_SPARK_CONF values must be strings, numbers or booleans, got {type(value).__name__}")
