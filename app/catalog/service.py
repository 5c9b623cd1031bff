"""Activity types and programs: what a touch means and which initiative (with its cost) it belongs to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.catalog import repository
from app.catalog.schemas import ActivityTypeIn, ProgramIn
from app.exceptions import InvalidInput
from app.models import ActivityType, Program
from app.money import to_minor_units


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


def put_program(session: Session, *, workspace_id: int, key: str, body: ProgramIn) -> Program:
    try:
        cost = to_minor_units(body.cost, body.currency)
    except ValueError as error:
        raise InvalidInput.at(("body", "cost"), str(error)) from error
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
