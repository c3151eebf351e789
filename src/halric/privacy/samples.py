"""Generated identifiers and look-alikes, for the guard's tests, its benchmark and facility self-checks.

Valid numbers are built from their published rules (check digits computed here, then confirmed by
python-stdnum where it has the kind); look-alikes are what research metadata is full of — frame counters,
time stamps, dates, dated sample codes, detector serials — and identifiers with a wrong check digit.
No real person's number is used anywhere.
"""

from __future__ import annotations

import datetime as _dt
import random

from halric.privacy.identifiers import kvnr_check_digit


def _luhn_digit(digits9: str) -> int:
    total = 0
    for i, ch in enumerate(digits9):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10


def _birth(rng: random.Random, lo: int = 1925, hi: int = 2022) -> _dt.date:
    start = _dt.date(lo, 1, 1).toordinal()
    return _dt.date.fromordinal(rng.randint(start, _dt.date(hi, 12, 31).toordinal()))


def se_personnummer(rng: random.Random, *, coordination: bool = False, long: bool | None = None) -> str:
    born = _birth(rng)
    day = born.day + (60 if coordination else 0)
    serial = f"{rng.randint(0, 999):03d}"
    nine = f"{born:%y%m}{day:02d}{serial}"
    ten = nine + str(_luhn_digit(nine))
    long = rng.random() < 0.5 if long is None else long
    sep = rng.choice(["-", ""]) if born.year > _dt.date.today().year - 100 else "+"
    if long:
        return f"{born.year // 100}{ten[:6]}{'-' if sep == '+' else sep}{ten[6:]}"
    return f"{ten[:6]}{sep}{ten[6:]}"


def dk_cpr(rng: random.Random, *, hyphen: bool = True) -> str:
    born = _birth(rng, 1940, 2022)
    # seventh digit by century (CPR rules): 0-3 for 1900-1999; 4/9 for 1937-2036; 5-8 for 2000-2057
    first = rng.choice("0123") if born.year < 2000 else rng.choice("5678")
    seq = first + f"{rng.randint(0, 999):03d}"
    return f"{born:%d%m%y}{'-' if hyphen else ''}{seq}"


def _no_check(digits: str, weights: tuple[int, ...]) -> int | None:
    r = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    if r == 11:
        return 0
    return None if r == 10 else r


def no_fodselsnummer(rng: random.Random, *, d_number: bool = False) -> str:
    while True:
        born = _birth(rng, 1940, 1999)
        day = born.day + (40 if d_number else 0)
        ind = f"{rng.randint(0, 499):03d}"
        nine = f"{day:02d}{born:%m%y}{ind}"
        k1 = _no_check(nine, (3, 7, 6, 1, 8, 9, 4, 5, 2))
        if k1 is None:
            continue
        k2 = _no_check(nine + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
        if k2 is None:
            continue
        number = f"{nine}{k1}{k2}"
        return number if rng.random() < 0.5 else f"{number[:6]} {number[6:]}"


def de_kvnr(rng: random.Random) -> str:
    letter = chr(65 + rng.randint(0, 25))
    eight = f"{rng.randint(0, 99_999_999):08d}"
    return f"{letter}{eight}{kvnr_check_digit(letter, eight)}"


VALID = {
    "se-personnummer": lambda r: se_personnummer(r),
    "se-samordningsnummer": lambda r: se_personnummer(r, coordination=True),
    "dk-cpr": lambda r: dk_cpr(r, hyphen=True),
    "no-fodselsnummer": lambda r: no_fodselsnummer(r),
    "no-d-nummer": lambda r: no_fodselsnummer(r, d_number=True),
    "de-kvnr": de_kvnr,
}


def wrong_check_digit(rng: random.Random, kind: str) -> str:
    """A number of ``kind`` with its last (check) digit changed — or, for CPR, an impossible date."""
    number = VALID[kind](rng)
    if kind == "dk-cpr":
        return f"{rng.randint(32, 99)}{number[2:]}"
    last = int(number[-1])
    return number[:-1] + str((last + rng.randint(1, 9)) % 10)


def valid_as_any_kind(number: str) -> bool:
    """True when ``number`` is valid by the published rules of any supported kind (stdnum, KVNR rule)."""
    from stdnum.dk import cpr
    from stdnum.no import fodselsnummer
    from stdnum.se import personnummer

    compact = number.replace(" ", "")
    if personnummer.is_valid(compact) or cpr.is_valid(compact) or fodselsnummer.is_valid(compact):
        return True
    digits = compact.replace("-", "").replace("+", "")
    if len(digits) in (10, 12) and digits.isdigit():  # samordningsnummer: day - 60, same Luhn
        d = digits[-10:]
        from stdnum import luhn
        from stdnum.exceptions import ValidationError

        shifted = d[:4] + f"{int(d[4:6]) - 60:02d}" + d[6:]
        if 61 <= int(d[4:6]) <= 91 and luhn.is_valid(d):
            try:
                personnummer.get_birth_date(shifted[:6] + "-" + shifted[6:])
                return True
            except ValidationError:
                pass
    return (
        len(compact) == 10
        and compact[0].isupper()
        and compact[1:].isdigit()
        and int(compact[-1]) == kvnr_check_digit(compact[0], compact[1:9])
    )


def look_alikes(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """(context, text) look-alikes by category: what a guard must let through."""
    today = _dt.date.today()
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in (
        "frame counters", "unix times", "dates and times", "dated sample codes", "detector serials",
        "wrong check digits", "measurements", "dated file names", "dated file names (bare)",
    )}  # fmt: skip
    for _ in range(200):
        n = rng.randint(0, 10 ** rng.randint(3, 9))
        out["frame counters"].append(("frame", f"{n:010d}"))
        out["frame counters"].append(("", f"image_{n:011d}.cbf"))
        t = rng.randint(946_684_800, int(_dt.datetime(2030, 1, 1).timestamp()))
        out["unix times"].append(("start_time", str(t)))
        out["unix times"].append(("", f"{t}{rng.randint(0, 999):03d}"))
        d = _dt.datetime.fromordinal(rng.randint(_dt.date(2000, 1, 1).toordinal(), today.toordinal()))
        hm = f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}"
        out["dates and times"].append(("start_time", f"{d:%Y%m%d}-{hm}"))
        out["dates and times"].append(("", f"{d:%Y-%m-%d}T{hm[:2]}:{hm[2:]}:00"))
        out["dates and times"].append(("collection_date", f"{d:%Y%m%d}"))
        out["dated sample codes"].append(("sample_id", f"{d:%y%m%d}-{rng.randint(1, 999):04d}"))
        out["dated sample codes"].append(("", f"batch {d:%Y%m%d}/{rng.randint(1, 99):02d}"))
        prefix = rng.choice(["sample_", "run-", "scan_", "S", "LU-"])
        out["dated file names"].append(("", f"{prefix}{d:%y%m%d}-{rng.randint(1, 999):04d}.h5"))
        out["dated file names (bare)"].append(("", f"{d:%y%m%d}-{rng.randint(1, 999):04d}.h5"))
        out["detector serials"].append(
            ("detector_serial", f"E-{rng.randint(0, 99):02d}-{rng.randint(0, 9999):04d}")
        )
        out["detector serials"].append(("", f"SN{rng.randint(10**9, 10**10 - 1)}"))
        kind = rng.choice(list(VALID))
        wrong = wrong_check_digit(rng, kind)
        while valid_as_any_kind(wrong):  # e.g. a Swedish number with a bad Luhn digit that is a CPR date
            wrong = wrong_check_digit(rng, kind)
        out["wrong check digits"].append(("patient_id", wrong))
        out["measurements"].append(("energy_eV", f"{rng.uniform(5000, 25000):.4f}"))
        out["measurements"].append(("", f"{rng.randint(10**9, 10**10 - 1) / 1000:.3f}"))
    return out
