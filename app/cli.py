"""`commattr`: serve, worker, migrate, demo, create-workspace, create-key, bi-role, openapi."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from app import bi
from app import migrate as migrations
from app.auth.service import mint_key
from app.clock import system_clock
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.exceptions import AppError
from app.main import create_app
from app.workspaces.service import create_workspace, get_workspace

cli = typer.Typer(help="community-attribution: community-influenced pipeline and revenue.")

DEMO_KEY_FILE = Path("var/demo-api-key")


@cli.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    settings = Settings()
    migrations.upgrade(build_engine(settings))
    typer.echo("database is at the newest schema")


@cli.command("create-workspace")
def create_workspace_command(
    name: Annotated[str, typer.Argument(help="The company's name.")],
) -> None:
    """Create a workspace and print its first API key (shown once; stored only as a digest)."""
    settings = Settings()
    with transaction(build_sessionmaker(build_engine(settings))) as session:
        created = create_workspace(
            session,
            name=name,
            now=system_clock(),
            free_mail_domains=list(settings.free_mail_domains),
        )
        workspace_id = created.workspace.id
    typer.echo(f"workspace {workspace_id} '{name}' created")
    typer.echo(f"API key (shown once, keep it safe): {created.api_key}")


@cli.command("create-key")
def create_key(
    workspace_id: Annotated[int, typer.Argument(help="The workspace the key reaches.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'Power BI'.")] = "api key",
    scope: Annotated[
        list[str], typer.Option(help="read, write or admin (repeatable); admin implies write.")
    ] = ["read"],  # noqa: B006 (typer reads the default)
) -> None:
    """Mint another API key, e.g. a read-only one for a BI tool; printed once."""
    settings = Settings()
    try:
        with transaction(build_sessionmaker(build_engine(settings))) as session:
            get_workspace(session, workspace_id)
            secret = mint_key(
                session, workspace_id=workspace_id, name=name, scopes=scope, now=system_clock()
            )
    except (AppError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"API key for workspace {workspace_id} ({', '.join(sorted(scope))}), shown once: {secret}"
    )


bi_role_cli = typer.Typer(help="Read-only PostgreSQL roles for BI tools, one per workspace.")
cli.add_typer(bi_role_cli, name="bi-role")


@bi_role_cli.command("create")
def bi_role_create(
    workspace_id: Annotated[int, typer.Argument(help="The workspace whose rows the role reads.")],
) -> None:
    """Create the workspace's read-only role (or give it a new password); print the password once."""
    engine = build_engine(Settings())
    password = bi.generate_password()
    try:
        role = bi.create_bi_role(engine, workspace_id, password)
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    url = engine.url
    typer.echo(
        f"role {role} reads bi_credits, bi_opportunities, bi_touchpoints of workspace {workspace_id}"
    )
    typer.echo(
        f"host: {url.host}  port: {url.port or 5432}  database: {url.database}  user: {role}"
    )
    typer.echo(f"password (shown once, keep it safe): {password}")


@bi_role_cli.command("drop")
def bi_role_drop(
    workspace_id: Annotated[int, typer.Argument(help="The workspace whose role to drop.")],
) -> None:
    """Revoke and drop the workspace's read-only role."""
    try:
        role = bi.drop_bi_role(build_engine(Settings()), workspace_id)
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"role {role} dropped" if role else f"workspace {workspace_id} has no BI role")


@bi_role_cli.command("list")
def bi_role_list() -> None:
    """The read-only roles of this database, by workspace."""
    try:
        roles = bi.list_bi_roles(build_engine(Settings()))
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    for role in roles:
        typer.echo(f"{role.workspace_id}\t{role.name}")


@cli.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the generated company.")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when a workspace already exists.")
    ] = False,
) -> None:
    """Generate the demo company, load it through the service, and run attribution on it."""
    from app.demo import load_demo

    settings = Settings()
    engine = build_engine(settings)
    loaded = load_demo(build_sessionmaker(engine), settings=settings, seed=seed, if_empty=if_empty)
    if loaded is None:
        typer.echo("the database already holds a workspace: demo not loaded")
        return
    DEMO_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_KEY_FILE.write_text(loaded.api_key + "\n")
    DEMO_KEY_FILE.chmod(0o600)
    typer.echo(loaded.describe())


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Serve the API."""
    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    url = f"http://{host}:{port}"
    typer.echo(f"community-attribution on {url}  (API docs: {url}/docs)")
    if DEMO_KEY_FILE.exists():
        typer.echo(f"demo workspace API key: {DEMO_KEY_FILE.read_text().strip()}")
        today = system_clock().date()
        typer.echo(
            f'try: curl -H "Authorization: Bearer $(cat {DEMO_KEY_FILE})" '
            f'"{url}/v1/reports/summary?from={today - timedelta(days=364)}&to={today}"'
        )
    if settings.web_workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
        return
    # several processes need the app as an import string; each builds it from the environment
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.web_workers,
        log_level=settings.log_level,
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Drain the queue, then exit.")] = False,
    poll_seconds: Annotated[float, typer.Option(help="Pause between empty polls.")] = 2.0,
) -> None:
    """Queue due sync jobs, then execute queued sync runs and attribution runs."""
    from app import worker as worker_loop

    settings = Settings()
    factory = build_sessionmaker(build_engine(settings))
    if once:
        done = worker_loop.drain(factory, settings=settings, clock=system_clock)
        typer.echo(f"executed {len(done)} queued attribution run(s)")
        return
    typer.echo("worker started: sync jobs, queued syncs and attribution runs")
    worker_loop.serve_forever(
        factory, settings=settings, clock=system_clock, poll_seconds=poll_seconds
    )


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = Path(
        "openapi/openapi.json"
    ),
) -> None:
    """Write the OpenAPI document of the API."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


def render_openapi() -> str:
    return json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    cli()
