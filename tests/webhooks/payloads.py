"""Payloads shaped like the platforms' documented ones (Discourse web hooks, the Slack Events API,
GitHub webhooks), with the headers each platform sends beside them."""

from __future__ import annotations

from typing import Any


def discourse_headers(event: str, event_id: str) -> dict[str, str]:
    event_type = {"post_liked": "like", "accepted_solution": "solved"}.get(
        event, event.split("_")[0]
    )
    return {
        "X-Discourse-Instance": "https://forum.example.com",
        "X-Discourse-Event-Id": event_id,
        "X-Discourse-Event-Type": event_type,
        "X-Discourse-Event": event,
    }


def discourse_post(
    post_id: int = 987, *, user_id: int = 12, post_number: int = 2
) -> dict[str, Any]:
    return {
        "post": {
            "id": post_id,
            "name": "Ada Lovelace",
            "username": "ada",
            "avatar_template": "/user_avatar/forum.example.com/ada/{size}/3_2.png",
            "created_at": "2025-09-30T15:58:00.000Z",
            "cooked": "<p>Use the bulk endpoint.</p>",
            "post_number": post_number,
            "post_type": 1,
            "updated_at": "2025-09-30T15:58:00.000Z",
            "reply_count": 0,
            "reply_to_post_number": None,
            "quote_count": 0,
            "incoming_link_count": 0,
            "reads": 1,
            "score": 0,
            "topic_id": 55,
            "topic_slug": "how-do-i-import-a-csv",
            "topic_title": "How do I import a CSV?",
            "category_id": 4,
            "display_username": "Ada Lovelace",
            "primary_group_name": None,
            "version": 1,
            "user_title": None,
            "moderator": False,
            "admin": False,
            "staff": False,
            "user_id": user_id,
            "hidden": False,
            "trust_level": 1,
            "deleted_at": None,
            "user_deleted": False,
            "wiki": False,
            "topic_posts_count": 2,
            "topic_filtered_posts_count": 2,
            "topic_archetype": "regular",
            "category_slug": "support",
        }
    }


def discourse_topic(topic_id: int = 55, *, user_id: int = 31) -> dict[str, Any]:
    return {
        "topic": {
            "id": topic_id,
            "title": "How do I import a CSV?",
            "fancy_title": "How do I import a CSV?",
            "posts_count": 1,
            "created_at": "2025-09-30T15:50:00.000Z",
            "views": 0,
            "reply_count": 0,
            "like_count": 0,
            "last_posted_at": "2025-09-30T15:50:00.000Z",
            "visible": True,
            "closed": False,
            "archived": False,
            "archetype": "regular",
            "slug": "how-do-i-import-a-csv",
            "category_id": 4,
            "word_count": 12,
            "deleted_at": None,
            "user_id": user_id,
            "pinned_globally": False,
            "tags": [],
            "created_by": {
                "id": user_id,
                "username": "grace",
                "name": "Grace Hopper",
                "avatar_template": "/user_avatar/forum.example.com/grace/{size}/4_2.png",
            },
            "last_poster": {"id": user_id, "username": "grace", "name": "Grace Hopper"},
        }
    }


def discourse_like(post_id: int = 987, *, liker_id: int = 31) -> dict[str, Any]:
    return {
        "like": {
            "post": discourse_post(post_id)["post"],
            "user": {
                "id": liker_id,
                "username": "grace",
                "name": "Grace Hopper",
                "avatar_template": "/user_avatar/forum.example.com/grace/{size}/4_2.png",
            },
        }
    }


def slack_envelope(event: dict[str, Any], event_id: str, event_time: int) -> dict[str, Any]:
    return {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": "T123ABC456",
                "user_id": "U0APPBOT01",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMTIzQUJDNDU2In0",
    }


def slack_message(user: str, ts: str, channel: str = "C123ABC456") -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": "Has anyone imported Zoom attendees?",
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "client_msg_id": "5e1c2b7a-2d0c-4c4c-9d4e-0c6d1c0f9b11",
        "team": "T123ABC456",
    }


def slack_reaction(user: str, item_ts: str, event_ts: str) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": "thumbsup",
        "item_user": "U0OTHER001",
        "item": {"type": "message", "channel": "C123ABC456", "ts": item_ts},
        "event_ts": event_ts,
    }


def slack_team_join(user: str, email: str | None) -> dict[str, Any]:
    profile: dict[str, Any] = {"real_name": "Ada Lovelace", "display_name": "ada"}
    if email is not None:
        profile["email"] = email
    return {
        "type": "team_join",
        "user": {
            "id": user,
            "team_id": "T123ABC456",
            "name": "ada",
            "deleted": False,
            "real_name": "Ada Lovelace",
            "tz": "Europe/London",
            "profile": profile,
            "is_bot": False,
        },
        "event_ts": "1759247940.000100",
    }


def github_headers(event: str, delivery: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-ID": "79929171",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "User-Agent": "GitHub-Hookshot/6f6b5c8",
    }


def _github_user(login: str, user_id: int) -> dict[str, Any]:
    return {
        "login": login,
        "id": user_id,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": f"https://github.com/images/{login}.gif",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


REPOSITORY = {
    "id": 1296269,
    "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    "name": "Hello-World",
    "full_name": "octocat/Hello-World",
    "private": False,
    "owner": _github_user("octocat", 1),
    "html_url": "https://github.com/octocat/Hello-World",
}


def github_issue(
    action: str = "opened", *, login: str = "octocat", user_id: int = 583231
) -> dict[str, Any]:
    return {
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/octocat/Hello-World/issues/1347",
            "html_url": "https://github.com/octocat/Hello-World/issues/1347",
            "id": 1,
            "node_id": "MDU6SXNzdWUx",
            "number": 1347,
            "title": "Found a bug",
            "user": _github_user(login, user_id),
            "labels": [],
            "state": "open",
            "comments": 0,
            "created_at": "2025-09-30T15:40:00Z",
            "updated_at": "2025-09-30T15:40:00Z",
            "body": "I'm having a problem with this.",
        },
        "repository": REPOSITORY,
        "sender": _github_user(login, user_id),
    }


def github_issue_comment(*, login: str = "hubot", user_id: int = 7) -> dict[str, Any]:
    return {
        **github_issue(),
        "action": "created",
        "comment": {
            "url": "https://api.github.com/repos/octocat/Hello-World/issues/comments/1",
            "html_url": "https://github.com/octocat/Hello-World/issues/1347#issuecomment-1",
            "id": 11,
            "user": _github_user(login, user_id),
            "created_at": "2025-09-30T15:45:00Z",
            "updated_at": "2025-09-30T15:45:00Z",
            "body": "Me too",
        },
        "sender": _github_user(login, user_id),
    }


def github_pull_request(action: str = "opened", *, merged: bool = False) -> dict[str, Any]:
    return {
        "action": action,
        "number": 2,
        "pull_request": {
            "url": "https://api.github.com/repos/octocat/Hello-World/pulls/2",
            "id": 279147437,
            "html_url": "https://github.com/octocat/Hello-World/pull/2",
            "number": 2,
            "state": "closed" if action == "closed" else "open",
            "title": "Fix the bug",
            "user": _github_user("octocat", 583231),
            "created_at": "2025-09-30T15:30:00Z",
            "updated_at": "2025-09-30T15:50:00Z",
            "closed_at": "2025-09-30T15:50:00Z" if action == "closed" else None,
            "merged_at": "2025-09-30T15:50:00Z" if merged else None,
            "merged": merged,
        },
        "repository": REPOSITORY,
        "sender": _github_user("octocat", 583231),
    }


def github_star() -> dict[str, Any]:
    return {
        "action": "created",
        "starred_at": "2025-09-30T15:55:00Z",
        "repository": REPOSITORY,
        "sender": _github_user("mona", 9919),
    }
