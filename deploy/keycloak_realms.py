"""The organisations' identity providers in the local Keycloak: one realm per principal of
deploy/principals.json, each with the board's client and demo users, made idempotently through
Keycloak's admin REST API (run again, it changes only what differs).

    python -m deploy.keycloak_realms --keycloak http://127.0.0.1:18800 --board http://127.0.0.1:8020

Each realm is one organisation's provider, so each has its own issuer
(`<keycloak>/realms/<principal>`) and its own client secret. The users carry the claims the board
reads (principal, role, HSA-id, unit) as user attributes, put into the tokens by protocol mappers.
The region's realm also vouches for the operations staff (principal `ops`). Passwords are generated
once into <keycloak state>/users.json (mode 600); the client secrets are deploy/credentials.py's.
"""

import argparse
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from contracts.principals import display_name

CLIENT_ID = "samordna-tavla"
API_AUDIENCE = "samordna"
CLAIMS = {  # token claim <- user attribute
    "samordna_principal": "samordna_principal",
    "samordna_role": "samordna_role",
    "hsa_id": "hsa_id",
    "samordna_unit": "samordna_unit",
}
CALLBACK_PATH = "/inloggad"
OPS_REALM_OF = "region"  # the region's IT department runs the deployment


@dataclass(frozen=True)
class DemoUser:
    realm: str  # the principal whose provider it signs in at
    username: str
    principal: str  # what its provider says it speaks for (a refused user says another's)
    role: str
    hsa_id: str
    unit: str
    first_name: str
    last_name: str
    refused: bool = False  # made to be refused by the board (tests)


def hsa_id(principal: str, n: int) -> str:
    """A made-up HSA-id of the shape SE<organisation>-<unit> (HSA-ids are not secret)."""
    digits = "".join(ch for ch in principal if ch.isdigit())
    return f"SE2321000{digits:0>4}-E{n:011d}"


def demo_users(principals: list[str], with_refused: bool = False) -> list[DemoUser]:
    """A coordinator per organisation, ops staff at the region; with_refused adds users whose
    provider speaks for what it may not (another principal; ops, for its own staff)."""
    users = []
    for principal in principals:
        name = display_name(principal)
        users.append(
            DemoUser(principal, "samordnare", principal, "coordinator", hsa_id(principal, 1),
                     f"Samordningsteamet {name}", "Samordnare", name)
        )  # fmt: skip
        if principal.startswith(OPS_REALM_OF):
            users.append(DemoUser(principal, "drift", "ops", "ops", hsa_id(principal, 9), "IT-drift", "Drift", name))
    if with_refused and len(principals) >= 3:
        first, second = principals[1], principals[2]  # two municipalities
        users.append(
            DemoUser(second, "annan-huvudman", first, "coordinator", hsa_id(second, 2), "Fel huvudman",
                     "Anna", "Annan", refused=True)
        )  # fmt: skip
        users.append(
            DemoUser(first, "obehorig-drift", first, "ops", hsa_id(first, 3), "IT", "Olle", "Obehörig", refused=True)
        )
    return users


def realm_representation(principal: str) -> dict:
    return {
        "realm": principal,
        "enabled": True,
        "displayName": display_name(principal),
        "internationalizationEnabled": True,
        "supportedLocales": ["sv", "en"],
        "defaultLocale": "sv",
        "loginWithEmailAllowed": False,
        "bruteForceProtected": True,
    }


def client_representation(board_url: str, secret: str) -> dict:
    return {
        "clientId": CLIENT_ID,
        "name": "Samordna – samordningstavlan",
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secret,
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": False,
        "redirectUris": [f"{board_url}{CALLBACK_PATH}"],
        "webOrigins": [],
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": f"{board_url}/*"},
    }


def protocol_mappers() -> list[dict]:
    claim_mappers = [
        {
            "name": claim,
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": {
                "user.attribute": attribute,
                "claim.name": claim,
                "jsonType.label": "String",
                "id.token.claim": "true",
                "access.token.claim": "true",
                "userinfo.token.claim": "true",
            },
        }
        for claim, attribute in CLAIMS.items()
    ]
    audience = {  # the access token is also a JWT the API accepts (same issuers file)
        "name": "samordna-api-audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {"included.custom.audience": API_AUDIENCE, "access.token.claim": "true", "id.token.claim": "false"},
    }
    return [*claim_mappers, audience]


def user_representation(user: DemoUser, password: str) -> dict:
    return {
        "username": user.username,
        "enabled": True,
        "email": f"{user.username}@{user.realm}.samordna.test",
        "emailVerified": True,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "attributes": {
            "samordna_principal": [user.principal],
            "samordna_role": [user.role],
            "hsa_id": [user.hsa_id],
            "samordna_unit": [user.unit],
        },
        "requiredActions": [],
        "credentials": [{"type": "password", "value": password, "temporary": False}],
    }


class KeycloakAdmin:
    """The few admin REST calls provisioning needs, as the bootstrap administrator."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        # a realm made on a loaded, shared machine has taken more than 30 s (seen with six sessions at once)
        self.http = httpx.Client(base_url=base_url, timeout=120)
        self._credentials = {"grant_type": "password", "client_id": "admin-cli"} | {
            "username": username,
            "password": password,
        }
        self._sign_in()

    def _sign_in(self) -> None:
        token = self.http.post("/realms/master/protocol/openid-connect/token", data=self._credentials)
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method: str, path: str, body: dict | list | None = None) -> httpx.Response:
        response = self.http.request(method, f"/admin/realms{path}", json=body)
        if response.status_code == 401:  # the admin token lives 60 s: a slow provisioning outlives it
            self._sign_in()
            response = self.http.request(method, f"/admin/realms{path}", json=body)
        if response.status_code >= 400 and not (method == "GET" and response.status_code == 404):
            raise RuntimeError(f"Keycloak {method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def ensure_realm(self, principal: str) -> None:
        wanted = realm_representation(principal)
        have = self.call("GET", f"/{principal}")
        if have.status_code == 404:
            self.call("POST", "", wanted)
        elif any(have.json().get(k) != v for k, v in wanted.items()):
            self.call("PUT", f"/{principal}", wanted)
        profile = self.call("GET", f"/{principal}/users/profile").json()
        if profile.get("unmanagedAttributePolicy") != "ENABLED":  # the claims' attributes are ours, not a form's
            self.call("PUT", f"/{principal}/users/profile", {**profile, "unmanagedAttributePolicy": "ENABLED"})

    def ensure_client(self, principal: str, board_url: str, secret: str) -> None:
        wanted = client_representation(board_url, secret)
        found = self.call("GET", f"/{principal}/clients?clientId={CLIENT_ID}").json()
        if not found:
            self.call("POST", f"/{principal}/clients", {**wanted, "protocolMappers": protocol_mappers()})
            return
        client_id = found[0]["id"]
        if any(found[0].get(k) != v for k, v in wanted.items() if k != "attributes") or any(
            found[0].get("attributes", {}).get(k) != v for k, v in wanted["attributes"].items()
        ):
            self.call("PUT", f"/{principal}/clients/{client_id}", {**found[0], **wanted})
        have = {m["name"] for m in self.call("GET", f"/{principal}/clients/{client_id}/protocol-mappers/models").json()}
        for mapper in protocol_mappers():
            if mapper["name"] not in have:
                self.call("POST", f"/{principal}/clients/{client_id}/protocol-mappers/models", mapper)

    def ensure_user(self, user: DemoUser, password: str) -> None:
        wanted = user_representation(user, password)
        found = self.call("GET", f"/{user.realm}/users?username={user.username}&exact=true").json()
        if not found:
            self.call("POST", f"/{user.realm}/users", wanted)
            return
        # made by us with this password (users.json): only what differs is put again (hashing costs)
        have, user_id = found[0], found[0]["id"]
        if any(have.get(k) != v for k, v in wanted.items() if k not in ("credentials", "requiredActions")):
            self.call("PUT", f"/{user.realm}/users/{user_id}", {k: v for k, v in wanted.items() if k != "credentials"})


def admin_credentials(keycloak_state: Path) -> tuple[str, str]:
    """The bootstrap administrator keycloak.sh made (admin.env)."""
    lines = (keycloak_state / "admin.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values["KEYCLOAK_ADMIN_USER"], values["KEYCLOAK_ADMIN_PASSWORD"]


def ensure_passwords(keycloak_state: Path, users: list[DemoUser]) -> dict[str, str]:
    """Each demo user's password by `realm/username`, made once and kept."""
    path = keycloak_state / "users.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    passwords = {f"{u.realm}/{u.username}": known.get(f"{u.realm}/{u.username}") or secrets.token_urlsafe(12)
                 for u in users}  # fmt: skip
    if passwords != known:
        path.touch(mode=0o600)
        path.write_text(json.dumps(passwords, indent=2) + "\n")
    return passwords


def provision(
    keycloak_url: str, keycloak_state: Path, board_url: str, client_secrets: dict[str, str], with_refused: bool = False
) -> list[dict]:
    """Every realm, client and demo user; returns the users with their passwords (for `make up`)."""
    admin = KeycloakAdmin(keycloak_url, *admin_credentials(keycloak_state))
    users = demo_users(list(client_secrets), with_refused)
    passwords = ensure_passwords(keycloak_state, users)
    for principal, secret in client_secrets.items():
        admin.ensure_realm(principal)
        admin.ensure_client(principal, board_url, secret)
    for user in users:
        admin.ensure_user(user, passwords[f"{user.realm}/{user.username}"])
    return [{**asdict(u), "password": passwords[f"{u.realm}/{u.username}"]} for u in users]


def main() -> None:
    from deploy.layout import REPO

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=REPO / ".local")
    parser.add_argument("--with-refused", action="store_true", help="also users the board must refuse")
    args = parser.parse_args()
    from deploy.stack import Stack

    stack = Stack(state_dir=args.state_dir)
    for user in stack.provision_identity_provider(with_refused=args.with_refused):
        print(f"{user['realm']:12} {user['username']:16} {user['password']}")


if __name__ == "__main__":
    main()
