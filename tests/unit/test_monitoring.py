"""The shipped Prometheus and Grafana files speak of metrics the services really expose."""

import json
import re
import time

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


def test_the_oldest_uncommitted_record_ages_while_held_and_is_zero_once_committed():
    from services.runtime.metrics import OldestUncommitted

    tracker = OldestUncommitted("samordna-test-oldest")
    tracker.holding("events.region-14", int((time.time() - 90) * 1000))
    tracker.holding("events.region-14", int((time.time() - 30) * 1000))
    shown = REGISTRY.get_sample_value(
        "samordna_consumer_oldest_unprocessed_seconds", {"group": "samordna-test-oldest", "topic": "events.region-14"}
    )
    assert 89 <= shown <= 100
    tracker.committed("events.region-14")
    assert tracker.age("events.region-14") == 0.0


def test_ages_are_the_oldest_over_labels_on_the_ops_dashboard():
    from services.board.ops import totals

    exposition = (
        'samordna_outbox_oldest_unpublished_seconds{table="outbox"} 12.0\n'
        'samordna_outbox_oldest_unpublished_seconds{table="consent_events"} 40.0\n'
        'samordna_outbox_backlog{table="outbox"} 3.0\n'
        'samordna_outbox_backlog{table="consent_events"} 4.0\n'
    )
    assert totals(exposition) == {"samordna_outbox_oldest_unpublished_seconds": 40.0, "samordna_outbox_backlog": 7.0}
