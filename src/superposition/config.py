"""Typed configuration: one definition yields the dataclasses, the JSON schema and the error messages.

Each experiment declares a frozen dataclass whose fields are made with :func:`param` (a one-line doc and its
constraints). :func:`json_schema` turns the root dataclass into the JSON schema that Snakemake validates
``config.yaml`` against (``workflow/schemas/config.schema.yaml`` is generated from it by
``python -m superposition.workflow_config``; a test keeps the two in step). :func:`parse_config` validates a config
dict with messages that name the key and what is allowed, and builds the dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import jsonschema
import yaml

__all__ = ["param", "json_schema", "parse_config", "from_dict", "ConfigError", "schema_yaml", "read_config_file",
           "check_snakemake_arguments"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value is missing, unknown or outside what is allowed."""


def param(doc: str, *, default: Any = dataclasses.MISSING, **constraints: Any) -> Any:
    """A dataclass field with a one-line ``doc`` and JSON-schema ``constraints``.

    Constraints use JSON-schema keywords in snake case: ``minimum``, ``exclusive_minimum``, ``maximum``,
    ``exclusive_maximum``, ``min_items``, ``unique_items``; they apply to the items of a list field.
    A field with a ``default`` may be left out (config files are explicit and use none; the experiment
    manifest leaves optional keys out).
    """
    metadata = {"doc": doc, "constraints": constraints}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _has_default(field: dataclasses.Field) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


_KEYWORDS = {"minimum": "minimum", "exclusive_minimum": "exclusiveMinimum", "maximum": "maximum",
             "exclusive_maximum": "exclusiveMaximum", "min_items": "minItems", "unique_items": "uniqueItems"}
_ARRAY_KEYWORDS = {"minItems", "uniqueItems"}


def _type_schema(annotation: Any, constraints: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(annotation)
    keywords = {_KEYWORDS[key]: value for key, value in constraints.items()}
    if dataclasses.is_dataclass(annotation):
        return json_schema(annotation)
    if origin is Literal:
        return {"enum": list(get_args(annotation))}
    if origin in (tuple, list):
        item_type = get_args(annotation)[0]
        item_keywords = {k: v for k, v in constraints.items() if _KEYWORDS[k] not in _ARRAY_KEYWORDS}
        schema = {"type": "array", "items": _type_schema(item_type, item_keywords)}
        schema.update({k: v for k, v in keywords.items() if k in _ARRAY_KEYWORDS})
        return schema
    if origin is dict:
        # A named registry (e.g. models by name): string keys, every value of one type.
        schema = {"type": "object", "additionalProperties": _type_schema(get_args(annotation)[1], {})}
        if "min_items" in constraints:
            schema["minProperties"] = constraints["min_items"]
        return schema
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            inner = _type_schema(options[0], constraints)
            return {"anyOf": [inner, {"type": "null"}]}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if annotation in simple:
        return {"type": simple[annotation], **keywords}
    raise TypeError(f"unsupported config field type {annotation!r}")


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a config dataclass: keys without a default required, no unknown keys."""
    hints = get_type_hints(cls)
    properties = {}
    for field in dataclasses.fields(cls):
        schema = _type_schema(hints[field.name], field.metadata.get("constraints", {}))
        if "doc" in field.metadata:
            schema = {"description": field.metadata["doc"], **schema}
        properties[field.name] = schema
    required = [field.name for field in dataclasses.fields(cls) if not _has_default(field)]
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    if cls.__doc__:
        schema = {"description": " ".join(cls.__doc__.split()), **schema}
    return schema


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "<top level>"


def _explain(error: jsonschema.ValidationError) -> str:
    key = _key_path(error)
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = (" (a target written after --configfile is read as a config file: write targets first)"
                if not error.absolute_path else "")
        return f"config key '{key}': unknown key(s) {extra}; allowed keys are {allowed}{hint}"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    if error.validator == "enum":
        return f"config key '{key}': {error.instance!r} is not allowed; choose one of {error.validator_value}"
    message = f"config key '{key}': {error.message}"
    return f"{message} ({description})" if description else message


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a (nested) config dataclass from a dict already checked against its schema."""
    hints = get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in data and _has_default(field):
            continue  # the dataclass fills in its default
        annotation, value = hints[field.name], data[field.name]
        if get_origin(annotation) in (typing.Union, types.UnionType) and value is not None:
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if dataclasses.is_dataclass(annotation):
            value = from_dict(annotation, value)
        elif get_origin(annotation) is tuple:
            item = get_args(annotation)[0]
            value = tuple(from_dict(item, v) if dataclasses.is_dataclass(item) else float(v) if item is float else v
                          for v in value)
        elif get_origin(annotation) is dict:
            item = get_args(annotation)[1]
            value = {k: from_dict(item, v) if dataclasses.is_dataclass(item) else v for k, v in value.items()}
        elif annotation is float:
            value = float(value)
        values[field.name] = value
    return cls(**values)


def parse_config(cls: type[T], data: dict[str, Any], schema: dict[str, Any] | None = None) -> T:
    """Validate ``data`` against ``schema`` (default ``json_schema(cls)``) and build the dataclass.

    Raises ConfigError listing every problem, each naming its key and what is allowed.
    """
    validator = jsonschema.Draft202012Validator(schema if schema is not None else json_schema(cls))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_explain(e) for e in errors))
    return from_dict(cls, data)


def schema_yaml(cls: type) -> str:
    """The schema as the YAML text stored in ``workflow/schemas/``."""
    header = "# Generated from superposition.workflow_config by `make schema`; do not edit.\n"
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", **json_schema(cls)}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


def read_config_file(path: Path | str) -> Any:
    """A YAML (or JSON) config file; ConfigError naming the file, and the line where the parser stopped."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path}: not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where}: {error.problem or error.context}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path}: not valid YAML ({error})") from None


_CONFIG_EXTENSIONS = (".yaml", ".yml", ".json")


def check_snakemake_arguments(arguments: list[str]) -> list[str]:
    """Check the config files named in Snakemake command-line ``arguments`` before Snakemake reads them.

    Catches what Snakemake reports with a traceback: a missing or malformed file, and a target written after
    ``--configfile`` (which takes every following word as a config file). Returns the config files.
    """
    files: list[str] = []
    taking = False
    for argument in arguments:
        if argument in ("--configfile", "--configfiles"):
            taking = True
            continue
        if argument.startswith("-"):
            taking = False
            continue
        if taking:
            if not argument.endswith(_CONFIG_EXTENSIONS):
                raise ConfigError(f"'{argument}' follows --configfile, which reads every following word as a config "
                                  "file: write targets before --configfile")
            files.append(argument)
    for file in files:
        if not Path(file).is_file():
            raise ConfigError(f"config file {file}: not found (if it is a target, write it before --configfile)")
        read_config_file(file)
    return files


if __name__ == "__main__":
    # `python -m superposition.config [SNAKEMAKE ARGUMENTS...]`: check their config files (used by make).
    import sys

    try:
        check_snakemake_arguments(sys.argv[1:])
    except ConfigError as error:
        sys.exit(f"error: {error}")
