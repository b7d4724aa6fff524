"""docs/privacy.md's table of the Kafka topics is held to contracts/topics.py and to the settings
that change it, the way test_deploy_artifacts.py holds the README's Configuration table."""

import re

from contracts.topics import HOUR_MS, topic_specs
from deploy.stack import REPO
from deploy.topics import TopicSettings

PRINCIPAL = "region-14"


def documented_topics() -> dict[str, tuple[str, str]]:
    """topic name (for one principal) -> (retention cell, setting cell) of docs/privacy.md."""
    text = (REPO / "docs" / "privacy.md").read_text()
    section = text.split("\n### Kafka topics\n", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            rows[name.replace("<principal>", PRINCIPAL)] = (cells[2], cells[3])
    return rows


def test_every_topic_is_in_the_record_of_processing_with_the_retention_the_code_gives_it():
    documented = documented_topics()
    specs = {spec.name: spec for spec in topic_specs([PRINCIPAL])}

    assert set(documented) == set(specs)
    for name, spec in specs.items():
        retention, _ = documented[name]
        ms = int(spec.config["retention.ms"])
        if ms == -1:
            assert retention == "kept for good", name
        else:
            assert retention == f"`{ms // HOUR_MS} h`", name
            assert int(spec.config["segment.ms"]) <= ms // 10 + 1, f"{name}: the bound must be real"


def test_each_retention_setting_named_in_the_record_is_a_setting_with_that_default():
    documented = documented_topics()
    fields = TopicSettings.model_fields
    for name, (retention, setting) in documented.items():
        if setting == "—":
            continue
        field = setting.strip("`").removeprefix("SAMORDNA_").lower()
        assert field in fields, setting
        assert retention == f"`{fields[field].default:g} h`", name
