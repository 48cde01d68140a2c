"""UI strings of the review web view, Japanese (default) and English.

The one catalogue is `catalogue.json`: a flat dict per language, so a missing translation is
caught by a test (the key sets must be equal) rather than shown as a key. Wording that comes
from the services and the sanitiser (canonical English) is put into the page's language by
`hub.web.wording`, from keys of this same catalogue.
"""
from __future__ import annotations

import json
from importlib import resources

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

CATALOGUE: dict[str, dict[str, str]] = json.loads(
    resources.files("hub.web").joinpath("catalogue.json").read_text(encoding="utf-8"))


def translate(lang: str, key: str, **values) -> str:
    """The string for `key` in `lang` (the key itself if unknown, so a gap is visible, not fatal)."""
    text = CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANG]).get(key, key)
    return text.format(**values) if values else text
