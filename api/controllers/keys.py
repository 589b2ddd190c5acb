from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.controllers._idempotency import NO_STORE, IdempotencyKey, idempotent_request
from api.controllers._params import EntityId
from api.guards.auth import Caller, staff_only
from api.schemas.keys import KeyCreate, KeyCreated
from api.services import keys
from api.services.idempotency import Replay
from api.services.keys import CreatedKey, Role
from api.state import Db, Service


def _created(key: CreatedKey) -> KeyCreated:
    return KeyCreated(
        key_id=key.key_id,
        api_key=key.api_key,
        role=key.role.value,
        name=key.name,
        investor_id=key.investor_id,
        startup_id=key.startup_id,
        bank_id=key.bank_id,
    )


class KeyController(Controller):
    """API keys: organisers issue and revoke participants' (investor, startup) and banks' keys."""

    path = "/api/keys"
    tags = ("keys",)
    guards = (staff_only,)

    @post(
        "",
        status_code=HTTP_201_CREATED,
        summary="Issue a key (e.g. role investor with investor_id); shown once; send an Idempotency-Key to retry",
    )
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        data: JSONBody[KeyCreate],
        db: Db,
        service: Service,
        principal: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[KeyCreated]:
        outcome = await keys.issue_key(
            db,
            issuer=principal,
            role=Role(data.role),
            name=data.name,
            secret=service.settings.secret,
            bank_id=data.bank_id,
            startup_id=data.startup_id,
            investor_id=data.investor_id,
            idempotent=idempotent_request(request, service, idempotency_key, data),
            encode=_created,
        )
        # The body carries the key: no cache, proxy or browser may keep it.
        if isinstance(outcome, Replay):
            return Response(outcome.body, status_code=outcome.status_code, headers=NO_STORE)
        return Response(_created(outcome), status_code=HTTP_201_CREATED, headers=NO_STORE)

    @delete("/{key_id:str}", summary="Revoke a key (at once in this process, within seconds in the others)")
    async def revoke(self, key_id: EntityId, db: Db, service: Service, principal: Caller) -> None:
        await keys.revoke_key(db, key_id=key_id, issuer=principal)
        service.principals.invalidate()
