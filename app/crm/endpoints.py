from __future__ import annotations

from fastapi import APIRouter

from app.crm import service
from app.crm.schemas import CrmImport, ExchangeRates, ImportCounts
from app.deps import ClockDep, ReadKey, SessionDep, SettingsDep, WriteKey
from app.exceptions import InvalidInput
from app.idempotency.dependencies import IdempotencyDep
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/crm", tags=["crm"])


@router.post("/import", summary="Import CRM records from a JSON file")
def import_crm_records(
    body: CrmImport,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: WriteKey,
    idempotency: IdempotencyDep,
) -> ImportCounts:
    """Upserts by (source, external_id); every reference is checked before anything is written."""
    records = service.record_count(body)
    if records > settings.import_record_limit:
        raise InvalidInput.at(
            ("body",), f"{records} records; at most {settings.import_record_limit} per import"
        )
    workspace = get_workspace(session, principal.workspace_id)
    result = service.import_records(session, workspace=workspace, body=body, now=clock())
    idempotency.finish(session, result)
    return result


rates_router = APIRouter(prefix="/v1/exchange-rates", tags=["crm"])


@rates_router.put("", summary="Load dated exchange rates to the reporting currency")
def load_exchange_rates(
    body: ExchangeRates, session: SessionDep, principal: WriteKey
) -> ExchangeRates:
    """Pipeline converts at the local creation date, revenue at the close date; both ends of a
    rate's range are inclusive. Runs copy the rates they used, so past runs never move."""
    workspace = get_workspace(session, principal.workspace_id)
    return ExchangeRates(
        rates=service.load_exchange_rates(session, workspace=workspace, rates=body.rates)
    )


@rates_router.get("", summary="List the exchange rates")
def list_exchange_rates(session: SessionDep, principal: ReadKey) -> ExchangeRates:
    workspace = get_workspace(session, principal.workspace_id)
    return ExchangeRates(rates=service.exchange_rates(session, workspace=workspace))
