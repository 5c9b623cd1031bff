"""The activity types every new workspace starts with: the SPACES model of community value
(Support, Product, Acquisition, Contribution, Engagement, Success) and CRM campaign responses.

Keys match the names the CRM sync (``campaign_response``) and common community platforms use, so
touches can be sent before any set-up; every type can be changed or deleted (while unused) like
one created by hand. Weights are relative effort (the `custom` model), costs in the reporting
currency's major unit per touch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from app.models import Category


class DefaultType(NamedTuple):
    key: str
    name: str
    category: Category
    weight: str = "1"
    cost: str | None = None


DEFAULT_ACTIVITY_TYPES: tuple[DefaultType, ...] = (
    DefaultType("forum_question", "Asked a question in the forum", Category.SUPPORT),
    DefaultType("forum_answer", "Answered a question in the forum", Category.SUPPORT, "1.5"),
    DefaultType("forum_solution", "Gave the accepted answer", Category.SUPPORT, "2"),
    DefaultType("feature_request", "Submitted a feature request", Category.PRODUCT),
    DefaultType("bug_report", "Reported a bug", Category.PRODUCT),
    DefaultType("beta_feedback", "Gave beta feedback", Category.PRODUCT, "2"),
    DefaultType("referral", "Referred a peer", Category.ACQUISITION, "3", "50.00"),
    DefaultType("review_published", "Published a review", Category.ACQUISITION, "2"),
    DefaultType("advocacy_share", "Shared content as an advocate", Category.ACQUISITION, "0.5"),
    DefaultType("blog_post", "Wrote a community blog post", Category.CONTRIBUTION, "2"),
    DefaultType("code_contribution", "Contributed code", Category.CONTRIBUTION, "2"),
    DefaultType("talk_given", "Gave a community talk", Category.CONTRIBUTION, "3"),
    DefaultType("chat_message", "Posted in the community chat", Category.ENGAGEMENT, "0.5"),
    DefaultType("reaction", "Reacted to a post", Category.ENGAGEMENT, "0.25"),
    DefaultType("member_joined", "Joined the community", Category.ENGAGEMENT, "0.5"),
    DefaultType("meetup_attended", "Attended a meetup", Category.ENGAGEMENT, "1", "25.00"),
    DefaultType("event_attended", "Attended a community event", Category.ENGAGEMENT, "1"),
    DefaultType("office_hours", "Joined office hours", Category.SUCCESS, "1.5", "40.00"),
    DefaultType("course_completed", "Completed a course", Category.SUCCESS),
    DefaultType("certification_earned", "Earned a certification", Category.SUCCESS, "2"),
    DefaultType("campaign_response", "CRM campaign response", Category.MARKETING),
)


def default_rows(workspace_id: int) -> list[dict[str, object]]:
    return [
        {
            "workspace_id": workspace_id,
            "key": t.key,
            "name": t.name,
            "category": t.category,
            "weight": Decimal(t.weight),
            "is_community": t.category is not Category.MARKETING,
            "unit_cost": None if t.cost is None else Decimal(t.cost),
        }
        for t in DEFAULT_ACTIVITY_TYPES
    ]
