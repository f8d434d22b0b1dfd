from shared.settings import Settings


def test_sasl_and_auth_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADCRAFT_KAFKA__BOOTSTRAP_SERVERS", "kafka-0:9093,kafka-1:9093")
    monkeypatch.setenv("ADCRAFT_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ADCRAFT_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ADCRAFT_KAFKA__SASL_USERNAME", "adcraft")
    monkeypatch.setenv("ADCRAFT_KAFKA__SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("ADCRAFT_REDIS__PASSWORD", "r3dis")
    settings = Settings()
    config = settings.kafka.client_config()
    assert config["bootstrap.servers"] == "kafka-0:9093,kafka-1:9093"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "s3cret"
    assert "s3cret" not in repr(settings) and "r3dis" not in repr(settings)


def test_defaults_are_plaintext_loopback():
    config = Settings().kafka.client_config()
    assert config == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}
