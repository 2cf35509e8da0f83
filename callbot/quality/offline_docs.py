"""Data docs that render without internet (issue 17).

Great Expectations' page templates load Bootstrap, bootstrap-table, jQuery, Popper, a date picker, a
dark theme, Font Awesome and Vega from public CDNs, and its logo from S3. On a closed network (a call
centre's) ``data_docs/index.html`` then shows an empty list without styles: the tables are filled in
by jQuery/bootstrap-table. After GE has written its pages, :func:`make_offline` points every such
reference at a copy shipped in ``docs_assets/`` (the exact versions, see its README) and copies them
to ``data_docs/static/vendor/``, with relative paths, so the folder works anywhere it is copied or
zipped to.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

__all__ = ["CDN", "OfflineDocsError", "external_loads", "make_offline"]

ASSETS = Path(__file__).with_name("docs_assets")
VENDOR = "static/vendor"  # inside data_docs/
# great-expectations==1.24.1, render/view/templates/*.j2 -> docs_assets/<npm package>-<version>/<file>
CDN = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": "bootstrap-table-1.19.0/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": "bootstrap-table-1.19.0/bootstrap-table-filter-control.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": "bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}
# GE's logos on S3 -> the images GE itself copies to data_docs/static/images/ (there is no local dark
# logo; the dark theme shows the light one)
GE_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
GE_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

_URL = re.compile(r"""https?://[^\s"'()<>]+""")
_TAG = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*>", re.IGNORECASE)
_SRI = re.compile(r"""\s+(?:integrity|crossorigin)(?:=(?:"[^"]*"|'[^']*'|[^\s>]+))?""", re.IGNORECASE)
# GE's own static files, as a page refers to them; its favicon on validation pages is one ../ short
_STATIC = re.compile(r"""(?<=["'])(?:\./|(?:\.\./)*)static/(?=images/|styles/|fonts/)""")
_TAG_LOAD = re.compile(r"""\b(?:src|href|data)\s*=\s*["']?(https?://[^\s"'>]+)""", re.IGNORECASE)
_CSS_LOAD = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])(https?://[^\s"')]+)""", re.IGNORECASE)


class OfflineDocsError(RuntimeError):
    """A data docs page loads something from the internet that has no local copy."""


def _local(url: str, to_root: str) -> str | None:
    """The relative path replacing ``url`` in a file ``to_root`` away from data_docs/, or None."""
    if url in CDN:
        return f"{to_root}{VENDOR}/{CDN[url]}"
    if url.startswith(GE_WEB_ASSETS):
        name = url[len(GE_WEB_ASSETS) :].split("?", 1)[0]
        if name in GE_IMAGES:
            return f"{to_root}static/images/{GE_IMAGES[name]}"
    return None


def _rewrite(text: str, to_root: str) -> tuple[str, int]:
    count = 0

    def url(match: re.Match[str]) -> str:
        nonlocal count
        local = _local(match.group(0), to_root)
        if local is None:
            return match.group(0)
        count += 1
        return local

    def tag(match: re.Match[str]) -> str:
        before = count
        new = _URL.sub(url, match.group(0))
        # the CDN tags carry SRI hashes and crossorigin: a file:// page would refuse the local copy
        new = _SRI.sub("", new) if count > before else new
        return _STATIC.sub(f"{to_root}static/", new)

    text = _TAG.sub(tag, text)
    text = _CSS_LOAD.sub(lambda m: m.group(0).replace(m.group(1), _URL.sub(url, m.group(1))), text)
    return text, count


def external_loads(data_docs: Path) -> list[tuple[Path, str]]:
    """(file, url) for everything under ``data_docs`` that a browser would fetch from the network.

    Links a reader may click (``<a href>``) are not loads and are not listed.
    """
    found = []
    for path in sorted(data_docs.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        urls = [u for t in _TAG.findall(text) for u in _TAG_LOAD.findall(t)] + _CSS_LOAD.findall(text)
        found += [(path, u) for u in urls]
    return found


def make_offline(data_docs: Path) -> int:
    """Point ``data_docs``' CDN and S3 references at local copies; returns how many were rewritten.

    Raises :class:`OfflineDocsError` naming the page and URL when a page still loads from the network
    (a GE upgrade brought a new asset: add it to ``docs_assets/`` and to :data:`CDN`).
    """
    data_docs = Path(data_docs)
    rewritten = 0
    for path in sorted(data_docs.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        depth = len(path.relative_to(data_docs).parts) - 1
        text = path.read_text(encoding="utf-8")
        new, count = _rewrite(text, "../" * depth)
        if new != text:
            path.write_text(new, encoding="utf-8")
            rewritten += count
    shutil.copytree(ASSETS, data_docs / VENDOR, dirs_exist_ok=True)
    left = external_loads(data_docs)
    if left:
        listed = "; ".join(f"{p.relative_to(data_docs)}: {u}" for p, u in left[:5])
        raise OfflineDocsError(
            f"{data_docs}: {len(left)} reference(s) still load from the internet ({listed}); add a local "
            f"copy to {ASSETS} and its URL to callbot.quality.offline_docs.CDN"
        )
    return rewritten
