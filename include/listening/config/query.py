"""A small boolean query language for brand matching.

Grammar (keywords are case-insensitive; adjacency means AND)::

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary | "NOT" unary)*      # "a NOT b" is "a AND NOT b"
    unary   := "NOT" unary | near
    near    := primary ("NEAR/" n primary)*             # both within n characters
    primary := TERM | TERM* | "quoted phrase" | "(" query ")"   # TERM* is a prefix

Matching runs on text normalised by :func:`listening.core.text.match_form` (NFKC,
Traditional to Simplified, case folding, whitespace squeezed); the query's terms
are normalised the same way, so ``極光`` in a post matches ``极光`` in the query.
CJK terms match as substrings; a term made of ASCII letters and digits matches
only at word boundaries (``ios`` does not match ``bios``), unless it ends with ``*``
(``星辰s*`` matches ``星辰S3``).  A syntax error
raises :class:`QuerySyntaxError`, which names the 1-based character position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from listening.core.text import match_form


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, position: int, query: str):
        self.position = position  # 1-based
        self.query = query
        super().__init__(f"query syntax error at position {position}: {message} (in {query!r})")


@dataclass(frozen=True)
class Term:
    text: str  # as written
    norm: str  # match form
    pattern: re.Pattern[str] = field(repr=False, compare=False)
    # the longest whitespace-free piece of ``norm``: every match contains it, so a text without
    # it is a miss without running the regular expression (most terms miss most texts)
    needle: str = field(default="", repr=False, compare=False)

    @classmethod
    def make(cls, written: str) -> Term:
        prefix = written.endswith("*") and len(written.rstrip("*")) > 0
        norm = match_form(written.rstrip("*") if prefix else written)
        # whitespace inside a phrase is optional ("星辰 S3" matches "星辰s3"); ASCII words need
        # boundaries, except at the end of a prefix term ("星辰s*" matches "星辰s3")
        body = r"\s*".join(re.escape(part) for part in norm.split())
        if norm[:1].isascii() and norm[:1].isalnum():
            body = r"(?<![a-z0-9_])" + body
        if not prefix and norm[-1:].isascii() and norm[-1:].isalnum():
            body = body + r"(?![a-z0-9_])"
        return cls(written, norm, re.compile(body), max(norm.split(), key=len, default=""))

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.pattern.finditer(text)]


@dataclass(frozen=True)
class Node:
    op: str  # "term", "and", "or", "not", "near"
    children: tuple[Node, ...] = ()
    term: Term | None = None
    distance: int = 0


@dataclass
class Query:
    text: str
    root: Node
    _fn: Any = field(default=None, init=False, repr=False, compare=False)

    def match(self, text: str, *, normalised: bool = False) -> list[str] | None:
        """Return the matched terms (as written in the query) if ``text`` matches, else None."""
        t = text if normalised else match_form(text)
        if self._fn is None:
            self._fn = _compile(self.root, positive=True)
        hits: list[str] = []
        if not self._fn(t, hits):
            return None
        seen: list[str] = []
        for h in hits:
            if h not in seen:
                seen.append(h)
        return seen

    def positive_terms(self) -> list[str]:
        out: list[str] = []
        _collect(self.root, out, positive=True)
        return out


def _collect(node: Node, out: list[str], positive: bool) -> None:
    if node.op == "term":
        if positive and node.term and node.term.text not in out:
            out.append(node.term.text)
        return
    for c in node.children:
        _collect(c, out, positive if node.op != "not" else not positive)


def _compile(node: Node, positive: bool) -> Any:
    """The query tree as nested closures: recording the matched terms of positive branches, without
    dispatching on the node type for every text (matching runs per mention per brand)."""
    op = node.op
    if op == "term":
        assert node.term is not None
        needle, search, name = node.term.needle, node.term.pattern.search, node.term.text
        if positive:
            def term(text: str, hits: list[str]) -> bool:
                if needle in text and search(text) is not None:
                    hits.append(name)
                    return True
                return False
        else:
            def term(text: str, hits: list[str]) -> bool:
                return needle in text and search(text) is not None
        return term
    if op in ("and", "or"):
        parts = [_compile(c, positive) for c in node.children]
        want_all = op == "and"

        def combine(text: str, hits: list[str]) -> bool:
            # every child is evaluated so that all matched terms are recorded
            results = [p(text, hits) for p in parts]
            return all(results) if want_all else any(results)
        return combine
    if op == "not":
        inner = _compile(node.children[0], not positive)
        return lambda text, hits: not inner(text, [])
    if op == "near":
        return lambda text, hits: _eval_near(node, text, hits, positive)
    raise AssertionError(op)


def _eval_near(node: Node, text: str, hits: list[str], positive: bool) -> bool:
    terms = [c.term for c in node.children]
    spans = []
    for t in terms:
        assert t is not None
        found = t.spans(text)
        if not found:
            return False
        spans.append(found)
    # consecutive operands must occur within `distance` characters of each other (either order)
    for a, b in zip(spans, spans[1:], strict=False):
        if not any(_gap(x, y) <= node.distance for x in a for y in b):
            return False
    if positive:
        hits.extend(t.text for t in terms if t is not None)
    return True


def _gap(x: tuple[int, int], y: tuple[int, int]) -> int:
    if x[1] <= y[0]:
        return y[0] - x[1]
    if y[1] <= x[0]:
        return x[0] - y[1]
    return 0


_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<lpar>\() | (?P<rpar>\)) |
        (?P<near>NEAR/(?P<n>\d+)) |
        (?P<phrase>"(?P<ptext>[^"]*)(?P<pclose>"?)) |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass
class _Tok:
    kind: str  # lpar rpar near term and or not end
    value: str
    pos: int  # 1-based
    n: int = 0


def _tokenize(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(q):
        if q[i].isspace():
            i += 1
            continue
        m = _TOKEN_RE.match(q, i)
        if not m or m.end() == i:  # pragma: no cover - the word alternative always matches
            raise QuerySyntaxError(f"unexpected character {q[i]!r}", i + 1, q)
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        pos = start + 1
        if m.group("lpar"):
            toks.append(_Tok("lpar", "(", pos))
        elif m.group("rpar"):
            toks.append(_Tok("rpar", ")", pos))
        elif m.group("near"):
            toks.append(_Tok("near", m.group("near"), pos, int(m.group("n"))))
        elif m.group("phrase") is not None:
            if not m.group("pclose"):
                raise QuerySyntaxError("unterminated quoted phrase", pos, q)
            text = m.group("ptext")
            if not text.strip():
                raise QuerySyntaxError("empty quoted phrase", pos, q)
            toks.append(_Tok("term", text, pos))
        else:
            w = m.group("word")
            up = w.upper()
            if up in ("AND", "OR", "NOT"):
                toks.append(_Tok(up.lower(), w, pos))
            elif up.startswith("NEAR/"):
                raise QuerySyntaxError(f"NEAR needs a distance like NEAR/5, got {w!r}", pos, q)
            else:
                toks.append(_Tok("term", w, pos))
        i = m.end()
    toks.append(_Tok("end", "", len(q) + 1))
    return toks


class _Parser:
    def __init__(self, q: str):
        self.q = q
        self.toks = _tokenize(q)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, msg: str, tok: _Tok | None = None) -> QuerySyntaxError:
        tok = tok or self.peek()
        return QuerySyntaxError(msg, tok.pos, self.q)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty query")
        node = self.parse_or()
        t = self.peek()
        if t.kind == "rpar":
            raise self.error("unmatched ')'", t)
        if t.kind != "end":  # pragma: no cover - parse_and consumes everything else
            raise self.error(f"unexpected {t.value!r}", t)
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_unary()]
        while True:
            t = self.peek()
            if t.kind == "and":
                self.take()
                parts.append(self.parse_unary())
            elif t.kind == "not":
                self.take()
                parts.append(Node("not", (self.parse_unary(),)))
            elif t.kind in ("term", "lpar"):
                parts.append(self.parse_unary())
            else:
                break
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def parse_unary(self) -> Node:
        if self.peek().kind == "not":
            self.take()
            return Node("not", (self.parse_unary(),))
        return self.parse_near()

    def parse_near(self) -> Node:
        first_tok = self.peek()
        node = self.parse_primary()
        if self.peek().kind != "near":
            return node
        if node.op != "term":
            raise self.error("NEAR joins terms or phrases, not groups", first_tok)
        operands = [node]
        distance = None
        while self.peek().kind == "near":
            nt = self.take()
            if distance is not None and nt.n != distance:
                raise self.error("one NEAR chain must use one distance", nt)
            distance = nt.n
            tok = self.peek()
            rhs = self.parse_primary()
            if rhs.op != "term":
                raise self.error("NEAR joins terms or phrases, not groups", tok)
            operands.append(rhs)
        return Node("near", tuple(operands), distance=distance or 0)

    def parse_primary(self) -> Node:
        t = self.take()
        if t.kind == "term":
            if not match_form(t.value.rstrip("*")):
                raise self.error(f"term {t.value!r} is empty after normalisation", t)
            return Node("term", term=Term.make(t.value))
        if t.kind == "lpar":
            if self.peek().kind == "rpar":
                raise self.error("empty parentheses", self.peek())
            node = self.parse_or()
            close = self.take()
            if close.kind != "rpar":
                raise self.error("missing ')'", close)
            return node
        if t.kind == "end":
            raise self.error("query ends where a term was expected", t)
        if t.kind == "near":
            raise self.error("NEAR needs a term on its left", t)
        raise self.error(f"expected a term, a phrase or '(' but found {t.value!r}", t)


def parse_query(q: str) -> Query:
    """Parse a query string; raises :class:`QuerySyntaxError` naming the position."""
    if not isinstance(q, str):
        raise TypeError("query must be a string")
    return Query(q, _Parser(q).parse())
