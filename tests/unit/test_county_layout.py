"""A county's principals file and the local stack's layout of many principals (deploy/layout.py)."""

import json

from deploy.layout import REPO, Layout, described_kommunkoder, described_lanskod

OREBRO_LAN = {  # SCB's kommunkoder of Örebro län (länskod 18)
    "1814": "Lekeberg", "1860": "Laxå", "1861": "Hallsberg", "1862": "Degerfors", "1863": "Hällefors",
    "1864": "Ljusnarsberg", "1880": "Örebro", "1881": "Kumla", "1882": "Askersund", "1883": "Karlskoga",
    "1884": "Nora", "1885": "Lindesberg",
}  # fmt: skip


def test_the_orebro_file_names_the_region_and_its_twelve_municipalities():
    described = json.loads((REPO / "deploy" / "principals-orebro.json").read_text())
    assert described["region"]["lanskod"] == "18"
    assert {m["kommunkod"]: m["name"] for m in described["municipalities"]} == OREBRO_LAN


def test_samordna_principals_picks_the_file(monkeypatch):
    monkeypatch.setenv("SAMORDNA_PRINCIPALS", "deploy/principals-orebro.json")
    assert described_lanskod() == "18"
    assert sorted(described_kommunkoder()) == sorted(OREBRO_LAN)
    monkeypatch.delenv("SAMORDNA_PRINCIPALS")
    assert (described_lanskod(), described_kommunkoder()) == ("14", ("1489", "1441"))


def test_every_service_of_a_county_of_49_has_a_port_of_its_own():
    codes = tuple(f"{1400 + i:04d}" for i in range(49))
    layout = Layout(29092, 25432, 28000, 1, None, "14", codes)
    ports = list(layout.ports().values())
    assert len(ports) == len(set(ports)) == 49 + 3
    assert max(ports) < 28100
    assert layout.ports()["kommun-1400"] == 28002 and layout.ports()["consent"] == 28010
