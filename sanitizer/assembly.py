"""New ids (DI-13), references rewritten, the output bundle assembled and the report completed.

A mixin of the engine's per-submission run (`engine._Run`): it reads and writes the run's state."""
from __future__ import annotations

import orjson

from . import classify as classes
from .rules import (
    di13_ids,
    di17_unique_infrastructure,
)
from .stixmeta import (
    TLP2_IDS,
    iter_refs,
    tlp_level_of,
    tlp_marking,
)


class AssemblyMixin:
    """New ids (DI-13), references rewritten, the output bundle assembled and the report completed."""

    # ------------------------------------------------------------------ ids
    def resolve(self, ref: str) -> str | None:
        """The output id for an original reference (None: it points at something dropped)."""
        if ref in self.new_ids:
            return self.new_ids[ref]
        if ref in self.alias:
            new = self.alias[ref]
            if new is None and tlp_level_of(self.by_id.get(ref, {"id": ref})):
                new = TLP2_IDS[self.tlp]
        elif ref in self.dropped or ref not in self.rewritten:
            new = TLP2_IDS[self.tlp] if ref in TLP2_IDS.values() else None
        elif ref in self.hash_files:  # the UUIDv5 of the hashes would repeat the artifact's own id
            hashes = orjson.dumps(self.rewritten[ref].get("hashes"), option=orjson.OPT_SORT_KEYS).decode()
            new = "file--" + di13_ids.keyed_uuid(self.secret, "artifact-hashes:" + hashes)
        elif self.rewritten[ref]["type"] in di13_ids.SCO_TYPES:
            new = self._sco_id(ref)
        else:
            new = di13_ids.keyed_id(self.secret, self.rewritten[ref]["type"], ref)
        self.new_ids[ref] = new
        return new

    def _sco_id(self, ref: str) -> str:
        obj = self.rewritten[ref]
        if ref in self._in_progress:  # a reference cycle: fall back to a keyed id
            return di13_ids.keyed_id(self.secret, obj["type"], ref)
        self._in_progress.add(ref)
        try:
            contributing = {k: obj[k] for k in di13_ids.ID_CONTRIBUTING.get(obj["type"], ()) if k in obj}
            probe = {"type": obj["type"], **self._resolve_refs(contributing)}
            return di13_ids.sco_id(probe) or di13_ids.keyed_id(self.secret, obj["type"], ref)
        finally:
            self._in_progress.discard(ref)

    def _resolve_refs(self, node):
        """A copy of `node` (fresh dicts and lists) with every *_ref / *_refs resolved."""
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if isinstance(v, str):
                    if k.endswith("_ref"):
                        new = self.resolve(v)
                        if new:
                            out[k] = new
                    else:
                        out[k] = v
                elif isinstance(v, list):
                    if k.endswith("_refs"):
                        new_list = []
                        for r in v:
                            n = self.resolve(r) if isinstance(r, str) else None
                            if n and n not in new_list:
                                new_list.append(n)
                        if new_list:
                            out[k] = new_list
                    else:
                        out[k] = self._resolve_refs(v)
                elif isinstance(v, dict):
                    out[k] = self._resolve_refs(v)
                else:
                    out[k] = v
            return out
        if isinstance(node, list):
            return [self._resolve_refs(v) if isinstance(v, (dict, list)) else v for v in node]
        return node

    # ------------------------------------------------------------------ output
    def _assemble(self) -> dict:
        uuid_map = {}
        objects: list[dict] = [tlp_marking(self.tlp)]
        body: list[dict] = []
        emitted: set[str] = set()
        for oid, obj in self.rewritten.items():
            new_id = self.resolve(oid)
            if new_id is None or new_id in emitted:  # two SCOs that now say the same thing are one
                continue
            emitted.add(new_id)
            out = self._resolve_refs(obj)
            out["id"] = new_id
            if "created_by_ref" in obj:
                creator = obj["created_by_ref"]
                keep_creator = self.policy.attribution and creator in self.rewritten
                out["created_by_ref"] = self.resolve(creator) if keep_creator else self.hub["id"]
            self._markings(out, obj)
            body.append(out)
            uuid_map[oid.split("--", 1)[1].lower()] = new_id.split("--", 1)[1]
        body = [self._rewrite_ids_in_text(o, uuid_map) for o in body]
        referenced: set = set()
        for o in body:
            _collect_refs(o, referenced)
        if self.hub["id"] in referenced:
            objects.append(self._marked(self.hub))
        if self.victim_identity["id"] in referenced:
            objects.append(self._marked(self.victim_identity))
        objects.extend(body)
        self._finish_report(objects)
        return {"type": "bundle", "id": "bundle--" + di13_ids.keyed_uuid(self.secret, "bundle:" + self.bundle_id),
                "objects": objects}

    def _marked(self, obj: dict) -> dict:
        return {**obj, "object_marking_refs": [TLP2_IDS[self.tlp]]}

    def _markings(self, out: dict, original: dict) -> None:
        refs = [TLP2_IDS[self.tlp]]
        for r in original.get("object_marking_refs") or []:
            if r in self.rewritten and self.rewritten[r]["type"] == "marking-definition":
                new = self.resolve(r)
                if new and new not in refs:
                    refs.append(new)
        if original["type"] == "marking-definition":
            out.pop("object_marking_refs", None)
        else:
            out["object_marking_refs"] = refs

    def _rewrite_ids_in_text(self, obj: dict, uuid_map: dict[str, str]) -> dict:
        """Original ids quoted in text (descriptions, notes) are swapped for their new ids.
        `obj` is the run's own fresh copy (`_resolve_refs`): its strings are replaced in place."""
        input_uuids = self.input_uuids
        search, sub = di13_ids.UUID_IN_TEXT.search, di13_ids.UUID_IN_TEXT.sub

        def swap(m):
            return uuid_map.get(m.group(0).lower(), "[REF]") if m.group(0).lower() in input_uuids else m.group(0)

        def fix(node, key=""):
            if isinstance(node, dict):
                for k, v in node.items():
                    if isinstance(v, str):
                        if len(v) >= 36 and not (k == "id" or k.endswith("_ref") or k.endswith("_refs")) and search(v):
                            node[k] = sub(swap, v)
                    elif isinstance(v, (dict, list)):
                        fix(v, k)
            elif isinstance(node, list):
                text = not (key == "id" or key.endswith("_ref") or key.endswith("_refs"))
                for i, v in enumerate(node):
                    if isinstance(v, str):
                        if text and len(v) >= 36 and search(v):
                            node[i] = sub(swap, v)
                    elif isinstance(v, (dict, list)):
                        fix(v, key)

        fix(obj)
        return obj

    def _finish_report(self, objects: list[dict]) -> None:
        by_new = {o["id"]: o for o in objects}
        for e_i, e in enumerate(self.report.entries):
            if e.state == "pending":
                new = self.new_ids.get(e.original_id) if e.original_id else None
                self.report.entries[e_i] = e.resolved(new or f"{self.by_id[e.original_id]['type']} (dropped)",
                                                      "kept" if new else "dropped")
        cls_by_id: dict[str, str] = {}
        orig_of = {v: k for k, v in self.new_ids.items() if v}
        for _round in range(2):  # containers take the class of what they contain
            for o in objects:
                cls_by_id[o["id"]] = classes.classify(o, cls_by_id, self.pattern_roots.get(orig_of.get(o["id"], "")))
        self.report.classes = cls_by_id
        for i, e in enumerate(self.report.entries):
            if e.object in cls_by_id:
                self.report.entries[i] = e.classified(cls_by_id[e.object])
        for orig, values in sorted(self.infra_values.items()):
            new = self.new_ids.get(orig)
            if new and new in by_new and di17_unique_infrastructure.needs_review(values, self.policy):
                self.review.setdefault(orig, []).append(di17_unique_infrastructure.REASON)
        for orig, reasons in sorted(self.review.items()):
            new = self.new_ids.get(orig)
            self.report.holds.append({"object": new or f"{self.by_id[orig]['type']} (dropped)",
                                      "rules": sorted({r.split()[0] for r in reasons}),
                                      "reasons": sorted(set(reasons)), "original": orig})

    def _ner_holds(self, objects: list[dict]) -> None:
        """DI-10b: names the NER model finds become holds (value in the private report only)."""
        from . import ner  # noqa: PLC0415 - GiNZA is an optional extra, loaded only when enabled

        hits = ner.find(objects)
        if hits is None:
            self.report.ner_note = "GiNZA (ja-ginza) not installed: pip install -e '.[ner]'"
            return
        self.report.ner, self.report.ner_note = "ran", f"{len(hits)} name(s) held"
        orig_of = {v: k for k, v in self.new_ids.items() if v}
        for h in hits:
            self.report.holds.append({
                "object": h.object_id, "rules": [ner.RULE_ID], "kind": "ner",
                "reasons": [f"{ner.RULE_ID} ner: {h.label} name not in the profile ({h.path})"],
                "original": f"{orig_of.get(h.object_id, h.object_id)}: {h.value}"})


def _collect_refs(node, acc: set) -> None:
    """Every value of every *_ref / *_refs in a (nested) object (as `stixmeta.iter_refs` finds them)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str):
                if k.endswith("_ref"):
                    acc.add(v)
            elif isinstance(v, list):
                if k.endswith("_refs"):
                    acc.update(v)
                else:
                    _collect_refs(v, acc)
            elif isinstance(v, dict):
                _collect_refs(v, acc)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                _collect_refs(v, acc)
