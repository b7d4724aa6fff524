"""The keyed pseudonym that stands for a person in Kafka keys, logs and lookups."""

import hashlib
import hmac


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, person_id: str) -> str:
        """A stable pseudonym for a canonical (12-digit) person id; not reversible without the key."""
        return hmac.new(self._key, person_id.encode(), hashlib.sha256).hexdigest()
