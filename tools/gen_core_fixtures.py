#!/usr/bin/env python3
"""Writes the tiny core io fixtures in tests/data/core (numpy .npy and a hand-built safetensors file).

Run with Debian's python3 (numpy): /usr/bin/python3 tools/gen_core_fixtures.py
"""
import json
import os
import struct

import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "core")
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "arange.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
np.save(os.path.join(out, "u16.npy"), np.array([0, 65535, 7], dtype=np.uint16))

x = np.arange(6, dtype="<f4").reshape(2, 3).tobytes()
y = np.array([1, 2], dtype="<i8").tobytes()
header = {"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(x)]},
          "y": {"dtype": "I64", "shape": [2], "data_offsets": [len(x), len(x) + len(y)]},
          "__metadata__": {"source": "gen_core_fixtures.py"}}
blob = json.dumps(header).encode()
with open(os.path.join(out, "small.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(blob)) + blob + x + y)
