"""Ids made on the device: GUIDs laid out as UUIDv7 (RFC 9562), time first, then random.

Every table indexes ids (records UNIQUE(entity, id), outbox mutation ids).
Fully random UUIDv4 values land on a random B-tree page each time, so at a
million rows nearly every insert reads, decrypts and rewrites a cold page;
time-ordered ids append to the right edge of the index instead. They are still
ordinary GUIDs to every backend (74 random bits; the timestamp reveals only
the creation time, which the server records anyway).
"""

from __future__ import annotations

import os
import time
import uuid

_RAND_A_MASK = (1 << 12) - 1
_RAND_B_MASK = (1 << 62) - 1
_MS_MASK = (1 << 48) - 1


def new_id() -> str:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & _MS_MASK) << 80
        | 0x7 << 76
        | ((rand >> 62) & _RAND_A_MASK) << 64
        | 0b10 << 62
        | (rand & _RAND_B_MASK)
    )
    return str(uuid.UUID(int=value))
