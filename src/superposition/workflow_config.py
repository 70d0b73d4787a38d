"""The root of ``config.yaml``: ``device`` plus one section per stage of the experiment manifest.

The root dataclass is built from the manifest (each stage names its section's config class), so adding an
experiment never edits this module. Checks that span sections live with the section that needs them: a
section class may define ``cross_check(self, root)``, called once the whole config has parsed, which raises
ConfigError naming the keys involved.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Literal

import yaml

from superposition.config import ConfigError, param, parse_config, schema_yaml
from superposition.manifest import MANIFEST_FILE, Manifest, config_class, load_manifest

__all__ = ["workflow_config_class", "load_workflow_config", "DEVICE_DOC"]

DEVICE_DOC = "where tensors live: auto = CUDA when present, else CPU"
_ROOT_DOC = "Configuration of the Superposition Replications workflow."


def _cross_check(root: Any) -> None:
    for field in dataclasses.fields(root):
        check = getattr(getattr(root, field.name), "cross_check", None)
        if check is not None:
            check(root)


def workflow_config_class(manifest: Manifest) -> type:
    """The frozen root dataclass: ``device`` and each manifest stage's section, in manifest order."""
    fields: list[tuple[str, Any, Any]] = [("device", Literal["auto", "cpu", "cuda"], param(DEVICE_DOC))]
    for stage in manifest.stages:
        description = stage.description or (f"{stage.paper}: {stage.title}" if stage.is_experiment else stage.title)
        fields.append((stage.name, config_class(stage), param(description)))
    return dataclasses.make_dataclass("WorkflowConfig", fields, frozen=True,
                                      namespace={"__doc__": _ROOT_DOC, "__post_init__": _cross_check})


def load_workflow_config(config: dict[str, Any], schema_file: Path | str | None = None,
                         manifest: Path | str = MANIFEST_FILE) -> Any:
    """Validate the merged Snakemake config and return it typed (raises ConfigError naming bad keys).

    ``schema_file`` is the stored schema (``workflow/schemas/config.schema.yaml``); without it the schema is
    built from the dataclasses, which a test keeps identical to the stored one.
    """
    schema = yaml.safe_load(Path(schema_file).read_text(encoding="utf-8")) if schema_file else None
    return parse_config(workflow_config_class(load_manifest(manifest)), config, schema)


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.workflow_config [PATH]`: write the JSON schema of config.yaml (`make schema`)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("path", nargs="?", help="output file (default: standard output)")
    parser.add_argument("--manifest", default=MANIFEST_FILE)
    args = parser.parse_args(argv)
    text = schema_yaml(workflow_config_class(load_manifest(args.manifest)))
    if args.path:
        Path(args.path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    try:
        main()
    except ConfigError as error:
        sys.exit(f"error: {error}")
