"""The Kubernetes manifests agree with the code: topics, settings, kustomize resources."""

from pathlib import Path

import pytest
import yaml

from shared import topics
from shared.settings import Settings

BASE = Path(__file__).resolve().parents[2] / "infra/k8s/base"


def _documents():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        yield from yaml.safe_load_all((BASE / resource).read_text())


def _kind(kind):
    return [doc for doc in _documents() if doc["kind"] == kind]


def test_every_topic_is_declared_with_its_cleanup_policy():
    declared = {doc["spec"]["topicName"]: doc["spec"]["config"] for doc in _kind("KafkaTopic")}
    assert set(declared) == set(topics.ALL)
    compacted = {name for name, cfg in declared.items() if cfg.get("cleanup.policy") == "compact"}
    assert compacted == set(topics.COMPACTED)
    partitions = {doc["spec"]["partitions"] for doc in _kind("KafkaTopic")}
    assert len(partitions) == 1, "event topics must be co-partitioned"


def test_configmap_is_valid_settings(monkeypatch):
    (config,) = _kind("ConfigMap")
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.topic_partitions == 12
    assert settings.redis.ssl is True


def test_a_misspelt_setting_is_rejected(monkeypatch):
    monkeypatch.setenv("ADCRAFT_KAFKA__BOOTSTRAP_SERVER", "x:1")
    with pytest.raises(ValueError, match="bootstrap_server"):
        Settings()


def test_reward_worker_scales_by_lag_up_to_the_partition_count():
    (scaler,) = _kind("ScaledObject")
    partitions = {doc["spec"]["partitions"] for doc in _kind("KafkaTopic")}
    assert scaler["spec"]["maxReplicaCount"] in partitions
    (trigger,) = scaler["spec"]["triggers"]
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == "adcraft-rewards"
    assert trigger["metadata"]["topic"] == topics.IMPRESSIONS
    (worker,) = [d for d in _kind("Deployment") if d["metadata"]["name"].endswith("updater")]
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker", "rewards"]


def test_reward_worker_probes_use_the_paths_the_worker_serves():
    (worker,) = [d for d in _kind("Deployment") if d["metadata"]["name"].endswith("updater")]
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = container["ports"][0]
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    (config,) = _kind("ConfigMap")
    assert config["data"]["ADCRAFT_METRICS_ADDRESS"].endswith(f":{port['containerPort']}")
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert Settings().rewards.shutdown_timeout_s < grace
