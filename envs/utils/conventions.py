"""Conventions every gr-bench environment shares, so that agents and experts read them from one place."""

from __future__ import annotations

import string

# relative end-effector actions, as CALVIN: what an action component of 1 moves in one control step
MAX_REL_POS = 0.02  # metres
MAX_REL_ORN = 0.05  # radians

# instructions may be in English, other European languages or Chinese (the ood-instruction suite)
INSTRUCTION_CHARSET = (
    string.printable
    + "".join(map(chr, range(0xA0, 0x180)))  # Latin-1 and Latin Extended-A: ä, é, ß, ...
    + "".join(map(chr, range(0x3000, 0x3040)))  # CJK punctuation
    + "".join(map(chr, range(0x4E00, 0xA000)))  # CJK unified ideographs
    + "".join(map(chr, range(0xFF00, 0xFF60)))  # full-width forms
)
