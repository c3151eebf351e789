"""Which language a question is in, and the per-language word normalisation matchmaking uses.

Languages: English (en), Swedish (sv), Danish (da), German (de) and Norwegian (nb; Nynorsk questions
are detected as nn and use the Norwegian vocabulary). Detection combines the maintained detector
`lingua-language-detector` (low-accuracy mode: its trigram models load in about a second, the
high-accuracy models take 14 s on this machine) with evidence from the hub's own vocabulary files:
the words of a question that each language's file knows, and that language's function words. The
second part settles what short texts leave open, Danish against Norwegian above all.

Stemming is Snowball (`pystemmer`) for each language, applied after folding letters to ASCII
(æ→ae, ø→o, å→a, ä→a, ö→o, ü→u, ß→ss), so a question typed without Nordic letters still matches.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

LANGUAGES = ("en", "sv", "da", "de", "nb")
# what a detected code uses: Nynorsk questions use the Norwegian vocabulary and answer texts
VOCABULARY_OF = {"en": "en", "sv": "sv", "da": "da", "de": "de", "nb": "nb", "nn": "nb"}
_SNOWBALL = {"en": "english", "sv": "swedish", "da": "danish", "de": "german", "nb": "norwegian"}
_LINGUA_NAMES = {"ENGLISH": "en", "SWEDISH": "sv", "DANISH": "da", "GERMAN": "de", "BOKMAL": "nb",
                 "NYNORSK": "nn"}  # fmt: skip

EVIDENCE_WEIGHT = 1.5  # the vocabulary's say against the detector's confidence (which sums to 1)
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e",
                       "Æ": "ae", "Ø": "o", "Å": "a", "Ä": "a", "Ö": "o", "Ü": "u"})  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def fold(text: str) -> str:
    """Lower-case ASCII: Nordic and German letters to their usual plain spellings, other accents dropped."""
    text = text.lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return text.replace("x-ray", "xray").replace("x ray", "xray")


def words(text: str) -> list[str]:
    """Folded words of a text; hyphenated words give their parts and the joined form (3D-bild → 3d, bild, 3dbild)."""
    out: list[str] = []
    for w in _WORD.findall(fold(text)):
        if "-" in w:
            parts = [p for p in w.split("-") if p]
            out.extend(parts)
            if len(parts) > 1:
                out.append("".join(parts))
        else:
            out.append(w.replace("'", ""))
    return out


_stemmers: dict[str, Any] = {}
_stem_lock = threading.Lock()


def _stemmer(lang: str) -> Any:
    s = _stemmers.get(lang)
    if s is None:
        import Stemmer

        with _stem_lock:
            s = _stemmers.setdefault(lang, Stemmer.Stemmer(_SNOWBALL[lang]))
    return s


@lru_cache(maxsize=100_000)
def stem(lang: str, word: str) -> str:
    """Snowball stem of a folded word in a language (vocabulary code: en, sv, da, de, nb)."""
    if len(word) <= 3 or word.isdigit():
        return word
    return _stemmer(lang).stemWord(word)


# --- detection ---------------------------------------------------------------------------------------

_detector: Any = None
_detector_lock = threading.Lock()


def warm_detector() -> None:
    """Load the detector's language models now (about a second) rather than on the first question."""
    _detect_lingua("protein")


def _lingua() -> Any:
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                langs = [Language.ENGLISH, Language.SWEDISH, Language.DANISH, Language.GERMAN,
                         Language.BOKMAL, Language.NYNORSK]  # fmt: skip
                _detector = LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()
    return _detector


def _detect_lingua(text: str) -> dict[str, float]:
    values = _lingua().compute_language_confidence_values(text)
    return {_LINGUA_NAMES[v.language.name]: float(v.value) for v in values}


# words only one written Norwegian uses (question words, negation, pronouns, everyday forms)
_NYNORSK = frozenset(["kva", "korleis", "kven", "kvifor", "kvar", "ikkje", "eit", "eg", "dei", "frå", "berre", "finst", "noko", "nokre", "mykje", "sjå", "vere", "vore", "vart", "kjem", "gjer"])  # fmt: skip
_BOKMAL = frozenset(["hva", "hvordan", "hvem", "hvorfor", "hvor", "ikke", "et", "jeg", "de", "fra", "bare", "finnes", "noe", "noen", "mye", "se", "være", "vært", "ble", "kommer", "gjør"])  # fmt: skip


@dataclass
class Detection:
    language: str  # en, sv, da, de, nb or nn
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def vocabulary(self) -> str:
        return VOCABULARY_OF[self.language]


def detect(text: str, evidence: dict[str, float] | None = None) -> Detection:
    """The language of a question: the detector's confidences plus the hub's vocabulary evidence.

    ``evidence`` (language → 0..2: the share of the question's words that language's vocabulary file
    knows as its own, plus up to 1 for letters only some languages write) comes from the lexicon; without
    it, the detector decides alone.
    """
    scores = _detect_lingua(text) if text.strip() else {"en": 1.0}
    combined = dict(scores)
    for lang, share in (evidence or {}).items():
        for code in [c for c, v in VOCABULARY_OF.items() if v == lang]:
            combined[code] = combined.get(code, 0.0) + EVIDENCE_WEIGHT * share
    if not any(v > 0 for v in combined.values()):
        # nothing to tell by ("a", "ok", a typo): English, the registry's own language, with no confidence
        # (max() over all zeros would pick whichever language came first)
        return Detection("en", 0.0, {k: round(v, 3) for k, v in combined.items()})
    # Norwegian first as one language (the detector splits its confidence between Bokmål and Nynorsk),
    # then which of the two
    groups = {c: v for c, v in combined.items() if c not in ("nb", "nn")}
    groups["no"] = combined.get("nb", 0.0) + combined.get("nn", 0.0)
    best = max(groups, key=lambda c: groups[c])
    if best == "no":
        best = "nn" if combined.get("nn", 0.0) > combined.get("nb", 0.0) else "nb"
    if best in ("nb", "nn"):  # the detector's low-accuracy models mix them up; their own spellings do not
        toks = set(re.findall(r"\w+", text.lower()))  # unfolded: nn 'vart' (became) is not nb 'vårt' (our)
        nn, nb = len(toks & _NYNORSK), len(toks & _BOKMAL)
        if nn != nb:
            best = "nn" if nn > nb else "nb"
    total = sum(combined.values()) or 1.0
    share = groups["no"] if best in ("nb", "nn") else combined[best]
    return Detection(best, round(share / total, 3), {k: round(v, 3) for k, v in combined.items()})


def function_words_share(tokens: Iterable[str], function_words: set[str]) -> float:
    toks = list(tokens)
    return sum(t in function_words for t in toks) / len(toks) if toks else 0.0
