"""Text normalisation for lexical matching: tokens, light stemming, stop words, typo correction."""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "want",
        "wants",
        "need",
        "needs",
        "like",
        "would",
        "also",
        "use",
        "using",
        "used",
        "get",
        "see",
        "able",
        "know",
        "tell",
        "find",
        "measure",
        "study",
        "look",
        "looking",
        "whether",
        "s",
        "t",
        "our",
        "us",
        "company",
        "group",
        "lab",
        "team",
        "department",
        "clinic",
        "clinical",
        "hospital",
        "project",
        "question",
        "help",
        "please",
        "ideally",
        "something",
        "things",
        "thing",
        "different",
        "many",
        "much",
        "one",
        "two",
        "three",
        "several",
        "new",
        "very",
        "well",
    ]
)

# British/American and common lay spellings folded to one form before stemming
_FOLD = {
    "tumour": "tumor", "tumours": "tumors", "colour": "color", "haemoglobin": "hemoglobin",
    "crystallisation": "crystallization", "crystallise": "crystallize", "crystallised": "crystallized",
    "analyse": "analyze", "analysed": "analyzed", "characterise": "characterize", "characterisation": "characterization",
    "fibre": "fiber", "fibres": "fibers", "aluminium": "aluminum", "sulphur": "sulfur", "oestrogen": "estrogen",
    "behaviour": "behavior", "metre": "meter", "metres": "meters", "nanometre": "nanometer",
    "nanometres": "nanometers", "micrometre": "micrometer", "micrometres": "micrometers", "litre": "liter",
    "ageing": "aging", "haem": "heme", "foetal": "fetal", "oesophagus": "esophagus", "anaemia": "anemia",
}  # fmt: skip

_SUFFIXES = ("ational", "ization", "isation", "fulness", "ousness", "iveness", "ations", "ation", "ments", "ment",
             "ities", "ity", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "s", "ly", "al")  # fmt: skip


def fold_text(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("x-ray", "xray").replace("x ray", "xray")
    return text


@lru_cache(maxsize=50000)
def stem(word: str) -> str:
    word = _FOLD.get(word, word)
    if len(word) <= 4 or word.isdigit():
        return word
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 4:
            word = word[: -len(suf)]
            break
    if word.endswith("e") and len(word) > 5:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case words (hyphenated parts split too), before stemming."""
    out: list[str] = []
    for w in _WORD.findall(fold_text(text)):
        if "-" in w:
            parts = [p for p in w.split("-") if p]
            out.extend(parts)
            out.append(w.replace("-", ""))
        else:
            out.append(w.replace("'", ""))
    return out


def tokens(text: str) -> list[str]:
    """Stemmed content tokens of a text."""
    return [stem(w) for w in words(text) if w not in STOP and len(w) > 1]


def bigrams(toks: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in itertools.pairwise(toks)]


def analyse(text: str) -> list[str]:
    """Tokens plus adjacent-token bigrams (so 'phase contrast' outranks 'phase' and 'contrast' apart)."""
    toks = tokens(text)
    return toks + bigrams(toks)


def first_sentence(summary: str | None) -> str:
    """A summary's first sentence, ending with a full stop ("" without a summary): what the why sentence
    quotes, and what the results page leaves out of the why because it shows the summary below it."""
    return summary.split(". ")[0].rstrip(".") + "." if summary else ""


# Abbreviations that name a disease in a question about patients, where the same letters also name a technique
# ("patients with MS" is multiple sclerosis, "peptides measured with MS" mass spectrometry): written out only
# right after "patients with", "diagnosed with", "lider av"… or right before "patients"; elsewhere the letters
# keep naming the technique.
CONDITIONS = {"MS": "multiple sclerosis"}
_WHO = (r"patient\w*|pasient\w*|people|persons?|personer|Menschen|child\w*|barn\w*|Kinder\w*|wom[ae]n|"
        r"kvinn\w*|kvind\w*|Frauen|Männer|diagnos\w*|lider|leiden|suffer\w*")  # fmt: skip
_CONDITION = re.compile(
    rf"\b(?P<pre>(?:{_WHO})\s+(?:with|med|mit|af|av|an|from))\s+(?P<a>{'|'.join(CONDITIONS)})\b"
    rf"|\b(?P<b>{'|'.join(CONDITIONS)})(?=[\s-](?:patient|pasient))",
    re.IGNORECASE,
)


def expand_conditions(question: str) -> str:
    """The question with a disease abbreviation written out where it stands for the patients' disease."""

    def spell(m: re.Match[str]) -> str:
        a = m.group("a") or m.group("b")
        if a != a.upper():  # "ms" or "Ms" in running text is not the abbreviation
            return m.group(0)
        return f"{m.group('pre')} {CONDITIONS[a]}" if m.group("a") else CONDITIONS[a]

    return _CONDITION.sub(spell, question)
