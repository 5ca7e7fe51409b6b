"""Start, stop and provision the local AWS endpoint (moto's server) on loopback.

The same commands work against real AWS: with no endpoint set, ``up`` only checks that the
stream and bucket the infrastructure stacks deploy are there, and ``down`` does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from ingestion.config import aws
from ingestion.config.settings import Settings

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LocalAwsError(RuntimeError):
    """The local endpoint could not be started, reached or provisioned."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoint:
        # S101: narrows the type for mypy; callers check is_local first.
        assert settings.aws_endpoint_url is not None  # noqa: S101
        parts = urlsplit(settings.aws_endpoint_url)
        if parts.hostname is None or parts.port is None:
            raise LocalAwsError(
                f"ACCFB_AWS_ENDPOINT_URL={settings.aws_endpoint_url!r} needs a host and a port"
            )
        return cls(parts.hostname, parts.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def pid_file(self, settings: Settings) -> Path:
        return settings.state_dir / f"moto-{self.port}.pid"

    def log_file(self, settings: Settings) -> Path:
        return settings.state_dir / f"moto-{self.port}.log"


def is_serving(endpoint: Endpoint) -> bool:
    """True when something answers moto's health path at the endpoint."""
    try:
        # S310: the URL is configuration (https or loopback), never input.
        with urllib.request.urlopen(f"{endpoint.url}/moto-api/", timeout=1):  # noqa: S310
            return True
    except (urllib.error.URLError, OSError):
        return False


@retry(retry=retry_if_result(lambda ok: not ok), wait=wait_fixed(0.2), stop=stop_after_delay(30))
def _wait_serving(endpoint: Endpoint) -> bool:
    return is_serving(endpoint)


def start_endpoint(settings: Settings) -> Endpoint:
    """Start moto's server in the background unless the endpoint already answers."""
    endpoint = Endpoint.from_settings(settings)
    if is_serving(endpoint):
        return endpoint
    if endpoint.host not in _LOOPBACK:
        raise LocalAwsError(
            f"nothing answers at {endpoint.url}, and only a loopback endpoint is started here"
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with endpoint.log_file(settings).open("ab") as log:
        # A session of its own, so the endpoint outlives the command that started it
        # (`accfb up` returns) and Ctrl-C in the terminal does not reach it.
        # S603: a fixed argument list of this project's own executables.
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "ingestion.local.endpoint_server",
                "-H",
                endpoint.host,
                "-p",
                str(endpoint.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    endpoint.pid_file(settings).write_text(str(process.pid))
    try:
        _wait_serving(endpoint)
    except Exception as exc:
        raise LocalAwsError(
            f"moto server did not answer at {endpoint.url}; see {endpoint.log_file(settings)}"
        ) from exc
    return endpoint


def stop_endpoint(settings: Settings) -> bool:
    """Stop the endpoint this project started; True if one was running. Idempotent."""
    if settings.aws_endpoint_url is None:
        return False
    endpoint = Endpoint.from_settings(settings)
    pid_file = endpoint.pid_file(settings)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and is_serving(endpoint):
        time.sleep(0.1)
    return True


def provision(settings: Settings) -> list[str]:
    """Create the stream and raw bucket if absent; return what was created."""
    created: list[str] = []
    kinesis = aws.client("kinesis", settings)
    try:
        kinesis.describe_stream_summary(StreamName=settings.stream_name)
    except kinesis.exceptions.ResourceNotFoundException:
        kinesis.create_stream(StreamName=settings.stream_name, ShardCount=settings.stream_shards)
        created.append(f"stream {settings.stream_name} ({settings.stream_shards} shards)")
    kinesis.get_waiter("stream_exists").wait(
        StreamName=settings.stream_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    s3 = aws.client("s3", settings)
    try:
        s3.head_bucket(Bucket=settings.raw_bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        # Object lock keeps archived raw records write-once, as in AWS.
        s3.create_bucket(
            Bucket=settings.raw_bucket,
            CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
            ObjectLockEnabledForBucket=True,
        )
        created.append(f"bucket {settings.raw_bucket}")
    return created


def check_deployed(settings: Settings) -> None:
    """In AWS the stacks own the resources: only confirm they are there."""
    try:
        aws.client("kinesis", settings).describe_stream_summary(StreamName=settings.stream_name)
        aws.client("s3", settings).head_bucket(Bucket=settings.raw_bucket)
    except ClientError as exc:
        raise LocalAwsError(
            f"AWS resources missing or unreadable ({exc}); deploy the infra/ stacks first"
        ) from exc


def ensure_up(settings: Settings) -> list[str]:
    """Make the stream and bucket usable: the one entry point every command calls."""
    if settings.aws_endpoint_url is None:
        check_deployed(settings)
        return []
    start_endpoint(settings)
    return provision(settings)
