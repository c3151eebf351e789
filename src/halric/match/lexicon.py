"""The multilingual vocabulary: a question in Swedish, Danish, German or Norwegian → the English words of
the registry's knowledge, plus the techniques it names.

Built once from the registry's ``languages/<code>.yaml`` files (see docs/matchmaking.md):

- ``words``: a word or phrase in the language → English words (``kristallform: crystal form``);
- ``techniques``: per technique, its ``names`` in the language (a question that uses one names the
  technique) and ``terms`` (lay words that point to it), and a lay ``summary`` for the answer.

Matching is on Snowball stems (see ``lang``), longest phrase first. A word the file does not know is
split into known parts when it is a compound (``proteinkomplex`` → protein + komplex, ``frysetørking``
→ fryse + tørking, ``Batteriekathode`` → Batterie + Kathode): a dictionary-driven splitter over the
file's own vocabulary, allowing each language's linking letters (de: s, es, n, en, e, er; sv: s, a, o,
u, e; da/nb: s, e). No compound-splitting library on the package index handles the Scandinavian
languages, and splitting only into words the vocabulary knows is what matching needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from halric.match.lang import VOCABULARY_OF, fold, stem
from halric.match.text import STOP as ENGLISH_STOP
from halric.match.text import stem as en_stem

# endings tried when a word's Snowball stem is not in the vocabulary (definite and plural forms the
# light Scandinavian stemmers keep: läkemedlet, ytan, skiktet, overflaten, cellerne)
ENDINGS = {"sv": ("erna", "arna", "orna", "en", "et", "na", "ar", "or", "er", "n", "t", "s"),
           "da": ("erne", "ene", "en", "et", "er", "e", "s"), "nb": ("ene", "en", "et", "er", "a", "e", "s"),
           "de": ("en", "es", "er", "e", "n", "s")}  # fmt: skip
LINKS = {"de": ("s", "es", "n", "en", "e", "er", "ns"), "sv": ("s", "a", "o", "u", "e"),
         "da": ("s", "e"), "nb": ("s", "e")}  # fmt: skip
MIN_PART = 3
SCANDINAVIAN = ("sv", "da", "nb")
TOKEN_NAME = "@n:"  # the question names a technique in its language
TOKEN_TERM = "@t:"  # a lay word of the language that points to a technique
_DROPPED_E = re.compile(r"^(.*[^aeiouy])([lnr])$")  # folded words: ASCII letters
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_CLAUSE = re.compile(r"[,;:.!?()]+")
# letters that Swedish and German write and Danish and Norwegian never do (evidence for the language detector;
# æ and ø, the other way round, would count twice for Norwegian, whose evidence goes to Bokmål and Nynorsk)
MARK_LETTERS, MARK_LANGUAGES = "äö", ("sv", "de")
MARK_EVIDENCE = 0.75  # per word with such a letter (place names aside), not a share of the words
# German separable-verb particles that can end a clause (bauen … ab, lagern sich … ab, nimmt … auf)
_PARTICLES = frozenset(("ab", "an", "auf", "aus", "bei", "ein", "fest", "fort", "her", "hin", "los", "mit",
                        "nach", "vor", "weg", "zu", "zuruck", "zusammen", "um"))  # fmt: skip


@dataclass
class Entry:
    english: str = ""
    names: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()


@dataclass
class Vocabulary:
    """One language's vocabulary, keyed by tuples of Snowball stems."""

    code: str
    entries: dict[tuple[str, ...], Entry] = field(default_factory=dict)
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # folded form or stem → entry key
    function_words: set[str] = field(default_factory=set)  # folded
    function_written: set[str] = field(default_factory=set)  # as the file spells them
    places: dict[str, str] = field(default_factory=dict)  # folded place word → country
    forms: dict[tuple[str, ...], str] = field(
        default_factory=dict
    )  # one-word key → its shortest written form
    longest: int = 1
    # folding makes some words one (Danish blød 'soft' and blod 'blood', Norwegian måling 'measurement' and
    # maling 'paint', Swedish tråd 'thread' and träd 'tree'): the first spelling of a one-word key, and the
    # other words under that key, told apart by their letters' marks ("~" + their spelling)
    spelled: dict[tuple[str, ...], str] = field(default_factory=dict)
    variants: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    written: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a word as the file spells it → key
    # the stem key of a written word's folded form → (its spelling, the entry it went to), for every word
    by_fold: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)

    def is_function_word(self, folded: str, written: str | None = None) -> bool:
        """A function word, unless the question spells it with marks the file's function word does not
        have (Swedish hår 'hair' is not har 'has', tå 'toe' not ta 'take')."""
        if folded not in self.function_words:
            return False
        return written is None or fold(written) == written or written in self.function_written

    def key(self, text: str) -> tuple[str, ...]:
        return tuple(stem(self.code, w) for w in _folded_words(text))

    def add(self, text: str, *, english: str = "", name: str | None = None, term: str | None = None) -> None:
        k = self.key(text)
        if not k:
            return
        written = text.strip().lower() if len(k) == 1 and len(_WORD.findall(text)) == 1 else None
        if len(k) == 1 and k in self.forms and self._other_word(k, _folded_words(text)[0], english):
            # Snowball gives one stem to different words (Swedish stark 'strong', stärkelse 'starch';
            # Norwegian lever 'liver', levende 'living'): the second keeps its own entry, reached by
            # its written forms only
            base, k = k, ("=" + _folded_words(text)[0],)
            if written and base in self.spelled and _marks_clash(self.spelled[base], written):
                self._add_variant(base, written, k)  # Norwegian røtter 'roots' under rotte 'rat'
        elif written and english:
            k = self._by_spelling(k, written, english)
        if written:
            self.spelled.setdefault(k, written)
            self.written.setdefault(written, k)
            self.by_fold.setdefault(self.key(text), []).append((written, k))
        e = self.entries.setdefault(k, Entry())
        if english and english not in e.english:
            e.english = f"{e.english} {english}".strip()
        if name and name not in e.names:
            e.names = (*e.names, name)
        if term and term not in e.terms:
            e.terms = (*e.terms, term)
        self.longest = max(self.longest, len(k))
        if len(k) == 1:
            folded = _folded_words(text)[0]
            if k not in self.forms or len(folded) < len(self.forms[k]):
                self.forms[k] = folded
            for form in (folded, k[0]):
                if len(form) >= MIN_PART:
                    self.parts.setdefault(form, k)

    def _other_word(self, k: tuple[str, ...], folded: str, english: str) -> bool:
        """Whether a written form that shares an entry's stem is another word, not an inflection of it."""
        form = self.forms[k]
        if folded == form:
            return False
        if not _agree(folded, form, self.code):
            return True
        # forms close enough to be one word, but translated with unrelated English (lever 'liver',
        # levende 'living'; not reinigen 'purify', Reinigung 'purification'): two words
        known = self.entries[k].english.split()
        return bool(english and known) and not any(_related(a, b) for a in english.split() for b in known)

    def _by_spelling(self, k: tuple[str, ...], written: str, english: str) -> tuple[str, ...]:
        """The entry for a word whose key an unrelated word of other marks already holds (blod, blodet under
        blød's key): its own entry, shared by the forms spelled as it is."""
        first = self.spelled.get(k)
        if first is None or not _marks_clash(first, written):
            return k
        for spelling, other in self.variants.get(k, ()):
            if not _marks_clash(spelling, written):
                return other
        known = self.entries[k].english.split() if k in self.entries else []
        if not known or any(_related(a, b) for a in english.split() for b in known):
            return k  # the same word, spelled with or without the marks
        other = ("~" + written,)
        self._add_variant(k, written, other)
        return other

    def _add_variant(self, k: tuple[str, ...], written: str, other: tuple[str, ...]) -> None:
        options = self.variants.setdefault(k, [])
        if not any(not _marks_clash(spelling, written) for spelling, _ in options):
            options.append((written, other))

    def by_spelling(self, k: tuple[str, ...], written: str | None) -> tuple[str, ...] | None:
        """Of the words under one key, the one the question's written word (lower case) is spelled as; None
        when the word is written with other marks than every word under the key (Swedish håller 'keeps' is not
        häller 'pours'). A word written without marks still finds a marked one (haller, häller)."""
        first = self.spelled.get(k)
        if not written or first is None or not _marks_clash(first, written):
            return k
        # the words whose folded forms share this word's stem, spelled with the question's marks
        # (Swedish träden 'the trees' found tråden 'the thread' by its folded form)
        options = [*self.variants.get(k, ()), *self.by_fold.get(self.key(written), ())]
        fits = [(spelling, other) for spelling, other in options if not _marks_clash(spelling, written)]
        if not fits:
            return None if _other_marks(first, written) else k
        return max(fits, key=lambda f: _common_prefix(f[0], written))[1]

    def lookup_word(self, word: str) -> tuple[str, ...] | None:
        """The entry key of one folded word: its stem, its form, or its stem without a definite/plural ending."""
        if word in self.parts:
            return self.parts[word]
        bases = [
            word[: -len(e)]
            for e in ENDINGS.get(self.code, ())
            if word.endswith(e) and len(word) - len(e) >= MIN_PART
        ]
        for base in bases:  # a written form with a definite or plural ending (stärkelsen → stärkelse)
            if base in self.parts:
                return self.parts[base]
        k = (stem(self.code, word),)
        form = self.forms.get(k)
        # a stem match counts only when the word and the entry's written form agree up to an ending
        # (Snowball gives 'stark' for both starkt 'strongly' and stärkelse 'starch')
        if form is not None and _agree(word, form, self.code, strict=True):
            return k
        for base in bases:
            cand = stem(self.code, base)
            if cand in self.parts:
                return self.parts[cand]
        if self.code in SCANDINAVIAN:
            # nouns in -el, -er, -en lose that e before an ending (muskel → musklerne, partikel →
            # partiklar, fiber → fibrer, vatten → vattnet): put it back and look again
            for base in (word, *bases):
                m = _DROPPED_E.match(base)
                if m and len(base) >= MIN_PART + 1 and (cand := m[1] + "e" + m[2]) in self.parts:
                    return self.parts[cand]
        return None

    def lookup_part(self, part: str, final: bool) -> tuple[str, ...] | None:
        if not final:
            return self.parts.get(part)
        return self.lookup_word(part)


def _first_difference(a: str, b: str) -> tuple[str, str] | None:
    """The first pair of letters where two words differ (None when one begins the other)."""
    return next(((x, y) for x, y in zip(a, b, strict=False) if x != y), None)


def _marks_clash(a: str, b: str) -> bool:
    """Whether two lower-case words part, where they first differ, on one letter with other marks (blød and
    blodet at ø/o, måling and maling at å/a): two words that folding would make one."""
    d = _first_difference(a, b)
    return d is not None and bool(fx := fold(d[0])) and fx == fold(d[1])


_SAME_LETTER = {"ø": "ö", "æ": "ä"}  # one letter, spelled the Danish-Norwegian or the Swedish-German way


def _other_marks(spelled: str, written: str) -> bool:
    """Whether two words first differ on two letters that both carry marks, and not one letter spelled two
    ways (ø/ö, æ/ä): håller 'keeps' against häller 'pours'. A word typed without marks (haller) can still be
    the marked one, and a German plural with an umlaut (Gläser) the word without it."""
    d = _first_difference(spelled, written)
    if d is None:
        return False
    x, y = d
    return fold(x) != x and fold(y) != y and _SAME_LETTER.get(x, x) != _SAME_LETTER.get(y, y)


def _agree(word: str, form: str, code: str, *, strict: bool = False) -> bool:
    """Whether two written forms are one word up to their endings (kristallerna, kristall; not stärkelse, stark).

    ``strict`` (a question's word against the vocabulary): what the word adds must be a known ending or a
    single letter (Swedish bildas 'is formed' is not bild 'image', Norwegian levende 'living' not lever 'liver').
    """
    p = _common_prefix(word, form)
    rest = word[p:]
    if len(form) - p > 3:
        return False
    if strict:
        return len(rest) <= 1 or rest in ENDINGS.get(code, ())
    return len(rest) <= 3 or rest in ENDINGS.get(code, ())


_EN_SUFFIXES = ("", "s", "es", "ed", "d", "ing", "ic", "al", "ical", "ation", "ion", "y", "ity")


def _related(a: str, b: str) -> bool:
    """Whether two English words are one word family (atom, atomic; purify, purification; not live, liver)."""
    if en_stem(a) == en_stem(b):
        return True
    p = _common_prefix(a, b)
    return p >= 5 or (p >= 4 and a[p:] in _EN_SUFFIXES and b[p:] in _EN_SUFFIXES)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _join_separable(words: list[tuple[str, str]], v: Vocabulary) -> list[tuple[str, str]]:
    """A German verb whose particle ends the clause, joined again: *bauen … Erdöl … ab* → *abbauen*.

    Only when the vocabulary knows the joined verb (it means something else than the bare one: *lagern*
    'store', *ablagern* 'deposit'; *nehmen* 'take', *aufnehmen* 'take up'); the nearest such verb wins.
    """
    if len(words) < 2 or words[-1][0] not in _PARTICLES:
        return words
    particle = words[-1][0]
    for i in range(len(words) - 2, -1, -1):
        w, orig = words[i]
        if w in _PARTICLES:  # (a function word may be the verb: nehmen … auf, sieht … aus)
            continue
        forms = [particle + w]
        if w.endswith("t"):  # baut → abbauen, lagert → ablagern
            forms += [particle + w[:-1] + "en", particle + w[:-1] + "n"]
        for joined in forms:
            if v.lookup_word(joined) is not None:
                return [*words[:i], (joined, f"{orig} … {words[-1][1]}"), *words[i + 1 : -1]]
    return words


def _folded_words(text: str) -> list[str]:
    """Folded words; a hyphen separates words (NMR-spektrometer → nmr, spektrometer) as in questions."""
    return [w for x in _WORD.findall(text) for w in fold(x).replace("'", "").split("-") if w]


@dataclass
class Translation:
    """What a question says, in the terms of the English index."""

    language: str
    english: str  # English words for the lexical index and the embedding model
    tokens: list[str]  # technique tokens (@n:<id>, @t:<id>)
    named: set[str]  # techniques the question names in its language
    surface: dict[str, str]  # a word of the English side (or a token) → the question's word
    understood: int = 0
    unknown: list[str] = field(default_factory=list)


class Lexicon:
    def __init__(self, vocabularies: dict[str, Vocabulary], english_words: set[str]) -> None:
        self.vocabularies = vocabularies
        self.english_words = english_words  # English stems of the index: words that pass through as they are
        self.place_words = {name for v in vocabularies.values() for name in v.places}  # folded, any language
        self._split = lru_cache(maxsize=20_000)(self._split_uncached)

    def __getstate__(self) -> dict[str, object]:
        return {"vocabularies": self.vocabularies, "english_words": self.english_words}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["vocabularies"], state["english_words"])  # type: ignore[misc, arg-type]

    @classmethod
    def from_files(cls, files: dict[str, object], english_words: set[str]) -> Lexicon:
        vocabs: dict[str, Vocabulary] = {}
        for code, lf in files.items():
            v = Vocabulary(code)
            for word, english in lf.words.items():  # type: ignore[attr-defined]
                v.add(word, english=english)
            for tid, t in lf.techniques.items():  # type: ignore[attr-defined]
                for n in t.names:
                    v.add(n, name=tid)
                for term in t.terms:
                    v.add(term, term=tid)
            v.function_words = {fold(w) for w in lf.function_words}  # type: ignore[attr-defined]
            v.function_written = {w.lower() for w in lf.function_words}  # type: ignore[attr-defined]
            for country, names in lf.places.items():  # type: ignore[attr-defined]
                for n in names:
                    v.places[" ".join(_folded_words(n))] = country
            vocabs[code] = v
        return cls(vocabs, english_words)

    # --- evidence for the language detector ----------------------------------------------------------

    def evidence(self, question: str) -> dict[str, float]:
        """Per language: the share of the question's words that only that language's file knows (0..1),
        plus the evidence of the question's letters (0..1).

        Function words count double. Words that several files know (*protein*, *har*, *i*) say nothing
        about which of them the question is in, so they do not count. Letters count too, whatever the words:
        *ä* and *ö* are written in Swedish and German, never in Danish or Norwegian (*domänerna* and *för* are
        Swedish even where the detector hears Nynorsk); each word that has one, place names aside (*Malmö*
        in a Danish question), adds ``MARK_EVIDENCE`` to those two.
        """
        ws = [w for w in _folded_words(question) if not w.isdigit()]
        if not ws:
            return {}
        score = dict.fromkeys([*self.vocabularies, "en"], 0.0)
        marked = sum(  # Malmö, Göteborg, Köln in any language's question do not count
            any(ch in w for ch in MARK_LETTERS) and fold(w) not in self.place_words
            for w in _WORD.findall(question.lower())
        )
        marks = {code: MARK_EVIDENCE * marked if code in MARK_LANGUAGES else 0.0 for code in score}
        for w in ws:
            known = {}
            if w in ENGLISH_STOP:
                known["en"] = 2.0
            elif en_stem(w) in self.english_words:
                known["en"] = 1.0
            for code, v in self.vocabularies.items():
                if w in v.function_words:
                    known[code] = 2.0
                elif v.lookup_word(w) is not None:
                    known[code] = 1.0
            if len(known) == 1:
                code, weight = known.popitem()
                score[code] += weight
        return {code: min(1.0, x / len(ws)) + min(1.0, marks[code]) for code, x in score.items()}

    def places(self, question: str) -> set[str]:
        """Countries named in the question in any of the languages (Köpenhamn, i Norge, in Dänemark)."""
        q = " " + " ".join(_folded_words(question)) + " "
        found = set()
        for v in self.vocabularies.values():
            for name, country in v.places.items():
                if f" {name} " in q:
                    found.add(country)
        return found

    # --- translation -------------------------------------------------------------------------------------

    def translate(self, question: str, language: str) -> Translation:
        code = VOCABULARY_OF.get(language, language)
        # a Scandinavian question may borrow from its neighbours' vocabularies; German stands alone
        siblings = [c for c in SCANDINAVIAN if c != code] if code in SCANDINAVIAN else []
        order = [c for c in (code, *siblings) if c in self.vocabularies]
        pairs: list[tuple[str, str]] = []
        for clause in _CLAUSE.split(question):
            words: list[tuple[str, str]] = []
            for w in _WORD.findall(clause):
                f = fold(w).replace("'", "")
                if "-" in f:  # 3D-bild, NMR-spektrometer, SAXS-mätning: each part, and the joined word
                    words += [(p, w) for p in f.split("-") if p]
                elif f:
                    words.append((f, w))
            if code == "de" and code in self.vocabularies:
                words = _join_separable(words, self.vocabularies[code])
            pairs += words
        english: list[str] = []
        tokens: list[str] = []
        named: set[str] = set()
        surface: dict[str, str] = {}
        unknown: list[str] = []
        understood = 0

        def emit(entry: Entry, shown: str) -> None:
            if entry.english:
                english.append(entry.english)
                for ew in _folded_words(entry.english):
                    surface.setdefault(ew, shown)
            for tid in entry.names:
                tokens.append(TOKEN_NAME + tid)
                named.add(tid)
                surface.setdefault(TOKEN_NAME + tid, shown)
            for tid in entry.terms:
                tokens.append(TOKEN_TERM + tid)
                surface.setdefault(TOKEN_TERM + tid, shown)

        i = 0
        while i < len(pairs):
            done = False
            for c in order:  # phrases first (longest), in the question's language, then its neighbours'
                v = self.vocabularies[c]
                for n in range(min(v.longest, len(pairs) - i), 1, -1):
                    e = v.entries.get(tuple(stem(c, p) for p, _ in pairs[i : i + n]))
                    if e is not None:
                        emit(e, " ".join(dict.fromkeys(o for _, o in pairs[i : i + n])))
                        understood += n
                        i += n
                        done = True
                        break
                if done:
                    break
            if done:
                continue
            w = pairs[i][0]
            written = pairs[i][1].lower() if fold(pairs[i][1]) == w else None
            own = self.vocabularies.get(code)
            if (own is not None and own.is_function_word(w, written)) or (
                # a neighbour's function word, unless the question's language spells it as a word of
                # its own (Swedish seg 'chewy' is not Norwegian seg 'itself')
                any(self.vocabularies[c].is_function_word(w, written) for c in order if c != code)
                and not (own is not None and written is not None and written in own.written)
            ):
                i += 1
                continue
            for c in order:
                v = self.vocabularies[c]
                # a neighbour's vocabulary only by its written forms: stems make false friends
                # (Swedish 'koppar' copper and Norwegian 'kopp' cup share the stem 'kopp')
                k1 = v.written.get(written) if written else None  # spelled as the file spells it
                if k1 is None:
                    k1 = v.lookup_word(w) if c == code else v.parts.get(w)
                    k1 = v.by_spelling(k1, written) if k1 is not None else None
                if k1 is not None:
                    emit(self.vocabularies[c].entries[k1], pairs[i][1])
                    understood += 1
                    i += 1
                    done = True
                    break
            if done:
                continue
            w, orig = pairs[i]
            i += 1
            if en_stem(w) in self.english_words or w in self.english_words:
                english.append(w)  # SAXS, NMR, protein, polymer: the same word in English
                surface.setdefault(w, orig)
                understood += 1
                continue
            split = None
            low = orig.lower()
            spelled = low if len(low) == len(w) else None  # the parts' own letters, where folding kept places
            for c in order:
                split = self._split(c, w, spelled)
                if split:
                    for k in split:
                        emit(self.vocabularies[c].entries[k], orig)
                    understood += 1
                    break
            if not split and not w.isdigit():
                unknown.append(orig)
        return Translation(language, " ".join(english), tokens, named, surface, understood, unknown)

    def split(self, word: str, language: str) -> list[str]:
        """The known parts of a compound, as the vocabulary's keys joined ('proteinkomplex' → ['protein', 'komplex'])."""
        code = VOCABULARY_OF.get(language, language)
        parts = self._split(code, fold(word))
        return [" ".join(k) for k in parts] if parts else []

    def _split_uncached(
        self, code: str, word: str, written: str | None = None
    ) -> tuple[tuple[str, ...], ...] | None:
        """Fewest known parts covering the whole word (each ≥ 3 letters, linking letters between them).
        ``written``: the word as the question spells it (lower case, one letter per folded letter), so that
        a part is the word its marks say (Danish blodtryk is blod 'blood', not blød 'soft')."""
        v = self.vocabularies.get(code)
        if v is None or len(word) < 2 * MIN_PART:
            return None
        n = len(word)
        links = LINKS.get(code, ())
        best: list[tuple[int, tuple[tuple[str, ...], ...]] | None] = [None] * (n + 1)
        best[n] = (0, ())
        for i in range(n - MIN_PART, -1, -1):
            cands = []
            for j in range(i + MIN_PART, n + 1 if i else n - MIN_PART + 1):  # the whole word is no part
                k = v.lookup_part(word[i:j], final=j == n)
                if k is not None and written is not None:
                    k = v.by_spelling(k, written[i:j])
                if k is None:
                    continue
                nexts = [j] + [j + len(lk) for lk in links if word.startswith(lk, j) and j + len(lk) < n]
                for nj in nexts:
                    rest = best[nj]
                    if rest is not None:
                        cands.append((rest[0] + 1, (k, *rest[1])))
            if cands:
                best[i] = min(cands, key=lambda c: (c[0], -len(c[1][0][0]) if c[1] else 0))
        found = best[0]
        return found[1] if found and found[0] >= 2 else None
