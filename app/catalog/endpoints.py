from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.catalog import repository, service
from app.catalog.schemas import KEY_PATTERN, ActivityTypeIn, ActivityTypeOut, ProgramIn, ProgramOut
from app.deps import ReadKey, SessionDep, WriteKey

router = APIRouter(prefix="/v1", tags=["catalog"])

KeyPath = Annotated[
    str, Path(pattern=KEY_PATTERN, description="Stable key, e.g. forum_summit_2025.")
]
ActivityKeyPath = Annotated[
    str, Path(pattern=KEY_PATTERN, max_length=64, description="Stable key, e.g. forum_answer.")
]


@router.put("/activity-types/{key}", summary="Create or replace an activity type")
def put_activity_type(
    key: ActivityKeyPath, body: ActivityTypeIn, session: SessionDep, principal: WriteKey
) -> ActivityTypeOut:
    activity_type = service.put_activity_type(
        session, workspace_id=principal.workspace_id, key=key, body=body
    )
    return ActivityTypeOut.model_validate(activity_type)


@router.get("/activity-types", summary="List activity types")
def list_activity_types(session: SessionDep, principal: ReadKey) -> list[ActivityTypeOut]:
    return [
        ActivityTypeOut.model_validate(a)
        for a in repository.activity_types(session, principal.workspace_id)
    ]


@router.put("/programs/{key}", summary="Create or replace a program")
def put_program(
    key: KeyPath, body: ProgramIn, session: SessionDep, principal: WriteKey
) -> ProgramOut:
    program = service.put_program(session, workspace_id=principal.workspace_id, key=key, body=body)
    return ProgramOut.model_validate(program)


@router.get("/programs", summary="List programs")
def list_programs(session: SessionDep, principal: ReadKey) -> list[ProgramOut]:
    return [
        ProgramOut.model_validate(p) for p in repository.programs(session, principal.workspace_id)
    ]
