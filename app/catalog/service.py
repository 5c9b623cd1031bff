"""Activity types and programs: what a touch means and which initiative (with its cost) it belongs
to. Either can be deleted only while no touchpoint and no attribution run refers to it."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from app.catalog import repository
from app.catalog.defaults import default_rows
from app.catalog.schemas import (
    ActivityTypeCreate,
    ActivityTypeIn,
    ActivityTypePatch,
    ProgramCreate,
    ProgramIn,
    ProgramPatch,
)
from app.exceptions import Conflict, InvalidInput, NotFound
from app.models import ActivityType, Category, Program
from app.money import from_minor_units, to_minor_units

MARKETING_NEVER_COMMUNITY = "an activity type of category 'marketing' is never community"


def create_default_catalog(session: Session, *, workspace_id: int) -> None:
    repository.insert_activity_types(session, default_rows(workspace_id))


def get_activity_type(session: Session, *, workspace_id: int, key: str) -> ActivityType:
    found = repository.activity_type(session, workspace_id, key)
    if found is None:
        raise NotFound(f"activity type '{key}' not found")
    return found


def put_activity_type(
    session: Session, *, workspace_id: int, key: str, body: ActivityTypeIn
) -> ActivityType:
    activity_type = repository.activity_type(session, workspace_id, key)
    if activity_type is None:
        activity_type = ActivityType(workspace_id=workspace_id, key=key)
        session.add(activity_type)
    activity_type.name = body.name
    activity_type.category = body.category
    activity_type.weight = body.weight
    activity_type.is_community = bool(body.is_community)
    activity_type.unit_cost = body.cost
    session.flush()
    return activity_type


def create_activity_type(
    session: Session, *, workspace_id: int, body: ActivityTypeCreate
) -> ActivityType:
    if repository.activity_type(session, workspace_id, body.key) is not None:
        raise Conflict(f"activity type '{body.key}' already exists")
    return put_activity_type(session, workspace_id=workspace_id, key=body.key, body=body)


def patch_activity_type(
    session: Session, *, workspace_id: int, key: str, body: ActivityTypePatch
) -> ActivityType:
    activity_type = get_activity_type(session, workspace_id=workspace_id, key=key)
    given = body.model_fields_set
    category = body.category if body.category is not None else activity_type.category
    is_community = (
        body.is_community
        if body.is_community is not None
        else category is not Category.MARKETING
        if body.category is not None
        else activity_type.is_community
    )
    if is_community and category is Category.MARKETING:
        raise InvalidInput.at(("body", "is_community"), MARKETING_NEVER_COMMUNITY)
    if body.name is not None:
        activity_type.name = body.name
    if body.weight is not None:
        activity_type.weight = body.weight
    if "cost" in given:
        activity_type.unit_cost = body.cost
    activity_type.category = category
    activity_type.is_community = is_community
    session.flush()
    return activity_type


def delete_activity_type(session: Session, *, workspace_id: int, key: str) -> None:
    activity_type = get_activity_type(session, workspace_id=workspace_id, key=key)
    _refuse_if_used(
        session, workspace_id, "activity_type_id", activity_type.id, f"activity type '{key}'"
    )
    session.delete(activity_type)
    session.flush()


def _refuse_if_used(session: Session, workspace_id: int, column: str, id_: int, what: str) -> None:
    touches, runs = repository.uses(session, workspace_id, column, id_)
    if touches or runs:
        raise Conflict(
            f"{what} is used by {touches} touchpoint{'s' * (touches != 1)} and {runs} "
            f"attribution run{'s' * (runs != 1)}: it can be deleted only while unused"
        )


def get_program(session: Session, *, workspace_id: int, key: str) -> Program:
    found = repository.program(session, workspace_id, key)
    if found is None:
        raise NotFound(f"program '{key}' not found")
    return found


def _minor(cost: Decimal, currency: str) -> int:
    try:
        return to_minor_units(cost, currency)
    except ValueError as error:
        raise InvalidInput.at(("body", "cost"), str(error)) from error


def put_program(session: Session, *, workspace_id: int, key: str, body: ProgramIn) -> Program:
    cost = _minor(body.cost, body.currency)
    program = repository.program(session, workspace_id, key)
    if program is None:
        program = Program(workspace_id=workspace_id, key=key)
        session.add(program)
    program.name = body.name
    program.cost = cost
    program.currency = body.currency
    program.start_date = body.start_date
    program.end_date = body.end_date
    session.flush()
    return program


def create_program(session: Session, *, workspace_id: int, body: ProgramCreate) -> Program:
    if repository.program(session, workspace_id, body.key) is not None:
        raise Conflict(f"program '{body.key}' already exists")
    return put_program(session, workspace_id=workspace_id, key=body.key, body=body)


def patch_program(session: Session, *, workspace_id: int, key: str, body: ProgramPatch) -> Program:
    program = get_program(session, workspace_id=workspace_id, key=key)
    given = body.model_fields_set
    currency = body.currency or program.currency
    cost = body.cost if body.cost is not None else from_minor_units(program.cost, program.currency)
    start = body.start_date if "start_date" in given else program.start_date
    end = body.end_date if "end_date" in given else program.end_date
    if start and end and end < start:
        raise InvalidInput.at(("body", "end_date"), "must not be before start_date")
    program.cost = _minor(cost, currency)
    program.currency = currency
    program.name = body.name or program.name
    program.start_date, program.end_date = start, end
    session.flush()
    return program


def delete_program(session: Session, *, workspace_id: int, key: str) -> None:
    program = get_program(session, workspace_id=workspace_id, key=key)
    _refuse_if_used(session, workspace_id, "program_id", program.id, f"program '{key}'")
    session.delete(program)
    session.flush()
