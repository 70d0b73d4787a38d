"""Render an experiment's papermill notebook into an executed notebook and a self-contained HTML report."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from superposition.io import atomic_path

__all__ = ["KERNEL_NAME", "ensure_kernel", "render_report"]

# One name for the project's Jupyter kernel, registered inside the venv (a generic `python3` kernel elsewhere on
# the Jupyter path could shadow the venv's interpreter).
KERNEL_NAME = "superposition-replications"

log = logging.getLogger(__name__)


def ensure_kernel(name: str = KERNEL_NAME) -> None:
    """Register this interpreter as Jupyter kernel ``name`` in its own prefix, unless it already is."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    log.info("registering Jupyter kernel %r for %s", name, sys.executable)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name,
                    "--display-name", f"Python ({name})"], check=True, capture_output=True)


def render_report(
    template: Path, executed: Path, html: Path, parameters: dict[str, Any], cwd: Path = Path("."),
    kernel: str = KERNEL_NAME,
) -> None:
    """Execute ``template`` with papermill ``parameters``, save it to ``executed`` and HTML (code hidden) to ``html``.

    Both files appear atomically: a failed run leaves neither behind. The notebook runs with ``cwd`` as its
    working directory, so the paths in ``parameters`` are relative to it.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    ensure_kernel(kernel)
    with atomic_path(executed) as temporary_notebook:
        papermill.execute_notebook(str(template), str(temporary_notebook), parameters=parameters,
                                   kernel_name=kernel, cwd=str(cwd), progress_bar=False, log_output=True)
        notebook = nbformat.read(temporary_notebook, as_version=4)
        exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        body, _ = exporter.from_notebook_node(notebook)
        with atomic_path(html) as temporary_html:
            temporary_html.write_text(body, encoding="utf-8")


def main() -> None:
    """`python -m superposition.reporting --install-kernel`: register the project's kernel (used by make)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--install-kernel", action="store_true", help="register the Jupyter kernel")
    args = parser.parse_args()
    if args.install_kernel:
        logging.basicConfig(level=logging.INFO)
        ensure_kernel()


if __name__ == "__main__":
    main()
