import pytest
from pydantic import ValidationError

from adcraft.shared.runtime.settings import KafkaSettings, RedisSettings, Settings


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


SECRET = "S3cr3t-do-not-print"


@pytest.mark.parametrize(
    ("variable", "named"),
    [
        ("ADCRAFT_REDIS__PASSWROD", "passwrod"),
        ("ADCRAFT_KAFKA__SASL_PASWORD", "sasl_pasword"),
        ("ADCRAFT_KAFKA__SSL_KEY_PASWORD", "ssl_key_pasword"),
        ("ADCRAFT_REDIS__PORT", "port"),
        # One underscore names no setting at all: pydantic-settings alone would ignore it.
        ("ADCRAFT_REDIS_PASSWORD", "did you mean ADCRAFT_REDIS__PASSWORD?"),
        ("ADCRAFT_NOPE", "unknown setting ADCRAFT_NOPE"),
        ("ADCRAFT_LOG_LEVEL__X", "unknown setting ADCRAFT_LOG_LEVEL__X"),
    ],
)
def test_a_mistyped_secret_is_named_but_never_echoed(monkeypatch, variable, named):
    monkeypatch.setenv(variable, SECRET)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert named in message
    assert SECRET not in message and SECRET not in repr(caught.value)


def test_a_section_validator_error_does_not_echo_the_secrets_beside_it(monkeypatch):
    monkeypatch.setenv("ADCRAFT_KAFKA__SASL_PASSWORD", SECRET)  # no mechanism given
    with pytest.raises(ValidationError, match="sasl_password need sasl_mechanism") as caught:
        Settings()
    assert SECRET not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        KafkaSettings(sasl_password=SECRET)
    assert SECRET not in str(caught.value)


def test_secrets_never_appear_in_repr_str_or_json():
    settings = Settings(
        kafka=KafkaSettings(
            security_protocol="SASL_SSL",
            sasl_mechanism="PLAIN",
            sasl_username="adcraft",
            sasl_password=SECRET + "-kafka",
            ssl_certificate_location="/etc/kafka/client.crt",
            ssl_key_location="/etc/kafka/client.key",
            ssl_key_password=SECRET + "-key",
        ),
        redis=RedisSettings(password=SECRET + "-redis", ssl=True),
    )
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert SECRET not in text


def test_mutual_tls_is_mapped_to_librdkafka_names():
    settings = KafkaSettings(
        security_protocol="SSL",
        ssl_ca_location="/ca.crt",
        ssl_certificate_location="/client.crt",
        ssl_key_location="/client.key",
        ssl_key_password="k3y",
    )
    assert settings.client_config() == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SSL",
        "ssl.ca.location": "/ca.crt",
        "ssl.certificate.location": "/client.crt",
        "ssl.key.location": "/client.key",
        "ssl.key.password": "k3y",
    }


_CLIENT_CERT = {"ssl_certificate_location": "/c.crt", "ssl_key_location": "/c.key"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sasl_username": "u"}, "sasl_username need sasl_mechanism"),
        (
            {"security_protocol": "SASL_SSL", "sasl_password": SECRET},
            "sasl_password need sasl_mechanism",
        ),
        ({"sasl_mechanism": "PLAIN"}, "sasl_mechanism needs security_protocol SASL_"),
        (
            {"security_protocol": "SSL", "sasl_mechanism": "SCRAM-SHA-256"},
            "sasl_mechanism needs security_protocol SASL_",
        ),
        ({"ssl_ca_location": "/ca.crt"}, "ssl_ca_location need security_protocol SSL"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", **_CLIENT_CERT},
            "ssl_certificate_location, ssl_key_location need security_protocol SSL",
        ),
        (
            {"security_protocol": "SSL", "ssl_certificate_location": "/c.crt"},
            "only ssl_certificate_location is",
        ),
        (
            {"security_protocol": "SASL_SSL", "ssl_key_location": "/c.key"},
            "only ssl_key_location is",
        ),
        (
            {"security_protocol": "SSL", "ssl_key_password": SECRET},
            "ssl_key_password needs ssl_key_location",
        ),
    ],
)
def test_kafka_auth_must_fit_the_protocol(values, message):
    with pytest.raises(ValidationError, match=message) as caught:
        KafkaSettings(**values)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "values",
    [
        {"security_protocol": "SSL", "ssl_ca_location": "/ca.crt", **_CLIENT_CERT},
        {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_password": "p"},
        {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512"},
    ],
)
def test_consistent_kafka_auth_is_accepted(values):
    KafkaSettings(**values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ssl_ca_certs": "/ca.crt"}, "ssl_ca_certs need ssl=true"),
        ({"ssl_certfile": "/c.crt", "ssl_keyfile": "/c.key"}, "ssl_certfile, ssl_keyfile need"),
        ({"ssl": True, "ssl_certfile": "/c.crt"}, "only ssl_certfile is"),
        ({"ssl": True, "ssl_keyfile": "/c.key"}, "only ssl_keyfile is"),
        ({"socket_timeout_s": 0}, "socket_timeout_s"),
    ],
)
def test_redis_tls_files_need_tls(values, message):
    with pytest.raises(ValidationError, match=message):
        RedisSettings(**values)


def test_redis_defaults_bound_every_socket_wait():
    settings = RedisSettings()
    assert (settings.socket_timeout_s, settings.socket_connect_timeout_s) == (5.0, 5.0)
    RedisSettings(ssl=True, ssl_ca_certs="/ca.crt", ssl_certfile="/c.crt", ssl_keyfile="/c.key")


@pytest.mark.parametrize(
    ("values", "warnings"),
    [
        ({}, []),
        (
            {"kafka": {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}},
            ["kafka: SASL credentials sent without TLS (SASL_PLAINTEXT)"],
        ),
        ({"redis": {"password": "pw"}}, ["redis: password sent without TLS"]),
        (
            {
                "kafka": {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN"},
                "redis": {"password": "pw", "ssl": True},
            },
            [],
        ),
    ],
)
def test_plaintext_credentials_are_reported(values, warnings):
    assert Settings.model_validate(values).plaintext_credentials() == warnings
