"""Principal ids: who owns a gateway, a topic and credentials.

A principal id is built from an official code: ``region-14`` (länskod) or
``kommun-1489`` (SCB kommunkod). This module is the one place that knows the format.
"""

import re
from typing import Annotated

from pydantic import StringConstraints

PRINCIPAL_PATTERN = r"^(region-\d{2}|kommun-\d{4})$"
_PRINCIPAL_RE = re.compile(PRINCIPAL_PATTERN)

PrincipalId = Annotated[str, StringConstraints(pattern=PRINCIPAL_PATTERN)]

REGION_NAMES = {
    "14": "Västra Götalandsregionen",
    "18": "Region Örebro län",
    "01": "Region Stockholm",
}

MUNICIPALITY_NAMES = {
    "1489": "Alingsås",
    "1441": "Lerum",
    "1499": "Falköping",
    "1494": "Lidköping",
    # Region Örebro län's twelve (deploy/principals-orebro.json)
    "1814": "Lekeberg",
    "1860": "Laxå",
    "1861": "Hallsberg",
    "1862": "Degerfors",
    "1863": "Hällefors",
    "1864": "Ljusnarsberg",
    "1880": "Örebro",
    "1881": "Kumla",
    "1882": "Askersund",
    "1883": "Karlskoga",
    "1884": "Nora",
    "1885": "Lindesberg",
    "0180": "Stockholm",
}


def region(lanskod: str) -> str:
    """The principal id of a region, from its two-digit länskod."""
    return _checked(f"region-{lanskod}")


def municipality(kommunkod: str) -> str:
    """The principal id of a municipality, from its four-digit kommunkod."""
    return _checked(f"kommun-{kommunkod}")


def is_principal(value: str) -> bool:
    return bool(_PRINCIPAL_RE.match(value))


def is_region(principal: str) -> bool:
    return principal.startswith("region-")


def is_municipality(principal: str) -> bool:
    return principal.startswith("kommun-")


def display_name(principal: str) -> str:
    """A human name for a principal id, falling back to the id itself."""
    kind, _, code = principal.partition("-")
    names = REGION_NAMES if kind == "region" else MUNICIPALITY_NAMES
    return names.get(code, principal)


def _checked(principal: str) -> str:
    if not is_principal(principal):
        raise ValueError(f"not a principal id: {principal!r} (expected region-NN or kommun-NNNN)")
    return principal
