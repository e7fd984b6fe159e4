"""Model cards as evidence (`card.…`): the metadata of a card archived with the model.

Two forms are read, whichever the run archived:

- a Hugging Face-style Markdown card (`model_card.md`, `README.md`): its YAML front matter, the
  block between a first line `---` and the next `---`; the Markdown body is prose, not evidence;
- a CycloneDX JSON document (`bom.json`, `*.cdx.json`, `model_card.json`): the `modelCard` of the
  first component that has one (or a bare `modelCard` object).

Nested mappings are flattened with dots, as metrics are (`card.considerations.useCases`, or
`card["model-index"]`); lists stay lists (`len(card.datasets) >= 1`, `"credit" in card.tags`); dates
become ISO 8601 strings (read as timestamps by `age()`). A card whose front matter or JSON is
malformed is an EvidenceError (exit 3), located. A card without metadata (a Markdown card without
front matter) is no card: `card exists` is false, and every `card.…` is missing evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pml_policy.base.errors import EvidenceError, Unreadable
from pml_policy.base.files import read_limited
from pml_policy.base.mappings import LIMITS, flatten, parse_document

# Which archived file is the card, best first; the shallowest path wins between two of one name.
CARD_NAMES = ("model_card.md", "MODEL_CARD.md", "modelcard.md", "README.md", "model_card.json", "bom.json")
_CYCLONEDX_SUFFIX = ".cdx.json"
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$", re.S | re.M)
_HINT = "a card's metadata is YAML front matter between '---' lines, or a CycloneDX modelCard (JSON)"


def card_path(paths: list[str]) -> str | None:
    """The archived file to read as the model card, among the artifact paths; None when none is one."""

    def rank(path: str) -> tuple[int, int] | None:
        name = path.rsplit("/", 1)[-1]
        if name in CARD_NAMES:
            return CARD_NAMES.index(name), path.count("/")
        if name.endswith(_CYCLONEDX_SUFFIX):
            return len(CARD_NAMES), path.count("/")
        return None

    ranked = sorted((r, p) for p in paths if (r := rank(p)) is not None)
    return ranked[0][1] if ranked else None


def card_among(files: dict[str, Path], shown: Callable[[str], str]) -> dict[str, Any] | None:
    """The card's evidence among readable files (archived path -> file on disk), if one is a card;
    `shown` says where an archived path is, for errors."""
    name = card_path(list(files))
    return read_card_file(name, files[name], shown(name)) if name else None


def read_card_file(name: str, file: Path, shown: str) -> dict[str, Any] | None:
    """The card's evidence in `file`, archived as `name` (bounded as all evidence is)."""
    try:
        text = read_limited(file, LIMITS.document_bytes, "a model card")
    except Unreadable as exc:
        raise EvidenceError(exc.message, exc.hint) from None
    return read_card(name, text, shown)


def read_card(path: str, text: str, shown: str) -> dict[str, Any] | None:
    """The card's evidence from the text of the file at `path` (`shown` locates errors); None for a
    card without metadata (`card exists` is false, and the subject's digest is as without a card)."""
    card: Any
    if path.endswith(".json"):
        card = _model_card(parse_document(text, shown, True, EvidenceError, _HINT), shown)
    else:
        match = _FRONT_MATTER.match(text)
        # a newline first: the YAML's line numbers are then the file's (the opening --- is line 1)
        card = parse_document("\n" + match[1], shown, False, EvidenceError, _HINT) if match else None
        if card is not None and not isinstance(card, dict):
            raise EvidenceError(f"{shown}: the card's front matter must be a mapping, not {type(card).__name__}", _HINT)
    return _flat(card, shown) if card else None


def _model_card(document: Any, shown: str) -> dict[str, Any]:
    if isinstance(document, dict):
        if isinstance(document.get("modelCard"), dict):
            return document["modelCard"]
        metadata = document.get("metadata")
        candidates = [metadata.get("component")] if isinstance(metadata, dict) else []
        if isinstance(document.get("components"), list):
            candidates += document["components"]
        for component in candidates:
            if isinstance(component, dict) and isinstance(component.get("modelCard"), dict):
                return component["modelCard"]
    raise EvidenceError(f"{shown}: no CycloneDX modelCard in this JSON document", _HINT)


def _flat(values: dict[str, Any], shown: str) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in flatten({str(k): v for k, v in values.items()}, where=shown).items()}


def _plain(value: Any) -> Any:
    """YAML's dates and times as ISO 8601 strings (JSON-safe, and timestamps to `age()`)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
