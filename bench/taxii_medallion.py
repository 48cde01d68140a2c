"""Stock medallion 3.0.0 (its own Flask app and memory backend) for `bench/taxii.py`.

Two uses:

- imported by `bench/taxii.py`: `write_config()` and `write_data_file()` build medallion's own
  configuration and its memory-backend data file (the layout of medallion's
  `test/data/default_data.json`: a "/discovery" entry and one API root holding "information",
  "status" and "collections"; each collection carries its "objects" and their "manifest");
- run as a script: `python bench/taxii_medallion.py CONFIG PORT [THREADS]` serves
  `medallion.load_app(CONFIG)` with waitress on 127.0.0.1 (nothing of the hub is imported).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

API_ROOT = "bench"
COLLECTION_ID = "4f1b2d6e-3c5a-4e7b-9a1d-0c2e4f6a8b10"
USER, PASSWORD = "user", "pass"
MAX_PAGE_SIZE = 100
MEDIA_TYPE_STIX = "application/stix+json;version=2.1"


def write_config(path: Path, data_file: Path) -> None:
    """medallion's JSON configuration: memory backend over `data_file`, one plaintext user."""
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(data_file)},
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": MAX_PAGE_SIZE},
    }
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def write_data_file(path: Path, objects: Iterable[dict], date_added: Iterable[str], port: int) -> int:
    """The memory backend's data file: one API root, one collection holding `objects`, each with
    a manifest entry (id, date_added, version = modified, media_type). Returns the count."""
    objs, manifest = [], []
    for obj, added in zip(objects, date_added):
        objs.append(obj)
        manifest.append({"id": obj["id"], "date_added": added, "version": obj.get("modified", obj.get("created")),
                         "media_type": MEDIA_TYPE_STIX})
    root_url = f"http://127.0.0.1:{port}/{API_ROOT}/"
    data = {
        "/discovery": {"title": "medallion (bench)", "description": "stock medallion, memory backend",
                       "default": root_url, "api_roots": [root_url]},
        API_ROOT: {
            "information": {"title": "bench", "description": "benchmark API root",
                            "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10 * 1024 * 1024},
            "status": [],
            "collections": [{
                "id": COLLECTION_ID, "title": "bench", "description": "benchmark collection",
                "can_read": True, "can_write": True, "media_types": [MEDIA_TYPE_STIX],
                "objects": objs, "manifest": manifest,
            }],
        },
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return len(objs)


def serve(config: str, port: int, threads: int = 8) -> None:
    """medallion's own app (`medallion.load_app`) under waitress."""
    import logging

    import medallion
    import waitress

    logging.getLogger("medallion").setLevel(logging.WARNING)
    app = medallion.load_app(config)
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, ident="medallion", _quiet=True)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: taxii_medallion.py CONFIG PORT [THREADS]")
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else 8)
