"""Real parts for the production tests: a moto S3 server on loopback (boto3 speaks HTTP to it),
versioned buckets, and Dagster instances on throwaway databases of the local PostgreSQL, configured
by deploy/dagster.yaml itself.

Import the fixtures you use into the test module (`from tests.s3_fixtures import moto_endpoint`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest
from dagster import DagsterInstance

from bench.processes import stop_process_group

REPO = Path(__file__).resolve().parents[1]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REGION = "eu-west-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """http://127.0.0.1:PORT of a moto S3 server running for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def make_bucket(endpoint: str, versioned: bool = True) -> str:
    name = f"refinery-test-{uuid.uuid4().hex[:12]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture()
def bucket(moto_endpoint) -> str:
    """A fresh versioned bucket on the moto server."""
    return make_bucket(moto_endpoint)


def s3_env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like deployment pointed at the moto server."""
    return {
        "REFINERY_STORAGE": "s3",
        "REFINERY_BUCKET": bucket,
        "REFINERY_S3_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        **TEST_CREDENTIALS,
        **extra,
    }


@pytest.fixture()
def s3_environment(moto_endpoint, bucket, monkeypatch) -> dict[str, str]:
    """s3_env set in os.environ for the test (Definitions read it, EnvVar secrets resolve from it)."""
    env = s3_env(moto_endpoint, bucket)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _admin():
    try:
        conn = psycopg2.connect(dbname="postgres", **PG)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc})")
    conn.autocommit = True
    return conn


@pytest.fixture()
def pg_database() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL, dropped afterwards."""
    admin = _admin()
    name = f"refinery_test_{uuid.uuid4().hex[:10]}"
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_env(database: str) -> dict[str, str]:
    """What deploy/dagster.yaml reads, for the local PostgreSQL (loopback: no TLS needed)."""
    return {
        "DAGSTER_PG_HOST": PG["host"],
        "DAGSTER_PG_PORT": str(PG["port"]),
        "DAGSTER_PG_USER": PG["user"],
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": database,
    }


def dagster_home_with(tmp_path: Path, config: str = "dagster.yaml") -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(REPO / "deploy" / config, home / "dagster.yaml")
    return home


@pytest.fixture()
def pg_instance(tmp_path, pg_database, monkeypatch) -> Iterator[DagsterInstance]:
    """A Dagster instance configured by deploy/dagster.yaml on a fresh PostgreSQL database."""
    for name, value in pg_env(pg_database).items():
        monkeypatch.setenv(name, value)
    home = dagster_home_with(tmp_path)
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


# The controller's standing settings, placed by the operator: every run is an instruction of the
# controller (DPA III.2), and a sensor upload follows these (recorded by its run).
CONTROLLER_SETTINGS = b"language: fr\ndefault_country: FR\n"


def put_controller_settings(client, bucket_name: str, *controllers: str) -> None:
    for controller in controllers:
        client.put_object(
            Bucket=bucket_name, Key=f"controllers/{controller}/settings.yaml", Body=CONTROLLER_SETTINGS,
            ServerSideEncryption="AES256",
        )


def contact_file(tmp_path: Path, rows: int, seed: int, canary: dict[str, str]) -> bytes:
    """A generated French CRM export (cp1252, ';') with one canary contact appended: its values
    must reach the controller's export and nowhere else."""
    from bench.generator import generate, write_file

    messy, _ = generate(rows, seed=seed, profile="fr")
    path = tmp_path / f"gen-{seed}.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    data = path.read_bytes()
    header = data.split(b"\r\n", 1)[0].decode("cp1252").split(";")
    assert set(canary) <= set(header), sorted(header)
    line = ";".join(canary.get(h, "") for h in header)
    return data.rstrip(b"\r\n") + ("\r\n" + line + "\r\n").encode("cp1252")


def daemon_env(home: Path, endpoint: str, bucket_name: str, database: str, sensor_seconds: int = 2) -> dict[str, str]:
    """The environment of a `dagster-daemon` on the production settings: PostgreSQL (a throwaway
    database), S3 on the moto server, the GDPR records and keys inside the test's folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_", "AWS_", "PG"))}
    env.update(pg_env(database))
    env.update(s3_env(endpoint, bucket_name, REFINERY_SENSOR_INTERVAL_SECONDS=str(sensor_seconds)))
    env["DAGSTER_HOME"] = str(home)
    env["REFINERY_LOCAL_STORE"] = str(home.parent / "store")
    env["REFINERY_GDPR_DIR"] = str(home.parent / "gdpr")
    env["REFINERY_KEYS_DIR"] = str(home.parent / "keys")
    return env


@contextlib.contextmanager
def running_daemon(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run` on the repository's workspace, in a process group of its own that is
    stopped with everything it started (code server, run workers) when the block ends."""
    repo = Path(__file__).resolve().parents[1]
    with log_path.open("w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield daemon
        finally:
            stop_process_group(daemon)
