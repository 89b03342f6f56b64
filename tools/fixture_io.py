"""File writing shared by the fixture scripts (tools/make_golden.py, tools/make_zoo_fixtures.py,
tools/make_ncnn_reference.py) and bench/torch_rrdbnet.py."""

import json
import os
import struct

import numpy as np


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: tensors (name -> float32 array) in name order, F32 only.
    Deterministic (sorted names and metadata keys), written to a temp file then renamed."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        blob = arr.tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * ((8 - len(text) % 8) % 8)  # data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)
