"""Start and stop the whole local stack: Kafka, PostgreSQL, topics and every service.

    python -m deploy.stack up      # everything, then writes .local/stack.json
    python -m deploy.stack down    # services, Kafka and PostgreSQL
    python -m deploy.stack status

The tests drive the same `Stack` on other ports and another state directory.
"""

import argparse
import asyncio
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from deploy import access
from deploy.credentials import (
    ADMIN_USER,
    KAFKA_MECHANISM,
    KAFKA_PROTOCOL,
    Credentials,
    kafka_client_env,
    kafka_client_options,
    settings_from_env,
)
from deploy.identity_provider import IdentityProvider
from deploy.infrastructure import Infrastructure, run_topics_script, until_users_authenticate
from deploy.layout import (
    DEPLOY,
    PRINCIPALS_FILE,
    REPO,
    Layout,
    Service,
    described_kommunkoder,
    described_lanskod,
)
from deploy.processes import Processes

__all__ = ["ADMIN_USER", "DEPLOY", "KAFKA_MECHANISM", "PRINCIPALS_FILE", "REPO", "Service", "Stack", "main"]


# The Stack is what the tests and benchmarks hold; each of its parts does one job:
#   deploy/layout.py          the repository's paths, every port and address, which service runs where
#   deploy/credentials.py     tokens, Kafka passwords, the pseudonym key, JWT issuers; Kafka client settings
#   deploy/infrastructure.py  Kafka and PostgreSQL by their scripts, topics, users that authenticate
#   deploy/processes.py       service processes: started, found by pid file, stopped, waited for
@dataclass
class Stack:
    state_dir: Path = REPO / ".local"
    kafka_port: int = 19092
    pg_port: int = 15432
    http_base_port: int = 8000
    kafka_nodes: int = 1
    kafka_tls_port: int | None = None  # a SASL_SSL listener besides the SASL one (kafka.sh KAFKA_TLS_PORT)
    lanskod: str = field(default_factory=described_lanskod)
    kommunkoder: tuple[str, ...] = field(default_factory=described_kommunkoder)
    env: dict[str, str] = field(default_factory=dict)  # extra settings for every service
    keycloak_port: int = 18800  # the organisations' identity provider (deploy/keycloak.sh)
    keycloak_state_dir: Path | None = None  # default <state_dir>/keycloak

    # ---- its parts -------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        return Layout(
            kafka_port=self.kafka_port,
            pg_port=self.pg_port,
            http_base_port=self.http_base_port,
            kafka_nodes=self.kafka_nodes,
            kafka_tls_port=self.kafka_tls_port,
            lanskod=self.lanskod,
            kommunkoder=tuple(self.kommunkoder),
        )

    @property
    def identity_provider(self) -> IdentityProvider:
        return IdentityProvider(self.keycloak_state_dir or self.state_dir / "keycloak", self.keycloak_port)

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.state_dir, self.principals, self.identity_provider)

    def provision_identity_provider(self, with_refused: bool = False) -> list[dict]:
        """Keycloak's realms, the board's client and the demo users (idempotent); the users with passwords."""
        return self.identity_provider.provision(self.url("board"), self.credentials.oidc_clients(), with_refused)

    @property
    def processes(self) -> Processes:
        return Processes(self.state_dir)

    @property
    def infrastructure_scripts(self) -> Infrastructure:
        return Infrastructure(self.state_dir, self.layout)

    # ---- what runs where (deploy/layout.py) ------------------------------------------
    @property
    def region(self) -> str:
        return self.layout.region

    @property
    def municipalities(self) -> list[str]:
        return self.layout.municipalities

    @property
    def principals(self) -> list[str]:
        return self.layout.principals

    @property
    def bootstrap(self) -> str:
        return self.layout.bootstrap

    @property
    def tls_bootstrap(self) -> str | None:
        return self.layout.tls_bootstrap

    @property
    def dsn(self) -> str:
        return self.layout.dsn

    def services(self) -> list[Service]:
        return self.layout.services()

    def service(self, name: str) -> Service:
        return self.layout.service(name)

    def url(self, name: str) -> str:
        return self.layout.url(name)

    # ---- infrastructure (deploy/infrastructure.py) ----------------------------------
    def infrastructure(self, action: str) -> None:
        """start, stop, kill or reset Kafka and PostgreSQL with the deploy scripts."""
        self.infrastructure_scripts.run(action)

    def kafka(self, action: str, *nodes: int) -> None:
        """start, stop, kill or status of Kafka: every node, or these (start and kill)."""
        self.infrastructure_scripts.kafka(action, *nodes)

    def postgres(self, action: str) -> None:
        """start, stop or kill PostgreSQL alone."""
        self.infrastructure_scripts.postgres(action)

    def create_topics(self) -> None:
        run_topics_script(self.principals, self.kafka_env(ADMIN_USER))

    def grant_access(self) -> dict:
        """Kafka users and ACLs for every service (deploy/access.py), as the administrator."""
        settings = self.kafka_settings(ADMIN_USER)
        done = access.apply(access.admin_client(settings), self.principals, self.ensure_secrets()["kafka"])
        asyncio.run(until_users_authenticate(access.users(self.principals), self.kafka_options))
        return done

    # ---- secrets and Kafka identities (deploy/credentials.py) ------------------------
    @property
    def secrets_file(self) -> Path:
        return self.credentials.secrets_file

    @property
    def tokens_file(self) -> Path:
        return self.credentials.tokens_file

    @property
    def kafka_ca_file(self) -> Path:
        return self.credentials.kafka_ca_file

    def ensure_secrets(self) -> dict:
        return self.credentials.ensure_secrets()

    def ensure_jwt_issuers(self) -> Path:
        return self.credentials.ensure_jwt_issuers()

    def kafka_password(self, user: str) -> str:
        return self.credentials.kafka_password(user)

    def kafka_env(self, user: str) -> dict[str, str]:
        """The SAMORDNA_KAFKA_* settings that connect as `user`."""
        return kafka_client_env(self.bootstrap, user, self.kafka_password(user))

    def kafka_settings(self, user: str = ADMIN_USER):
        """ServiceSettings that connect to Kafka as `user` (the administrator by default)."""
        return settings_from_env(self.kafka_env(user))

    def kafka_options(self, user: str = ADMIN_USER) -> dict:
        """aiokafka keyword arguments that connect as `user` (the administrator by default)."""
        return kafka_client_options(self.bootstrap, user, self.kafka_password(user))

    # ---- services (deploy/processes.py) ----------------------------------------------
    def service_env(self, service: Service, extra: dict[str, str] | None = None) -> dict[str, str]:
        data = self.ensure_secrets()
        return {
            **os.environ,
            **self.kafka_env(service.kafka_user),
            "SAMORDNA_DATABASE_URL": self.dsn,
            "SAMORDNA_PSEUDONYM_SECRET": data["pseudonym_secret"],
            "SAMORDNA_TOKENS_FILE": str(self.tokens_file),
            "SAMORDNA_JWT_ISSUERS_FILE": str(self.ensure_jwt_issuers()),
            "SAMORDNA_HTTP_PORT": str(service.port),
            **self.env,
            **service.env,
            **(extra or {}),
        }

    def start_service(
        self, name: str, *, instance: str | None = None, port: int | None = None, extra_env: dict | None = None
    ) -> int:
        """Start one service process (or another instance of it) in the background; returns its pid."""
        service = self.service(name)
        key = instance or name
        if self.processes.running(key):
            return self.processes.pid(key)
        env = self.service_env(service, {**({"SAMORDNA_HTTP_PORT": str(port)} if port else {}), **(extra_env or {})})
        return self.processes.start(key, service.module, env)

    def running(self, key: str) -> bool:
        return self.processes.running(key)

    def stop_service(self, key: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.processes.stop(key, sig, timeout)

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        self.processes.wait_ready(url, timeout)

    # ---- the whole -------------------------------------------------------------------
    def up(self) -> dict:
        self.infrastructure("start")
        self.identity_provider.script("start")
        self.create_topics()
        self.grant_access()
        users = self.provision_identity_provider()
        for service in self.services():
            self.start_service(service.name)
        for service in self.services():
            self.wait_ready(self.url(service.name))
        return self.write_stack_json({"demo_users": users})

    def down(self) -> None:
        for service in reversed(self.services()):
            self.stop_service(service.name)
        for key in self.processes.keys():
            self.stop_service(key)
        self.infrastructure_scripts.stop_all()
        self.identity_provider.script("stop")

    def stack_info(self) -> dict:
        data = self.ensure_secrets()
        return {
            "services": {s.name: self.url(s.name) for s in self.services()},
            "tokens": data["tokens"],
            "kafka": {
                "bootstrap": self.bootstrap,
                "security_protocol": KAFKA_PROTOCOL,
                "sasl_mechanism": KAFKA_MECHANISM,
                # each service's own user; the administrator's is in kafka/credentials.env
                "users": data["kafka"],
            }
            | (
                {"tls_bootstrap": self.tls_bootstrap, "tls_ca_file": str(self.kafka_ca_file)}
                if self.kafka_tls_port
                else {}
            ),
            "postgres": {"dsn": self.dsn},
            "board_page": f"{self.url('board')}/",
            "identity_provider": self.identity_provider.url,
        }

    def write_stack_json(self, extra: dict | None = None) -> dict:
        info = {**self.stack_info(), **(extra or {})}
        path = self.state_dir / "stack.json"
        path.write_text(json.dumps(info, indent=2) + "\n")
        path.chmod(0o600)
        return info


def local_stack() -> Stack:
    """The stack `make up` runs (deploy/demo.py restarts its gateways with the same settings)."""
    tls_port = os.environ.get("KAFKA_TLS_PORT")  # e.g. 19192: also a SASL_SSL listener (README)
    # a developer's webhook receiver runs on this machine (docs/integration.md#where-a-webhook-may-go)
    development = os.environ.get("SAMORDNA_ENVIRONMENT", "development") == "development"
    loopback = {"SAMORDNA_WEBHOOK_ALLOW_LOOPBACK": "true"} if development else {}
    return Stack(kafka_tls_port=int(tls_port) if tls_port else None, env=loopback)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args()
    stack = local_stack()
    if args.action == "up":
        info = stack.up()
        print(json.dumps({"services": info["services"]}, indent=2))
    elif args.action == "down":
        stack.down()
    else:
        for service in stack.services():
            state = "running" if stack.running(service.name) else "stopped"
            print(f"{service.name:14} {state:8} {stack.url(service.name)}")
        stack.identity_provider.script("status", check=False)


if __name__ == "__main__":
    main()
