"""The lineage site: built by dbt from the project, published to a private bucket once per
project version, and never with a secret in it (the PII hash key is set to a sentinel)."""

from __future__ import annotations

import pytest

from ingestion.config import aws
from ingestion.config.dbt import run_dbt
from ingestion.config.settings import Settings
from ingestion.operations.lineage import (
    FINGERPRINT,
    SITE_KEY,
    SecretInSite,
    publish_site,
    refuse_secrets,
)

SENTINEL = "sentinel-key-9f3c2a7e51"


@pytest.fixture
def keyed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ACCFB_PII_HASH_KEY", SENTINEL)
    aws.client("s3", settings).create_bucket(
        Bucket=settings.raw_bucket,
        CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
    )
    return settings


def test_the_site_is_published_once_per_project_and_holds_no_secret(keyed: Settings) -> None:
    s3 = aws.client("s3", keyed)
    first = publish_site(keyed, keyed.raw_bucket)
    again = publish_site(keyed, keyed.raw_bucket)

    assert (first.uploaded, again.uploaded) == (True, False)
    published = s3.get_object(Bucket=keyed.raw_bucket, Key=SITE_KEY)
    page = published["Body"].read()
    assert published["ContentType"].startswith("text/html")
    assert published["Metadata"][FINGERPRINT] == first.fingerprint
    assert b"fct_donations" in page and b"dim_donors" in page
    assert SENTINEL.encode() not in page


def test_even_a_compiled_site_holds_no_key_and_a_page_with_one_is_refused(
    keyed: Settings,
) -> None:
    # dim_donors' SQL calls the function that holds the key (ingestion/pii/), never the key.
    run_dbt(keyed, ["docs", "generate", "--static", "--select", "dim_donors"])
    page = (keyed.dbt_target_dir / "static_index.html").read_bytes()
    assert b"f_accfb_pii_hmac" in page
    assert SENTINEL.encode() not in page
    with pytest.raises(SecretInSite):
        refuse_secrets(page + SENTINEL.encode(), [SENTINEL])
