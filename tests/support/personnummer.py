"""Valid test personnummer, made on demand (validating them stays with the `personnummer` package)."""

import random
from datetime import date, timedelta
from types import ModuleType


def _luhn_digit(nine_digits: str) -> str:
    total = 0
    for i, char in enumerate(nine_digits):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def make_person_id(birth: date, serial: int, coordination: bool = False) -> str:
    """YYYYMMDD-NNNN with a correct check digit; a samordningsnummer adds 60 to the day."""
    if not 1 <= serial <= 999:
        raise ValueError("the serial number is 001-999")
    day = birth.day + (60 if coordination else 0)
    short = f"{birth:%y%m}{day:02d}{serial:03d}"
    return f"{birth:%Y%m}{day:02d}-{serial:03d}{_luhn_digit(short)}"


def random_person_id(rng: random.Random | ModuleType = random) -> str:
    """A valid personnummer born 1950-2004; one in ten is a samordningsnummer."""
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    return make_person_id(birth, rng.randrange(1, 1000), coordination=rng.random() < 0.1)
