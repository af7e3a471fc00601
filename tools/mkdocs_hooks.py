"""MkDocs hook for the femverify docs: Quarto's heading anchors, so that the doc links nbdev writes into `_modidx.py`
(`store.html#store.enroll`) resolve. Quarto (pandoc) makes an id from the heading's text: lower case, dots and
underscores kept, spaces to hyphens; Python-Markdown's slugs drop the dots, so each heading gets the Quarto id too."""
import re

HEADING = re.compile(r'<h([1-6]) id="([^"]*)"([^>]*)>(.*?)</h\1>', re.S)


def quarto_id(text: str) -> str:
    "The identifier pandoc gives a heading with this text."
    t = re.sub(r'<[^>]+>', '', text).replace('¶', '').strip().lower()
    return re.sub(r'\s+', '-', re.sub(r'[^\w\s.-]', '', t))


def on_page_content(html, page, config, files):
    "Before each heading whose id isn't Quarto's, an empty anchor with Quarto's id."
    def add(m):
        q = quarto_id(m.group(4))
        return m.group(0) if not q or q == m.group(2) else f'<span id="{q}"></span>{m.group(0)}'
    return HEADING.sub(add, html)
