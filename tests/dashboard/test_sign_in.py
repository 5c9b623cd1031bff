"""Signing in with an API key: one form post, a Secure HttpOnly SameSite cookie, CSRF tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from app.auth.service import create_key
from app.db import build_engine, build_sessionmaker, transaction
from tests.conftest import DEFAULT_NOW
from tests.dashboard.conftest import DemoWorkspace, form_token, sign_in


def cookie_header(answer: object, name: str) -> str:
    headers = answer.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie in {headers}"
    return found[0]


def test_pages_send_a_stranger_to_the_sign_in_form(app_client: TestClient) -> None:
    app_client.cookies.clear()
    answer = app_client.get("/dashboard")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"


def test_signing_in_sets_a_secure_httponly_samesite_cookie(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    app_client.cookies.clear()
    form = app_client.get("/dashboard/sign-in")
    assert 'label for="api_key"' in form.text
    posted = app_client.post(
        "/dashboard/sign-in", data={"api_key": demo.read_key, "csrf_token": form_token(form.text)}
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/dashboard"
    cookie = cookie_header(posted, "commattr_dashboard").lower()
    for attribute in ("secure", "httponly", "samesite=strict", "path=/dashboard"):
        assert attribute in cookie
    assert app_client.get("/dashboard", params={"period": "last_quarter"}).status_code == 200


def test_a_sign_in_without_the_forms_token_is_refused(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    app_client.cookies.clear()
    app_client.get("/dashboard/sign-in")
    posted = app_client.post(
        "/dashboard/sign-in", data={"api_key": demo.admin_key, "csrf_token": "forged"}
    )
    assert posted.status_code == 403
    assert "commattr_dashboard=" not in " ".join(posted.headers.get_list("set-cookie"))


def test_a_wrong_key_is_refused_without_echoing_it(app_client: TestClient) -> None:
    app_client.cookies.clear()
    form = app_client.get("/dashboard/sign-in")
    wrong = "ca_live_00000000_not-a-real-key"
    posted = app_client.post(
        "/dashboard/sign-in", data={"api_key": wrong, "csrf_token": form_token(form.text)}
    )
    assert posted.status_code == 401
    assert "unknown, expired or revoked" in posted.text
    assert wrong not in posted.text


def test_signing_out_needs_the_pages_token_and_ends_the_session(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={"period": "last_quarter"})
    refused = app_client.post("/dashboard/sign-out", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert app_client.get("/dashboard", params={"period": "last_quarter"}).status_code == 200
    out = app_client.post("/dashboard/sign-out", data={"csrf_token": form_token(page.text)})
    assert out.status_code == 303
    assert 'commattr_dashboard=""' in cookie_header(out, "commattr_dashboard")
    app_client.cookies.clear()
    assert app_client.get("/dashboard").status_code == 303


def test_a_key_revoked_or_expired_after_sign_in_signs_the_reader_out(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    engine = build_engine(demo.settings)
    with transaction(build_sessionmaker(engine)) as session:
        _, short_lived = create_key(
            session,
            workspace_id=demo.workspace_id,
            name="short",
            scopes=["read"],
            now=DEFAULT_NOW - timedelta(days=2),
            expires_at=DEFAULT_NOW - timedelta(days=1),
        )
    engine.dispose()
    app_client.cookies.clear()
    app_client.cookies.set(
        "commattr_dashboard", short_lived, domain="testserver", path="/dashboard"
    )
    assert app_client.get("/dashboard").status_code == 303


def test_a_read_key_sees_a_read_only_view(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={"period": "last_quarter"})
    assert "read-only" in page.text
    assert 'href="/dashboard/admin"' not in page.text
    assert page.text.count("<form") == 2  # the period picker (GET) and sign-out


def test_pages_forbid_framing_and_inline_scripts(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={"period": "last_quarter"})
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert page.headers["cache-control"] == "no-store"
