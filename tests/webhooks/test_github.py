"""GitHub webhooks: issues, comments, pull requests, discussions and stars, X-Hub-Signature-256."""

from __future__ import annotations

from tests.conftest import Api
from tests.webhooks.conftest import Source, member_by_identity, touches
from tests.webhooks.payloads import (
    github_headers,
    github_issue,
    github_issue_comment,
    github_pull_request,
    github_star,
)


def test_issues_comments_pull_requests_and_stars_are_stored(api: Api, github: Source) -> None:
    deliveries = [
        ("issues", github_issue()),
        ("issue_comment", github_issue_comment()),
        ("pull_request", github_pull_request()),
        ("star", github_star()),
    ]
    for n, (event, payload) in enumerate(deliveries):
        response = github.deliver(
            payload, github_headers(event, f"72d3162e-cc78-11e3-81ab-{n:012d}")
        )
        assert response.json() == {"status": "stored", "touchpoints": 1}, response.text
    octocat = member_by_identity(api, "user_id", "github", "583231")
    hubot = member_by_identity(api, "user_id", "github", "7")
    mona = member_by_identity(api, "user_id", "github", "9919")
    assert touches(api) == [
        ("github", "comment:11", "forum_answer", hubot),
        ("github", "issue:1", "bug_report", octocat),
        ("github", "pull_request:279147437", "code_contribution", octocat),
        ("github", "star:1296269:9919", "reaction", mona),
    ]


def test_other_actions_and_pings_are_ignored(api: Api, github: Source) -> None:
    closed = github.deliver(github_issue("closed"), github_headers("issues", "d-1"))
    merged = github.deliver(
        github_pull_request("closed", merged=True), github_headers("pull_request", "d-2")
    )
    ping = github.deliver(
        {"zen": "Keep it logically awesome.", "hook_id": 1}, github_headers("ping", "d-3")
    )
    for response in (closed, merged, ping):
        assert response.json() == {"status": "ignored", "touchpoints": 0}
    assert touches(api) == []


def test_a_merged_pull_request_counts_when_its_event_is_mapped(api: Api, github: Source) -> None:
    mapped = api.patch(
        f"/v1/webhook-sources/{github.id}",
        json={"event_map": {"pull_request.merged": "code_contribution"}},
    )
    assert mapped.status_code == 200, mapped.text
    response = github.deliver(
        github_pull_request("closed", merged=True), github_headers("pull_request", "d-2")
    )
    assert response.json() == {"status": "stored", "touchpoints": 1}
    assert [e for _, e, _, _ in touches(api)] == ["pull_request_merged:279147437"]


def test_a_redelivery_stores_nothing_twice_and_a_bad_signature_nothing(
    api: Api, github: Source
) -> None:
    headers = github_headers("issues", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    github.deliver(github_issue(), headers)
    assert github.deliver(github_issue(), headers).json()["status"] == "duplicate"
    forged = github.deliver(github_issue(), github_headers("issues", "other"), secret="x" * 32)
    assert forged.status_code == 401
    assert forged.json() == {"detail": "X-Hub-Signature-256 does not match the body"}
    assert len(touches(api)) == 1
