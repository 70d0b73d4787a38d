"""The browser check catches what it must: a CDN script, a missing page, a broken image, a script error."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pytest

from superposition.reporting import copy_mathjax, mathjax_url, offline_html_exporter
from superposition.site_check import check_site, find_chromium

REPO = Path(__file__).resolve().parents[1]
MATHJAX = REPO / "data/external/mathjax/usr/share/javascript/mathjax"  # unpacked by `make setup`

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (`make setup` installs it as root)")
# A 1x1 PNG.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9a"
                         "wAAAABJRU5ErkJggg==")


def test_a_clean_site_passes_and_is_screenshotted(tmp_path):
    (tmp_path / "a.png").write_bytes(PIXEL)
    (tmp_path / "report.html").write_text("<html><body><p>report</p></body></html>")
    (tmp_path / "index.html").write_text("<html><body><img src='a.png'><a href='report.html'>r</a>"
                                         "<a href='#top'>top</a><h1 id='top'>x</h1></body></html>")
    check = check_site(tmp_path / "index.html", tmp_path / "shot.png", CHROMIUM)
    assert check.ok, check.summary()
    assert check.pages == ["index.html", "report.html"] and check.images_checked == 1 and check.links_checked == 2
    assert (tmp_path / "shot.png").stat().st_size > 0


def test_every_kind_of_problem_is_reported(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "report.html").write_text(
        "<html><head><script src='https://cdn.example.org/mathjax.js'></script></head><body>"
        "<script>undefined_function()</script></body></html>")
    (tmp_path / "index.html").write_text(
        "<html><body><img src='empty.png'><a href='report.html'>r</a><a href='missing.html'>m</a>"
        "<a href='#nowhere'>n</a><a href='https://example.org/'>web</a></body></html>")
    check = check_site(tmp_path / "index.html", None, CHROMIUM)
    assert not check.ok
    assert check.outside_requests == ["https://cdn.example.org/mathjax.js"]
    assert any("undefined_function" in error for error in check.console_errors)
    assert [image.split(": ")[0] for image in check.broken_images] == ["index.html"]
    assert sorted(link.split(": ", 1)[1] for link in check.broken_links) == sorted([
        "#nowhere (no such anchor)", "https://example.org/ (outside the results)",
        (tmp_path / "missing.html").as_uri()])


@pytest.mark.skipif(not MATHJAX.is_dir(), reason="MathJax not unpacked: run `make setup`")
def test_a_report_typesets_its_formulas_with_the_local_mathjax_offline(tmp_path):
    results = tmp_path / "results"
    copy_mathjax(MATHJAX, results / "_static/mathjax")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Dimensions per feature $D^* = m / \\|W\\|_F^2$ and $$\\mathrm{MMCS} = \\frac{1}{n}\\sum_i \\max_j c_{ij}$$")])
    report = results / "tms/report.html"
    report.parent.mkdir(parents=True)
    report.write_text(offline_html_exporter(mathjax_url(results / "_static/mathjax", report))
                      .from_notebook_node(notebook)[0])
    (results / "index.html").write_text("<html><body><a href='tms/report.html'>report</a></body></html>")
    check = check_site(results / "index.html", None, CHROMIUM)
    assert check.ok, check.summary()
    assert check.typeset_formulas == 2
