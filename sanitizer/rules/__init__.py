"""The de-identification rules DI-01…DI-19, registered here and nowhere else.

Each module states RULE_ID, TITLE and ACTION; text detectors also define `detect(folded, index)`.
The engine (`sanitizer.engine`) calls object-level hooks of the modules by name.
"""
from __future__ import annotations

from . import (
    di01_victim_identity, di02_producer, di03_profile_tokens, di04_victim_domains, di05_addresses,
    di06_email_addresses, di07_home_paths, di08_user_accounts, di09_timestamps, di10_free_text,
    di11_external_references, di12_patterns, di13_ids, di14_payloads, di15_custom_content,
    di16_sector_region, di17_unique_infrastructure, di18_leak_gate, di19_victim_ids,
)

ALL = (
    di01_victim_identity, di02_producer, di03_profile_tokens, di04_victim_domains, di05_addresses,
    di06_email_addresses, di07_home_paths, di08_user_accounts, di09_timestamps, di10_free_text,
    di11_external_references, di12_patterns, di13_ids, di14_payloads, di15_custom_content,
    di16_sector_region, di17_unique_infrastructure, di18_leak_gate, di19_victim_ids,
)
RULES = {m.RULE_ID: m for m in ALL}
# Text detectors, in the order their findings are preferred when spans start together.
TEXT_DETECTORS = (di19_victim_ids, di02_producer, di06_email_addresses, di04_victim_domains, di07_home_paths,
                  di03_profile_tokens, di05_addresses, di10_free_text, di14_payloads)
