"""What an organisation's identity provider may vouch for: the one rule the API's JWTs and the
web pages' OpenID Connect sign-in share.

An issuer speaks only for the principals it is configured for, and the operations staff (principal
`ops`, role `ops`, who belong to no one organisation) only from an issuer configured for `ops`: a
region's or a municipality's provider that mints `samordna_role=ops` for its own staff proves
nothing. Pure: claims in, a `Caller` or the reason out.
"""

from services.runtime.identity import Caller, Role

OPS = "ops"


class NotVouched(Exception):
    """The issuer may not vouch for this; `reason` is short and safe to tell the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def vouched_caller(principal: object, role: object, issuer_principals: tuple[str, ...], principal_claim: str) -> Caller:
    if not isinstance(principal, str) or not principal:
        raise NotVouched(f"missing claim {principal_claim}")
    if principal not in issuer_principals:
        raise NotVouched("principal not allowed for this issuer")
    try:
        parsed = Role(role)
    except ValueError:
        raise NotVouched("unknown role") from None
    if (parsed is Role.OPS) != (principal == OPS):
        raise NotVouched("role ops only for principal ops, from an issuer configured for ops")
    return Caller(principal, parsed)
