"""Turning typed text into an FTS5 query that stays fast at any table size.

FTS5 answers a prefix term lazily (reading only as many index pages as the
page of results needs) only when a prefix index of exactly that length exists;
otherwise it first merges the doclists of every matching term, which grows
with the table. The index keeps prefixes of 1-3 characters, so each typed word
is matched by its first three characters through that index, and the rows it
yields are then checked against the whole word by `crm_has_words`, using the
same normalisation as the tokenizer (lower case, diacritics removed).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from tui_crm.domain.entities import TEXTUAL_TYPES, EntityDef
from tui_crm.store.database import Connection

PREFIX_INDEX_MAX = 3
"""Longest prefix the `records_fts` prefix index holds (migration 1: prefix='1 2 3')."""
FILTER_FUNCTION = "crm_has_words"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    match: str
    """The FTS5 MATCH expression (prefix terms no longer than the prefix index)."""
    terms: tuple[str, ...]
    """Normalised words the text must contain as word prefixes."""

    @property
    def needs_filter(self) -> bool:
        return any(len(term) > PREFIX_INDEX_MAX for term in self.terms)


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def plan_search(text: str) -> SearchPlan | None:
    """'jo smi' → every word must start a word of the record; None when nothing to search."""
    terms = tuple(dict.fromkeys(words(text)))
    if not terms:
        return None
    match = " ".join(f'"{term[:PREFIX_INDEX_MAX]}"*' for term in terms)
    return SearchPlan(match=match, terms=terms)


def register_filter(conn: Connection, entity: EntityDef) -> None:
    """(Re)bind `crm_has_words(name, body, terms_json)` to this entity's text fields."""
    text_fields = tuple(f.name for f in entity.fields if f.type in TEXTUAL_TYPES)

    def has_words(name: Any, body: Any, terms_json: str) -> int:
        found = set(words(name)) if isinstance(name, str) else set()
        try:
            values = json.loads(body) if isinstance(body, str) else {}
        except ValueError:
            values = {}
        for field_name in text_fields:
            value = values.get(field_name)
            if isinstance(value, str):
                found.update(words(value))
        return int(all(any(w.startswith(t) for w in found) for t in _terms(terms_json)))

    conn.create_function(FILTER_FUNCTION, 3, has_words, deterministic=True)


@functools.lru_cache(maxsize=64)
def _terms(terms_json: str) -> tuple[str, ...]:
    return tuple(json.loads(terms_json))


def filter_sql(plan: SearchPlan, table: str = "r") -> tuple[str, list[Any]]:
    """The extra WHERE clause (and its parameter) for words longer than the prefix index."""
    if not plan.needs_filter:
        return "", []
    return (
        f" AND {FILTER_FUNCTION}({table}.name, {table}.body, ?)",
        [json.dumps(list(plan.terms))],
    )
