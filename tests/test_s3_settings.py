"""Where the data may go: EU regions and allowed EU endpoints only, TLS outside loopback, refused
at start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.definitions import build_object_store
from dagster_project.settings import Settings
from resources.s3_target import StorageLocationRefused, check_s3_target, parse_extra_endpoints

REPO = Path(__file__).resolve().parents[1]
BASE = {"REFINERY_STORAGE": "s3", "REFINERY_BUCKET": "refinery-prod"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_default_is_aws_ireland():
    s = settings()
    assert s.s3_target.region == "eu-west-1" and s.s3_target.endpoint_url is None
    assert s.production and s.s3_sse == "AES256"
    assert Settings.from_env({}).storage == "local" and not Settings.from_env({}).production


@pytest.mark.parametrize("region", ["eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2"])
def test_other_eu_regions_are_accepted(region):
    assert settings(AWS_REGION=region).s3_target.region == region


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "eu-central-2", "ap-south-1", "il-central-1"])
def test_non_eu_regions_are_refused_with_a_clear_error(region):
    with pytest.raises(StorageLocationRefused, match=rf"AWS_REGION='{region}' is not an AWS region in the EU"):
        settings(AWS_REGION=region)


def test_plain_http_outside_loopback_is_refused():
    for url in ("http://s3.fr-par.scw.cloud", "http://10.0.0.5:9000", "http://minio.internal:9000"):
        with pytest.raises(StorageLocationRefused, match="plain HTTP"):
            settings(REFINERY_S3_ENDPOINT_URL=url, REFINERY_S3_EXTRA_EU_ENDPOINTS="minio.internal")


def test_loopback_test_endpoints_may_use_http_but_still_need_an_eu_region():
    for url in ("http://127.0.0.1:5000", "http://localhost:9000", "http://[::1]:9000"):
        assert settings(REFINERY_S3_ENDPOINT_URL=url).s3_target.loopback
    with pytest.raises(StorageLocationRefused, match="us-east-1"):
        settings(REFINERY_S3_ENDPOINT_URL="http://127.0.0.1:5000", AWS_REGION="us-east-1")


def test_known_eu_providers_and_declared_endpoints():
    scaleway = settings(REFINERY_S3_ENDPOINT_URL="https://s3.fr-par.scw.cloud")
    assert scaleway.s3_target.region == "fr-par" and "Scaleway" in scaleway.s3_target.where
    ovh = settings(REFINERY_S3_ENDPOINT_URL="https://s3.gra.io.cloud.ovh.net", AWS_REGION="gra")
    assert ovh.s3_target.region == "gra"
    aws = settings(REFINERY_S3_ENDPOINT_URL="https://s3.eu-west-3.amazonaws.com")
    assert aws.s3_target.region == "eu-west-3"
    with pytest.raises(StorageLocationRefused, match="does not match"):
        settings(REFINERY_S3_ENDPOINT_URL="https://s3.fr-par.scw.cloud", AWS_REGION="nl-ams")
    declared = settings(
        REFINERY_S3_ENDPOINT_URL="https://objects.example.eu", REFINERY_S3_EXTRA_EU_ENDPOINTS="objects.example.eu"
    )
    assert "declared" in declared.s3_target.where


def test_non_eu_endpoints_are_refused():
    for url in (
        "https://s3.us-east-1.amazonaws.com",
        "https://s3.eu-west-2.amazonaws.com",
        "https://s3.bhs.io.cloud.ovh.net",  # OVHcloud Canada
        "https://storage.googleapis.com",
        "https://objects.example.eu",  # not declared
    ):
        with pytest.raises(StorageLocationRefused):
            settings(REFINERY_S3_ENDPOINT_URL=url)
    with pytest.raises(StorageLocationRefused, match="AWS host"):
        parse_extra_endpoints("s3.us-east-1.amazonaws.com")
    with pytest.raises(StorageLocationRefused, match="no credentials, path or query"):
        check_s3_target(None, "https://key:secret@s3.fr-par.scw.cloud")


def test_other_settings_errors_name_the_variable():
    with pytest.raises(ValueError, match="REFINERY_BUCKET"):
        Settings.from_env({"REFINERY_STORAGE": "s3"})
    with pytest.raises(ValueError, match="REFINERY_STORAGE='gcs'"):
        Settings.from_env({"REFINERY_STORAGE": "gcs"})
    with pytest.raises(ValueError, match="REFINERY_S3_SSE"):
        settings(REFINERY_S3_SSE="none")
    with pytest.raises(ValueError, match="REFINERY_SENSOR_INTERVAL_SECONDS"):
        Settings.from_env({"REFINERY_SENSOR_INTERVAL_SECONDS": "0"})
    with pytest.raises(ValueError, match="PGSSLMODE"):
        Settings.from_env({"DAGSTER_PG_HOST": "db.internal"})
    assert Settings.from_env({"DAGSTER_PG_HOST": "db.internal", "PGSSLMODE": "verify-full"})
    assert Settings.from_env({"DAGSTER_PG_HOST": "127.0.0.1"})


def test_secrets_reach_the_resource_as_environment_variable_names_only():
    env = {**BASE, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "very-secret"}
    resource = build_object_store(Settings.from_env(env), env)
    dumped = repr(resource.model_dump() if hasattr(resource, "model_dump") else resource)
    assert "very-secret" not in dumped and "AWS_SECRET_ACCESS_KEY" in dumped
    assert build_object_store(Settings.from_env(BASE), BASE).aws_secret_access_key is None  # default chain


def test_the_code_location_refuses_to_load_outside_the_eu():
    """Start-up: the workspace does not load, and says why."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "AWS_", "DAGSTER_HOME"))}
    env.update(BASE, AWS_REGION="us-east-1")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode != 0
    assert "AWS_REGION='us-east-1' is not an AWS region in the EU" in result.stdout + result.stderr
