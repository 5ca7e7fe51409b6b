"""The dbt docs lineage site for auditors, built from the deployed project and published to the
Serving stack's private bucket, where staff open it under ``/lineage/`` after signing in.

The site is ``dbt docs generate --static --no-compile``: one self-contained page, the manifest
and the warehouse's catalog inlined, every model's SQL as written, never as compiled (compiling
renders vars, and ``pii_hash`` writes the donor-email hash key into ``dim_donors``' SQL). Before
an upload the page is searched for each secret the process holds; a page holding one is refused.

The page is uploaded only when the project changed: its object carries the fingerprint of the
project files it was built from, so the hourly DAG (``dags/accfb_lineage_site.py``) publishes
once after each release and otherwise uploads nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from ingestion.config import aws
from ingestion.config.dbt import run_dbt
from ingestion.config.settings import REPO_ROOT, Settings

SITE_KEY = "lineage/index.html"
FINGERPRINT = "project-sha256"
# What the site is built from: the dbt project as deployed beside the DAGs.
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "analyses")
# Secrets a worker holds while it builds: never in the page.
SECRET_VARIABLES = ("ACCFB_PII_HASH_KEY",)


class SecretInSite(RuntimeError):
    """The built page contains a secret value; it is not published."""


@dataclass(frozen=True)
class Publication:
    bucket: str
    key: str
    fingerprint: str
    uploaded: bool


def project_fingerprint(root: Path = REPO_ROOT) -> str:
    """sha256 over the project's files (path and content): the same project, the same value."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = root / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                digest.update(file.relative_to(root).as_posix().encode())
                digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def build_site(settings: Settings) -> Path:
    """The static page, from the project's manifest and the settings' warehouse (its catalog).
    Without compiling, docs generate reads the manifest in dbt's target folder: the deployed one
    CI built (``ACCFB_DBT_MANIFEST``, as on MWAA) when there is one, else a parse of the project."""
    target = settings.dbt_target_dir / "manifest.json"
    deployed = Path(os.environ.get("ACCFB_DBT_MANIFEST", target))
    if deployed != target and deployed.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(deployed, target)
    else:
        run_dbt(settings, ["parse"])
    run_dbt(settings, ["docs", "generate", "--static", "--no-compile"])
    return settings.dbt_target_dir / "static_index.html"


def refuse_secrets(page: bytes, secrets: Iterable[str]) -> None:
    for secret in secrets:
        if secret and secret.encode() in page:
            raise SecretInSite(
                "the lineage page contains a secret value (e.g. the PII hash key in compiled "
                "SQL); it was not published. Build it with --no-compile."
            )


def publish_site(
    settings: Settings, bucket: str, *, secrets: Iterable[str] | None = None
) -> Publication:
    """Build and upload the page unless the published one came from this same project."""
    if secrets is None:
        secrets = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    fingerprint = project_fingerprint()
    s3 = aws.client("s3", settings)
    try:
        head = s3.head_object(Bucket=bucket, Key=SITE_KEY)
        if head.get("Metadata", {}).get(FINGERPRINT) == fingerprint:
            return Publication(bucket, SITE_KEY, fingerprint, uploaded=False)
    except ClientError as error:
        if error.response["Error"]["Code"] not in {"404", "NoSuchKey", "NotFound"}:
            raise
    page = build_site(settings).read_bytes()
    refuse_secrets(page, secrets)
    s3.put_object(
        Bucket=bucket,
        Key=SITE_KEY,
        Body=page,
        ContentType="text/html; charset=utf-8",
        CacheControl="no-cache",
        Metadata={FINGERPRINT: fingerprint},
    )
    return Publication(bucket, SITE_KEY, fingerprint, uploaded=True)
