"""Slack-compatible webhook payloads for new recommendations and instruction results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from store.repositories.console_instructions import InstructionSummary
from store.repositories.console_queries import RecommendationSummary
from workers.notifications import instruction_message, recommendations_message

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _rec(title: str, saving: float) -> RecommendationSummary:
    return RecommendationSummary(
        id=uuid.UUID(int=int(saving)),
        cluster_id=uuid.UUID(int=1),
        cluster_name="prod",
        kind="rightsizing",
        status="open",
        monthly_saving_usd=saving,
        title=title,
        risk="low",
        target="",
        created_at=T0,
        updated_at=T0,
        decided_by=None,
        decided_at=None,
        snoozed_until=None,
    )


def _instruction(outcome: str, reason: str = "") -> InstructionSummary:
    return InstructionSummary(
        id=uuid.UUID(int=9),
        cluster_id=uuid.UUID(int=1),
        cluster_name="prod",
        recommendation_id=uuid.UUID(int=311),
        recommendation_title="Right-size shop/api",
        status="completed",
        created_at=T0,
        expires_at=T0,
        approved_at=T0,
        delivered_at=T0,
        delivery_count=1,
        completed_at=T0,
        envelope={},
        result={"outcome": outcome, "reason": reason},
    )


def test_recommendations_are_totalled_and_listed_largest_first() -> None:
    """Two recommendations: the total in the text, the larger one first."""
    message = recommendations_message([_rec("small", 600.0), _rec("big", 5980.16)])
    assert message["text"] == "2 new recommendations worth $6,580/month"
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*big*\n$5,980/month · rightsizing · low risk")
    assert sections[1].startswith("*small*\n$600/month")


def test_titles_from_a_cluster_are_escaped_for_slack() -> None:
    """`<` and `>` would start a Slack link; they arrive as entities."""
    message = recommendations_message([_rec("<script>alert(1)</script> & co", 900.0)])
    section = message["blocks"][1]["text"]["text"]
    assert section.startswith("*&lt;script&gt;alert(1)&lt;/script&gt; &amp; co*")


def test_links_point_into_the_console() -> None:
    """With a console URL each title links to its recommendation page."""
    message = recommendations_message([_rec("big", 900.0)], console_url="https://console.example/")
    section = message["blocks"][1]["text"]["text"]
    expected = f"*<https://console.example/console/recommendations/{uuid.UUID(int=900)}|big>*"
    assert section.startswith(expected)


def test_long_lists_are_cut_at_ten() -> None:
    """Twelve recommendations: ten sections and a note about the other two."""
    message = recommendations_message([_rec(f"r{i}", 1000.0 + i) for i in range(12)])
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds.count("section") == 10
    assert message["blocks"][-1]["elements"][0]["text"] == "…and 2 more in the console"


def test_applied_instruction_message() -> None:
    """An applied instruction names the cluster, the recommendation and its saving."""
    message = instruction_message(_instruction("applied"), _rec("Right-size shop/api", 311.0))
    assert message["text"] == "Applied on prod: Right-size shop/api"
    assert message["blocks"][0]["text"]["text"] == (
        ":white_check_mark: *Applied* on cluster prod\n*Right-size shop/api* · saves $311/month"
    )


def test_failed_instruction_message_gives_the_reason() -> None:
    """A rolled-back instruction is a failure, with the executor's reason."""
    message = instruction_message(_instruction("rolled-back", "pods not ready after 300 s"), None)
    assert message["text"] == "Failed on prod: Right-size shop/api"
    assert message["blocks"][0]["text"]["text"] == (
        ":x: *Failed* on cluster prod\nReason: pods not ready after 300 s"
    )
