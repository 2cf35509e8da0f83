"""The HTML reports render on a machine without internet (issue 17).

A tiny validate run writes real data docs; headless Chromium, with a proxy and DNS that lead nowhere,
opens the index and a validation page from a zipped and unpacked copy (the original is moved away)
and finds the tables filled in by jQuery/bootstrap-table, Bootstrap's styles, Font Awesome's icons,
and no request that left the machine or failed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from test_validate import _validate_section, _write

from callbot.quality.gate import GateResult, run_validate
from callbot.quality.offline_docs import ASSETS, CDN, OfflineDocsError, external_loads, make_offline
from callbot.quality.params import ValidateParams
from callbot.quality.suites import SUITES
from tests.browser import Browser
from tests.support.synthetic_records import clean_records

GE_TEMPLATES = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, repo: Path) -> tuple[GateResult, Path]:
    """A validate run on 40 interviews; its data_docs/ zipped, unpacked elsewhere, the original moved."""
    root = tmp_path_factory.mktemp("offline")
    records, manifest = clean_records(40)
    prepared = _write(root, records, manifest)
    params = ValidateParams.model_validate(_validate_section(repo, root))
    result = run_validate(prepared, root / "report", params)
    archive = shutil.make_archive(str(root / "data_docs"), "zip", result.report / "data_docs")
    shutil.unpack_archive(archive, root / "elsewhere" / "data_docs")
    result.report.rename(root / "report-moved-away")  # an absolute path to the original would now fail
    return result, root / "elsewhere" / "data_docs"


def _assert_offline(browser: Browser, page: Path) -> None:
    off_machine = [u for u in browser.requests if not u.startswith(("file:", "data:"))]
    assert off_machine == [], f"{page.name} asked the network for {off_machine}"
    assert browser.failed == [], f"{page.name}: failed loads {browser.failed}"
    assert browser.errors == [], f"{page.name}: console errors {browser.errors}"


STYLE = """({
  navbar: getComputedStyle(document.querySelector('nav.navbar')).display,
  sticky: getComputedStyle(document.querySelector('.sticky-top')).position,
  background: getComputedStyle(document.body).backgroundColor,
  iconFont: getComputedStyle(document.querySelector('i.fas'), '::before').fontFamily,
  iconFontLoaded: [...document.fonts].some(f => f.family.includes('Font Awesome 6 Free') && f.status === 'loaded'),
})"""


@pytest.mark.slow
def test_data_docs_render_without_network(docs: tuple[GateResult, Path]) -> None:
    result, data_docs = docs
    with Browser() as browser:
        browser.open(data_docs / "index.html")
        browser.evaluate("document.fonts.ready.then(() => true)")
        browser.settle()
        _assert_offline(browser, data_docs / "index.html")
        # the index's two tables are filled in by jQuery + bootstrap-table from data in the page
        # (bootstrap-table adds a header-only copy of each: the ones with rows are the tables)
        index = browser.evaluate(
            "[...document.querySelectorAll('.bootstrap-table table')].map(t => "
            "[...t.querySelectorAll('tbody tr')].map(r => r.innerText.trim())).filter(rows => rows.length)"
        )
        assert len(index) == 2, index
        validations, suites = index
        assert len(validations) == len(SUITES) and all(len(row) for row in validations)
        assert sorted(suites) == sorted(SUITES)
        style = browser.evaluate(STYLE)
        assert style["navbar"] == "flex" and style["sticky"] == "sticky", style  # Bootstrap 4's rules
        assert style["background"] == "rgb(255, 255, 255)", style
        assert "Font Awesome 6 Free" in style["iconFont"] and style["iconFontLoaded"], style

        # a validation page, four folders deep: one row per expectation, each with its status icon
        suite = "audio"
        (page,) = (data_docs / "validations" / suite).rglob("*.html")
        browser.open(page)
        browser.evaluate("document.fonts.ready.then(() => true)")
        _assert_offline(browser, page)
        rows = browser.evaluate(
            "[...document.querySelectorAll('table')]"
            ".filter(t => t.querySelector('thead') && t.querySelector('thead').innerText.includes('Observed Value'))"
            ".map(t => ({styled: !!t.closest('.bootstrap-table'), rows: [...t.querySelectorAll('tbody tr')]"
            ".map(r => ({text: r.innerText, ok: !!r.querySelector('.fa-check-circle')}))}))"
        )
        expected = result.suites[suite]
        assert all(t["styled"] for t in rows), "bootstrap-table did not run on the expectation tables"
        found = [r for t in rows for r in t["rows"]]
        assert len(found) == expected.evaluated and sum(r["ok"] for r in found) == expected.succeeded
        assert any("values must be" in r["text"] for r in found)
        style = browser.evaluate(STYLE)
        assert style["navbar"] == "flex" and style["iconFontLoaded"], style

        # a reader in dark mode gets bootstrap-dark's colours and GE's logo from static/images
        browser.open(data_docs / "index.html", dark=True)
        browser.settle()
        _assert_offline(browser, data_docs / "index.html")
        assert browser.evaluate(STYLE)["background"] != "rgb(255, 255, 255)"
        assert any(u.endswith("static/images/logo-long.png") for u in browser.requests)


def test_every_cdn_asset_is_the_version_ge_asks_for() -> None:
    """Each CDN URL is in GE's templates, its copy is here, and matches GE's SRI hash where it has one."""
    templates = "\n".join(p.read_text(encoding="utf-8") for p in GE_TEMPLATES.glob("*.j2"))
    urls = set(re.findall(r"""(?:src|href)=["'](https://[^"']+)["']""", templates))
    loads = {u for u in urls if not u.startswith(("https://greatexpectations.io", "https://docs."))}
    assert loads - set(CDN) == set(), "GE loads assets that have no local copy"
    assert set(CDN) - urls == set(), "CDN lists URLs GE no longer uses"
    for url, local in CDN.items():
        assert (ASSETS / local).is_file(), local
        sri = re.search(re.escape(url) + r"""["'][^>]*integrity=["']sha384-([^"']+)""", templates)
        if sri:
            digest = base64.b64encode(hashlib.sha384((ASSETS / local).read_bytes()).digest()).decode()
            assert digest == sri.group(1), f"{local} is not the file GE's SRI hash names"
    licences = {p.parent.name for p in ASSETS.glob("*/LICENSE*")}
    assert licences == {local.split("/")[0] for local in CDN.values()}


def test_an_asset_without_a_local_copy_is_an_error_naming_the_page(tmp_path: Path) -> None:
    page = tmp_path / "validations" / "s" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css">'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-x" crossorigin="anonymous">'
        '</script><a href="https://greatexpectations.io">a link is no load</a>',
        encoding="utf-8",
    )
    assert make_offline(tmp_path) == 2
    text = page.read_text(encoding="utf-8")
    assert 'href="../../static/vendor/bootstrap-4.3.1/bootstrap.min.css"' in text
    assert '<script src="../../static/vendor/jquery-3.7.1/jquery.min.js"></script>' in text
    assert (tmp_path / "static/vendor/jquery-3.7.1/jquery.min.js").is_file()
    assert external_loads(tmp_path) == []

    page.write_text('<script src="https://cdn.example.org/new-widget.js"></script>', encoding="utf-8")
    with pytest.raises(
        OfflineDocsError, match=r"validations/s/page.html: https://cdn.example.org/new-widget.js"
    ):
        make_offline(tmp_path)


def test_review_report_loads_nothing_from_the_network(tmp_path: Path) -> None:
    from callbot.review.report import render_html

    report = {
        "tasks": 2,
        "annotated_tasks": 2,
        "reviewed": 1,
        "rejected": 0,
        "rejection_rate": 0.0,
        "agreement": {"transcript_cer": 0.1},
        "annotators": [{"annotator": "a", "tasks": 2}],
    }
    (tmp_path / "report.html").write_text(render_html(report), encoding="utf-8")
    assert external_loads(tmp_path) == []
