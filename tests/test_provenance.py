"""Code fingerprints: which library modules each stage depends on."""

from superposition.provenance import code_fingerprint, module_dependencies


def test_dependencies_follow_imports_transitively():
    deps = module_dependencies("superposition.toy_sae.train")
    assert {"superposition.toy_sae.train", "superposition.sweep", "superposition.sae",
            "superposition.toy_data", "superposition.toy_sae.ground_truth", "superposition.io"} <= set(deps)


def test_stages_do_not_depend_on_unrelated_modules():
    train = set(module_dependencies("superposition.toy_sae.train"))
    assert "superposition.toy_sae.evaluate" not in train
    assert "superposition.metrics" not in train
    assert "superposition.workflow_config" not in train  # adding an experiment must not retrain this one


def test_fingerprint_is_stable_and_distinguishes_stages():
    assert code_fingerprint("superposition.toy_sae.train") == code_fingerprint("superposition.toy_sae.train")
    assert code_fingerprint("superposition.toy_sae.train") != code_fingerprint("superposition.toy_sae.evaluate")
    assert len(code_fingerprint("superposition.metrics")) == 16


def test_fingerprint_changes_when_a_dependency_changes(monkeypatch):
    import superposition.provenance as provenance

    before = code_fingerprint("superposition.toy_sae.train")
    original = provenance._module_path

    class Edited:
        def __init__(self, path):
            self.path = path

        def read_bytes(self):
            return self.path.read_bytes() + b"\n# edited"

    monkeypatch.setattr(provenance, "_module_path",
                        lambda name: Edited(original(name)) if name == "superposition.sae" else original(name))
    assert code_fingerprint("superposition.toy_sae.train") != before


def test_a_notebook_fingerprint_covers_the_library_modules_it_imports(tmp_path):
    import json

    from superposition.provenance import code_fingerprint, notebook_fingerprint, notebook_modules

    cell = {"cell_type": "code", "source": ["from superposition.claims import claims_table_markdown\n",
                                            "from superposition.tms import plots\n", "import numpy as np\n"]}
    notebook = tmp_path / "report.ipynb"
    notebook.write_text(json.dumps({"cells": [cell, {"cell_type": "markdown", "source": ["from superposition.io"]}]}))
    assert notebook_modules(notebook) == ("superposition.claims", "superposition.tms", "superposition.tms.plots")
    assert notebook_fingerprint(notebook) == code_fingerprint("superposition.claims", "superposition.tms",
                                                              "superposition.tms.plots")
