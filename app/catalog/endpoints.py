from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from app.catalog import repository, service
from app.catalog.schemas import (
    KEY_PATTERN,
    ActivityTypeCreate,
    ActivityTypeIn,
    ActivityTypeOut,
    ActivityTypePatch,
    ProgramCreate,
    ProgramIn,
    ProgramOut,
    ProgramPatch,
)
from app.deps import ReadKey, SessionDep, WriteKey

router = APIRouter(prefix="/v1", tags=["catalog"])

KeyPath = Annotated[
    str, Path(pattern=KEY_PATTERN, description="Stable key, e.g. forum_summit_2025.")
]
ActivityKeyPath = Annotated[
    str, Path(pattern=KEY_PATTERN, max_length=64, description="Stable key, e.g. forum_answer.")
]
IN_USE: dict[int | str, dict[str, Any]] = {
    409: {"description": "Touchpoints or attribution runs refer to it."}
}
EXISTS: dict[int | str, dict[str, Any]] = {409: {"description": "One with that key exists."}}


@router.get("/activity-types", summary="List activity types")
def list_activity_types(session: SessionDep, principal: ReadKey) -> list[ActivityTypeOut]:
    """A new workspace starts with a default catalog of SPACES activity types."""
    return [
        ActivityTypeOut.model_validate(a)
        for a in repository.activity_types(session, principal.workspace_id)
    ]


@router.get("/activity-types/{key}", summary="Read an activity type")
def read_activity_type(
    key: ActivityKeyPath, session: SessionDep, principal: ReadKey
) -> ActivityTypeOut:
    return ActivityTypeOut.model_validate(
        service.get_activity_type(session, workspace_id=principal.workspace_id, key=key)
    )


@router.post(
    "/activity-types", status_code=201, responses=EXISTS, summary="Create an activity type"
)
def create_activity_type(
    body: ActivityTypeCreate, session: SessionDep, principal: WriteKey
) -> ActivityTypeOut:
    return ActivityTypeOut.model_validate(
        service.create_activity_type(session, workspace_id=principal.workspace_id, body=body)
    )


@router.put("/activity-types/{key}", summary="Create or replace an activity type")
def put_activity_type(
    key: ActivityKeyPath, body: ActivityTypeIn, session: SessionDep, principal: WriteKey
) -> ActivityTypeOut:
    activity_type = service.put_activity_type(
        session, workspace_id=principal.workspace_id, key=key, body=body
    )
    return ActivityTypeOut.model_validate(activity_type)


@router.patch("/activity-types/{key}", summary="Change some fields of an activity type")
def patch_activity_type(
    key: ActivityKeyPath, body: ActivityTypePatch, session: SessionDep, principal: WriteKey
) -> ActivityTypeOut:
    return ActivityTypeOut.model_validate(
        service.patch_activity_type(
            session, workspace_id=principal.workspace_id, key=key, body=body
        )
    )


@router.delete(
    "/activity-types/{key}",
    status_code=204,
    responses=IN_USE,
    summary="Delete an activity type no touch uses",
)
def delete_activity_type(
    key: ActivityKeyPath, session: SessionDep, principal: WriteKey
) -> Response:
    service.delete_activity_type(session, workspace_id=principal.workspace_id, key=key)
    return Response(status_code=204)


@router.get("/programs", summary="List programs")
def list_programs(session: SessionDep, principal: ReadKey) -> list[ProgramOut]:
    return [
        ProgramOut.model_validate(p) for p in repository.programs(session, principal.workspace_id)
    ]


@router.get("/programs/{key}", summary="Read a program")
def read_program(key: KeyPath, session: SessionDep, principal: ReadKey) -> ProgramOut:
    return ProgramOut.model_validate(
        service.get_program(session, workspace_id=principal.workspace_id, key=key)
    )


@router.post("/programs", status_code=201, responses=EXISTS, summary="Create a program")
def create_program(body: ProgramCreate, session: SessionDep, principal: WriteKey) -> ProgramOut:
    return ProgramOut.model_validate(
        service.create_program(session, workspace_id=principal.workspace_id, body=body)
    )


@router.put("/programs/{key}", summary="Create or replace a program")
def put_program(
    key: KeyPath, body: ProgramIn, session: SessionDep, principal: WriteKey
) -> ProgramOut:
    program = service.put_program(session, workspace_id=principal.workspace_id, key=key, body=body)
    return ProgramOut.model_validate(program)


@router.patch("/programs/{key}", summary="Change some fields of a program")
def patch_program(
    key: KeyPath, body: ProgramPatch, session: SessionDep, principal: WriteKey
) -> ProgramOut:
    return ProgramOut.model_validate(
        service.patch_program(session, workspace_id=principal.workspace_id, key=key, body=body)
    )


@router.delete(
    "/programs/{key}", status_code=204, responses=IN_USE, summary="Delete a program no touch uses"
)
def delete_program(key: KeyPath, session: SessionDep, principal: WriteKey) -> Response:
    service.delete_program(session, workspace_id=principal.workspace_id, key=key)
    return Response(status_code=204)
