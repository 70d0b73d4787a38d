"""The results site: figure links of claims, the landing page's content, offline reports (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from superposition.claims import Claim, read_claims, write_claims
from superposition.cost import Cost
from superposition.manifest import MANIFEST_FILE, load_manifest
from superposition.provenance import config_hash, git_commit, run_provenance
from superposition.reporting import MATHJAX_PARTS, copy_mathjax, mathjax_url, offline_html_exporter
from superposition.site import claim_figure, merged, site_html, SiteInputs
from superposition.timings import JobTiming

REPO = Path(__file__).resolve().parents[1]
MANIFEST = load_manifest(REPO / MANIFEST_FILE)
FIGURES = {"fig01_mmcs": "Figure 1: MMCS against L1.", "fig1a_true": "Figure 1a: the metrics.",
           "ablations": "Figures 5-8: the ablation settings.", "training": "Training losses."}


@pytest.mark.parametrize("source, figure", [
    ("Figure 1", "fig01_mmcs"), ("Section 3, Fig. 1", "fig01_mmcs"), ("Fig 6 (top)", "ablations"),
    ("Figures 2 and 7", "ablations"), ("Section 4", None), ("Figure 12", None)])
def test_claim_figure_follows_the_figure_numbers_of_the_captions(source, figure):
    assert claim_figure(source, FIGURES) == figure


def test_claim_figure_matches_lettered_captions():
    assert claim_figure("Fig 1", {"fig1a_true": "Figure 1a: the metrics."}) == "fig1a_true"


def _claims(tmp_path: Path) -> dict[str, dict]:
    payloads = {}
    for experiment in MANIFEST.experiments:
        fields = dict(statement="s", source="Figure 1", paper_value="p", rule="r")
        claims = [Claim(id="passes", measured=1, measured_summary="m", passed=True, **fields),
                  Claim(id="fails", measured=0, measured_summary="m0", passed=False, **fields).diagnosed(
                      "scale_limited", "the figure shows it")]
        path = tmp_path / f"{experiment.name}.json"
        write_claims(path, experiment.name, "paper", claims)
        payloads[experiment.name] = read_claims(path)
    return payloads


def test_the_page_has_a_card_per_experiment_every_claim_timings_costs_and_provenance(tmp_path):
    jobs = [JobTiming("tms", "tms_train", "part=intro", 12.0, 300.0, 11.0, 90.0),
            JobTiming("tms", "tms_claims", "", 1.5, float("nan"), 1.0, 50.0)]
    costs = {"tms": (Cost(1e12, "toy models"), Cost(3e12, "toy models"))}
    provenance = {"commit": "abc123", "dirty": True, "config_hash": "feedbeef", "python": "3.11",
                  "platform": "Linux", "packages": {"torch": "2.13.0"}}
    page = site_html(SiteInputs(MANIFEST, _claims(tmp_path), jobs, costs, provenance, "smoke"))
    for experiment in MANIFEST.experiments:
        assert f"id='exp-{experiment.name}'" in page
        assert f"href='{experiment.name}/report.html'" in page
        for figure in experiment.figures:
            assert f"src='{experiment.name}/figures/{figure}.png'" in page
    assert page.count("<td title='s'>passes</td>") == len(MANIFEST.experiments)
    assert "failed: scale of this tier" in page and "the figure shows it" in page
    assert "13.5 s of job time over 2 jobs" in page and "300 MB" in page and "3.00e+12" in page
    assert "abc123" in page and "uncommitted" in page and "feedbeef" in page and "snakemake_report.html" in page
    # Offline: no scheme in any link or source, no script.
    assert not re.search(r"(?:href|src)='(?:https?:)?//", page) and "<script" not in page


def test_provenance_and_config_hash(tmp_path):
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1}) != config_hash({"a": 2})
    assert git_commit(tmp_path) == (None, False)
    record = run_provenance(tmp_path, {"a": 1})
    assert record["commit"] is None and record["packages"]["torch"] != "not installed"


def test_merged_replaces_lists_and_merges_dicts():
    assert merged({"a": {"b": 1, "c": [1]}, "d": 2}, {"a": {"c": [2, 3]}}) == {"a": {"b": 1, "c": [2, 3]}, "d": 2}


def test_reports_load_nothing_from_a_cdn_and_link_mathjax_relatively(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Loss $\\|x - \\hat x\\|^2$")])
    body, _ = offline_html_exporter(mathjax_url(tmp_path / "results/_static/mathjax",
                                                tmp_path / "results/tms/report.html")).from_notebook_node(notebook)
    sources = re.findall(r"<script[^>]*src=\"([^\"]*)\"", body)
    assert sources == ["../_static/mathjax/MathJax.js?config=TeX-AMS_SVG"]
    assert "cdnjs" not in body and "require.js" not in body
    plain, _ = offline_html_exporter().from_notebook_node(notebook)
    assert re.findall(r"<script[^>]*src=", plain) == []


def test_copy_mathjax_copies_exactly_the_parts_and_names_a_wrong_folder(tmp_path):
    source = tmp_path / "mathjax"
    for part in MATHJAX_PARTS:
        target = source / part if "." in Path(part).name else source / part / "file.js"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(part)
    (source / "unpacked").mkdir()
    copy_mathjax(source, tmp_path / "out/mathjax")
    assert (tmp_path / "out/mathjax/MathJax.js").read_text() == "MathJax.js"
    assert not (tmp_path / "out/mathjax/unpacked").exists() and list((tmp_path / "out").iterdir()) == [
        tmp_path / "out/mathjax"]
    with pytest.raises(FileNotFoundError, match="libjs-mathjax"):
        copy_mathjax(tmp_path / "nothing", tmp_path / "out2")
