"""The kustomize base, parsed, and an offline validator for its documents.

Core kinds are checked against the Kubernetes OpenAPI schemas that ``kubernetes-validate``
ships, custom resources against the CRD schemas in ``infra/k8s/schemas/``. Both reject
unknown fields, as ``kubectl apply`` does: a misspelt field is an error, not a no-op.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "infra/k8s"
KUBERNETES_VERSION = "1.33"  # the oldest minor KEDA 2.20 is tested on (1.33 to 1.35)

Manifest = dict[str, Any]


def _documents() -> Iterator[tuple[str, Manifest]]:
    """(file, document) for every document of every resource of the kustomization."""
    base = K8S / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((base / resource).read_text()):
            yield resource, document


def _closed(schema: Any) -> Any:
    """``schema`` with every object that the API server would prune closed to unknown fields."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    open_ = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if schema.get("type") == "object" and not open_:
        closed["additionalProperties"] = False
    return closed


@functools.cache
def _crd_validator(path: Path) -> jsonschema.Draft202012Validator:
    schema = _closed(json.loads(path.read_text()))
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta, checked as such
    return jsonschema.Draft202012Validator(schema)


def _validate(manifest: Manifest) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``manifest`` is valid for its kind.

    A kind with neither a core schema nor a CRD schema raises
    :class:`kubernetes_validate.SchemaNotFoundError`.
    """
    api_version = manifest.get("apiVersion", "")
    crd = (
        K8S / "schemas" / f"{manifest.get('kind', '').lower()}-{api_version.replace('/', '-')}.json"
    )
    if not crd.exists():
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        return
    # A custom resource's metadata is an ObjectMeta, as a ConfigMap's is.
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": manifest.get("metadata")}
    kubernetes_validate.validate(meta, KUBERNETES_VERSION, strict=True)
    _crd_validator(crd).validate(manifest)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes ``manifest`` runs once per document of the kustomization."""
    if "manifest" in metafunc.fixturenames:
        documents = list(_documents())
        metafunc.parametrize(
            "manifest",
            [document for _, document in documents],
            ids=[f"{file}:{doc['kind']}/{doc['metadata']['name']}" for file, doc in documents],
        )


@pytest.fixture(scope="session")
def manifests() -> list[Manifest]:
    """Every document of the kustomization, in order."""
    return [document for _, document in _documents()]


@pytest.fixture(scope="session")
def validate() -> Callable[[Manifest], None]:
    """Raises :class:`jsonschema.ValidationError` for a manifest invalid for its kind."""
    return _validate
