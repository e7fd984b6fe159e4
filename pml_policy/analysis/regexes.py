"""Globs (`applies to model`, `metrics matching`, waivers) and the RE2 patterns of `matches` as z3
regular expressions.

`matches` searches (RE2's `search`): an unanchored pattern may match anywhere. The subset
translated is what policies use: literals, `.`, classes (`[a-z0-9]`, `[^…]`, `\\d \\w \\s`), groups,
`|`, `* + ? {n} {n,} {n,m}`, `^` first and `$` last. Anything else (flags, `\\b`, lazy
quantifiers, Unicode classes) returns None: the caller treats that test as an unknown boolean,
and says so.
"""

from __future__ import annotations

import z3

_S = z3.StringSort()
_ANY = z3.Full(z3.ReSort(_S))
_CHAR = z3.AllChar(z3.ReSort(_S))
_CLASSES = {
    "d": [("0", "9")],
    "w": [("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")],
    "s": [(" ", " "), ("\t", "\t"), ("\n", "\n"), ("\r", "\r"), ("\f", "\f"), ("\v", "\v")],
}
_LOOP_LIMIT = 200  # {n,m} past this is left unknown: z3 unrolls loops


class Untranslatable(ValueError):
    pass


def glob(pattern: str) -> z3.ReRef:
    """fnmatch's glob (`*`, `?`, `[…]`, `[!…]`) as a z3 regex matching whole names."""
    parts, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            parts.append(_ANY)
        elif ch == "?":
            parts.append(_CHAR)
        elif ch == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            parts.append(_class(body[1:] if negate else body, negate))
            i = end
        else:
            parts.append(z3.Re(z3.StringVal(ch)))
        i += 1
    return _concat(parts) if parts else z3.Re(z3.StringVal(""))


def search(pattern: str) -> z3.ReRef | None:
    """The strings in which an RE2 pattern finds a match, or None outside the subset."""
    try:
        parser = _Parser(pattern)
        start = parser.eat("^")
        body = parser.alternation()
        end = parser.eat("$")
        if parser.i != len(pattern) or ((start or end) and parser.top_level_options > 1):
            raise Untranslatable(pattern)  # `^a|b$` anchors one option each: left unknown
    except (Untranslatable, IndexError, ValueError):
        return None
    return _concat(([] if start else [_ANY]) + [body] + ([] if end else [_ANY]))


def _concat(parts: list[z3.ReRef]) -> z3.ReRef:
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def _union(parts: list[z3.ReRef]) -> z3.ReRef:
    return parts[0] if len(parts) == 1 else z3.Union(*parts)


def _ranges(pairs: list[tuple[str, str]]) -> z3.ReRef:
    return _union([z3.Range(a, b) if a != b else z3.Re(z3.StringVal(a)) for a, b in pairs])


def _negated(re: z3.ReRef) -> z3.ReRef:
    return z3.Intersect(_CHAR, z3.Complement(re))


def _class(body: str, negate: bool) -> z3.ReRef:
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            i += 1
            ch = body[i]
            if ch in _CLASSES:
                pairs += _CLASSES[ch]
                i += 1
                continue
        if i + 2 < len(body) and body[i + 1] == "-":
            pairs.append((ch, body[i + 2]))
            i += 3
            continue
        pairs.append((ch, ch))
        i += 1
    if not pairs:
        raise Untranslatable(body)
    re = _ranges(pairs)
    return _negated(re) if negate else re


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p, self.i = pattern, 0
        self.depth, self.top_level_options = 0, 1

    def peek(self) -> str | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def eat(self, ch: str) -> bool:
        if self.peek() == ch:
            self.i += 1
            return True
        return False

    def alternation(self) -> z3.ReRef:
        options = [self.sequence()]
        while self.eat("|"):
            options.append(self.sequence())
        if self.depth == 0:
            self.top_level_options = len(options)
        return _union(options)

    def sequence(self) -> z3.ReRef:
        parts = []
        while self.peek() not in (None, "|", ")") and not (self.peek() == "$" and self.i == len(self.p) - 1):
            parts.append(self.quantified(self.atom()))
        return _concat(parts) if parts else z3.Re(z3.StringVal(""))

    def atom(self) -> z3.ReRef:
        ch = self.p[self.i]
        self.i += 1
        if ch == "(":
            if self.peek() == "?":
                if self.p[self.i : self.i + 2] != "?:":
                    raise Untranslatable("group flags")
                self.i += 2
            self.depth += 1
            inner = self.alternation()
            self.depth -= 1
            if not self.eat(")"):
                raise Untranslatable("unclosed group")
            return inner
        if ch == ".":
            return _negated(z3.Re(z3.StringVal("\n")))  # RE2's `.` stops at a line break
        if ch == "[":
            start = self.i + (1 if self.p.startswith("^", self.i) else 0)
            start += 1 if self.p.startswith("]", start) else 0  # a leading `]` is itself
            end = self.p.index("]", start)
            body = self.p[self.i : end]
            self.i = end + 1
            negate = body.startswith("^")
            return _class(body[1:] if negate else body, negate)
        if ch == "\\":
            esc = self.p[self.i]
            self.i += 1
            if esc in _CLASSES:
                return _ranges(_CLASSES[esc])
            if esc.upper() in _CLASSES and esc.isupper():
                return _negated(_ranges(_CLASSES[esc.lower()]))
            if esc.isalnum():
                raise Untranslatable(f"\\{esc}")
            return z3.Re(z3.StringVal(esc))
        if ch in "^$*+?{})|":
            raise Untranslatable(ch)
        return z3.Re(z3.StringVal(ch))

    def quantified(self, atom: z3.ReRef) -> z3.ReRef:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.i += 1
            if self.peek() in ("?", "+"):
                raise Untranslatable("lazy or possessive")
            return z3.Star(atom) if ch == "*" else z3.Plus(atom) if ch == "+" else z3.Option(atom)
        if ch == "{":
            end = self.p.index("}", self.i)
            lo, _, hi = self.p[self.i + 1 : end].partition(",")
            low = int(lo)
            high = low if not _ else (int(hi) if hi else None)
            self.i = end + 1
            if low > _LOOP_LIMIT or (high is not None and high > _LOOP_LIMIT):
                raise Untranslatable("large repetition")
            if high is None:
                return z3.Concat(z3.Loop(atom, low, low), z3.Star(atom)) if low else z3.Star(atom)
            return z3.Loop(atom, low, high)
        return atom
