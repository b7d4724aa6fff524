"""The shipped Prometheus and Grafana files speak of metrics the services really expose."""

import json
import re

from prometheus_client import REGISTRY

import services.runtime.metrics  # noqa: F401  (registers the metrics)
from deploy.stack import REPO, Stack

MONITORING = REPO / "deploy" / "monitoring"
METRIC = re.compile(r"\bsamordna_[a-z_]+")


def exposed() -> set[str]:
    """Metric names as Prometheus sees them (a counter's name ends in _total)."""
    return {family.name + ("_total" if family.type == "counter" else "") for family in REGISTRY.collect()}


def test_every_metric_in_the_dashboard_and_the_alert_rules_is_exposed():
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    rules = (MONITORING / "samordna-alerts.yml").read_text()

    used = set(METRIC.findall(" ".join(expressions) + rules))

    assert used and used <= exposed() | {"samordna"}, used - exposed()


def test_the_scrape_configuration_lists_every_service_of_the_local_stack():
    config = (MONITORING / "prometheus.yml").read_text()
    stack = Stack()

    for service in stack.services():
        assert f'"127.0.0.1:{service.port}"' in config and f"service: {service.name}" in config
