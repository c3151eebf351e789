"""Matchmaking operations: validate the question, rank, log, take feedback, report gaps."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from halric.accounts import orcid
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound
from halric.match.engine import Answer, Constraints, Matcher
from halric.match.models import MatchFeedback, MatchQuery
from halric.registry import service as registry
from halric.registry.generation import AnswerCache, generation
from halric.registry.models import ExpertProfile, Instrument, Technique
from halric.registry.vocab import ACCESS_ROUTES, COUNTRIES, SAMPLE_TYPES

MAX_QUESTION = 2000
MAX_TOP = 20


@dataclass
class MatchRequest:
    question: str
    country: str | None = None
    top: int = 5
    organisation: str | None = None
    operational_only: bool = False
    access_route: str | None = None
    sample_type: str | None = None

    def validated(self) -> MatchRequest:
        q = " ".join((self.question or "").split())  # one space between words: the answer cache's key
        if not q:
            raise InvalidInput("question: describe what you want to find out (it is empty)", field="question")
        if len(q) > MAX_QUESTION:
            raise InvalidInput(
                f"question: keep it under {MAX_QUESTION} characters (it has {len(q)})", field="question"
            )
        country = self.country.strip().upper() if self.country and self.country.strip() else None
        if country and country not in COUNTRIES:
            raise InvalidInput(
                f"country: unknown country code {self.country!r}; use one of {', '.join(COUNTRIES)}",
                field="country",
            )
        if not 1 <= int(self.top) <= MAX_TOP:
            raise InvalidInput(f"top: ask for 1 to {MAX_TOP} results", field="top")
        if self.access_route and self.access_route not in ACCESS_ROUTES:
            raise InvalidInput(f"access_route: use one of {', '.join(ACCESS_ROUTES)}", field="access_route")
        if self.sample_type and self.sample_type not in SAMPLE_TYPES:
            raise InvalidInput(f"sample_type: use one of {', '.join(SAMPLE_TYPES)}", field="sample_type")
        return MatchRequest(q, country, int(self.top), self.organisation or None, bool(self.operational_only),
                            self.access_route or None, self.sample_type or None)  # fmt: skip

    def constraints(self) -> Constraints:
        return Constraints(
            self.country, self.organisation, self.operational_only, self.access_route, self.sample_type
        )


# --- one matcher per process, rebuilt when the registry changes, persisted in the cache directory -----

_lock = threading.RLock()
_cache: dict[tuple[str, str], tuple[str, Matcher]] = {}
_bases: dict[str, tuple[str, Matcher]] = {}
log = logging.getLogger("halric.match")


def registry_version(s: Session) -> str:
    """Fingerprint of the registry content the matcher depends on: the registry generation, which every
    write to a registry table changes (an organisation renamed by raw SQL too); without its triggers, the
    counts and latest changes of instruments and techniques."""
    gen = generation(s)
    if gen is not None:
        return f"g{gen[0]}:{gen[1]}"
    inst = s.execute(select(func.count(), func.max(Instrument.updated_at))).one()
    tech = s.execute(select(func.count(), func.max(Technique.updated_at))).one()
    return f"{inst[0]}:{inst[1]}:{tech[0]}:{tech[1]}"


def _index_key(url: str, version: str) -> str:
    """What a persisted matcher depends on: the database, its registry version, the language files, the code."""
    from halric.registry.loader import DATA_DIR

    h = hashlib.sha256(f"{url}\n{version}".encode())
    for path in sorted((DATA_DIR / "languages").glob("*.yaml")):
        h.update(path.read_bytes())
    here = Path(__file__).resolve().parent
    for name in ("engine.py", "index.py", "lexicon.py", "lang.py", "text.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:20]


def _base_matcher(s: Session, cache_dir: Path | None, version: str) -> Matcher:
    """The lexical matcher: from memory, else from the cache directory, else built (and saved there)."""
    with _lock:
        return _base_matcher_locked(s, cache_dir, version)


def _base_matcher_locked(s: Session, cache_dir: Path | None, version: str) -> Matcher:
    url = str(s.get_bind().url)
    hit = _bases.get(url)
    if hit and hit[0] == version:
        return hit[1]
    path = cache_dir / f"matcher-{_index_key(url, version)}.pickle" if cache_dir else None
    matcher: Matcher | None = None
    if path is not None and path.is_file():
        try:
            with path.open("rb") as fh:
                matcher = pickle.load(fh)  # our own file, written below
        except Exception:  # a stale or broken file is rebuilt, never trusted
            log.warning("rebuilding unreadable matchmaking index %s", path)
            matcher = None
    if matcher is None:
        matcher = Matcher(registry.export(s), cache_dir=cache_dir, method="lexical")
        if path is not None:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(matcher, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
    _bases[url] = (version, matcher)
    return matcher


def get_matcher(
    s: Session,
    *,
    cache_dir: Path | None,
    method: str = "combined",
    progress: Callable[[int], None] | None = None,
) -> Matcher:
    key = (str(s.get_bind().url), method)
    version = registry_version(s)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == version:
            return hit[1]
        matcher = copy.copy(_base_matcher(s, cache_dir, version)).with_method(method, cache_dir, progress)
        _cache[key] = (version, matcher)
        return matcher


def preload_in_background(*, embeddings: bool = True) -> None:
    """Start loading the language detector (and the embedding model) while other start-up work runs."""
    from halric.match import embed, lang

    for target in (lang.warm_detector, embed.available) if embeddings else (lang.warm_detector,):
        threading.Thread(target=target, name=f"halric-preload-{target.__name__}", daemon=True).start()


def prepare(
    s: Session, *, cache_dir: Path | None, progress: Callable[[int, int], None] | None = None
) -> Matcher:
    """Build what answering needs (index, passage embeddings, language models) now, not on the first question.

    ``progress(done, total)`` reports the passage embeddings, the one step that can take a while.
    """
    from halric.match import lang

    base = _base_matcher(s, cache_dir, registry_version(s))
    total = len(base.passages)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    matcher = get_matcher(s, cache_dir=cache_dir, progress=step)
    lang.warm_detector()
    return matcher


# --- answers as data ---------------------------------------------------------------------------------


def technique_out(doc: Any, local: dict[str, Any] | None = None) -> dict[str, Any]:
    """A technique as the answer shows it; ``local`` adds its label and lay summary in the asker's language."""
    k = doc.knowledge or {}
    out = {
        "id": doc.id, "label": doc.label, "panet_iri": doc.panet_iri, "alt_labels": doc.alt_labels,
        "summary": k.get("summary"), "cannot": k.get("cannot"), "samples": k.get("samples"),
    }  # fmt: skip
    if local:
        out["local_label"] = local["label"]
        out["local_summary"] = local["summary"]
        out["summary_language"] = local["language"]
    return out


def answer_dict(ans: Answer, ambassadors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "elapsed_ms": round(ans.elapsed_ms, 2),
        "method": ans.method,
        "language": ans.language,
        "answer_language": ans.answer_language,
        "preferred_country": ans.preferred_country,
        "no_good_match": ans.no_good_match,
        "message": ans.message if ans.no_good_match else None,
        "results": [
            {
                "technique": technique_out(r.doc, r.local), "score": r.score, "why": r.why,
                "instruments": r.instruments, "instruments_elsewhere": r.instruments_elsewhere,
                "in_preferred_country": (
                    any(i["country"] == ans.preferred_country for i in r.instruments)
                    if ans.preferred_country else None
                ),
            }
            for r in ans.results
        ],
        "consider_as_well": [{"technique": technique_out(d), "reason": why} for d, why in ans.consider],
        "ambassadors": ambassadors or [],
    }  # fmt: skip
    return out


def batch_line(qid: str, ans: Answer, elapsed_ms: float) -> dict[str, Any]:
    """Exactly the shape documented in shared/eval/score_matchmaking.py."""
    return {
        "id": qid,
        "elapsed_ms": round(elapsed_ms, 3),
        "results": [
            {
                "technique": {
                    "label": r.doc.label,
                    "panet_iri": r.doc.panet_iri,
                    "alt_labels": r.doc.alt_labels,
                },
                "instruments": [
                    {"name": i["name"], "facility": i["facility"], "country": i["country"]}
                    for i in r.instruments
                ],
                "score": r.score,
                "why": r.why,
            }
            for r in ans.results
        ],
    }


def expert_orcids(s: Session, profiles: Sequence[ExpertProfile | Ambassador]) -> dict[int, str]:
    """``{profile id: ORCID iD}``: the iD of the account that owns the expert profile, or else of an
    account whose confirmed e-mail is the profile's contact address (accounts/orcid.py)."""
    by_user = orcid.by_user(s, [p.user_id for p in profiles])
    by_email = orcid.by_email(s, [p.contact_email for p in profiles if p.user_id not in by_user])
    out = {}
    for p in profiles:
        found = by_user.get(p.user_id) or by_email.get((p.contact_email or "").strip().lower())
        if found:
            out[p.id] = found
    return out


@dataclass(frozen=True)
class Ambassador:
    """What an answer shows of an ambassador's public profile (kept under the registry's generation)."""

    id: int
    user_id: int | None
    contact_email: str | None
    display_name: str
    countries_served: list[str]
    organisation_id: str | None
    languages: list[str]


# the ambassadors for each country asked about, under the registry's generation (expert profiles are
# among the tables it watches); their ORCID iDs come from accounts and are looked up on every answer
AMBASSADORS = AnswerCache(size=16)


def ambassadors(s: Session, country: str | None, gen: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    url, gen = str(s.get_bind().url), gen or generation(s)
    rows = AMBASSADORS.get(url, gen, country)
    if rows is None:
        found = registry.ambassadors_for(s, country) or registry.ambassadors_for(s, None)
        rows = tuple(
            Ambassador(p.id, p.user_id, p.contact_email, p.display_name, list(p.countries_served or []),
                       p.organisation_id, list(p.languages or []))
            for p in found
        )  # fmt: skip
        AMBASSADORS.put(url, gen, country, rows)
    orcids = expert_orcids(s, rows)
    return [
        {"name": a.display_name, "countries": a.countries_served, "email": a.contact_email,
         "organisation": a.organisation_id, "languages": a.languages, "orcid": orcids.get(a.id)}
        for a in rows
    ]  # fmt: skip


# answers of the current registry generation, per process: the same question with the same options gets
# the same answer until the registry changes (halric.registry.generation); who asks plays no part in it
ANSWERS = AnswerCache(size=512)


def match(
    s: Session, actor: Actor, req: MatchRequest, *, cache_dir: Path | None, log: bool = True
) -> dict[str, Any]:
    started = time.perf_counter()
    req = req.validated()
    url = str(s.get_bind().url)
    gen = generation(s)
    key = (req.question, req.country, req.top, req.organisation, req.operational_only, req.access_route,
           req.sample_type, str(cache_dir))  # fmt: skip
    cached = ANSWERS.get(url, gen, key)
    if cached is None:
        cached = _answer(s, req, cache_dir=cache_dir)
        ANSWERS.put(url, gen, key, cached)
    out, entry = copy.deepcopy(cached)
    elapsed_ms = (time.perf_counter() - started) * 1000
    out["elapsed_ms"] = round(elapsed_ms, 2)
    out["ambassadors"] = ambassadors(s, out["preferred_country"], gen)
    out["question"] = req.question
    if log:
        row = MatchQuery(
            user_id=actor.user_id, question=req.question, country=req.country, elapsed_ms=elapsed_ms,
            constraints={k: v for k, v in asdict(req).items() if k not in ("question", "country", "top") and v},
            **entry,
        )  # fmt: skip
        _writing(s)
        s.add(row)
        s.flush()
        out["query_id"] = row.id
    return out


def _writing(s: Session) -> None:
    """Make the session's transaction a writing one before the question is logged. On SQLite a reading
    transaction cannot turn into a write once another request has written since it began ("database is
    locked", answered 503): end it (it changed nothing) and begin a writing one, which waits its turn."""
    from halric.core.db import WRITE

    if s.get_bind().dialect.name != "sqlite" or s.new or s.dirty or s.deleted:
        return
    if s.in_transaction() and s.connection().get_execution_options().get(WRITE):
        return
    s.commit()
    s.connection(execution_options={WRITE: True})


def has_techniques(s: Session) -> bool:
    """Whether the registry holds any technique to match against (an empty one: `halric registry load`)."""
    return bool(s.scalar(select(func.count()).select_from(Technique)))


def _answer(
    s: Session, req: MatchRequest, *, cache_dir: Path | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer to a validated request without its ambassadors, and what the query log records of it."""
    if req.organisation:
        registry.get_organisation(s, req.organisation)
    if not has_techniques(s):
        raise NotFound(
            "The registry holds no techniques yet, so there is nothing to match against; an administrator "
            "loads them with `halric registry load` (or `halric init`)."
        )
    matcher = get_matcher(s, cache_dir=cache_dir)
    ans = matcher.query(req.question, req.constraints(), top=req.top)
    entry = {
        "language": ans.language, "technique_ids": [r.doc.id for r in ans.results],
        "best_score": ans.results[0].score if ans.results else 0.0, "no_good_match": ans.no_good_match,
        "method": ans.method,
    }  # fmt: skip
    return answer_dict(ans), entry


def record_feedback(
    s: Session, actor: Actor, query_id: int, technique_id: str, helpful: bool, comment: str = ""
) -> MatchFeedback:
    q = s.get(MatchQuery, query_id)
    if q is None:
        raise NotFound(f"No match query with id {query_id}.")
    if technique_id not in (q.technique_ids or []):
        raise InvalidInput("technique_id: that technique was not among the suggestions", field="technique_id")
    if len(comment) > 2000:
        raise InvalidInput("comment: keep it under 2000 characters", field="comment")
    fb = MatchFeedback(query_id=query_id, technique_id=technique_id, helpful=helpful, comment=comment.strip(),
                       user_id=actor.user_id)  # fmt: skip
    s.add(fb)
    s.flush()
    audit.record(
        s, actor, "feedback", "match-query", query_id, {"technique": technique_id, "helpful": helpful}
    )
    return fb


def gaps_report(s: Session, limit: int = 200) -> dict[str, Any]:
    """Questions without a good answer, and suggestions users marked unhelpful."""
    unanswered = s.scalars(
        select(MatchQuery)
        .where(MatchQuery.no_good_match.is_(True))
        .order_by(MatchQuery.id.desc())
        .limit(limit)
    ).all()
    unhelpful = s.execute(
        select(MatchFeedback, MatchQuery)
        .join(MatchQuery, MatchQuery.id == MatchFeedback.query_id)
        .where(MatchFeedback.helpful.is_(False))
        .order_by(MatchFeedback.id.desc())
        .limit(limit)
    ).all()
    counts = dict(
        s.execute(
            select(MatchFeedback.technique_id, func.count())
            .where(MatchFeedback.helpful.is_(False))
            .group_by(MatchFeedback.technique_id)
        ).all()
    )
    total = s.scalar(select(func.count()).select_from(MatchQuery)) or 0
    by_language: dict[str, dict[str, int]] = {}
    for language, no_good, n in s.execute(
        select(MatchQuery.language, MatchQuery.no_good_match, func.count()).group_by(
            MatchQuery.language, MatchQuery.no_good_match
        )
    ).all():
        row = by_language.setdefault(language or "unknown", {"questions": 0, "unanswered": 0})
        row["questions"] += n
        if no_good:
            row["unanswered"] += n
    return {
        "total_questions": total,
        "by_language": dict(sorted(by_language.items())),
        "unanswered": [
            {"id": q.id, "at": q.created_at.isoformat(), "question": q.question, "country": q.country,
             "language": q.language, "best_score": q.best_score} for q in unanswered
        ],
        "unhelpful": [
            {"query_id": q.id, "at": fb.created_at.isoformat(), "question": q.question,
             "technique_id": fb.technique_id, "comment": fb.comment} for fb, q in unhelpful
        ],
        "unhelpful_by_technique": sorted(counts.items(), key=lambda kv: -kv[1]),
    }  # fmt: skip
