"""bi views: bi_credits, bi_opportunities, bi_touchpoints, a stable read-only schema for BI tools

The views have the columns of the CSV exports (app/exports/schemas.py) after a leading
workspace_id, and the same joins as app/exports/repository.py; docs/bi-tools.md documents both.

On PostgreSQL each view is a security barrier that shows only the rows of the workspace named by the
connected role, ``commattr_bi_<database>_ws_<workspace id>`` (app/bi.py creates such roles and grants
them SELECT on the three views and nothing else). The view owner's privileges read the base tables,
so a BI role never needs, and never gets, access to them; any other role sees no rows. The database
name in the role name keeps a role made for one database of a server from matching another.

Later migrations that alter or rebuild a table these views read (on SQLite, any batch migration of
it) must drop the views first and create them again after.

Revision ID: 9dcd8dbffd60
Revises: c0cad3278f5e
Create Date: 2026-11-22 16:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9dcd8dbffd60"
down_revision: str | None = "c0cad3278f5e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Evaluated once per query (a scalar subquery): the workspace id in the connected role's name, or
# NULL (no rows) for any role not named for this database.
ROLE_WORKSPACE = (
    "(SELECT CAST((regexp_match(current_user, '^commattr_bi_' || "
    "regexp_replace(lower(current_database()), '[^a-z0-9]+', '_', 'g') || "
    "'_ws_([0-9]+)$'))[1] AS BIGINT))"
)

CREDITS = """
SELECT
    c.workspace_id AS workspace_id,
    c.run_id AS run_id,
    r.model AS model,
    c.stage AS stage,
    o.source AS opportunity_source,
    o.external_id AS opportunity_external_id,
    o.name AS opportunity_name,
    a.external_id AS account_external_id,
    ro.type AS opportunity_type,
    ro.created_date AS created_date,
    ro.close_date AS close_date,
    ro.is_won AS is_won,
    ro.currency AS currency,
    t.source AS touchpoint_source,
    t.external_id AS touchpoint_external_id,
    t.occurred_at AS occurred_at,
    act.key AS activity_type,
    act.category AS category,
    p.key AS program,
    c.is_community AS is_community,
    c.fraction AS fraction,
    c.amount AS credit_minor,
    c.amount * CASE WHEN c.stage = 'pipeline' THEN ro.pipeline_rate ELSE ro.revenue_rate END
        AS credit_reporting_minor,
    w.reporting_currency AS reporting_currency
FROM credit AS c
JOIN attribution_run AS r ON r.id = c.run_id AND r.status = 'succeeded'
JOIN workspace AS w ON w.id = c.workspace_id
LEFT JOIN run_opportunity AS ro ON ro.run_id = c.run_id AND ro.opportunity_id = c.opportunity_id
LEFT JOIN opportunity AS o ON o.id = c.opportunity_id
LEFT JOIN account AS a ON a.id = ro.account_id
LEFT JOIN touchpoint AS t ON t.id = c.touchpoint_id
LEFT JOIN activity_type AS act ON act.id = c.activity_type_id
LEFT JOIN program AS p ON p.id = c.program_id
"""

OPPORTUNITIES = """
SELECT
    ro.workspace_id AS workspace_id,
    ro.run_id AS run_id,
    r.model AS model,
    o.source AS opportunity_source,
    o.external_id AS opportunity_external_id,
    o.name AS opportunity_name,
    a.external_id AS account_external_id,
    a.name AS account_name,
    ro.type AS opportunity_type,
    ro.stage_name AS stage_name,
    ro.pipeline AS pipeline,
    ro.is_closed AS is_closed,
    ro.is_won AS is_won,
    ro.currency AS currency,
    ro.amount AS amount_minor,
    ro.created_at AS created_at,
    ro.closed_at AS closed_at,
    ro.created_date AS created_date,
    ro.close_date AS close_date,
    ro.pipeline_rate AS pipeline_rate,
    ro.revenue_rate AS revenue_rate,
    ro.pipeline_influenced AS pipeline_influenced,
    ro.revenue_influenced AS revenue_influenced,
    ro.sourced AS sourced,
    ro.accelerated AS accelerated,
    ro.pipeline_attributed AS pipeline_attributed_minor,
    ro.revenue_attributed AS revenue_attributed_minor,
    ro.pipeline_attributed_any AS pipeline_attributed_any,
    ro.revenue_attributed_any AS revenue_attributed_any,
    ro.amount * ro.pipeline_rate AS pipeline_amount_reporting_minor,
    CASE WHEN ro.is_won THEN ro.amount * ro.revenue_rate END AS revenue_amount_reporting_minor,
    ro.pipeline_attributed * ro.pipeline_rate AS pipeline_attributed_reporting_minor,
    ro.revenue_attributed * ro.revenue_rate AS revenue_attributed_reporting_minor,
    w.reporting_currency AS reporting_currency
FROM run_opportunity AS ro
JOIN attribution_run AS r ON r.id = ro.run_id AND r.status = 'succeeded'
JOIN workspace AS w ON w.id = ro.workspace_id
LEFT JOIN opportunity AS o ON o.id = ro.opportunity_id
LEFT JOIN account AS a ON a.id = ro.account_id
"""

TOUCHPOINTS = """
SELECT
    t.workspace_id AS workspace_id,
    t.source AS touchpoint_source,
    t.external_id AS touchpoint_external_id,
    t.occurred_at AS occurred_at,
    t.received_at AS received_at,
    act.key AS activity_type,
    act.category AS category,
    act.is_community AS is_community,
    p.key AS program,
    CASE
        WHEN t.member_id IS NOT NULL THEN 'member'
        WHEN t.contact_id IS NOT NULL THEN 'contact'
        ELSE 'lead'
    END AS person_kind,
    COALESCE(ct.source, ld.source) AS person_source,
    COALESCE(m.external_id, ct.external_id, ld.external_id) AS person_external_id,
    m.is_staff AS member_is_staff
FROM touchpoint AS t
LEFT JOIN activity_type AS act ON act.id = t.activity_type_id
LEFT JOIN program AS p ON p.id = t.program_id
LEFT JOIN member AS m ON m.id = t.member_id
LEFT JOIN contact AS ct ON ct.id = t.contact_id
LEFT JOIN "lead" AS ld ON ld.id = t.lead_id
"""

# view name, its SELECT, and the alias of the table whose workspace_id scopes it
VIEWS = (
    ("bi_credits", CREDITS, "c"),
    ("bi_opportunities", OPPORTUNITIES, "ro"),
    ("bi_touchpoints", TOUCHPOINTS, "t"),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, query, alias in VIEWS:
        if postgresql:
            op.execute(
                f"CREATE VIEW {name} WITH (security_barrier = true) AS {query}"
                f"WHERE {alias}.workspace_id = {ROLE_WORKSPACE}"
            )
        else:
            op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name, _query, _alias in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
