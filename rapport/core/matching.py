"""Name keys for duplicate detection: one key for Олександр, Oleksandr, Alexander and Sasha.

`fold` already makes Cyrillic and Latin comparable (Олександр → oleksandr); on top of it
this module resolves common nicknames and language variants to one canonical given name
(English, Ukrainian, Russian, Polish), smooths transliteration spellings (Kowalski ↔
Kovalsky, Юлія ↔ Yuliya ↔ Iuliia) and derives a phonetic match key (metaphone) that the
duplicate scan groups by. Company keys drop legal forms (LLC, GmbH, Sp. z o.o., ТОВ, ООО).
"""

from __future__ import annotations

import re
from functools import lru_cache

import jellyfish

from rapport.core.text import fold

# Canonical given name → its nicknames, diminutives and other-language forms, folded.
# Ambiguous short forms (Sasha, Zhenya, Val) go to the most common full name.
_NAME_GROUPS: dict[str, tuple[str, ...]] = {
    "alexander": (
        "alex aleks alek alexandr aleksandr aleksander oleksandr oleksander olexandr "
        "olek oles sasha sascha sanya sania shura sashko sandy xander lex"
    ),
    "alexandra": "aleksandra oleksandra olexandra sandra alexa ola",
    "alexey": "aleksey alexei aleksei oleksiy oleksii oleksij alyosha lyosha lesha olesh",
    "andrew": "andrey andrei andriy andrii andrij andrzej andy drew andrius andriej",
    "anna": "ania anya ann anne annie ganna hanna hanka anka anechka",
    "anastasia": "anastasiya anastasiia nastya nastia nastasia stasia",
    "catherine": (
        "katherine kathryn katharine kate katie kathy cathy katya katia katerina kateryna "
        "ekaterina yekaterina katarzyna kasia kasha katja katrin"
    ),
    "christopher": "chris kris krzysztof krzys christoph kristofer",
    "daniel": "dan danny danylo daniil danila danilo danik",
    "dmitry": "dmitriy dmitrii dmitri dmytro dmitro dima dimitri dimitry dymitr dimon",
    "elena": "olena yelena jelena lena helen helena alena lenochka",
    "elizabeth": "liz lizzie beth betty eliza elzbieta ela elisabeth elizaveta yelyzaveta liza",
    "eugene": (
        "evgeny evgeniy evgenii yevgeny yevgeniy yevhen ievgen yevgen evgen zhenya "
        "eugeniusz gene jenya"
    ),
    "george": "georgy georgiy georgii heorhiy yuriy yuri yury yurii iurii yura jerzy jurek",
    "gregory": "greg grigory grigoriy hryhoriy hryhorii grisha grzegorz grzesiek",
    "irina": "iryna ira irena irka",
    "ivan": "ivanko vanya vania iwan",
    "jacob": "jake jakub kuba yakov yakiv iakov",
    "james": "jim jimmy jamie",
    "john": "jack johnny jon",
    "joseph": "joe joey jozef josef iosif osip yosyp",
    "konstantin": "kostya kostia kostiantyn kostyantyn konstanty constantine",
    "maria": "mariya mariia masha mary marie marysia",
    "matthew": "matt mateusz matvey matviy matvei",
    "michael": "mike mikey mikhail mykhailo mychajlo michal misha mikhailo mihail",
    "natalia": "natalya nataliya natalie natasha nata",
    "nicholas": "nick nicky nikolay nikolai mykola mikola kolya mikolaj nikolaj",
    "olga": "olha olya olia",
    "paul": "pavel pavlo pasha pawel pavlik",
    "peter": "pete petr pyotr petro piotr petya",
    "richard": "rick ricky rich dick ryszard",
    "robert": "rob robbie bob bobby bert",
    "sergey": "sergei sergiy serhiy serhii sergii serezha seryozha sergiusz",
    "stanislav": "stas stanislaw stanislav staszek",
    "stephen": "steve steven stepan stefan szczepan",
    "svetlana": "svitlana sveta",
    "tatiana": "tatyana tetiana tetyana tanya tania tatjana",
    "thomas": "tom tommy tomasz tomek",
    "victor": "viktor vitya wiktor",
    "victoria": "viktoria viktoriia vika vicky wiktoria",
    "vladimir": "volodymyr volodimir volodya vova wlodzimierz",
    "william": "bill billy will willy liam wilhelm",
    "yulia": "yuliya yuliia iuliia julia julie yulya julka",
    "lukasz": "lukas luka",
    "margaret": "maggie meg peggy malgorzata gosia",
    "oleg": "oleh",
    "igor": "ihor",
    "vasily": "vasiliy vasyl vasya wasyl",
    "anthony": "tony antoni anton antonio",
    "edward": "ed eddie ted edvard",
    "wojciech": "wojtek",
}
_NAME_GROUPS = {k: tuple(v.split()) if isinstance(v, str) else v for k, v in _NAME_GROUPS.items()}

NICKNAMES: dict[str, str] = {}
for _canonical, _variants in _NAME_GROUPS.items():
    NICKNAMES[_canonical] = _canonical
    for _variant in _variants:
        NICKNAMES.setdefault(_variant, _canonical)

# Legal forms dropped from company names before comparing (folded, punctuation removed).
LEGAL_FORMS = frozenset(
    "llc l l c ltd limited inc incorporated corp corporation co company plc llp lp gmbh ag "
    "kg ug mbh sa sas sarl srl spa bv nv oy ab as aps sp z o oo spolka zoo tov ooo oao "
    "zao pao ao pp tzov fop pjsc jsc ojsc cjsc pte pty kft sro".split()
)
_NON_ALNUM = re.compile(r"[^0-9a-z ]+")
_DOUBLES = re.compile(r"(.)\1+")
# Transliteration spellings of one sound, made equal before the phonetic key:
# Polish sz/cz/w, Ukrainian/Russian kh/y/ii (Kowalski ↔ Kovalsky, Юлія ↔ Iuliia).
_SKELETON_RULES = (
    ("szcz", "shch"),
    ("sz", "sh"),
    ("cz", "ch"),
    ("rz", "zh"),
    ("w", "v"),
    ("kh", "h"),
    ("ph", "f"),
    ("ck", "k"),
    ("x", "ks"),
    ("y", "i"),
    ("j", "i"),
)


def words(text: str | None) -> list[str]:
    """Folded words with punctuation dropped: "O'Brien-Smith" → ["o", "brien", "smith"]."""
    return _NON_ALNUM.sub(" ", fold(text)).split()


@lru_cache(maxsize=262144)
def canonical_given(name: str | None) -> str:
    """The canonical form of a given name: Sasha, Олександр, Aleksandr → alexander."""
    parts = words(name)
    if not parts:
        return ""
    return " ".join(NICKNAMES.get(p, p) for p in parts)


def skeleton(word: str) -> str:
    """A spelling-insensitive form of one folded word (Kovalsky, Kowalski → kovalski)."""
    text = word
    for old, new in _SKELETON_RULES:
        text = text.replace(old, new)
    return _DOUBLES.sub(r"\1", text)


@lru_cache(maxsize=65536)
def phonetic(word: str) -> str:
    """Metaphone of a word's skeleton (empty for an empty word)."""
    if not word:
        return ""
    return jellyfish.metaphone(skeleton(word)) or skeleton(word)


def person_name(first: str | None, last: str | None, middle: str | None = "") -> str:
    """The comparable full name: every word canonical (a swapped family name stays itself)."""
    return " ".join(p for p in (canonical_given(first), canonical_given(last)) if p)


def person_match_key(first: str | None, last: str | None) -> str:
    """The scan's blocking key for a person: the phonetic keys of the canonical given
    name and the family name, sorted so a swapped first/last name still meets."""
    given = canonical_given(first).split()
    family = canonical_given(last).split()
    keys = [phonetic(given[0]) if given else "", phonetic("".join(family)) if family else ""]
    keys = sorted(k for k in keys if k)
    return " ".join(keys)[:100]


def company_words(name: str | None) -> list[str]:
    """A company's folded name words without legal forms (ТОВ «Ромашка» → ["romashka"])."""
    parts = words(name)
    kept = [p for p in parts if p not in LEGAL_FORMS]
    return kept or parts


def company_name(name: str | None) -> str:
    return " ".join(company_words(name))


def company_match_key(name: str | None) -> str:
    """The scan's blocking key for a company: phonetic key of the name sans legal form."""
    return "".join(phonetic(w) for w in company_words(name))[:100]
