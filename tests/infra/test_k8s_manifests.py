"""The Kubernetes manifests agree with the code: topics, settings, kustomize resources."""

from pathlib import PurePosixPath

import pytest

from adcraft.shared.contract import topics
from adcraft.shared.runtime.settings import Settings

# Each worker's Deployment, its settings section and its command.
WORKERS = {
    "rewards": ("adcraft-reward-updater", ["worker", "rewards"]),
    "requests": ("request-worker", ["worker", "requests"]),
}
SASL_USERNAME = "ADCRAFT_KAFKA__SASL_USERNAME"
# KEDA's kafka scaler names for librdkafka's sasl.mechanism.
KEDA_SASL = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}


def _kind(manifests, kind):
    return [doc for doc in manifests if doc["kind"] == kind]


def _named(manifests, kind, name):
    (document,) = [d for d in _kind(manifests, kind) if d["metadata"]["name"] == name]
    return document


def _container(manifests, name):
    (container,) = _named(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    return container


def _partitions(manifests, topic):
    (declared,) = [d for d in _kind(manifests, "KafkaTopic") if d["spec"]["topicName"] == topic]
    return declared["spec"]["partitions"]


@pytest.fixture
def deployed(manifests, monkeypatch):
    """The settings a worker reads from the ConfigMap."""
    (config,) = _kind(manifests, "ConfigMap")
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_every_topic_is_declared_with_its_cleanup_policy(manifests):
    topic_specs = [doc["spec"] for doc in _kind(manifests, "KafkaTopic")]
    declared = {spec["topicName"]: spec["config"] for spec in topic_specs}
    assert set(declared) == set(topics.ALL)
    compacted = {name for name, cfg in declared.items() if cfg.get("cleanup.policy") == "compact"}
    assert compacted == set(topics.COMPACTED)
    partitions = {spec["partitions"] for spec in topic_specs}
    assert len(partitions) == 1, "event topics must be co-partitioned"


def test_configmap_is_valid_settings(deployed):
    assert deployed.kafka.security_protocol == "SASL_SSL"
    assert deployed.kafka.topic_partitions == 12
    assert deployed.redis.ssl is True


def test_a_misspelt_setting_is_rejected(monkeypatch):
    monkeypatch.setenv("ADCRAFT_KAFKA__BOOTSTRAP_SERVER", "x:1")
    with pytest.raises(ValueError, match="bootstrap_server"):
        Settings()


@pytest.mark.parametrize(
    ("section", "topic"), [("rewards", topics.IMPRESSIONS), ("requests", topics.CREATIVE_REQUESTS)]
)
def test_worker_scales_by_its_lag_up_to_the_partition_count(manifests, deployed, section, topic):
    name, args = WORKERS[section]
    scaler = _named(manifests, "ScaledObject", name)
    assert scaler["spec"]["scaleTargetRef"]["name"] == name
    assert scaler["spec"]["maxReplicaCount"] == _partitions(manifests, topic)
    (trigger,) = scaler["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == getattr(deployed, section).group_id
    assert trigger["metadata"]["topic"] == topic
    assert _container(manifests, name)["args"] == args


def test_request_worker_scales_before_requests_queue_past_their_deadlines(manifests, deployed):
    (trigger,) = _named(manifests, "ScaledObject", "request-worker")["spec"]["triggers"]
    # I/O-bound: a replica keeps `concurrency` requests in flight, and each waiting
    # request spends its deadline, so the target lag is a few rounds of that, not thousands.
    concurrency = deployed.requests.concurrency
    assert concurrency <= int(trigger["metadata"]["lagThreshold"]) <= 8 * concurrency


def test_request_worker_runs_the_reward_updaters_image(manifests):
    images = {_container(manifests, name)["image"] for name, _ in WORKERS.values()}
    assert len(images) == 1


@pytest.mark.parametrize("section", WORKERS)
def test_worker_probes_use_the_paths_and_port_the_worker_serves(manifests, deployed, section):
    name, _ = WORKERS[section]
    deployment = _named(manifests, "Deployment", name)
    container = _container(manifests, name)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (port,) = container["ports"]
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    assert container["readinessProbe"]["httpGet"]["port"] == port["name"]
    assert deployed.metrics_address.endswith(f":{port['containerPort']}")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port["containerPort"])
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert getattr(deployed, section).shutdown_timeout_s < grace


@pytest.mark.parametrize("section", WORKERS)
def test_worker_environment_is_valid_settings_with_the_kafka_ca_mounted(
    manifests, monkeypatch, section
):
    name, _ = WORKERS[section]
    container = _container(manifests, name)
    assert container["envFrom"] == [{"configMapRef": {"name": "adcraft-settings"}}]
    (config,) = _kind(manifests, "ConfigMap")
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    for variable in container["env"]:
        monkeypatch.setenv(variable["name"], variable.get("value", "from-a-secret"))
    settings = Settings()  # a misspelt variable name fails here
    assert settings.kafka.sasl_password is not None and settings.redis.password is not None
    ca_directory = PurePosixPath(settings.kafka.ssl_ca_location).parent
    assert str(ca_directory) in {mount["mountPath"] for mount in container["volumeMounts"]}


def test_scalers_reach_kafka_as_the_workers_do(manifests, deployed):
    (auth,) = _kind(manifests, "TriggerAuthentication")
    (config,) = _kind(manifests, "ConfigMap")
    (username,) = auth["spec"]["configMapTargetRef"]
    assert (username["name"], username["key"]) == (config["metadata"]["name"], SASL_USERNAME)
    assert SASL_USERNAME in config["data"]
    refs = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    for name, _ in WORKERS.values():
        container = _container(manifests, name)
        env = {variable["name"]: variable for variable in container["env"]}
        password = env["ADCRAFT_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": refs["password"]["name"], "key": refs["password"]["key"]}
        volumes = _named(manifests, "Deployment", name)["spec"]["template"]["spec"]["volumes"]
        assert {"secret": {"secretName": refs["ca"]["name"]}, "name": "kafka-ca"} in volumes
        (trigger,) = _named(manifests, "ScaledObject", name)["spec"]["triggers"]
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        assert trigger["metadata"]["bootstrapServers"] == deployed.kafka.bootstrap_servers
        assert trigger["metadata"]["sasl"] == KEDA_SASL[deployed.kafka.sasl_mechanism]
        tls = deployed.kafka.security_protocol.endswith("SSL")
        assert trigger["metadata"]["tls"] == ("enable" if tls else "disable")
