"""The OData query options Dataverse accepts: $filter, $select, $orderby, and Prefer.

`$filter` is parsed into a predicate over a row's wire-named values, checked
against the table's columns at parse time (an unknown property or a type
mismatch is a 400, as on the real service). Semantics follow Dataverse/SQL
Server where a client can observe them: string comparisons ignore case,
`contains`/`startswith`/`endswith` on null are false, ordered comparisons
with null are false, `ne` is true for null.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tui_crm.emulator.dataverse.errors import BAD_QUERY, ODataError, property_not_found

Predicate = Callable[[Mapping[str, Any]], bool]
# Resolve a property name to a value kind ("string", "number", "bool", "datetime",
# "date", "guid", "any") or None when the table has no such property.
Resolver = Callable[[str], str | None]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w-]))
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<equals>=)
    """,
    re.VERBOSE,
)

_COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_FUNCTIONS = ("contains", "startswith", "endswith")
# Dataverse's query functions on the calling user: "only my records" without
# the client knowing its own user id.
_USER_FUNCTIONS = ("Microsoft.Dynamics.CRM.EqualUserId", "Microsoft.Dynamics.CRM.NotEqualUserId")
_KEYWORDS = {"and", "or", "not", "null", "true", "false", *_COMPARISONS}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, bool, null, guid, datetime, date
    value: Any


def bad_query(message: str) -> ODataError:
    return ODataError(400, BAD_QUERY, message)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise bad_query(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


def parse_datetime(text: str) -> datetime:
    """ISO 8601 with Z or an offset; naive values are taken as UTC, as the service does."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class _Parser:
    def __init__(
        self, text: str, resolve: Resolver, entity: str, user_id: str | None = None
    ) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.resolve = resolve
        self.entity = entity
        self.user_id = user_id

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise bad_query(f"Syntax error: unexpected end of '{self.text}'.")
        self.index += 1
        return token

    def expect(self, kind: str) -> Token:
        token = self.take()
        if token.kind != kind:
            raise bad_query(
                f"Syntax error at position {token.position} in '{self.text}': "
                f"expected {kind}, found '{token.text}'."
            )
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text in words

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        token = self.peek()
        if token is not None:
            raise bad_query(f"Syntax error at position {token.position} in '{self.text}'.")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.at_word("or"):
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(part(row) for part in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.at_word("and"):
            self.take()
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(part(row) for part in parts)

    def parse_unary(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            inner = self.parse_unary()
            return lambda row: not inner(row)
        token = self.peek()
        if token is not None and token.kind == "lparen":
            self.take()
            inner = self.parse_or()
            self.expect("rparen")
            return inner
        if self.at_word(*_FUNCTIONS):
            return self.parse_function()
        if self.at_word(*_USER_FUNCTIONS):
            return self.parse_user_function()
        return self.parse_comparison()

    def parse_user_function(self) -> Predicate:
        """`Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')` and its negation."""
        function = self.take().text
        self.expect("lparen")
        parameter = self.expect("name")
        self.expect("equals")
        value = self.parse_operand()
        self.expect("rparen")
        if parameter.text != "PropertyName" or not isinstance(value, Literal):
            raise bad_query(f"{function} takes PropertyName='<lookup>' in '{self.text}'.")
        logical = str(value.value)
        wire = f"_{logical}_value"
        if self.resolve(wire) is None:
            raise property_not_found(logical, self.entity)
        user = (self.user_id or "").lower()
        equal = function.endswith(".EqualUserId")

        def check(row: Mapping[str, Any]) -> bool:
            owner = row.get(wire)
            matches = isinstance(owner, str) and owner.lower() == user
            return matches if equal else (owner is not None and not matches)

        return check

    def parse_operand(self) -> str | Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", token.text[1:-1].replace("''", "'"))
        if token.kind == "guid":
            return Literal("guid", token.text.lower())
        if token.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime(token.text))
            except ValueError as error:
                raise bad_query(f"Invalid date/time literal '{token.text}'.") from error
        if token.kind == "date":
            try:
                return Literal("date", date.fromisoformat(token.text))
            except ValueError as error:
                raise bad_query(f"Invalid date literal '{token.text}'.") from error
        if token.kind == "number":
            raw = token.text.rstrip("mMdDfFlL")
            number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return Literal("number", number)
        if token.kind == "name":
            if token.text == "null":
                return Literal("null", None)
            if token.text in ("true", "false"):
                return Literal("bool", token.text == "true")
            if token.text in _KEYWORDS:
                raise bad_query(f"Syntax error at position {token.position} in '{self.text}'.")
            if self.resolve(token.text) is None:
                raise property_not_found(token.text, self.entity)
            return token.text
        raise bad_query(f"Syntax error at position {token.position} in '{self.text}'.")

    def parse_comparison(self) -> Predicate:
        left = self.parse_operand()
        operator = self.take()
        if operator.kind != "name" or operator.text not in _COMPARISONS:
            raise bad_query(
                f"Syntax error at position {operator.position} in '{self.text}': "
                f"expected a comparison operator, found '{operator.text}'."
            )
        right = self.parse_operand()
        op = operator.text
        if isinstance(left, Literal) and isinstance(right, str):
            left, right = right, left
            op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
        if not isinstance(left, str) or not isinstance(right, Literal):
            raise bad_query(
                f"A comparison in '{self.text}' must compare a property with a literal."
            )
        return self.comparison(left, op, right)

    def comparison(self, name: str, op: str, literal: Literal) -> Predicate:
        kind = self.resolve(name) or "any"
        if literal.kind == "null":
            if op == "eq":
                return lambda row: row.get(name) is None
            if op == "ne":
                return lambda row: row.get(name) is not None
            return lambda row: False
        convert, target = _converter(kind, literal, self.entity, name, op)
        compare = _OPERATORS[op]

        def predicate(row: Mapping[str, Any]) -> bool:
            value = row.get(name)
            if value is None:
                return op == "ne"
            try:
                return compare(convert(value), target)
            except (TypeError, ValueError):
                return False

        return predicate

    def parse_function(self) -> Predicate:
        function = self.take().text
        self.expect("lparen")
        name = self.parse_operand()
        self.expect("comma")
        needle = self.parse_operand()
        self.expect("rparen")
        if not isinstance(name, str) or not isinstance(needle, Literal) or needle.kind != "string":
            raise bad_query(f"{function} needs a property and a string literal in '{self.text}'.")
        if self.resolve(name) not in ("string", "any"):
            raise bad_query(
                f"No function signature for the function with name '{function}' matches "
                f"the specified arguments (property '{name}')."
            )
        lowered = str(needle.value).lower()

        def check(row: Mapping[str, Any]) -> bool:
            value = row.get(name)
            if not isinstance(value, str):
                return False
            text = value.lower()
            if function == "contains":
                return lowered in text
            if function == "startswith":
                return text.startswith(lowered)
            return text.endswith(lowered)

        return check


def _identity(value: Any) -> Any:
    return value


def _lower(value: Any) -> str:
    return str(value).lower()


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    text = str(value)
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return parse_datetime(text)


def _to_date(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _converter(
    kind: str, literal: Literal, entity: str, name: str, op: str
) -> tuple[Callable[[Any], Any], Any]:
    """How to turn a stored value into something comparable with this literal."""
    mismatch = bad_query(
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{kind}' and '{literal.kind}' for operator kind '{op}' (property '{name}' of {entity})."
    )
    if literal.kind == "string":
        if kind not in ("string", "any", "guid"):
            raise mismatch
        return _lower, str(literal.value).lower()
    if literal.kind == "guid":
        if kind not in ("guid", "any", "string"):
            raise mismatch
        return _lower, literal.value
    if literal.kind == "number":
        if kind not in ("number", "any"):
            raise mismatch
        return _identity, literal.value
    if literal.kind == "bool":
        if kind not in ("bool", "any"):
            raise mismatch
        return bool, literal.value
    if literal.kind == "datetime":
        if kind not in ("datetime", "date", "any"):
            raise mismatch
        return _to_datetime, literal.value
    if literal.kind == "date":
        if kind == "datetime":
            return _to_datetime, datetime(
                literal.value.year, literal.value.month, literal.value.day, tzinfo=UTC
            )
        if kind not in ("date", "any"):
            raise mismatch
        return _to_date, literal.value
    raise mismatch


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}


def parse_filter(
    text: str, resolve: Resolver, entity: str, *, user_id: str | None = None
) -> Predicate:
    """Compile `$filter` text to a predicate, or raise the 400 the service would send.

    `user_id` is the caller, for the EqualUserId/NotEqualUserId query functions.
    """
    if not text.strip():
        raise bad_query("The $filter query option is empty.")
    return _Parser(text, resolve, entity, user_id).parse()


def parse_select(text: str, known: Callable[[str], bool], entity: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise bad_query("The $select query option is empty.")
    for name in names:
        if not known(name):
            raise property_not_found(name, entity)
    return tuple(dict.fromkeys(names))


def parse_orderby(
    text: str, known: Callable[[str], bool], entity: str
) -> tuple[tuple[str, bool], ...]:
    """`name asc, createdon desc` -> ((name, False), (createdon, True))."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_query(f"Syntax error in $orderby '{text}'.")
        if not known(words[0]):
            raise property_not_found(words[0], entity)
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(keys)


@dataclass(frozen=True)
class Preferences:
    """What a `Prefer` header asks for, parsed once per request."""

    max_page_size: int | None = None
    track_changes: bool = False
    return_representation: bool = False
    annotations: tuple[str, ...] = ()
    continue_on_error: bool = False


def parse_prefer(values: list[str]) -> Preferences:
    max_page_size: int | None = None
    track = representation = continue_on_error = False
    annotations: tuple[str, ...] = ()
    for header in values:
        for item in _split_prefer(header):
            key, _, value = item.partition("=")
            key = key.strip().lower()
            value = value.strip().strip('"')
            if key == "odata.maxpagesize":
                try:
                    max_page_size = int(value)
                except ValueError as error:
                    raise bad_query(f"Invalid odata.maxpagesize '{value}'.") from error
                if max_page_size <= 0:
                    raise bad_query(f"Invalid odata.maxpagesize '{value}'.")
            elif key == "odata.track-changes":
                track = True
            elif key == "return" and value == "representation":
                representation = True
            elif key == "odata.include-annotations":
                annotations = tuple(p.strip() for p in value.split(",") if p.strip())
            elif key == "odata.continue-on-error":
                continue_on_error = True
    return Preferences(max_page_size, track, representation, annotations, continue_on_error)


def _split_prefer(header: str) -> list[str]:
    """Split on commas that are not inside a quoted value (annotation lists are quoted)."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]
