"""Other Latin spellings of Cyrillic names, stored next to the generic folding.

`rapport.core.text.fold` (anyascii) gives one romanisation, close to the BGN system:
Мирослава → miroslava, Алексей → aleksey. People type names the way passports spell
them, so the index also stores the Ukrainian national system (KMU 2010: myroslava,
hnatiuk) and the Russian passport system (ICAO 9303: aleksei, iuliia).
"""

from __future__ import annotations

import functools

from rapport.core.text import fold

# Ukrainian national transliteration (KMU 2010, passports): first letter / elsewhere.
_UK = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": ("ye", "ie"),
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "ї": ("yi", "i"),
    "й": ("y", "i"),
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ю": ("yu", "iu"),
    "я": ("ya", "ia"),
    "'": "",
    "’": "",
    "ʼ": "",
}
# Russian as in passports since 2014 (ICAO 9303): Алексей → aleksei, Юлия → iuliia.
_RU = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "ie",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}


def _romanize(word: str, table: dict) -> str:
    out = []
    for index, ch in enumerate(word):
        value = table.get(ch, ch)
        if isinstance(value, tuple):
            value = value[0] if index == 0 else value[1]
        if table is _UK and ch == "г" and index and word[index - 1] == "з":
            value = "gh"  # зг → zgh, so it is not read as ж
        out.append(value)
    return "".join(out)


def transliterations(text: str) -> list[str]:
    """Other common Latin spellings of Cyrillic words (Ukrainian and Russian passport
    systems), so "myroslava hnatiuk" finds Мирослава Гнатюк although the generic
    folding says "miroslava gnatyuk"."""
    words: list[str] = []
    for raw in text.lower().split():
        if any("\u0400" <= ch <= "\u04ff" for ch in raw):
            words.extend(_word_spellings(raw))
    return words


@functools.lru_cache(maxsize=32768)
def _word_spellings(raw: str) -> tuple[str, ...]:
    """The Ukrainian then Russian spellings of one lower-cased word (names repeat, so
    a bulk import or reindex romanizes each distinct word once)."""
    return tuple(word for table in (_UK, _RU) for word in fold(_romanize(raw, table)).split())
