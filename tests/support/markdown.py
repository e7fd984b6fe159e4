"""Markdown as the places it is read render it: GitHub's cmark-gfm (with its autolinks and tables)
and markdown-it-py's GFM-like preset (with linkify)."""

from __future__ import annotations

import html
import re

import cmarkgfm
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt

# What evidence must never turn into once rendered: a link, an image, emphasis, a heading, a list, HTML.
MARKUP = ("<a ", "<img", "<strong", "<em>", "<h1", "<h2", "<ol", "<ul", "<del", "<script", "<blockquote")


def rendered(markdown: str) -> dict[str, str]:
    """The HTML each renderer makes of the text (raw HTML kept, as a browser would get it)."""
    return {
        "cmark-gfm": cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE),
        "markdown-it-py": MarkdownIt("gfm-like").render(markdown),
    }


def markup_in(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The kinds of markup in the HTML that are not ours (allowed: what the writer itself makes)."""
    return [tag for tag in MARKUP if tag in html and tag not in allowed]


def plain(markdown: str) -> str:
    """What a reader sees of the Markdown on GitHub: the rendered text, tags dropped, entities read."""
    html_text = cmarkgfm.github_flavored_markdown_to_html(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
