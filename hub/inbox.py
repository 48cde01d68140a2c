"""TAXII push: objects POSTed to a CSIRT's write-only inbox collection become a submission."""
from __future__ import annotations


def init_app(app) -> None:
    pass
