"""Data at rest and publication signatures.

`Sealer` keeps raw submissions, victim profiles and private reports only as AES-256-GCM
ciphertexts whose associated data names what they belong to ("submission:<id>"), so a
ciphertext moved onto another row does not open. `Signer` signs publications with the hub's
Ed25519 key; `verify_signature` checks one with the public key alone.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"HS1"      # format version of a sealed blob
FINGERPRINT = 8     # bytes of SHA-256(key) that say which key sealed a blob (for rotation)
NONCE = 12


class SealError(Exception):
    """A blob that does not open with this key and this associated data."""


def fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:FINGERPRINT]


def read_key_file(path) -> bytes:
    """A data key file: 64 hex digits."""
    with open(path, "rb") as fh:
        key = bytes.fromhex(fh.read().strip().decode("ascii"))
    if len(key) != 32:
        raise ValueError("the data key must be 32 bytes")
    return key


class Sealer:
    """AES-256-GCM with a random 96-bit nonce per blob: MAGIC | key fingerprint | nonce | ciphertext.

    Seals with `key`; opens with it or with one of `also_open` (a rotation in progress), picked by
    the fingerprint in the blob."""

    def __init__(self, key: bytes, also_open: tuple[bytes, ...] = ()):
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._aead = AESGCM(key)
        self.fingerprint = fingerprint(key)
        self._openers = {self.fingerprint: self._aead}
        for other in also_open:
            self._openers.setdefault(fingerprint(other), AESGCM(other))

    @classmethod
    def from_file(cls, path) -> "Sealer":
        """The data directory's `data.key`, and `data.key.new` if a rotation was interrupted
        after re-encrypting (then the data is under the new key and both must open)."""
        path = Path(path)
        pending = path.with_name(path.name + ".new")
        extra = (read_key_file(pending),) if pending.is_file() else ()
        return cls(read_key_file(path), extra)

    def seal(self, plaintext: bytes, aad: str) -> bytes:
        nonce = os.urandom(NONCE)
        return MAGIC + self.fingerprint + nonce + self._aead.encrypt(nonce, plaintext, aad.encode("utf-8"))

    def open(self, blob: bytes, aad: str) -> bytes:
        head = len(MAGIC) + FINGERPRINT
        if not blob.startswith(MAGIC) or len(blob) < head + NONCE + 16:
            raise SealError("not a sealed blob")
        aead = self._openers.get(blob[len(MAGIC):head])
        if aead is None:
            raise SealError("sealed under another data key")
        try:
            return aead.decrypt(blob[head:head + NONCE], blob[head + NONCE:], aad.encode("utf-8"))
        except InvalidTag:
            raise SealError("sealed blob fails authentication") from None

    def sealed_by_me(self, blob: bytes) -> bool:
        return blob[len(MAGIC):len(MAGIC) + FINGERPRINT] == self.fingerprint


class Signer:
    """The hub's Ed25519 signing key (PEM, PKCS#8, unencrypted, mode 0600)."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key_b64 = base64.b64encode(raw).decode("ascii")

    @classmethod
    def from_file(cls, path) -> "Signer":
        with open(path, "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key is not an Ed25519 key")
        return cls(key)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def verify_signature(public_key_b64: str, data: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` is the Ed25519 signature of `data` by that public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), data)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
