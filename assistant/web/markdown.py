"""The one renderer of answer text for the chat: every answer in every mode (a model's reply,
an offline answer's quotes, an abstention's list of nearest sources) and the asker's own
message pass through `inert_markdown` before Gradio's Chatbot sees them.

Gradio's Chatbot renders Markdown itself (with HTML and GFM autolinks), so the output here is
Markdown again, rebuilt from markdown-it-py's token stream:
- structure is kept (paragraphs, emphasis, lists, block quotes, headings, tables);
- every link token is judged by its parsed URL: only `#source-n` anchors and https links to
  the cited documents' official URLs stay live; any other link, reference-style or not, and
  every image keep their text and lose their target;
- all other text is escaped so that no Markdown or HTML construct can form downstream: `<`,
  `>`, `&` as entities (no raw HTML, no `<http://…>` autolink), `[ ] ! * _ ` ~ | $ \\` always,
  a URL scheme's colon, `www.` and `@` (no GFM bare-URL or e-mail link), block markers at a
  line's start.
The result is parsed once more (`is_inert`); should anything live remain, the answer is shown
as fully escaped plain text instead. A regex sanitiser on the raw text (the first version) was
bypassed by reference-style images, shortcut references, nested brackets, line breaks in
labels, quoted titles, bare URLs and autolinks (issue 24, items 3 and 4)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from assistant.text.lexicon import CITATION_NUMBER, OFFICIAL_URL_BODY

# Images are parsed (so `![x][r]` is recognised as one) and then dropped to their alt text.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table")

_ALWAYS = set("\\`*_[]!|~$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SCHEME_COLON = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]{0,30}):(?=/)")
_WWW = re.compile(r"(?i)\b(www)\.")
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d{1,9}[.)])", re.M)
_ANCHOR = re.compile(rf"#source-{CITATION_NUMBER}")
_OFFICIAL = re.compile(OFFICIAL_URL_BODY)  # the one https-only rule (text.lexicon)
_MARKER = re.compile(rf"\\\[({CITATION_NUMBER})\\\]")  # a citation marker once escaped


def escape(text: str) -> str:
    """Plain text as Markdown that renders exactly this text and nothing live."""
    out = "".join(_ENTITIES.get(ch) or ("\\" + ch if ch in _ALWAYS else ch) for ch in text)
    out = _SCHEME_COLON.sub(r"\1\\:", out)
    out = _WWW.sub(r"\1\\.", out)
    out = out.replace("@", "\\@")
    return _LINE_START.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), out)


def _escape_marker(marker: str) -> str:
    return marker[:-1] + "\\" + marker[-1]


def inert_markdown(text: str, allowed_links: Iterable[str] = (), markers: Iterable[int] = ()) -> str:
    """`text` (Markdown from any source) as Markdown whose only live constructs are emphasis,
    lists, quotes, headings, tables and links to `#source-n` or to one of `allowed_links`
    (https only). Each `[n]` with n in `markers` becomes a link to its source card."""
    allowed = {u.strip() for u in allowed_links if u and _OFFICIAL.fullmatch(u.strip())}
    renderer = _Renderer(allowed, set(markers))
    out = renderer.blocks(SyntaxTreeNode(_PARSER.parse(text or ""))).strip()
    if not is_inert(out, allowed):  # never expected; a guarantee rather than a hope
        return "\n\n".join(escape(p) for p in (text or "").split("\n\n"))
    return out


def is_inert(markdown: str, allowed_links: Iterable[str] = ()) -> bool:
    """Parsed as CommonMark (with HTML on, as the Chatbot renders it): no image, no raw HTML,
    no link but `#source-n` and the allowed ones; and outside those links' targets, no
    unescaped URL scheme, `www.` or `@` a GFM autolinker would take."""
    allowed = set(allowed_links)
    stack = list(_CHECKER.parse(markdown))
    while stack:
        token = stack.pop()
        stack.extend(token.children or [])
        if token.type in {"image", "html_inline", "html_block"}:
            return False
        if token.type == "link_open":
            href = str(token.attrGet("href") or "")
            if not (_ANCHOR.fullmatch(href) or href in allowed):
                return False
    rest = markdown
    for url in allowed:
        rest = rest.replace(f"]({url})", "]")
    return not _AUTOLINKABLE.search(rest)


_CHECKER = MarkdownIt("commonmark", {"html": True}).enable("table")
_AUTOLINKABLE = re.compile(r"(?i)[a-z]:/|\bwww\.|(?<!\\)@")


class _Renderer:
    def __init__(self, allowed: set[str], markers: set[int]):
        self.allowed = allowed
        self.markers = markers

    # --- blocks ---------------------------------------------------------------------------------

    def blocks(self, node: SyntaxTreeNode, tight: bool = False) -> str:
        parts = [self.block(child) for child in node.children]
        return ("\n" if tight else "\n\n").join(p for p in parts if p.strip())

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if kind == "heading":
            level = int(node.tag[1]) if node.tag[1:].isdigit() else 2
            return "#" * level + " " + self.inline(node.children[0]).replace("\n", " ")
        if kind == "blockquote":
            inner = self.blocks(node)
            return "\n".join("> " + line if line else ">" for line in inner.split("\n"))
        if kind in {"bullet_list", "ordered_list"}:
            start = int(node.attrs.get("start", 1) or 1) if kind == "ordered_list" else 1
            items = []
            for i, item in enumerate(node.children):
                marker = f"{start + i}. " if kind == "ordered_list" else "- "
                body = self.blocks(item, tight=True) or escape("")
                lines = body.split("\n")
                items.append("\n".join([marker + lines[0]] + [" " * len(marker) + x if x else ""
                                                               for x in lines[1:]]))
            return "\n".join(items)
        if kind in {"fence", "code_block"}:
            lines = [escape(line) for line in (node.content or "").split("\n") if line.strip()]
            return "\\\n".join(lines)
        if kind == "hr":
            return "***"
        if kind == "table":
            return self.table(node)
        # Anything else (html_block cannot occur with html off): its text, escaped.
        return escape(node.content or "")

    def table(self, node: SyntaxTreeNode) -> str:
        rows = []
        for section in node.children:
            for row in section.children:
                cells = [self.inline(cell.children[0]).replace("\n", " ") if cell.children else ""
                         for cell in row.children]
                rows.append("| " + " | ".join(cells) + " |")
                if section.type == "thead":
                    rows.append("|" + "---|" * len(cells))
        return "\n".join(rows)

    # --- inline ---------------------------------------------------------------------------------

    def inline(self, node: SyntaxTreeNode) -> str:
        tokens: list[Token] = list(node.token.children or []) if node.token else []
        out: list[str] = []
        text: list[str] = []
        live: list[bool] = []  # per open link: was it kept
        hrefs: list[str] = []  # the targets of the kept ones

        def flush() -> None:
            if text:
                out.append(self.text("".join(text), in_link=any(live)))
                text.clear()

        for token in tokens:
            kind = token.type
            if kind in {"text", "code_inline"}:
                text.append(token.content)
            elif kind == "image":
                text.append(token.content or "")  # its alt text
            elif kind == "softbreak":
                text.append("\n")
            elif kind == "hardbreak":
                flush()
                out.append("\\\n")
            elif kind in {"strong_open", "strong_close"}:
                flush()
                out.append("**")
            elif kind in {"em_open", "em_close"}:
                flush()
                out.append("*")
            elif kind == "link_open":
                flush()
                href = str(token.attrGet("href") or "")
                keep = not any(live) and bool(_ANCHOR.fullmatch(href) or href in self.allowed)
                live.append(keep)
                if keep:
                    hrefs.append(href)
                    out.append("[")
            elif kind == "link_close":
                if live and not live[-1] and "".join(text).strip().isdigit():
                    # `[1]` made a link by a planted `[1]: http://…` stays a source marker.
                    text[:] = ["[" + "".join(text).strip() + "]"]
                flush()
                if live and live.pop():
                    out.append(f"]({hrefs.pop()})")
            else:
                text.append(token.content or "")
        flush()
        return "".join(out)

    def text(self, content: str, *, in_link: bool) -> str:
        escaped = "\n".join(escape(line) for line in content.split("\n"))
        if in_link or not self.markers:
            return escaped
        return _MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](#source-{m.group(1)})"
                           if int(m.group(1)) in self.markers else m.group(0), escaped)
