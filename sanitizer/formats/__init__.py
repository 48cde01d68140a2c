"""Input formats converted to a STIX 2.1 bundle dict before sanitising: CSV and plain text."""
from sanitizer.formats.csv_input import csv_to_bundle
from sanitizer.formats.text_input import text_to_bundle

__all__ = ["csv_to_bundle", "text_to_bundle"]
