"""Which S3 endpoints and regions may hold the controllers' data: the EU only, over TLS.

The processing agreement allows EU sub-processors only (DPA III.6: AWS Ireland, Scaleway and
OVH in France) and TLS in transit (III.10). So the object store is refused at start-up unless:

- without an endpoint URL (AWS), the region is an AWS region located in an EU member state;
- with an endpoint URL, its host is an AWS S3 endpoint of such a region, a known EU endpoint of
  Scaleway or OVHcloud, a host the operator declares EU-located (REFINERY_S3_EXTRA_EU_ENDPOINTS),
  or a loopback address (tests, a local S3 emulator);
- the endpoint speaks HTTPS, except on loopback.

London (eu-west-2) and Zurich (eu-central-2) are refused on purpose: the UK and Switzerland have
adequacy decisions, but they are not in the EU and the agreement names EU sub-processors only.
"""

from __future__ import annotations

from resources.hosts import is_local_host
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_REGION = "eu-west-1"
# Server-side encryption asked for on every write: SSE-S3 (AES256) or SSE-KMS.
SSE_MODES = ("AES256", "aws:kms")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# AWS regions whose data centres are in an EU member state.
AWS_EU_REGIONS: dict[str, str] = {
    "eu-west-1": "Ireland",
    "eu-west-3": "Paris, France",
    "eu-central-1": "Frankfurt, Germany",
    "eu-north-1": "Stockholm, Sweden",
    "eu-south-1": "Milan, Italy",
    "eu-south-2": "Aragon, Spain",
}

# S3-compatible EU endpoints, host -> (signing region, where).
KNOWN_EU_ENDPOINTS: dict[str, tuple[str, str]] = {
    "s3.fr-par.scw.cloud": ("fr-par", "Scaleway, Paris, France"),
    "s3.nl-ams.scw.cloud": ("nl-ams", "Scaleway, Amsterdam, Netherlands"),
    "s3.pl-waw.scw.cloud": ("pl-waw", "Scaleway, Warsaw, Poland"),
    "s3.gra.io.cloud.ovh.net": ("gra", "OVHcloud, Gravelines, France"),
    "s3.sbg.io.cloud.ovh.net": ("sbg", "OVHcloud, Strasbourg, France"),
    "s3.rbx.io.cloud.ovh.net": ("rbx", "OVHcloud, Roubaix, France"),
    "s3.eu-west-par.io.cloud.ovh.net": ("eu-west-par", "OVHcloud, Paris, France"),
    "s3.de.io.cloud.ovh.net": ("de", "OVHcloud, Frankfurt, Germany"),
    "s3.waw.io.cloud.ovh.net": ("waw", "OVHcloud, Warsaw, Poland"),
}

# s3.eu-west-1.amazonaws.com, s3.dualstack.eu-west-1.amazonaws.com, legacy s3-eu-west-1.amazonaws.com
_AWS_HOST = re.compile(r"^s3(?:\.dualstack)?[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$")


class StorageLocationRefused(ValueError):
    """The configured object store is not an allowed EU location, or not reached over TLS."""


@dataclass(frozen=True)
class S3Target:
    """An accepted S3 location: what boto3 is given, and a human description for logs."""

    region: str  # the signing region passed to boto3
    endpoint_url: str | None  # None means AWS's own endpoint for the region
    where: str
    loopback: bool = False


def check_bucket(bucket: str) -> str:
    if not _BUCKET_RE.match(bucket or "") or ".." in bucket:
        raise ValueError(
            f"REFINERY_BUCKET={bucket!r} is not a valid bucket name (3-63 characters of a-z, 0-9, '.', '-')"
        )
    return bucket


def _is_loopback(host: str) -> bool:
    return is_local_host(host)


def _allowed_regions() -> str:
    return ", ".join(f"{r} ({w})" for r, w in AWS_EU_REGIONS.items())


def _check_aws_region(region: str, what: str) -> None:
    if region not in AWS_EU_REGIONS:
        raise StorageLocationRefused(
            f"{what}={region!r} is not an AWS region in the EU: the processing agreement allows EU "
            f"storage only. Use one of {_allowed_regions()} (default {DEFAULT_REGION})."
        )


def parse_extra_endpoints(value: str | None) -> tuple[str, ...]:
    """REFINERY_S3_EXTRA_EU_ENDPOINTS: comma-separated host names the operator declares EU-located."""
    hosts = [h.strip().lower() for h in (value or "").split(",") if h.strip()]
    for host in hosts:
        if "/" in host or ":" in host or not re.match(r"^[a-z0-9.-]+$", host):
            raise StorageLocationRefused(
                f"REFINERY_S3_EXTRA_EU_ENDPOINTS: {host!r} is not a bare host name (no scheme, port or path)"
            )
        if host.endswith(".amazonaws.com"):
            raise StorageLocationRefused(
                f"REFINERY_S3_EXTRA_EU_ENDPOINTS: {host!r} is an AWS host; AWS endpoints are checked by "
                "region and cannot be declared"
            )
    return tuple(hosts)


def check_s3_target(
    region: str | None,
    endpoint_url: str | None = None,
    extra_eu_endpoints: tuple[str, ...] = (),
) -> S3Target:
    """Accept an EU location reached over TLS, or raise StorageLocationRefused saying why.

    `region` is AWS_REGION as configured (None when unset: eu-west-1, or the known endpoint's own
    region). Raises before any connection is made, so a wrong setting never sends a byte.
    """
    region = (region or "").strip() or None
    if not endpoint_url:
        region = region or DEFAULT_REGION
        _check_aws_region(region, "AWS_REGION")
        return S3Target(region, None, f"AWS {region} ({AWS_EU_REGIONS[region]})")

    parts = urlsplit(endpoint_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise StorageLocationRefused(
            f"REFINERY_S3_ENDPOINT_URL={endpoint_url!r} is not an http(s) URL with a host name"
        )
    if parts.username or parts.password or parts.path.strip("/") or parts.query or parts.fragment:
        raise StorageLocationRefused(
            "REFINERY_S3_ENDPOINT_URL must be scheme://host[:port] only (no credentials, path or query); "
            "the bucket goes in REFINERY_BUCKET"
        )
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not loopback:
        raise StorageLocationRefused(
            f"REFINERY_S3_ENDPOINT_URL={endpoint_url!r} uses plain HTTP: data must travel over TLS "
            "(https://), plain http is accepted only for loopback test endpoints (127.0.0.1, ::1, localhost)"
        )
    url = endpoint_url.strip().rstrip("/")

    if loopback:
        # A local emulator: the data stays on this machine, but the region must still be an EU one
        # so that the same settings cannot be pointed at AWS by removing the endpoint.
        region = region or DEFAULT_REGION
        _check_aws_region(region, "AWS_REGION")
        return S3Target(region, url, f"loopback endpoint {host} (test)", loopback=True)

    aws = _AWS_HOST.match(host)
    if aws:
        host_region = aws.group("region")
        _check_aws_region(host_region, "the region of REFINERY_S3_ENDPOINT_URL")
        if region and region != host_region:
            raise StorageLocationRefused(
                f"AWS_REGION={region!r} does not match the endpoint's region {host_region!r}; set AWS_REGION={host_region}"
            )
        return S3Target(host_region, url, f"AWS {host_region} ({AWS_EU_REGIONS[host_region]})")

    if host in KNOWN_EU_ENDPOINTS:
        host_region, where = KNOWN_EU_ENDPOINTS[host]
        if region and region != host_region and region != DEFAULT_REGION:
            raise StorageLocationRefused(
                f"AWS_REGION={region!r} does not match the region of {host} ({host_region!r}); "
                f"set AWS_REGION={host_region} or leave it unset"
            )
        return S3Target(host_region, url, where)

    if host in extra_eu_endpoints:
        # Declared by the operator (a self-hosted S3 in an EU data centre): the region is only a
        # signing parameter for such servers, so it is taken as given.
        return S3Target(region or DEFAULT_REGION, url, f"{host} (declared EU endpoint)")

    known = ", ".join(sorted(KNOWN_EU_ENDPOINTS))
    raise StorageLocationRefused(
        f"REFINERY_S3_ENDPOINT_URL host {host!r} is not an allowed EU endpoint. Allowed: AWS S3 endpoints of "
        f"{', '.join(AWS_EU_REGIONS)}; {known}; or a host declared in REFINERY_S3_EXTRA_EU_ENDPOINTS "
        "(only for servers you know to be in the EU and listed as sub-processors)."
    )
