"""Smoke test: the Dagster webserver starts on the workspace and its GraphQL API shows the asset
graph, the upload sensor and the nightly schedules; once on workspace.yaml (the embedded mode's
instance file), once as deployed: a code server plus deploy/workspace.yaml pointing at it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.s3_fixtures import dagster_home_with, free_port

REPO = Path(__file__).resolve().parents[1]
QUERY = """
{
  assetNodes { assetKey { path } groupName }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        sensors { name minIntervalSeconds sensorState { status } }
        schedules { name cronSchedule executionTimezone }
      }
    }
  }
}
"""


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the group started here: the server and its children
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / args[0]), *args[1:]],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _wait_for_grpc(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Until the code server answers its health check (as an orchestrator's readiness probe would)."""
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        check = subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "api", "grpc-health-check", "-p", str(port), "-h", "127.0.0.1"],
            capture_output=True, timeout=60,
        )
        if check.returncode == 0:
            return
        assert time.monotonic() < deadline, "the code server did not become healthy: " + log.read_text()[-2000:]
        time.sleep(1)


@pytest.mark.parametrize("topology", ["workspace", "code-server"])
def test_webserver_serves_the_asset_graph_and_the_sensor(tmp_path, topology):
    home = dagster_home_with(tmp_path, "dagster.local.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_", "AWS_"))}
    env.update(DAGSTER_HOME=str(home), REFINERY_LOCAL_STORE=str(tmp_path / "store"))
    started: list[subprocess.Popen] = []
    workspace = "workspace.yaml"
    if topology == "code-server":
        # The container layout: the code location serves gRPC, the webserver reads
        # deploy/workspace.yaml (its host name swapped for loopback).
        grpc_port = free_port()
        started.append(_start(
            ["dagster", "code-server", "start", "-h", "127.0.0.1", "-p", str(grpc_port), "-m", "dagster_project.definitions",
             "-a", "defs", "--location-name", "contact-refinery"], env, tmp_path / "code-server.log",
        ))
        _wait_for_grpc(grpc_port, started[0], tmp_path / "code-server.log")
        config = yaml.safe_load((REPO / "deploy" / "workspace.yaml").read_text())
        config["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
        workspace = str(tmp_path / "workspace.yaml")
        Path(workspace).write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp_path / "webserver.log"
    server = _start(["dagster-webserver", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)], env, log)
    started.append(server)
    try:
        deadline = time.monotonic() + 120
        data, last = None, None
        while data is None:
            assert server.poll() is None, log.read_text()[-3000:]
            if time.monotonic() > deadline:
                logs = "".join(p.read_text()[-1500:] for p in sorted(tmp_path.glob("*.log")))
                raise AssertionError(f"the webserver did not list the code location within 120 s: {last}\n{logs}")
            try:
                last = _graphql(port, QUERY)
                nodes = last["data"]["repositoriesOrError"].get("nodes")
                if nodes:  # the code location has loaded
                    data = last["data"]
            except (urllib.error.URLError, ConnectionError, KeyError, TypeError):
                pass
            time.sleep(0.5)
    finally:
        for proc in reversed(started):
            _stop(proc)

    assets = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
    for name in ("raw_upload", "validated_rows", "standardised_contacts", "linked_contacts", "golden_records", "contact_export"):
        assert assets.get(name) == "contacts", name
    (repository,) = data["repositoriesOrError"]["nodes"]
    sensors = {s["name"]: s for s in repository["sensors"]}
    assert sensors["upload_sensor"]["minIntervalSeconds"] == 15
    assert sensors["upload_sensor"]["sensorState"]["status"] == "STOPPED"  # embedded mode: off until turned on
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert schedules["nightly_catch_up"]["executionTimezone"] == "Europe/Paris"
    assert schedules["nightly_maintenance"]["cronSchedule"] == "30 3 * * *"
