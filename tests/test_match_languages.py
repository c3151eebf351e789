"""Matchmaking in Swedish, Danish, German and Norwegian: language detection, compound splitting, answers in
the asker's language with an honest English fallback, the country named in the question, the no-match path
logged per language, the language files' validation, and the start-up time of `halric match`.

The questions here are written for these tests (not the development or evaluation sets).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.accounts import bearer, signin

# --- no database: detection, normalisation, splitting ------------------------------------------------------


@pytest.fixture(scope="module")
def lexicon():
    from halric.match.lexicon import Lexicon
    from halric.registry.loader import read_languages

    return Lexicon.from_files(read_languages(), {"saxs", "nmr", "protein"})


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Hur stor är skillnaden mellan våra två vacciner efter ett års förvaring?", "sv"),
        ("Hvordan kan vi se, om vores kapsler er blevet fugtige indeni?", "da"),
        ("Wie können wir die Poren in unserem Keramikfilter sichtbar machen?", "de"),
        ("Hvordan kan vi finne ut om pulveret vårt har endret seg etter lagring?", "nb"),
        ("Korleis kan vi sjå kva som skjer inne i batteriet når det blir lada?", "nn"),
        ("How can we see the pores in our ceramic filter?", "en"),
        ("SAXS av våra antikroppar", "sv"),
        # letters only some languages write: the detector alone hears Nynorsk and Bokmål in these two;
        # ä and ö are never written in Norwegian
        ("Kan vi se de magnetiska domänerna i en tunn film som vi har tillverkat för datalagring?", "sv"),
        ("Kan man se om en diamant är syntetisk eller har bildats i naturen?", "sv"),
        # 'helst' is Norwegian and Danish too, not only Swedish
        ("Hvordan ser det ut inni et vepsebol? Helst i Norge.", "nb"),
        # a Swedish place name with ö does not make a Danish or German question Swedish
        ("Kan vi måle blodstrømmen i hjernen, helst i Malmö?", "da"),
        ("Wir möchten die Größe der Körner messen, am liebsten in Malmö.", "de"),
    ],
)
def test_language_is_detected(lexicon, question, language):
    from halric.match import lang

    det = lang.detect(question, lexicon.evidence(question))
    assert det.language == language, det.scores


@pytest.mark.parametrize("question", ["a", "ok", "x", "?"])
def test_a_question_with_nothing_to_tell_its_language_by_is_english(lexicon, question):
    """A one-letter or unknown short question gives the detector nothing: English (the registry's own
    language) with confidence 0, not whichever language happens to come first."""
    from halric.match import lang

    det = lang.detect(question, lexicon.evidence(question))
    assert det.language == "en", det
    assert det.confidence == 0.0


def test_folding_keeps_nordic_letters_apart_from_nothing():
    from halric.match.lang import fold, stem

    assert fold("Frysetørking") == "frysetorking"
    assert fold("Æble Ångström Straße") == "aeble angstrom strasse"
    # typed without Nordic letters, a word still meets its stem
    assert stem("sv", fold("lösningar")) == stem("sv", "losningar")


@pytest.mark.parametrize(
    ("word", "language", "english"),
    [
        ("Proteinkomplexe", "de", {"protein", "complex"}),
        ("Batteriekathoden", "de", {"battery", "cathode"}),
        ("kontrastmiddel", "da", {"contrast", "agent"}),
        ("frysetørking", "nb", {"freeze", "drying"}),
        ("röntgenkontrastmedel", "sv", {"xray", "contrast", "agent"}),
    ],
)
def test_compounds_are_split_into_known_words(lexicon, word, language, english):
    parts = lexicon.split(word, language)
    assert len(parts) >= 2, parts
    tr = lexicon.translate(word, language)
    assert english <= set(tr.english.lower().replace("-", " ").split()), tr.english


@pytest.mark.parametrize(
    ("question", "language", "english"),
    [
        ("Vi har en prøve af vores spildevand", "da", {"sample", "waste", "water"}),
        ("Vi har en prøve av avløpsvann", "nb", {"sample", "waste", "water"}),
        ("Hvordan ser mitokondrierne ud?", "da", {"mitochondria"}),
        ("Hvilke molekyler er der i spildevandsprøverne?", "da", {"molecule", "waste", "sample"}),
        ("Wie sehen die Mitochondrien aus?", "de", {"mitochondria"}),
        ("Hur torkar betongen?", "sv", {"concrete", "drying"}),
    ],
)
def test_everyday_words_and_sample_are_understood(lexicon, question, language, english):
    """'prøve' is a sample in a research question (it was dropped as the verb 'to try'), and everyday
    words for organelles, waste water and drying reach the knowledge's English words, inflected too."""
    tr = lexicon.translate(question, language)
    assert english <= set(tr.english.lower().split()), (tr.english, tr.unknown)


def test_unknown_words_are_not_forced_into_parts(lexicon):
    assert lexicon.split("xyzzyplugh", "de") == []
    assert lexicon.split("ab", "sv") == []


def test_a_stem_collision_does_not_change_meaning(lexicon):
    """Snowball stems 'starkt' (strongly) like 'stärkelse' (starch); the written form decides."""
    tr = lexicon.translate("hur starkt binder den", "sv")
    assert "starch" not in tr.english
    assert "strong" in tr.english.split()
    # both words in the vocabulary: each keeps its own meaning, inflected forms too
    for question in ("stärkelsen i degen", "hur förändras stärkelse när den bakas"):
        tr = lexicon.translate(question, "sv")
        assert "starch" in tr.english.split() and "strong" not in tr.english.split(), tr.english
    assert {"dough", "baking"} <= set(lexicon.translate("degen bakas", "sv").english.split())


def test_a_word_close_to_another_keeps_its_meaning(lexicon):
    """Forms a letter or three apart can be two words: levende 'living' is not lever 'liver' (nb), bildas
    'is formed' not bild 'image' (sv), måte 'way' not mat 'food'; inflections stay one word."""
    living = lexicon.translate("immuncellene i levende vev", "nb").english.split()
    assert "living" in living and "liver" not in living
    assert "liver" in lexicon.translate("celler fra leveren", "nb").english.split()
    formed = lexicon.translate("vilka ämnen bildas", "sv").english.split()
    assert "image" not in formed and "formed" in formed
    assert "food" not in lexicon.translate("på en trygg måte", "nb").english.split()
    # one word family keeps one entry: German reinigen/Reinigung, Swedish atom/atomär
    assert "purification" in lexicon.translate("wie wir es reinigen", "de").english.split()
    assert "image" in lexicon.translate("bilderna från mikroskopet", "sv").english.split()


@pytest.mark.parametrize(
    ("question", "language", "meant", "not_meant"),
    [
        ("Vi trenger en måling av fettet i laksen", "nb", "measurement", "paint"),
        ("Malingen på båten flasser", "nb", "paint", "measurement"),
        ("en måling af maling", "da", "measurement", None),
        ("Hvordan binder blodet ilt hos fisk?", "da", "blood", "soft"),
        ("røttene til treet", "nb", "root", "rat"),
        ("rottene i kjelleren", "nb", "rat", "root"),
        ("löven på träden", "sv", "tree", "thread"),
    ],
)
def test_words_that_folding_makes_one_keep_their_own_meaning(lexicon, question, language, meant, not_meant):
    """Folding makes måling 'measurement' and maling 'paint' (nb, da), blod 'blood' and blød 'soft' (da),
    røtter 'roots' and rotter 'rats' (nb), träd 'tree' and tråd 'thread' (sv) one word; the question's own
    letters decide, for inflected forms the file does not list too (blodet, røttene, rottene, träden)."""
    english = lexicon.translate(question, language).english.split()
    assert meant in english, english
    if not_meant:
        assert not_meant not in english, english


def test_a_function_word_does_not_swallow_another_word(lexicon):
    """Swedish hår 'hair' folds to har 'has' and tå 'toe' to ta 'take', both function words; a neighbour's
    function word (Norwegian seg 'itself') does not swallow the question's own word (Swedish seg 'chewy')."""
    assert "hair" in lexicon.translate("hur växer hår hos möss", "sv").english.split()
    assert "toe" in lexicon.translate("en svamp under en tå", "sv").english.split()
    assert "has" not in lexicon.translate("han har en hund", "sv").english.split()
    assert "chewy" in lexicon.translate("varför blir godiset seg", "sv").english.split()
    assert "chewy" not in lexicon.translate("hvordan beveger cellene seg", "nb").english.split()


def test_the_marks_decide_whichever_word_the_file_lists_first():
    from halric.match.lexicon import Lexicon

    for order in ([("blød", "soft"), ("blod", "blood")], [("blod", "blood"), ("blød", "soft")]):
        lf = type("LF", (), {"words": dict(order), "techniques": {}, "function_words": [], "places": {}})
        lex = Lexicon.from_files({"da": lf}, set())
        assert lex.translate("blodet", "da").english == "blood", order
        assert lex.translate("bløde", "da").english == "soft", order
        # typed without the marks, a word is the one spelled without them
        assert lex.translate("blod", "da").english == "blood", order
    # two spellings of one word (related English) stay one entry
    lf = type(
        "LF",
        (),
        {
            "words": {"färg": "colour", "farg": "colour dye"},
            "techniques": {},
            "function_words": [],
            "places": {},
        },
    )
    lex = Lexicon.from_files({"sv": lf}, set())
    assert lex.vocabularies["sv"].variants == {}
    assert set(lex.translate("färgen", "sv").english.split()) == {"colour", "dye"}


def test_a_word_written_with_other_marks_is_another_word():
    """Swedish håller 'keeps' folds to häller 'pours': written with another marked letter it is not that word
    (unknown here, as the file lists only häller); typed without marks (haller) it still is; ö and ø are one
    letter (Swedish mörk finds Norwegian mørk), and a German plural's umlaut (Gläser) finds the word without."""
    from halric.match.lexicon import Lexicon

    def lf(words: dict[str, str]) -> object:
        return type("LF", (), {"words": words, "techniques": {}, "function_words": [], "places": {}})

    lex = Lexicon.from_files({"sv": lf({"häller": "pours"}), "nb": lf({"mørk": "dark"})}, set())
    assert lex.translate("häller", "sv").english == "pours"
    assert lex.translate("haller", "sv").english == "pours"
    kept = lex.translate("håller", "sv")
    assert "pours" not in kept.english.split() and kept.unknown == ["håller"]
    assert lex.translate("mörk", "sv").english == "dark"
    lex = Lexicon.from_files({"de": lf({"glas": "glass"})}, set())
    assert lex.translate("Gläser", "de").english == "glass"


def test_a_compounds_parts_keep_their_marks():
    """Danish blodtryk 'blood pressure' is blod + tryk, not blød 'soft' + tryk, whichever the file lists first;
    a part written with the mark is the marked word (blødgøring 'softening')."""
    from halric.match.lexicon import Lexicon

    for words in (
        {"blød": "soft", "blod": "blood", "tryk": "pressure", "gøring": "making"},
        {"blod": "blood", "blød": "soft", "tryk": "pressure", "gøring": "making"},
    ):
        lf = type("LF", (), {"words": words, "techniques": {}, "function_words": [], "places": {}})
        lex = Lexicon.from_files({"da": lf}, set())
        assert lex.translate("blodtrykket", "da").english == "blood pressure", words
        assert lex.translate("blødgøring", "da").english == "soft making", words


def test_country_named_in_any_language(lexicon):
    assert lexicon.places("Gibt es das in Dänemark?") == {"DK"}
    assert lexicon.places("helst i Norge") == {"NO"}
    assert lexicon.places("nära Köpenhamn") == {"DK"}
    assert lexicon.places("im Labor in Hamburg") == {"DE"}
    assert lexicon.places("ved Lund") == {"SE"}


# --- the language files are validated like the rest of the registry --------------------------------------


def test_language_files_are_validated(tmp_path):
    from halric.registry.loader import DATA_DIR, RegistryDataError, read_languages

    d = tmp_path / "data"
    (d / "languages").mkdir(parents=True)
    good = (DATA_DIR / "languages" / "sv.yaml").read_text(encoding="utf-8")
    (d / "languages" / "sv.yaml").write_text(good.replace("  named:", "  nammed:", 1), encoding="utf-8")
    (d / "languages" / "da.yaml").write_text("language: da\nname: dansk\n", encoding="utf-8")
    with pytest.raises(RegistryDataError) as err:
        read_languages(d)
    text = "; ".join(err.value.problems)
    assert "languages/sv.yaml: texts" in text and "nammed" in text
    assert "languages/da.yaml: reviewers" in text


def test_a_word_written_twice_in_a_language_file_is_refused(tmp_path):
    """YAML keeps the last of two equal keys silently; the loader names the word and the line instead."""
    from halric.registry.loader import DATA_DIR, RegistryDataError, read_languages

    d = tmp_path / "data"
    (d / "languages").mkdir(parents=True)
    good = (DATA_DIR / "languages" / "nb.yaml").read_text(encoding="utf-8")
    assert "\n  muskel: muscle\n" in good
    twice = good.replace("\n  muskel: muscle\n", "\n  muskel: muscle\n  muskel: mussel\n", 1)
    (d / "languages" / "nb.yaml").write_text(twice, encoding="utf-8")
    with pytest.raises(RegistryDataError) as err:
        read_languages(d)
    text = "; ".join(err.value.problems)
    assert "nb.yaml" in text and "'muskel' is written twice" in text and "line" in text


def test_every_technique_in_the_language_files_exists():
    from halric.registry.loader import read_bundle

    read_bundle()  # raises with 'languages/<code>.yaml: techniques: unknown technique …' otherwise


# --- through the API, on both databases -------------------------------------------------------------------


@pytest.fixture(autouse=False)
def _registry(loaded):
    return loaded


@pytest.mark.timeout(1800)  # the registry's passage embeddings are encoded once per test session, here
def test_matchmaking_is_prepared_once(settings, _registry):
    from halric.match import service

    with _registry.session() as s:
        m = service.prepare(s, cache_dir=settings.cache_path)
        assert m.method == "combined" and m.pmat is not None and len(m.pmat) == len(m.passages)
        assert sorted(m.languages) == ["da", "de", "nb", "sv"]
        assert service.get_matcher(s, cache_dir=settings.cache_path) is m
    assert list(settings.cache_path.glob("matcher-*.pickle"))
    assert list(settings.cache_path.glob("match-all-MiniLM-L6-v2-*.npy"))


def ask(client, question: str, **kw):
    r = client.post("/api/match", json={"question": question, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def labels(answer: dict, n: int = 3) -> list[str]:
    out = []
    for r in answer["results"][:n]:
        out += [r["technique"]["label"].lower(), *(a.lower() for a in r["technique"]["alt_labels"])]
    return out


@pytest.mark.parametrize(
    ("question", "language", "expected", "why_words"),
    [
        ("Vilken polymorf av den aktiva substansen finns i kapslarna?", "sv", "powder diffraction",
         "Din fråga nämner"),
        ("Hvor meget af lægemidlet optages i hjernen hos patienterne?", "da", "positron emission", "Dit spørgsmål"),
        ("Wie ist der Antikörper an das Zielprotein gebunden, Atom für Atom?", "de", ("crystallography", "cryo"),
         "Ihre Frage"),
        ("Vi vil se hvordan bakteriene sitt arvestoff har endret seg etter behandlingen.", "nb", "sequencing",
         "Spørsmålet ditt"),
    ],
)  # fmt: skip
def test_questions_in_the_region_languages(client, _registry, question, language, expected, why_words):
    answer = ask(client, question)
    assert answer["language"] == language
    expected = (expected,) if isinstance(expected, str) else expected
    assert any(e in lab for lab in labels(answer) for e in expected), labels(answer)
    first = answer["results"][0]
    assert why_words in first["why"], first["why"]
    assert answer["answer_language"] == {"nn": "nb"}.get(language, language)


def test_answer_in_the_language_or_english_said_so(client, _registry):
    answer = ask(client, "Vilken kristallform har substansen i våra tabletter?")
    by_id = {r["technique"]["id"]: r for r in answer["results"]}
    xrpd = by_id["PaNET01101"]["technique"]  # has a Swedish summary
    assert xrpd["summary_language"] == "sv" and "kristallina faser" in xrpd["local_summary"]
    assert xrpd["local_label"] == "röntgenpulverdiffraktion"
    fallback = [r for r in answer["results"] if r["technique"]["summary_language"] == "en"]
    assert fallback, "expected at least one technique without a Swedish description"
    assert "på engelska" in fallback[0]["why"]
    assert fallback[0]["technique"]["local_summary"] == fallback[0]["technique"]["summary"]


def test_english_answers_stay_english(client, _registry):
    answer = ask(client, "Which crystal form of the drug is in our tablets?")
    assert answer["language"] == "en" and answer["answer_language"] == "en"
    assert "Your question mentions" in answer["results"][0]["why"]
    t = answer["results"][0]["technique"]
    assert (
        t["local_label"] == t["label"]
        and t["summary_language"] == "en"
        and t["local_summary"] == t["summary"]
    )


def test_mixed_question_keeps_the_named_technique(client, _registry):
    answer = ask(client, "SAXS av våra antikroppar i lösning")
    assert answer["language"] == "sv"
    assert "small angle x-ray scattering" in answer["results"][0]["technique"]["label"].lower()


@pytest.mark.parametrize(
    ("question", "country"),
    [
        ("Vi söker en magnetkamera för studier av hjärnan, helst i Danmark.", "DK"),
        ("Wir möchten Proteinkristalle in Hamburg messen.", "DE"),
        ("Vi trenger datakraft for store bildedata i Norge.", "NO"),
        ("Kan vi måle pulverdiffraktion i Lund?", "SE"),
    ],
)
def test_country_named_in_the_question_comes_first(client, _registry, question, country):
    answer = ask(client, question)
    assert answer["preferred_country"] == country
    with_instruments = [r for r in answer["results"][:3] if r["instruments"]]
    assert with_instruments
    assert any(r["instruments"][0]["country"] == country for r in with_instruments), [
        [i["country"] for i in r["instruments"]] for r in with_instruments
    ]
    for r in with_instruments:  # within a technique, that country's instruments lead
        countries = [i["country"] for i in r["instruments"]]
        if country in countries:
            assert countries[: countries.count(country)] == [country] * countries.count(country)


def test_no_match_is_honest_and_logged_per_language(client, _registry, make_user, db):
    sv = ask(client, "Vilket typsnitt ska vi ha på fakturorna till kunderna?")
    assert sv["no_good_match"] is True and sv["language"] == "sv"
    assert "ambassadör" in sv["message"]
    de = ask(client, "Welche Schriftart passt zu unserem neuen Firmenlogo?")
    assert de["no_good_match"] is True and "Botschafter" in de["message"]
    coordinator = make_user(["coordinator"])
    report = client.get("/api/match/report", headers=bearer(db, coordinator)).json()
    assert report["by_language"]["sv"]["unanswered"] >= 1
    assert report["by_language"]["de"]["unanswered"] >= 1
    mine = [q for q in report["unanswered"] if q["question"].startswith("Vilket typsnitt")]
    assert mine and mine[0]["language"] == "sv"
    signin(client, coordinator)
    page = client.get("/match/report")
    client.cookies.clear()
    assert page.status_code == 200 and 'id="by-language"' in page.text


def test_results_page_shows_the_local_label(client, _registry):
    r = client.get("/match", params={"question": "Vi behöver en magnetkamera för hjärnstudier"})
    assert r.status_code == 200
    assert 'lang="sv"' in r.text and "magnetkamera" in r.text


# --- start-up: `halric match` from the shell ---------------------------------------------------------------


def test_halric_match_starts_quickly_from_the_persisted_index(settings, _registry, tmp_path):
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    cmd = [sys.executable, "-m", "halric.cli.main", "match", "Vilken kristallform har tabletterna?", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    saved = sorted((tmp_path / "cache").glob("matcher-*.pickle"))
    assert len(saved) == 1
    mtime = saved[0].stat().st_mtime_ns
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert second.returncode == 0, second.stderr
    assert saved[0].stat().st_mtime_ns == mtime, "the second call rebuilt the index instead of loading it"
    out = json.loads(second.stdout)
    assert out["language"] == "sv" and out["results"]
    # The target is 3 s wall on a quiet 2-core machine (bench/matchmaking.py measures it). Tests share the
    # machine, so the bound is on the CPU the process used, which load does not inflate: about 2.5 s here;
    # importing torch or re-encoding the registry would take far more.
    assert cpu < 8, f"halric match used {cpu:.1f} s of CPU ({wall:.1f} s wall) from a persisted index"
    assert wall < 180
    shutil.rmtree(tmp_path / "cache")


def test_languages_directory_is_packaged():
    from halric.registry.loader import DATA_DIR

    codes = sorted(p.stem for p in Path(DATA_DIR, "languages").glob("*.yaml"))
    assert codes == ["da", "de", "nb", "sv"]


def test_techniques_offered_in_the_asked_country_come_first_among_those_that_fit():
    """Within 0.85 of the best score, techniques with an instrument in the country move ahead; if none of
    the first three is offered there, the best one above 0.6 of the best takes the third place; a weak
    fit never does."""
    import numpy as np

    from halric.match.engine import Matcher

    def insts(*countries):
        return ([{"country": c} for c in countries], 0)

    scores = np.array([0.50, 0.47, 0.45, 0.44, 0.40, 0.20])
    offered = {0: insts("SE"), 1: insts(), 2: insts("DK"), 3: insts("DK"), 4: insts("DK"), 5: insts("DK")}
    ranked = [0, 1, 2, 3, 4, 5]
    assert Matcher._country_first(ranked, scores, offered, "DK")[:4] == [2, 3, 0, 1]
    assert Matcher._country_first(ranked, scores, offered, "SE") == ranked  # the best is offered there
    far = np.array([0.50, 0.48, 0.46, 0.20, 0.32, 0.10])
    offered = {0: insts(), 1: insts(), 2: insts(), 3: insts("NO"), 4: insts("NO"), 5: insts()}
    assert Matcher._country_first(ranked, far, offered, "NO")[:3] == [0, 1, 4]
    offered[4] = insts()
    assert Matcher._country_first(ranked, far, offered, "NO") == ranked  # 0.20 of 0.50 does not fit


@pytest.mark.parametrize(
    ("question", "language", "english"),
    [
        ("Hvilke proteiner ændrer sig i musklerne?", "da", "muscle"),
        ("proteinene i musklene", "nb", "muscle"),
        ("proteinerna i musklerna", "sv", "muscle"),
    ],
)
def test_a_noun_that_drops_its_e_before_an_ending_is_understood(lexicon, question, language, english):
    """muskel → musklerne, musklene, musklerna: the e of -el, -er, -en nouns is put back when nothing else
    matched (the vocabulary only knows the base form)."""
    tr = lexicon.translate(question, language)
    assert english in tr.english.split(), (tr.english, tr.unknown)


def test_a_dropped_e_is_only_put_back_into_words_the_vocabulary_knows(lexicon):
    assert lexicon.translate("xyzklerne", "da").unknown == ["xyzklerne"]
    # the rule is Scandinavian: German builds its plurals otherwise
    assert "muscle" not in lexicon.translate("die Musklen", "de").english.split()


@pytest.mark.parametrize(
    ("question", "english", "not_english"),
    [
        ("Welche Schadstoffe lagern sich in den Filtern unserer Lüftungsanlage ab?", "deposit", "storage"),
        ("Welche Mikroorganismen bauen ausgelaufenes Erdöl im Meer ab?", "degraded", None),
        ("Wie nehmen Pflanzenwurzeln Cadmium aus dem Boden auf?", "uptake", None),
        ("Welche Bakterien baut das Öl ab, und wo lagern wir die Proben?", "degraded", "deposit"),
    ],
)
def test_a_german_verb_is_joined_to_the_particle_that_ends_its_clause(
    lexicon, question, english, not_english
):
    """German splits *ablagern*, *abbauen*, *aufnehmen* and puts the particle at the end of the clause;
    the verb means what the joined word means, only within its own clause."""
    tr = lexicon.translate(question, "de")
    words = tr.english.split()
    assert english in words, (tr.english, tr.unknown)
    assert "ab" not in tr.unknown and "auf" not in tr.unknown
    if not_english:
        assert not_english not in words, tr.english


def test_a_particle_joins_only_a_verb_the_vocabulary_knows_joined(lexicon):
    tr = lexicon.translate("Wie sieht die Probe zu Hause aus?", "de")
    assert "zu" not in tr.unknown and "sample" in tr.english.split()
    assert (
        lexicon.translate("Wir lagern die Proben im Kühlschrank.", "de").english.split().count("deposit") == 0
    )


def test_a_purpose_ranks_below_the_method_that_fits_about_as_well():
    """PaNET's purposes offered as techniques ("obtain local coordination") go just below their best
    narrower technique among the candidates when it scores at least 0.85 of theirs; otherwise they keep
    their place."""
    import numpy as np

    from halric.match.engine import PURPOSE_BAND, Matcher

    m = Matcher.__new__(Matcher)
    m.narrower = {0: [2, 3]}  # doc 0 is a purpose; 2 and 3 are methods under it
    adjusted = np.array([0.48, 0.46, 0.436, 0.30, 0.20])
    m._purposes_below_methods(np.arange(5), adjusted)
    assert adjusted[0] < adjusted[2] < adjusted[1]
    assert sorted(range(5), key=lambda i: -adjusted[i])[:3] == [1, 2, 0]
    far = np.array([0.48, 0.46, 0.48 * PURPOSE_BAND - 0.01, 0.30, 0.20])
    m._purposes_below_methods(np.arange(5), far)
    assert far[0] == 0.48  # the method fits clearly worse: the purpose stays first
    alone = np.array([0.48, 0.46, 0.47, 0.30, 0.20])
    m._purposes_below_methods(np.array([0, 1, 3, 4]), alone)  # its methods are not among the candidates
    assert alone[0] == 0.48


def test_the_purposes_know_their_methods(settings, _registry):
    from halric.match import service
    from halric.match.engine import PURPOSE_PREFIX

    with _registry.session() as s:
        m = service.get_matcher(s, cache_dir=settings.cache_path)
    by_label = {d.label: i for i, d in enumerate(m.docs)}
    purpose = by_label["obtain local coordination"]
    narrower = {m.docs[j].label for j in m.narrower[purpose]}
    assert "extended x-ray absorption fine structure" in narrower
    # families that no instrument names, only their narrower techniques, rank like purposes: the answer
    # shows "small angle X-ray scattering" (what one books) before "small angle scattering"
    family = by_label["small angle scattering"]
    assert {"small angle x-ray scattering", "small angle neutron scattering"} <= {
        m.docs[j].label for j in m.narrower[family]
    }
    named = {t for inst in m.instruments.values() for t in inst["techniques"]}
    for i in m.narrower:
        assert m.docs[i].label.startswith(PURPOSE_PREFIX) or m.docs[i].id not in named, m.docs[i].label
    assert by_label["small angle x-ray scattering"] not in m.narrower  # instruments name it: a method


def test_the_why_sentence_keeps_the_techniques_own_capitals(client, _registry):
    """ "DNA and RNA sequencing answers questions like …", not "Dna and rna sequencing"."""
    answer = ask(client, "Which species of bacteria live in our drinking water?")
    whys = [r for r in answer["results"] if "answers questions like" in r["why"]]
    assert whys, answer["results"]
    for r in whys:
        label = r["technique"]["label"]
        assert label[:1].upper() + label[1:] in r["why"]
    assert any("DNA and RNA sequencing answers" in r["why"] for r in whys), [r["why"][:60] for r in whys]


def test_an_answer_says_when_a_technique_is_not_offered_in_the_asked_country(client, _registry):
    """Asked in Swedish for Sweden: each result says whether Sweden offers it, and the page says so in words
    when the instruments listed are all elsewhere; without a country the flag is null and nothing is said."""
    question = "Vi vill se hur nervceller växer i en odlingsskål, helst i Sverige."
    answer = ask(client, question)
    assert answer["preferred_country"] == "SE"
    flags = [r["in_preferred_country"] for r in answer["results"]]
    for r in answer["results"]:
        assert r["in_preferred_country"] == any(i["country"] == "SE" for i in r["instruments"])
    assert False in flags, "the registry offers some of these techniques only outside Sweden"
    page = client.get("/match", params={"question": question})
    assert page.status_code == 200
    assert page.text.count("Not offered in Sweden") == sum(
        1 for r in answer["results"] if r["in_preferred_country"] is False and r["instruments"]
    )
    plain = ask(client, "How do nerve cells grow in a culture dish?")
    assert plain["preferred_country"] is None
    assert all(r["in_preferred_country"] is None for r in plain["results"])
    assert "Not offered in" not in client.get("/match", params={"question": "How do nerve cells grow?"}).text


def test_the_page_does_not_repeat_the_summary_in_the_why(client, _registry):
    """The API's why ends with the technique's first summary sentence; the page shows the summary below it,
    so that sentence appears once per result there."""
    question = "Vi vill se hur nervceller växer i en odlingsskål, helst i Sverige."
    answer = ask(client, question)
    page = client.get("/match", params={"question": question}).text
    import html

    text = html.unescape(page)
    for r in answer["results"]:
        t = r["technique"]
        summary = t.get("local_summary") or t.get("summary")
        if not summary:
            continue
        first = summary.split(". ")[0].rstrip(".") + "."
        if first in r["why"]:
            assert text.count(first) == 1, first


@pytest.mark.parametrize(
    ("question", "language"),
    [("Hvilke bakterier lever i vores surdej?", "da"), ("Vilka bakterier lever i jorden?", "sv"),
     ("Hvilke bakterier lever i tarmen?", "nb")],
)  # fmt: skip
def test_lever_alone_is_the_verb_not_the_organ(lexicon, question, language):
    """'lever' alone is far more often 'lives' than 'liver'; the organ is its definite form (levern,
    leveren) or a compound (levercelle)."""
    assert "liver" not in lexicon.translate(question, language).english.split()
    organ = {"da": "cellerne i leveren", "sv": "cellerna i levern", "nb": "cellene i leveren"}[language]
    assert "liver" in lexicon.translate(organ, language).english.split()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How does the myelin look in patients with MS?", "patients with multiple sclerosis?"),
        ("Hvordan ser hjernen ut hos pasienter med MS?", "pasienter med multiple sclerosis?"),
        ("Hur mår personer som lider av MS efter behandlingen?", "lider av multiple sclerosis"),
        ("Wie verändert sich das Gehirn bei MS-Patienten?", "bei multiple sclerosis-Patienten"),
    ],
)
def test_ms_is_multiple_sclerosis_where_it_is_the_patients_disease(question, expected):
    from halric.match.text import expand_conditions

    assert expected in expand_conditions(question)


@pytest.mark.parametrize(
    "question",
    [
        "We measure the drug in patient plasma with MS.",  # the patients are there, but MS is the method
        "Our lab quantifies peptides with MS and wants a second opinion.",
        "Vi mäter metaboliterna med MS.",
        "Vi prøvede LC, men med MS får vi bedre data fra patienterne.",  # Danish "men" is "but"
        "Patients with ms",  # not written as the abbreviation
    ],
)
def test_ms_stays_mass_spectrometry_elsewhere(question):
    from halric.match.text import expand_conditions

    assert expand_conditions(question) == question


def test_a_question_about_patients_with_ms_is_not_answered_with_mass_spectrometry(settings, _registry):
    from halric.match import service

    with _registry.session() as s:
        m = service.get_matcher(s, cache_dir=settings.cache_path, method="lexical")
    for q in ("How does the myelin around the nerves look in patients with MS?",
              "Hvordan ser myelinet rundt nervene ut hos pasienter med MS?"):  # fmt: skip
        top = [r.doc.label for r in m.query(q).results[:3]]
        assert "mass spectrometry" not in top, (q, top)
        assert "magnetic resonance imaging" in top, (q, top)
    measured = m.query("We quantify the peptides in our samples with MS.").results[0].doc.label
    assert "mass spectrometry" in measured
