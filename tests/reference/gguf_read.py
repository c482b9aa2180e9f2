"""A small GGUF reader for the reference tests: metadata and F32, F16, Q8_0 and MXFP4 tensors
(any number of dimensions).

Format: ggml's docs/gguf.md (header, key/value pairs, tensor infos, aligned data section).
Written independently of sinkscope's C++ reader so that the two can check each other.
"""
import struct

import numpy as np

# MXFP4 (ggml type 39, ggml-common.h block_mxfp4 and ggml-quants.c dequantize_row_mxfp4): the
# E2M1 values doubled, so that the E8M0 scale byte e counts as 2^(e - 128).
_MXFP4_VALUES = np.array([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], dtype=np.float64)

# GGUF metadata value types -> struct format (scalars); 8 = string, 9 = array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class _Cursor:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype = self.take("I")
            n = self.take("Q")
            return [self.value(etype) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf(path):
    """Returns (metadata dict, {name: numpy array}) with arrays shaped [rows, cols] like
    PyTorch's nn.Linear weights (GGUF ne[0] is the contiguous dimension); a 3-D tensor of ne
    {cols, rows, n} is [n, rows, cols] (gpt-oss experts: one [rows, cols] matrix each)."""
    with open(path, "rb") as f:
        data = f.read()
    c = _Cursor(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    c.pos = 4
    version = c.take("I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version}")
    n_tensors = c.take("Q")
    n_kv = c.take("Q")
    meta = {}
    for _ in range(n_kv):
        key = c.string()
        meta[key] = c.value(c.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        n_dims = c.take("I")
        ne = [c.take("Q") for _ in range(n_dims)]
        ttype = c.take("I")
        offset = c.take("Q")
        infos.append((name, ne, ttype, offset))
    align = meta.get("general.alignment", 32)
    start = (c.pos + align - 1) // align * align
    tensors = {}
    for name, ne, ttype, offset in infos:
        count = int(np.prod(ne))
        if ttype == 8:  # Q8_0 (ggml): blocks of 32 weights, an f16 scale then 32 int8
            blocks = np.frombuffer(data, dtype=np.dtype([("d", "<f2"), ("q", "i1", 32)]),
                                   count=count // 32, offset=start + offset)
            arr = blocks["d"].astype(np.float64)[:, None] * blocks["q"].astype(np.float64)
        elif ttype == 39:  # MXFP4: blocks of 32, an E8M0 scale byte then 16 bytes of E2M1 pairs
            blocks = np.frombuffer(data, dtype=np.dtype([("e", "u1"), ("qs", "u1", 16)]),
                                   count=count // 32, offset=start + offset)
            # Value j < 16 is the low nibble of byte j, value j + 16 its high nibble.
            codes = np.concatenate([blocks["qs"] & 15, blocks["qs"] >> 4], axis=1)
            scale = np.ldexp(1.0, blocks["e"].astype(np.int64) - 128)
            arr = _MXFP4_VALUES[codes] * scale[:, None]
        else:
            dtype = {0: np.float32, 1: np.float16}.get(ttype)
            if dtype is None:
                raise ValueError(f"{path}: tensor {name} has type {ttype}; "
                                 "the reference reads F32, F16, Q8_0 and MXFP4")
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset)
        tensors[name] = arr.astype(np.float64).reshape(list(reversed(ne)))
    return meta, tensors
