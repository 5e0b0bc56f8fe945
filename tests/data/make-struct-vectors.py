#!/usr/bin/python3
"""Writes struct-vectors.json: what Python's struct module packs, for test-struct.c.

Run with the system Python on the machine the vectors are for (the native
"@" vectors depend on it; the file records the native sizes so that the C test
can skip them elsewhere):

    /usr/bin/python3 tests/data/make-struct-vectors.py > tests/data/struct-vectors.json

Each vector has the format, its calcsize, the packed bytes in hex, the JSON
values that pack to them ("values", absent for unpack-only vectors), the JSON
values rtcbotd unpacks from them ("unpacked", in rtcbotd's mapping: bytes as
U+0000..U+00FF strings ending at the first NUL, unsigned integers above
INT64_MAX as doubles, NaN and infinities as null) and whether packing
"unpacked" gives the same bytes again ("roundtrip").
"""

import json
import math
import struct
import sys

INT64_MAX = 2**63 - 1
CODES = "xcbB?hHiIlLqQfds"
ORDERS = "@=<>!"


def value_codes(fmt):
    """The code of every value of fmt, in order."""
    codes, count = [], ""
    for c in fmt.lstrip(ORDERS):
        if c.isdigit():
            count += c
        elif c.isspace():
            continue
        else:
            n = int(count) if count else 1
            count = ""
            if c == "s":
                codes.append(c)
            elif c != "x":
                codes.extend(c * n)
    return codes


def to_json(value):
    """rtcbotd's JSON mapping of a value struct.unpack() returned."""
    if isinstance(value, bytes):
        return value.split(b"\0")[0].decode("latin-1")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > INT64_MAX:
        return float(value)
    return value


def from_json(value, code):
    """What rtcbotd packs for a JSON value, as a Python value (None: an error)."""
    if value is None:
        return None
    if code == "c" and value == "":
        return b"\0"  # json-glib strings cannot hold U+0000
    if code in "cs":
        return value.encode("latin-1")
    if code in "fd?":
        return value
    if isinstance(value, float):
        if value != int(value):
            return None
        return int(value)
    return value


def roundtrips(fmt, unpacked, packed):
    values = [from_json(v, c) for v, c in zip(unpacked, value_codes(fmt))]
    if None in values:
        return False
    try:
        return struct.pack(fmt, *values) == packed
    except struct.error:
        return False


def vector(fmt, values=None, json_values=None, packed=None):
    """A vector packing values (json_values in the file, if they differ), or
    unpacking packed alone."""
    entry = {"format": fmt, "size": struct.calcsize(fmt)}
    if packed is None:
        packed = struct.pack(fmt, *values)
        if json_values is None:
            json_values = [to_json(v) if isinstance(v, bytes) else v for v in values]
        entry["values"] = json_values
    unpacked = [to_json(v) for v in struct.unpack(fmt, packed)]
    entry["hex"] = packed.hex()
    entry["unpacked"] = unpacked
    entry["roundtrip"] = roundtrips(fmt, unpacked, packed)
    return entry


def integer_vectors(order):
    out = []
    for code in "bBhHiIlLqQ":
        bits = 8 * struct.calcsize(order + code)
        if code.islower():
            lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        else:
            lo, hi = 0, 2**bits - 1
        for v in sorted({lo, hi, 0, 1, lo + 1, hi - 1, 0x5A if hi > 0x5A else 1}):
            if v > INT64_MAX:
                # Above int64 JSON has doubles only: pack 2^63 (exact), unpack the rest.
                if float(v) == v:
                    out.append(vector(order + code, [v], [float(v)]))
                else:
                    out.append(vector(order + code, packed=struct.pack(order + code, v)))
            else:
                out.append(vector(order + code, [v]))
        out.append(vector(order + code, [7], [7.0]))  # an integral double
        out.append(vector(order + code, [True]))  # a bool is an int, as in Python
    return out


def other_vectors(order):
    out = [
        vector(order + "?", [True]),
        vector(order + "?", [False]),
        vector(order + "?", [2]),
        vector(order + "?", [0.5]),
        vector(order + "c", [b"a"]),
        vector(order + "c", [b"\xff"]),
        vector(order + "c", [b"\x00"]),
        vector(order + "c", [b"\xe9"]),
    ]
    for v in [1.5, -2.25, 0.0, -0.0, 3.4028234663852886e38, 2.0**-149, 65504.0, 0.1, 7]:
        out.append(vector(order + "f", [v]))
    for v in [1.5, -2.25, 0.0, 1e300, -1e-300, 0.1, 2.0**-1074, 7]:
        out.append(vector(order + "d", [v]))
    for bits in [0x7FC00000, 0x7F800000, 0xFF800000]:
        out.append(vector(order + "f", packed=struct.pack(order + "I", bits)))
    out.append(vector(order + "d", packed=struct.pack(order + "Q", 0x7FF0000000000000)))
    out += [
        vector(order + "4s", [b"ab"]),
        vector(order + "4s", [b"abcd"]),
        vector(order + "4s", [b"abcdef"]),
        vector(order + "4s", [b""]),
        vector(order + "3s", [b"\xe9t\xe9"]),
        vector(order + "4s", packed=b"ab\0z"),
        vector(order + "1s", [b"x"]),
        vector(order + "b0sh", [1, b"", 2]),
        vector(order + "2x", []),
        vector(order + "hxh", [1, -1]),
        vector(order + "b3xb", [1, 2]),
        vector(order + "3h", [1, -2, 3]),
        vector(order + "2i3B", [-1, 2, 3, 4, 5]),
        vector(order + "10B", list(range(10))),
        vector(order + " h  i\t", [1, 2]),
        vector(order + "hhl", [1, 2, 3]),
        vector(order + "bi", [1, 2]),
        vector(order + "cd", [b"z", 1.5]),
        vector(order + "hq", [1, 2]),
        vector(order + "b0l", [1]),
        vector(order + "b0lb", [1, 2]),
        vector(order + "?q?", [True, -5, False]),
        vector(order + "bf", [1, 1.5]),
        vector(order + "3sI", [b"abc", 4]),
        vector(order + "BHBIBQ", [1, 2, 3, 4, 5, 6]),
        vector(order + "Bd", [200, -2.25]),
    ]
    return out


def native_info():
    codes = "?hHiIlLqQfd"
    return {
        "byteorder": sys.byteorder,
        "sizes": {c: struct.calcsize("@" + c) for c in codes},
        "alignments": {c: struct.calcsize("@b" + c) - struct.calcsize("@" + c) for c in codes},
    }


def main():
    vectors = []
    for order in ["", *ORDERS]:
        vectors += integer_vectors(order)
        vectors += other_vectors(order)
    # One vector a line, so that a diff shows which changed.
    sys.stdout.write('{"native": %s,\n "vectors": [\n' % json.dumps(native_info()))
    sys.stdout.write(",\n".join("  " + json.dumps(v) for v in vectors))
    sys.stdout.write("\n]}\n")


if __name__ == "__main__":
    main()
