"""Every manifest is valid for the Kubernetes API and for the CRDs it targets, offline."""

import copy

import jsonschema
import kubernetes_validate
import pytest


def test_manifest_is_valid(manifest, validate):
    validate(manifest)


def _named(manifests, kind, name):
    (document,) = [d for d in manifests if d["kind"] == kind and d["metadata"]["name"] == name]
    return copy.deepcopy(document)


def _set(document, path, value):
    *parents, last = path
    for key in parents:
        document = document[key]
    document[last] = value


PROBE = ("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "port")
TRIGGER = ("spec", "triggers", 0)


# (kind, name, field set, value, where the validator reports the error)
BROKEN = {
    "probe port as a list": ("Deployment", "request-worker", PROBE, ["metrics"], PROBE),
    "misspelt container field": (
        "Deployment",
        "request-worker",
        PROBE[:5] + ("envfrom",),
        [],
        PROBE[:5],
    ),
    "trigger field outside metadata": (
        "ScaledObject",
        "request-worker",
        (*TRIGGER, "lagThreshold"),
        "256",
        TRIGGER,
    ),
    "trigger metadata not a string": (
        "ScaledObject",
        "request-worker",
        (*TRIGGER, "metadata", "lagThreshold"),
        256,
        (*TRIGGER, "metadata", "lagThreshold"),
    ),
    "custom resource label not a string": (
        "ScaledObject",
        "request-worker",
        ("metadata", "labels"),
        {"tier": 1},
        ("metadata", "labels", "tier"),
    ),
    "topic partitions as a string": (
        "KafkaTopic",
        "adcraft-ad-catalog-v1",
        ("spec", "partitions"),
        "12",
        ("spec", "partitions"),
    ),
    "secret reference without its key": (
        "TriggerAuthentication",
        "adcraft-kafka-auth",
        ("spec", "secretTargetRef", 0),
        {"parameter": "password", "name": "adcraft-credentials"},
        ("spec", "secretTargetRef", 0),
    ),
}


@pytest.mark.parametrize(("kind", "name", "path", "value", "error_at"), BROKEN.values(), ids=BROKEN)
def test_a_broken_manifest_is_rejected_where_it_is_broken(
    manifests, validate, kind, name, path, value, error_at
):
    document = _named(manifests, kind, name)
    validate(document)
    _set(document, path, value)
    with pytest.raises(jsonschema.ValidationError) as rejected:
        validate(document)
    assert tuple(rejected.value.absolute_path) == error_at


def test_a_kind_without_a_schema_is_rejected(manifests, validate):
    topic = _named(manifests, "KafkaTopic", "adcraft-ad-catalog-v1")
    topic["apiVersion"] = "kafka.strimzi.io/v1beta3"
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(topic)
