"""The local stack's identity provider: Keycloak (deploy/keycloak.sh) with one realm per principal
(deploy/keycloak_realms.py), and what the services need to trust it — an issuer per realm in the
issuers file, each with the board's client credentials in a file of its own (mode 600).

The realm of the region also vouches for the operations staff (`ops`); no other realm does.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.keycloak_realms import API_AUDIENCE, CLIENT_ID, OPS_REALM_OF, provision
from deploy.layout import DEPLOY


@dataclass(frozen=True)
class IdentityProvider:
    state_dir: Path  # Keycloak's own (KEYCLOAK_STATE_DIR): its database, administrator, demo passwords
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issuer(self, principal: str) -> str:
        return f"{self.url}/realms/{principal}"

    def script(self, action: str, check: bool = True) -> None:
        """deploy/keycloak.sh start, stop, status or reset, for this state dir and port."""
        env = {**os.environ, "KEYCLOAK_STATE_DIR": str(self.state_dir), "KEYCLOAK_PORT": str(self.port)}
        subprocess.run([str(DEPLOY / "keycloak.sh"), action], env=env, check=check)

    def issuers(self, client_secrets: dict[str, str], clients_dir: Path) -> list[dict]:
        """One issuer per realm for the issuers file, with its client file written next to it."""
        clients_dir.mkdir(parents=True, exist_ok=True)
        entries = []
        for principal, secret in client_secrets.items():
            client_file = clients_dir / f"{principal}.json"
            if not client_file.exists():
                client_file.touch(mode=0o600)
            client_file.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": secret}) + "\n")
            entries.append(
                {
                    "issuer": self.issuer(principal),
                    "principals": [principal, *(["ops"] if principal.startswith(OPS_REALM_OF) else [])],
                    "audience": API_AUDIENCE,
                    "jwks_uri": f"{self.issuer(principal)}/protocol/openid-connect/certs",
                    "algorithms": ["RS256"],
                    "client_file": str(client_file),
                }
            )
        return entries

    def provision(self, board_url: str, client_secrets: dict[str, str], with_refused: bool = False) -> list[dict]:
        return provision(self.url, self.state_dir, board_url, client_secrets, with_refused)
