"""Each kept object rebuilt from its allow-listed properties, with every string scrubbed.

A mixin of the engine's per-submission run (`engine._Run`): it reads and writes the run's state."""
from __future__ import annotations

import copy

from . import netviews
from .operators import replace
from .rules import (
    di06_email_addresses,
    di09_timestamps,
    di10_free_text,
    di11_external_references,
    di14_payloads,
    di15_custom_content,
    di16_sector_region,
)
from .stixmeta import (
    ALLOWED,
    EXTENSION_PROPS,
)

_NOT_TEXT = {"id", "type", "spec_version", "pattern", "pattern_type", "pattern_version", "created_by_ref",
             "object_marking_refs", "external_references", "lang"}


class RewritingMixin:
    """Each kept object rebuilt from its allow-listed properties, with every string scrubbed."""

    # ------------------------------------------------------------------ rewriting
    def _rewrite(self, obj: dict) -> dict:
        """Allow-listed, scrubbed, coarsened copy of one object (references still original)."""
        t, oid = obj["type"], obj["id"]
        allowed = ALLOWED.get(t, frozenset())
        out: dict = {}
        for key, value in obj.items():
            if key not in allowed:
                rule = (di14_payloads.RULE_ID if key in di14_payloads.DROPPED.get(t, ())
                        else "DI-15" if di15_custom_content.is_custom_property(key) else "DI-15")
                self.report.add(rule, "(pending)", key, "property dropped", original_id=oid)
                continue
            out[key] = value
        if t == "email-message":
            self._email(out, oid)
        if t == "location":
            for prop in di16_sector_region.generalise_location(out):
                self.report.add("DI-16", "(pending)", prop, "location generalised to region/country",
                                original_id=oid, original=str(obj[prop]))
        if isinstance(out.get("sectors"), list):  # DI-16 v2: top-level sectors only
            top = di16_sector_region.generalise_sectors(out["sectors"])
            if top != out["sectors"]:
                self.report.add("DI-16", "(pending)", "sectors", "sector generalised to its top level",
                                original_id=oid, original=",".join(map(str, out["sectors"])))
            if top:
                out["sectors"] = top
            else:
                del out["sectors"]
        for prop in di10_free_text.DROPPED_PROPS.get(t, ()):
            if out.pop(prop, None) is not None:
                self.report.add("DI-10", "(pending)", prop, "property dropped (names people)", original_id=oid)
        if "extensions" in out:
            self._extensions(out, oid)
        if "external_references" in out:
            self._external_references(out, oid)
        if oid in self.url_values:
            out["value"] = self.url_values[oid]
        if oid in self.patterns:
            out["pattern"] = self.patterns[oid]
        elif t == "indicator" and isinstance(out.get("pattern"), str):
            new, found = self.scrubber.scrub(out["pattern"])  # YARA / Sigma / Snort: text rules
            if found:
                out["pattern"] = new
                self.review.setdefault(oid, []).append("DI-12 non-STIX pattern rewritten as text")
                self._report_findings(oid, "pattern", obj["pattern"], found)
        for key in list(out):
            value = out[key]
            if key in di09_timestamps.FLOOR_PROPS or key in di09_timestamps.CEIL_PROPS:
                if isinstance(value, str):
                    new = di09_timestamps.coarsen_property(key, value, self.policy.time_granularity)
                    if new and new != value:
                        out[key] = new
                        if key not in ("created", "modified"):
                            self.report.add("DI-09", "(pending)", key, "coarsened", original_id=oid, original=value,
                                            replacement=new)
                continue
            if key in _NOT_TEXT or key.endswith("_ref") or key.endswith("_refs"):
                continue
            if (t, key) in netviews.VERSION_PROPS and isinstance(value, str):  # P2: a version is no address
                found = [f for f in self.scrubber.findings(value) if f.rule != "DI-05"]
                self._report_findings(oid, key, value, found)
                out[key] = replace(value, found)
                continue
            out[key] = self._scrub_value(value, oid, key, top=True)
        return out

    def _email(self, out: dict, oid: str) -> None:
        for key in di06_email_addresses.RECIPIENT_REFS:
            if out.pop(key, None):
                self.report.add("DI-06", "(pending)", key, "recipients removed", original_id=oid)
        parts = []
        for i, part in enumerate(out.get("body_multipart") or []):
            if not isinstance(part, dict):
                continue
            part = {k: v for k, v in part.items() if k not in di14_payloads.MIME_PART_DROPPED}
            if len(part) < len(out["body_multipart"][i]):
                self.report.add("DI-14", "(pending)", f"body_multipart[{i}].body", "e-mail body dropped",
                                original_id=oid)
            if part.get("body_raw_ref"):
                parts.append(part)
        if parts:
            out["body_multipart"] = parts
        else:
            out.pop("body_multipart", None)
            out["is_multipart"] = False

    def _extensions(self, out: dict, oid: str) -> None:
        kept = {}
        for name, ext in out["extensions"].items():
            props = EXTENSION_PROPS.get(name)
            if props is None or not isinstance(ext, dict):
                self.report.add("DI-15", "(pending)", f"extensions.{name}", "extension dropped", original_id=oid)
                continue
            dropped = set(di14_payloads.EXTENSION_DROPPED.get(name, ()))
            clean = {k: v for k, v in ext.items() if k in props and k not in dropped}
            if name == "http-request-ext":
                clean = copy.deepcopy(clean)
                for header in di14_payloads.clean_headers(clean):
                    self.report.add("DI-14", "(pending)", f"extensions.{name}.request_header",
                                    "credential header dropped", original_id=oid, original=header)
            if clean:
                kept[name] = clean
        if kept:
            out["extensions"] = kept
        else:
            del out["extensions"]

    def _external_references(self, out: dict, oid: str) -> None:
        kept = []
        for i, ref in enumerate(out["external_references"]):
            if not isinstance(ref, dict):
                continue
            ref = {k: v for k, v in ref.items() if not di15_custom_content.is_custom_property(k)}
            shared = di11_external_references.decide(ref)
            if shared is not None and shared is not ref and ref.get("external_id"):
                self.report.add("DI-11", "(pending)", f"external_references[{i}].external_id",
                                "internal case/ticket id removed", original_id=oid, original=ref["external_id"])
            texts = [v for v in (shared or {}).values() if isinstance(v, str)]
            if shared is None or any(self.scrubber.findings(v) for v in texts):
                self.report.add("DI-11", "(pending)", f"external_references[{i}]", "reference dropped",
                                original_id=oid, original=ref.get("url") or ref.get("external_id"))
                continue
            kept.append(shared)
        if kept:
            out["external_references"] = kept
        else:
            del out["external_references"]

    def _scrub_value(self, value, oid: str, path: str, top: bool = False):
        if isinstance(value, str) and not top:
            stamp = di09_timestamps.coarsen_nested(path, value, self.policy.time_granularity)
            if stamp is not None:  # a timestamp inside an extension stays a STIX timestamp (DI-09 v2)
                if stamp != value:
                    self.report.add("DI-09", "(pending)", path, "coarsened", original_id=oid, original=value,
                                    replacement=stamp)
                return stamp
        if isinstance(value, str):
            new, found = self.scrubber.scrub(value)
            if found:
                self._report_findings(oid, path, value, found)
            return new
        if isinstance(value, list):
            return [self._scrub_value(v, oid, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            result = {}
            for k, v in value.items():
                if di15_custom_content.is_custom_property(k):
                    self.report.add("DI-15", "(pending)", f"{path}.{k}", "property dropped", original_id=oid)
                    continue
                if k.endswith("_ref") or k.endswith("_refs"):
                    result[k] = v
                    continue
                new_key, found = self.scrubber.scrub(k)
                if found:
                    self._report_findings(oid, f"{path} (key)", k, found)
                result[new_key] = self._scrub_value(v, oid, f"{path}.{k}")
            return result
        return value

    def _report_findings(self, oid: str, path: str, original: str, found) -> None:
        for f in found:
            self.report.add(f.rule, "(pending)", path, f"replaced with {f.replacement}", original_id=oid,
                            original=original[f.start:f.end], replacement=f.replacement)
