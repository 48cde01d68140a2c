"""Strict STIX 2.1 verdicts at publishing speed (issue 12), never more lenient than stix2-validator.

`errors(obj)` gives exactly the error lines of `stix2validator.validate_instance(obj, OPTIONS)`:
- `stix_shapes.certainly_valid(obj)` first decides "valid" for the dominant simple shapes
  (indicator, relationship, identity, attack-pattern, malware and a few SCOs) when every
  property is known and of a form the validator accepts, parsing each STIX pattern shape once;
- anything else goes through the validator's own schema and MUST checks, with validators built
  once per schema over one pre-crawled schema registry (stix2-validator builds a fresh registry
  on every call, which dominates its cost); bundles and observed-data use `validate_instance`.
"""
from __future__ import annotations

import functools
import os
import pathlib

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from stix2validator import validate_instance
from stix2validator import validator as _v
from stix2validator.errors import pretty_error
from stix2validator.v21 import musts as _musts

from .stix_shapes import OPTIONS, certainly_valid, pattern_shape

__all__ = ["OPTIONS", "certainly_valid", "errors", "pattern_shape", "validator_errors"]
_SCHEMA_DIR = os.path.abspath(os.path.dirname(_v.__file__) + "/schemas-2.1/schemas/")
_FORMAT = Draft202012Validator.FORMAT_CHECKER


# ------------------------------------------------------------------ the validator, cached
@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    """Every bundled 2.1 schema under its file URI, as `retrieve_from_filesystem` loads it."""
    resources = []
    for root, _dirs, files in os.walk(_SCHEMA_DIR):
        for name in files:
            if name.endswith(".json"):
                path = os.path.join(root, name)
                uri = pathlib.Path(path).as_uri()
                schema = _v.patch_schema(_v.load_schema(path), _v.from_uri_to_path(uri))
                resources.append((uri, Resource.from_contents(schema)))
    retrieve = functools.partial(_v.retrieve_from_filesystem, schema_dir=_SCHEMA_DIR)
    return Registry(retrieve=retrieve).with_resources(resources).crawl()


@functools.lru_cache(maxsize=256)
def _validator(type_name: str, default: str):
    """The schema validator stix2-validator would build for this type (`_get_error_generator`)."""
    path = _v.find_schema(_SCHEMA_DIR, type_name) or _v.find_schema(_SCHEMA_DIR, default)
    schema = _v.patch_schema(_v.load_schema(path), path)
    registry = _registry().with_resource(path, DRAFT202012.create_resource(schema))
    return _v.STIXValidator(schema, registry=registry, format_checker=_FORMAT)


def validator_errors(obj: dict) -> list[str]:
    """The error lines of `validate_instance(obj, OPTIONS)`; raises where it raises."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if (not isinstance(kind, str) or kind in ("bundle", "observed-data") or "id" not in obj
            or not isinstance(obj["id"], str)):
        return [str(e) for e in validate_instance(obj, OPTIONS).errors]
    prefix = obj["id"] + ": "
    core = "core"
    if all(p not in obj for p in ("created", "modified")) and kind != "marking-definition":
        core = "cyber-observable-core"
    lines = [prefix + pretty_error(e, OPTIONS.verbose) for e in _validator(kind, core).iter_errors(obj)]
    lines += [pretty_error(e, OPTIONS.verbose)
              for e in _v._iter_errors_custom(obj, _musts.list_musts(OPTIONS), OPTIONS)]
    return lines


def errors(obj: dict) -> list[str]:
    """Validator error lines for one object; empty when it is valid."""
    return [] if certainly_valid(obj) else validator_errors(obj)
