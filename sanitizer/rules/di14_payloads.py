"""DI-14: payloads (artifact contents, e-mail bodies, command lines, network payloads) are the
victim's data and are dropped by default."""
from __future__ import annotations

RULE_ID = "DI-14"
TITLE = "Payloads: artifact contents, e-mail bodies, command lines, network payloads"
ACTION = "drop by default"
# (type, property) pairs removed from objects.
DROPPED = {
    "artifact": ("payload_bin", "url"),
    "email-message": ("body", "additional_header_fields", "received_lines"),
    "process": ("command_line", "environment_variables"),
    "network-traffic": ("src_payload_ref", "dst_payload_ref", "ipfix"),
}
# Nested: MIME parts keep attachments (body_raw_ref) but lose their text.
MIME_PART_DROPPED = ("body",)
EXTENSION_DROPPED = {"http-request-ext": ("message_body_data_ref",)}
