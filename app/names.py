"""People's names, as keys, assignments and decisions carry them.

A name is kept as one line in Unicode's composed form (NFC) with single spaces, so that the
same person typed twice is the same text: queue filters match it exactly, and four eyes
(:func:`same_person`) compares it with case aside. Control and invisible format characters
(newlines, zero-width spaces, right-to-left overrides) are refused: they would make two
different-looking names equal, or one name look like another.
"""

import unicodedata

NAME_MAX = 200
# Cc controls, Cf format characters (zero-width, bidi overrides), line and paragraph
# separators; Co private use and Cn unassigned are no one's name either.
_REFUSED = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})


def normalised(name: str) -> str:
    """The name as kept; ValueError saying why when it is none."""
    composed = unicodedata.normalize("NFC", name)
    if any(unicodedata.category(char) in _REFUSED for char in composed):
        raise ValueError("must not contain control or invisible characters")
    kept = " ".join(composed.split())
    if not 0 < len(kept) <= NAME_MAX:
        raise ValueError(f"must be 1 to {NAME_MAX} characters")
    return kept


def same_person(one: str | None, other: str | None) -> bool:
    """Two names of one person: the same once normalised, case aside."""
    if one is None or other is None:
        return False
    return _folded(one) == _folded(other)


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())
