"""Render an experiment's papermill notebook into an executed notebook and a self-contained HTML report.

The HTML loads nothing from the network: figures and CSS are inline, nbconvert's require.js and mermaid loaders
(CDN URLs) are left out, and formulas are typeset by a local MathJax 2 (Debian's libjs-mathjax, copied into
``results/_static/mathjax`` by :func:`copy_mathjax`), linked by a relative URL so the report opens from file://.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from superposition.io import atomic_path

__all__ = ["KERNEL_NAME", "MATHJAX_CONFIG", "MATHJAX_PARTS", "copy_mathjax", "ensure_kernel", "mathjax_url",
           "offline_html_exporter", "render_report"]

# One name for the project's Jupyter kernel, registered inside the venv (a generic `python3` kernel elsewhere on
# the Jupyter path could shadow the venv's interpreter).
KERNEL_NAME = "superposition-replications"

log = logging.getLogger(__name__)

# MathJax 2's TeX input with SVG output: glyphs are drawn from JavaScript font data, so no web font is loaded
# (browsers refuse @font-face files from file:// URLs).
MATHJAX_CONFIG = "TeX-AMS_SVG"
# What that configuration loads, relative to MathJax's root (about 4 MB of the package's 40 MB).
MATHJAX_PARTS = ("MathJax.js", f"config/{MATHJAX_CONFIG}.js", "config/Safe.js", "extensions", "jax/input/TeX",
                 "jax/element", "jax/output/SVG/jax.js", "jax/output/SVG/config.js", "jax/output/SVG/autoload",
                 "jax/output/SVG/fonts/TeX", "localization/en")

# nbconvert's lab template without the script tags that fetch require.js and mermaid from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}{%- if resources.mathjax_url -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
"""


def copy_mathjax(source: Path, destination: Path) -> None:
    """Copy the parts of MathJax 2 that :data:`MATHJAX_CONFIG` loads from ``source`` (MathJax's root, e.g.
    Debian's /usr/share/javascript/mathjax) to ``destination``, atomically."""
    missing = [part for part in MATHJAX_PARTS if not (source / part).exists()]
    if missing:
        raise FileNotFoundError(f"{source} lacks {missing}: is it MathJax 2's root? `make setup` unpacks Debian's "
                                "libjs-mathjax into data/external/mathjax")
    temporary = destination.parent / f".{destination.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        for part in MATHJAX_PARTS:
            (temporary / part).parent.mkdir(parents=True, exist_ok=True)
            if (source / part).is_dir():
                shutil.copytree(source / part, temporary / part)
            else:
                shutil.copy2(source / part, temporary / part)
        shutil.rmtree(destination, ignore_errors=True)
        os.rename(temporary, destination)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def mathjax_url(mathjax: Path, html: Path) -> str:
    """The URL of MathJax in folder ``mathjax`` as seen from the page ``html`` (relative, so file:// works)."""
    relative = os.path.relpath(mathjax / "MathJax.js", html.parent)
    return f"{Path(relative).as_posix()}?config={MATHJAX_CONFIG}"


def offline_html_exporter(mathjax: str = ""):
    """nbconvert's HTMLExporter (lab template, code hidden) with no CDN script; ``mathjax``: MathJax's URL
    (empty: formulas stay as TeX)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
                        template_file="offline.html.j2", mathjax_url=mathjax)


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
    kernel: str = KERNEL_NAME, mathjax: Path | None = None,
) -> None:
    """Execute ``template`` with papermill ``parameters``, save it to ``executed`` and HTML (code hidden) to ``html``.

    Both files appear atomically: a failed run leaves neither behind. The notebook runs with ``cwd`` as its
    working directory, so the paths in ``parameters`` are relative to it. ``mathjax``: the folder of the local
    MathJax copy (:func:`copy_mathjax`) the HTML links to typeset formulas; None leaves them as TeX.
    """
    import nbformat
    import papermill

    ensure_kernel(kernel)
    with atomic_path(executed) as temporary_notebook:
        papermill.execute_notebook(str(template), str(temporary_notebook), parameters=parameters,
                                   kernel_name=kernel, cwd=str(cwd), progress_bar=False, log_output=True)
        notebook = nbformat.read(temporary_notebook, as_version=4)
        exporter = offline_html_exporter(mathjax_url(mathjax, html) if mathjax is not None else "")
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
