"""Each Lambda imports from exactly the files its asset ships, with only boto3 beside them.

The Lambda runtime has the standard library and boto3, nothing else, and the stacks ship folders
of this repository as they are (no bundling). A handler that imports a module its asset leaves
out, or a library the runtime lacks (pydantic, tenacity, duckdb), fails only once deployed; here
it fails in a subprocess that sees the synthesised asset directory and boto3's own packages.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from infra.pipeline import PipelineStage
from tests.infra.conftest import Synthesised

# boto3 and what it imports: what the Lambda runtime adds to the standard library.
_RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only boto3 and its dependencies, linked from this environment."""
    folder = tmp_path_factory.mktemp("lambda-runtime")
    for name in _RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


def _functions(synthesised: Synthesised, stage: PipelineStage) -> list[tuple[str, Path, str]]:
    """(logical id, asset folder, handler) of every Lambda of this project's code in the stage
    (CDK's own custom-resource providers, ``index.handler``, are CDK's to package)."""
    found = []
    for stack in stage.node.children:
        if not hasattr(stack, "stack_name"):
            continue
        resources = Template.from_stack(stack).find_resources("AWS::Lambda::Function")  # type: ignore[arg-type]
        for logical_id, resource in resources.items():
            properties = resource["Properties"]
            key = properties.get("Code", {}).get("S3Key")
            handler = str(properties.get("Handler", ""))
            if not handler.startswith("ingestion.") or key is None:
                continue
            # The asset is staged as asset.<hash> in the cloud assembly; S3Key is <hash>.zip.
            staged = f"asset.{str(key).removesuffix('.zip')}"
            folder = next(p for p in synthesised.outdir.rglob(staged) if p.is_dir())
            found.append((logical_id, folder, handler))
    return found


def test_every_python_lambda_imports_from_its_asset_alone(
    synthesised: Synthesised, runtime_dir: Path
) -> None:
    functions = _functions(synthesised, synthesised.prod)
    handlers = {handler for _, _, handler in functions}
    assert {
        "ingestion.edge.webhook.handler",
        "ingestion.edge.poller.handler",
        "ingestion.archive.format.handler",
        "ingestion.pii.redshift_udf.handler",
    } <= handlers
    for logical_id, asset, handler in functions:
        module, _, function = handler.rpartition(".")
        probe = (
            "import importlib, json, sys\n"
            f"sys.path[:0] = [{str(asset)!r}, {str(runtime_dir)!r}]\n"
            f"handler = getattr(importlib.import_module({module!r}), {function!r})\n"
            "assert callable(handler)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ingestion'))))\n"
        )
        # -I -S: no site-packages, no PYTHONPATH, no current directory: only what is listed.
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{logical_id} ({handler}): {result.stderr}"
        loaded = json.loads(result.stdout)
        assert module in loaded
        # Nothing but the asset's own files was importable: every loaded module is in it.
        for name in loaded:
            relative = Path(*name.split("."))
            assert (asset / relative).with_suffix(".py").exists() or (
                asset / relative / "__init__.py"
            ).exists(), name


def test_every_python_lambda_runs_the_python_the_tests_run(synthesised: Synthesised) -> None:
    import sys
    import tomllib

    from ingestion.config.settings import REPO_ROOT

    locked = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == locked["python_version"]
    runtimes = set()
    for stack in synthesised.prod.node.children:
        if not hasattr(stack, "stack_name"):
            continue
        for resource in (
            Template.from_stack(stack)
            .find_resources(  # type: ignore[arg-type]
                "AWS::Lambda::Function"
            )
            .values()
        ):
            if str(resource["Properties"].get("Handler", "")).startswith("ingestion."):
                runtimes.add(resource["Properties"]["Runtime"])
    assert runtimes == {f"python{locked['python_version']}"}
