"""The Snakefile imports only light modules: parsing the workflow must not pay for torch (seconds per command)."""

import subprocess
import sys


def test_modules_the_snakefile_imports_do_not_import_torch():
    code = ("import sys, superposition.workflow_config, superposition.manifest, superposition.provenance, "
            "superposition.recovery, superposition.config; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
