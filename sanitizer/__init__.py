"""The sanitiser: a pure library that de-identifies STIX 2.1 bundles (rules DI-01…DI-18).

Policy → detectors → operators → STIX rewrite → leak gate. No web framework, no database.
"""
from .engine import Result, recheck, sanitize
from .errors import BadInput, LeakRefused, SanitizerError
from .policy import Policy
from .profile import VictimProfile

__all__ = ["sanitize", "recheck", "Result", "Policy", "VictimProfile", "BadInput", "LeakRefused", "SanitizerError"]
