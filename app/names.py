"""People's names, as keys, assignments and decisions carry them.

A name is kept as one line in Unicode's composed form (NFC) with single spaces, so that the
same person typed twice is the same text: queue filters match it exactly, and four eyes
(:func:`same_person`) compares it with case aside. Control and invisible format characters
(newlines, zero-width spaces, right-to-left overrides) are refused: they would make two
different-looking names equal, or one name look like another.
"""

import re
import unicodedata

NAME_MAX = 200
# Cc controls, Cf format characters (zero-width, bidi overrides), line and paragraph
# separators; Co private use and Cn unassigned are no one's name either.
_REFUSED = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})
# Characters drawn as nothing outside those categories (Unicode's default ignorables that are
# marks or letters: the combining grapheme joiner, Hangul fillers, variation selectors): a
# name with one looks like the name without it.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)


def normalised(name: str) -> str:
    """The name as kept; ValueError saying why when it is none."""
    composed = unicodedata.normalize("NFC", name)
    if _INVISIBLE.search(composed) or any(
        unicodedata.category(char) in _REFUSED for char in composed
    ):
        raise ValueError("must not contain control or invisible characters")
    kept = " ".join(composed.split())
    if not 0 < len(kept) <= NAME_MAX:
        raise ValueError(f"must be 1 to {NAME_MAX} characters")
    return kept


def same_person(one: str | None, other: str | None) -> bool:
    """Two names of one person: the same once normalised, case and width aside (NFKC folds
    full-width letters, which look like the name typed on another keyboard)."""
    if one is None or other is None:
        return False
    return _folded(one) == _folded(other)


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
