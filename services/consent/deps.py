"""What a route of the consent API may declare: the service layer, from the app's one `ConsentDeps`."""

from typing import Annotated

from fastapi import Depends, Request

from services.consent.audit import AuditTrail
from services.consent.bootstrap import ConsentDeps
from services.consent.consents import Consents
from services.consent.preview import Previews
from services.runtime.access_log import AccessLog
from services.runtime.auth import Caller, Role, require
from services.runtime.pseudonym import Pseudonymizer


def consent_deps(request: Request) -> ConsentDeps:
    """The dependencies the lifespan built (the service's only look-up of `app.state`)."""
    return request.app.state.deps


DepsDep = Annotated[ConsentDeps, Depends(consent_deps)]


def _consents(deps: DepsDep) -> Consents:
    return deps.consents


def _audit(deps: DepsDep) -> AuditTrail:
    return deps.audit


def _previews(deps: DepsDep) -> Previews:
    return deps.previews


def access_log(deps: DepsDep) -> AccessLog:
    return deps.access_log


def pseudonyms(deps: DepsDep) -> Pseudonymizer:
    return deps.pseudonyms


ConsentsDep = Annotated[Consents, Depends(_consents)]
AuditDep = Annotated[AuditTrail, Depends(_audit)]
PreviewsDep = Annotated[Previews, Depends(_previews)]
Coordinator = Annotated[Caller, Depends(require(Role.COORDINATOR))]
# the FHIR facade's readers: staff, and the principal's integration platform with a system token
ConsentReader = Annotated[Caller, Depends(require(Role.COORDINATOR, Role.SYSTEM))]
