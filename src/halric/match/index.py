"""The search index over the registry's techniques: documents, BM25F statistics and passage embeddings."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from halric.match.text import analyse, fold_text

# weight of each field in the lexical score (BM25F-style: weighted term frequencies)
FIELD_WEIGHTS = {"names": 3.0, "lay": 2.0, "answers": 1.0, "summary": 1.0, "definition": 0.7, "samples": 0.5,
                 "instruments": 0.6}  # fmt: skip
K1, B = 1.2, 0.5
# BM25's IDF raised to this power: a rare word that happens to sit in one technique's text (salami, tyres,
# turbine blade) weighs less against the words that say what the person wants to know. With B 0.5 and the
# embedding weight 0.8 it was chosen on 900 first answers (bench/matchmaking_first_answers.py, session 20).
IDF_POWER = 0.5


@dataclass
class TechniqueDoc:
    id: str
    label: str
    alt_labels: list[str]
    panet_iri: str | None
    knowledge: dict[str, Any]
    parents: list[str]
    fields: dict[str, str]
    passages: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # folded multi-word names, for exact-phrase hits
    acronyms: list[str] = field(default_factory=list)  # e.g. SAXS, NMR, cryo-EM: matched case-sensitively


@dataclass
class LexicalIndex:
    docs: list[TechniqueDoc]
    tf: list[dict[str, float]]
    idf: dict[str, float]
    lengths: np.ndarray
    avg_len: float
    vocabulary: set[str]

    def scores(self, query_terms: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs))
        terms = Counter(t for t in query_terms if t in self.idf)
        for i, tf in enumerate(self.tf):
            norm = K1 * (1 - B + B * self.lengths[i] / self.avg_len)
            s = 0.0
            for t, qn in terms.items():
                f = tf.get(t)
                if f:
                    s += self.idf[t] * (f * (K1 + 1)) / (f + norm) * (1 + 0.2 * (qn - 1))
            out[i] = s
        return out


def build_docs(snapshot: dict[str, Any]) -> list[TechniqueDoc]:
    """One document per technique that has lay knowledge or is offered by an instrument."""
    techs = {t["id"]: t for t in snapshot["techniques"]}
    by_tech: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for inst in snapshot["instruments"]:
        for tid in inst["techniques"]:
            by_tech[tid].append(inst)
    docs = []
    for tid, t in sorted(techs.items()):
        k = t.get("knowledge") or {}
        insts = by_tech.get(tid, [])
        if not k and not insts:
            continue
        if is_facet(tid) and not insts:
            continue  # PaNET's facet classes (probe, process, purpose…) are not techniques one books
        names = " ; ".join([t["label"], *t["alt_labels"]])
        inst_text = " ".join(
            f"{i['name']}. {i.get('good_for', '')} {' '.join(i.get('typical_samples') or [])}" for i in insts
        )
        fields = {
            "names": names,
            "lay": " ; ".join(k.get("lay_terms") or []),
            "answers": " ".join(k.get("answers") or []),
            "summary": k.get("summary") or "",
            "definition": t.get("definition") or "",
            "samples": k.get("samples") or "",
            "instruments": inst_text,
        }
        passages = [f"{t['label']}: {', '.join(t['alt_labels'])}" if t["alt_labels"] else t["label"]]
        if k.get("summary"):
            passages.append(k["summary"])
        passages += list(k.get("answers") or [])
        lay = list(k.get("lay_terms") or [])
        passages += [", ".join(lay[i : i + 6]) for i in range(0, len(lay), 6)]
        if not k:  # techniques known only through instruments: their plain-language descriptions
            passages += [i.get("good_for", "") for i in insts[:6] if i.get("good_for")]
        if t.get("definition"):
            passages.append(t["definition"])
        names_all = [t["label"], *t["alt_labels"]]
        phrases = sorted(
            {fold_text(x).strip() for x in names_all if len(x.split()) >= 2 or "-" in x.strip(" -")}
        )
        acronyms = sorted({x.strip() for x in names_all if is_acronym(x.strip())})
        docs.append(
            TechniqueDoc(
                tid,
                t["label"],
                t["alt_labels"],
                t.get("panet_iri"),
                k,
                t.get("parents") or [],
                fields,
                [p for p in passages if p.strip()],
                phrases,
                acronyms,
            )
        )
    return docs


def is_facet(tid: str) -> bool:
    """PaNET ids below 01000 are the ontology's facets (defined by probe, process, purpose…)."""
    return tid.startswith("PaNET") and tid[5:].isdigit() and int(tid[5:]) < 1000


def is_acronym(name: str) -> bool:
    """SAXS, NMR, PET, cryo-EM, HDX-MS, 3D ED: short names with at least two capitals."""
    return 2 <= len(name) <= 10 and " " not in name.strip() and sum(ch.isupper() for ch in name) >= 2


def build_lexical(docs: list[TechniqueDoc], extra: dict[str, dict[str, float]] | None = None) -> LexicalIndex:
    """BM25F statistics; ``extra`` adds weighted tokens per technique id (the languages' technique tokens)."""
    tfs: list[dict[str, float]] = []
    df: Counter[str] = Counter()
    for d in docs:
        tf: dict[str, float] = defaultdict(float)
        for fname, text in d.fields.items():
            w = FIELD_WEIGHTS[fname]
            for tok in analyse(text):
                tf[tok] += w
        for tok, w in ((extra or {}).get(d.id) or {}).items():
            tf[tok] += w
        tfs.append(dict(tf))
        df.update(tf.keys())
    n = len(docs)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) ** IDF_POWER for t, c in df.items()}
    lengths = np.array([sum(tf.values()) for tf in tfs], dtype=float)
    mean = float(lengths.mean()) if len(lengths) else 0.0  # an empty registry has no documents
    return LexicalIndex(docs, tfs, idf, lengths, mean or 1.0, set(df))


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    relevant = {
        "techniques": snapshot["techniques"],
        "instruments": [
            {k: i.get(k) for k in ("id", "name", "techniques", "good_for", "typical_samples")}
            for i in snapshot["instruments"]
        ],
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]
