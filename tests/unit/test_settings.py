"""The settings every service shares: what production refuses, and the Kafka password from a file."""

import pytest

from deploy.setup import SetupSettings
from services.runtime.settings import ConfigurationError, ServiceSettings

SASL = {"SAMORDNA_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SAMORDNA_KAFKA_USERNAME": "kommun-1489"}


@pytest.fixture
def env(monkeypatch):
    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_the_kafka_password_is_read_from_its_file(env, tmp_path):
    secret = tmp_path / "kafka-password"
    secret.write_text("s3cret-from-a-mounted-secret\n")
    env(**SASL, SAMORDNA_KAFKA_PASSWORD_FILE=str(secret))
    assert ServiceSettings().kafka_password.get_secret_value() == "s3cret-from-a-mounted-secret"


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "No such file or directory"), ("\n", "is empty")],
)
def test_a_missing_or_empty_password_file_is_named(env, tmp_path, content, problem):
    secret = tmp_path / "kafka-password"
    if content is not None:
        secret.write_text(content)
    env(**SASL, SAMORDNA_KAFKA_PASSWORD_FILE=str(secret))
    with pytest.raises(ConfigurationError, match=f"SAMORDNA_KAFKA_PASSWORD_FILE: .*{problem}"):
        ServiceSettings()


def test_a_password_and_a_password_file_together_are_refused(env, tmp_path):
    secret = tmp_path / "kafka-password"
    secret.write_text("one")
    env(**SASL, SAMORDNA_KAFKA_PASSWORD="other", SAMORDNA_KAFKA_PASSWORD_FILE=str(secret))
    with pytest.raises(ConfigurationError, match="not both"):
        ServiceSettings()


def test_sasl_without_a_password_is_refused(env):
    env(**SASL)
    with pytest.raises(ConfigurationError, match="SAMORDNA_KAFKA_PASSWORD are needed with SASL_PLAINTEXT"):
        ServiceSettings()


def test_an_empty_variable_counts_as_unset(env):
    env(SAMORDNA_KAFKA_CA_FILE="", SAMORDNA_TOKENS_FILE="", SAMORDNA_LOG_LEVEL="")
    settings = ServiceSettings()
    assert settings.kafka_ca_file is None and settings.tokens_file is None and settings.log_level == "INFO"


def test_a_missing_ca_file_is_named(env, tmp_path):
    env(SAMORDNA_KAFKA_CA_FILE=str(tmp_path / "ca.crt"))
    with pytest.raises(ConfigurationError, match="SAMORDNA_KAFKA_CA_FILE: no such file"):
        ServiceSettings()


def test_production_refuses_kafka_without_sasl(env, tmp_path):
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"tokens": []}')
    env(SAMORDNA_ENVIRONMENT="production", SAMORDNA_PSEUDONYM_SECRET="a" * 64, SAMORDNA_TOKENS_FILE=str(tokens))
    with pytest.raises(ConfigurationError, match="SAMORDNA_KAFKA_SECURITY_PROTOCOL must be SASL_SSL"):
        ServiceSettings()


def test_the_setup_tool_needs_sasl_in_production_but_no_pseudonym_key_or_api_identities(env, tmp_path):
    env(SAMORDNA_ENVIRONMENT="production")
    with pytest.raises(ConfigurationError, match="SAMORDNA_KAFKA_SECURITY_PROTOCOL"):
        SetupSettings()
    env(**SASL, SAMORDNA_KAFKA_PASSWORD="the-administrators")
    assert SetupSettings().pseudonym_secret is None
    with pytest.raises(ConfigurationError, match="SAMORDNA_PSEUDONYM_SECRET"):
        ServiceSettings()  # a service does
