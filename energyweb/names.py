"""Names that people read: one spelling stored, and look-alikes of an existing name refused.

``normalise`` is applied before a name is stored: Unicode NFKC (full-width letters become
ASCII, ligatures split), format characters removed (zero-width spaces and joiners, bidi
controls: invisible, yet they made "Llama 2" a second, different name), every dash and
space variant folded to "-" and " ", and runs of spaces collapsed.

``skeleton`` is what two names are compared by: the normalised name, case-folded, with
common Cyrillic and Greek letters that look like Latin ones mapped to those, and all but
letters and digits dropped. So "Llama 2 7B", "LLAMA-2 (7B)" and "Llаma-2 (7B)" (Cyrillic
а) share the skeleton of "Llama-2 (7B)". The map covers the usual look-alikes of Latin
letters in Cyrillic and Greek, not the whole of Unicode's confusables table (UTS #39): a
small table in one place, enough for names typed or pasted by people. Pure: no Django.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters drawn like Latin ones (after case-folding).
_CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "д": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s",
    "т": "t", "у": "y", "х": "x", "ԝ": "w", "ь": "b", "ӏ": "l", "п": "n",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "μ": "u", "ζ": "z",
    # Digits and letters often swapped for one another in names
    "ℓ": "l",
})
_SPACES = re.compile(r"\s+")


def normalise(name: str) -> str:
    """The spelling to store: NFKC, no format characters, plain dashes and single spaces."""
    text = unicodedata.normalize("NFKC", name)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":  # zero-width space/joiner, BOM, bidi controls
            continue
        if category == "Pd":  # hyphen U+2010, en/em dash, minus-like dashes
            ch = "-"
        elif category in ("Zs", "Zl", "Zp") or ch in "\t\r\n":
            ch = " "
        out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()


def skeleton(name: str) -> str:
    """What a reader sees, for comparison: case, punctuation, spacing and look-alike letters ignored."""
    text = normalise(name).casefold().translate(_CONFUSABLES)
    return "".join(ch for ch in text if ch.isalnum())


def look_alike(name: str, existing) -> str | None:
    """The first of ``existing`` (names) that reads the same as ``name``, or None."""
    target = skeleton(name)
    if not target:
        return None
    for other in existing:
        if skeleton(other) == target:
            return other
    return None
