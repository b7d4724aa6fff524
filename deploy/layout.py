"""Where the parts of a local stack are: the repository's paths, and the ports and addresses of
Kafka, PostgreSQL and every service. Pure values: nothing here starts, reads or writes anything
but deploy/principals.json (or the file SAMORDNA_PRINCIPALS names) for the default region and
municipalities."""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from contracts.principals import municipality, region
from deploy import access

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
# The one description of who takes part: the topics, Kafka users and ACLs and the gateways
# of the local stack all follow from it.
PRINCIPALS_FILE = DEPLOY / "principals.json"


def principals_file() -> Path:
    """deploy/principals.json, or the file SAMORDNA_PRINCIPALS names (relative to the repository),
    e.g. deploy/principals-orebro.json for Region Örebro län and its twelve municipalities."""
    named = os.environ.get("SAMORDNA_PRINCIPALS")
    return (REPO / named).resolve() if named else PRINCIPALS_FILE


def described_principals() -> dict:
    return json.loads(principals_file().read_text())


def described_lanskod() -> str:
    return described_principals()["region"]["lanskod"]


def described_kommunkoder() -> tuple[str, ...]:
    return tuple(m["kommunkod"] for m in described_principals()["municipalities"])


@dataclass(frozen=True)
class Service:
    name: str  # the key in stack.json: a principal id, "consent" or "board"
    module: str
    port: int
    kafka_user: str  # its own SCRAM user: the principal id for a gateway
    env: dict[str, str] = field(default_factory=dict)


# Each service's port is http_base_port plus its offset; municipality i is on 2 + i for the first
# eight (2-9), and on 30 + i from the ninth on (38, 39, ...: a county of 49 ends at 78).
REGION_OFFSET, FIRST_MUNICIPALITY_OFFSET, CONSENT_OFFSET, BOARD_OFFSET = 1, 2, 10, 20
MORE_MUNICIPALITIES_OFFSET = 30


def municipality_offset(i: int) -> int:
    first = CONSENT_OFFSET - FIRST_MUNICIPALITY_OFFSET  # eight, below the consent service's port
    return FIRST_MUNICIPALITY_OFFSET + i if i < first else MORE_MUNICIPALITIES_OFFSET + i


@dataclass(frozen=True)
class Layout:
    kafka_port: int
    pg_port: int
    http_base_port: int
    kafka_nodes: int
    kafka_tls_port: int | None  # a SASL_SSL listener besides the SASL one (kafka.sh KAFKA_TLS_PORT)
    lanskod: str
    kommunkoder: tuple[str, ...]

    @property
    def region(self) -> str:
        return region(self.lanskod)

    @property
    def municipalities(self) -> list[str]:
        return [municipality(code) for code in self.kommunkoder]

    @property
    def principals(self) -> list[str]:
        return [self.region, *self.municipalities]

    @property
    def bootstrap(self) -> str:
        """Every node's client listener (kafka.sh: node N on kafka_port + 2(N-1))."""
        return ",".join(f"127.0.0.1:{self.kafka_port + 2 * i}" for i in range(self.kafka_nodes))

    @property
    def tls_bootstrap(self) -> str | None:
        """Every node's SASL_SSL listener (kafka.sh: node N on kafka_tls_port + N - 1), if there is one."""
        if self.kafka_tls_port is None:
            return None
        return ",".join(f"127.0.0.1:{self.kafka_tls_port + i}" for i in range(self.kafka_nodes))

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/samordna"

    def ports(self) -> dict[str, int]:
        """Each service's HTTP port, by its name in stack.json."""
        base = self.http_base_port
        ports = {self.region: base + REGION_OFFSET, "consent": base + CONSENT_OFFSET, "board": base + BOARD_OFFSET}
        return ports | {municipality(code): base + municipality_offset(i) for i, code in enumerate(self.kommunkoder)}

    def services(self) -> list[Service]:
        """Every service in the order it is started: consent (with the gate), the gateways, the board."""
        ports = self.ports()
        gateways = [
            Service(self.region, "services.region", ports[self.region], self.region, {"SAMORDNA_LANSKOD": self.lanskod})
        ]
        gateways += [
            Service(
                municipality(code),
                "services.municipality",
                ports[municipality(code)],
                municipality(code),
                {"SAMORDNA_KOMMUNKOD": code},
            )
            for code in self.kommunkoder
        ]
        return [
            Service(
                "consent",
                "services.consent",
                ports["consent"],
                access.GATE_USER,
                {"SAMORDNA_GATE_INSTANCE_ID": "gate-0"},
            ),
            *gateways,
            Service(
                "board",
                "services.board",
                ports["board"],
                access.BOARD_USER,
                {"SAMORDNA_METRICS_TARGETS": self.metrics_targets()},
            ),
        ]

    def metrics_targets(self) -> str:
        """Where the board scrapes each service's metrics (SAMORDNA_METRICS_TARGETS)."""
        return json.dumps({name: f"http://127.0.0.1:{port}" for name, port in self.ports().items()})

    def service(self, name: str) -> Service:
        return next(s for s in self.services() if s.name == name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service(name).port}"
