"""Questions a person asked matchmaking while signed in, and their feedback (halric.core.personal).

At an erasure they are kept without the account (``user_id`` cleared), like questions asked without
signing in: the gaps report still counts them, and nothing links them to the person any more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from halric.core.personal import Person
from halric.match.models import MatchFeedback, MatchQuery


def export(s: Session, person: Person) -> dict[str, Any]:
    questions = s.scalars(
        select(MatchQuery).where(MatchQuery.user_id == person.user_id).order_by(MatchQuery.id)
    )
    feedback = s.scalars(
        select(MatchFeedback).where(MatchFeedback.user_id == person.user_id).order_by(MatchFeedback.id)
    )
    return {
        "match_questions": [
            {
                "asked_at": q.created_at.isoformat(),
                "question": q.question,
                "country": q.country,
                "language": q.language,
                "techniques_suggested": list(q.technique_ids or []),
                "no_good_match": q.no_good_match,
            }
            for q in questions
        ],
        "match_feedback": [
            {
                "at": f.created_at.isoformat(),
                "technique_id": f.technique_id,
                "helpful": f.helpful,
                "comment": f.comment,
            }
            for f in feedback
        ],
    }


def detach(s: Session, person: Person) -> dict[str, int]:
    q = s.execute(
        update(MatchQuery).where(MatchQuery.user_id == person.user_id).values(user_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    f = s.execute(
        update(MatchFeedback).where(MatchFeedback.user_id == person.user_id).values(user_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    return {"match_questions": int(q or 0), "match_feedback": int(f or 0)}
