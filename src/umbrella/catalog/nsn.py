"""NATO Stock Numbers: 13 digits, shown NNNN-NN-NNN-NNNN.

The first four digits are the NATO Supply Classification; digits 5-6 are the code of the National
Codification Bureau that assigned the number; the last seven are the item's serial within that bureau.

NCB codes below are from the NATO Codification System country-code table (AC/135 CodSP-3, "NCS Country
Codes", as republished in the February 2026 CodSP), entries Albania to Japan, and the NCS brochure for
00/01 (United States) and 99 (United Kingdom). A code outside this table is shown as "NCB nn", never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NCB_COUNTRIES: dict[str, tuple[str, str]] = {
    "00": ("USA", "United States"),
    "01": ("USA", "United States"),
    "12": ("DEU", "Germany"),
    "13": ("BEL", "Belgium"),
    "14": ("FRA", "France"),
    "15": ("ITA", "Italy"),
    "16": ("CZE", "Czechia"),
    "19": ("BRA", "Brazil"),
    "20": ("CAN", "Canada"),
    "21": ("CAN", "Canada"),
    "22": ("DNK", "Denmark"),
    "23": ("GRC", "Greece"),
    "24": ("ISL", "Iceland"),
    "29": ("ARG", "Argentina"),
    "30": ("JPN", "Japan"),
    "31": ("ISR", "Israel"),
    "36": ("EGY", "Egypt"),
    "38": ("EST", "Estonia"),
    "41": ("AUT", "Austria"),
    "45": ("IDN", "Indonesia"),
    "48": ("FJI", "Fiji"),
    "50": ("BGR", "Bulgaria"),
    "51": ("HUN", "Hungary"),
    "52": ("CHL", "Chile"),
    "53": ("HRV", "Croatia"),
    "58": ("FIN", "Finland"),
    "59": ("ALB", "Albania"),
    "62": ("IRQ", "Iraq"),
    "66": ("AUS", "Australia"),
    "68": ("GEO", "Georgia"),
    "72": ("IND", "India"),
    "75": ("BIH", "Bosnia and Herzegovina"),
    "76": ("BRN", "Brunei Darussalam"),
    "78": ("JOR", "Jordan"),
    "80": ("COL", "Colombia"),
    "82": ("DZA", "Algeria"),
    "83": ("ECU", "Ecuador"),
    "84": ("IRL", "Ireland"),
    "99": ("GBR", "United Kingdom"),
}

_SEPARATORS = re.compile(r"[\s\-./]")


@dataclass(frozen=True)
class NSN:
    digits: str

    @property
    def supply_class(self) -> str:
        return self.digits[:4]

    @property
    def ncb_code(self) -> str:
        return self.digits[4:6]

    @property
    def niin(self) -> str:
        return self.digits[4:]

    @property
    def country(self) -> str:
        """The codifying country's name, or 'NCB nn' when the code is not in the table."""
        known = NCB_COUNTRIES.get(self.ncb_code)
        return known[1] if known else f"NCB {self.ncb_code}"

    @property
    def country_iso3(self) -> str | None:
        known = NCB_COUNTRIES.get(self.ncb_code)
        return known[0] if known else None

    def __str__(self) -> str:
        d = self.digits
        return f"{d[:4]}-{d[4:6]}-{d[6:9]}-{d[9:]}"


class NsnError(ValueError):
    """Why a text is not an NSN: `problem` is one of GROUPING, CHARACTERS, LENGTH; `digit_count` for LENGTH."""

    GROUPING, CHARACTERS, LENGTH = "grouping", "characters", "length"

    def __init__(self, raw: str, problem: str, digit_count: int = 0) -> None:
        self.raw, self.problem, self.digit_count = raw, problem, digit_count
        reasons = {
            self.GROUPING: "is not grouped as NNNN-NN-NNN-NNNN",
            self.CHARACTERS: "must contain only digits and separators",
            self.LENGTH: f"has {digit_count} digits; an NSN has 13 (4 class + 2 bureau + 7 item)",
        }
        super().__init__(f"{raw!r} {reasons[problem]}")


# How the groups of an NSN are written: 4-2-3-4, 4-2-7 or 4-9.
_GROUPINGS = ((4, 2, 3, 4), (4, 2, 7), (4, 9))


def searched_digits(text: str) -> str | None:
    """What a search looks for among NSNs, which are stored as bare digits: a whole NSN, plain or grouped, or
    part of one written as its groups (1410-01-563, 563-6867, 1550-). None for anything else, such as a bare
    number shorter than an NSN: "155" means a calibre far more often than digits inside a stock number."""
    raw = text.strip()
    digits = _SEPARATORS.sub("", raw)
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 13:
        return digits
    if digits == raw:
        return None
    return digits if _written_as_groups([len(group) for group in _SEPARATORS.split(raw) if group]) else None


def _written_as_groups(lengths: list[int]) -> bool:
    """Whether these group lengths follow each other in one way of writing an NSN (4-2-3, 2-3-4, 4 …)."""
    n = len(lengths)
    return any(list(grouping[start : start + n]) == lengths for grouping in _GROUPINGS for start in range(len(grouping) - n + 1))


def parse_nsn(text: str) -> NSN:
    """Accept 13 digits, plain or grouped 4-2-3-4 (or 4-2-7) with hyphens, spaces, dots or slashes.

    Raises NsnError (a ValueError) with the reason."""
    raw = text.strip()
    groups = [g for g in _SEPARATORS.split(raw) if g]
    if len(groups) > 1 and [len(g) for g in groups] not in ([4, 2, 3, 4], [4, 2, 7], [4, 9]):
        raise NsnError(raw, NsnError.GROUPING)
    digits = "".join(groups)
    if not digits.isascii() or not digits.isdigit():
        raise NsnError(raw, NsnError.CHARACTERS)
    if len(digits) != 13:
        raise NsnError(raw, NsnError.LENGTH, len(digits))
    return NSN(digits)
