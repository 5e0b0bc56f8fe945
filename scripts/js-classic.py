#!/usr/bin/env python3
"""Turns the ES module web/rtcbot.mjs into the classic script rtcbot.js.

The module is wrapped in an IIFE and its named exports are assigned to the
global `rtcbot` (window.rtcbot in a page), as RTCBot's UMD build did. Only
the forms the module uses are accepted, so a new form fails the build
instead of silently going missing from the global:

    export class NAME ...            export function NAME ...
    export async function NAME ...   export const NAME = ...
    export default { ... };          (dropped: the global is that object)

Anything else starting with `export` or `import` at the start of a line is
an error. Usage: js-classic.py INPUT.mjs OUTPUT.js
"""

import re
import sys

NAMED = re.compile(r"^export\s+((?:async\s+)?function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)")
DEFAULT = re.compile(r"^export\s+default\s+\{")


def convert(source, name):
    out = []
    names = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = NAMED.match(line)
        if m:
            names.append(m.group(2))
            out.append(line[len("export "):].lstrip())
        elif DEFAULT.match(line):
            # Skip the object literal up to its closing line.
            while not lines[i].startswith("}"):
                i += 1
                if i == len(lines):
                    raise ValueError(f"{name}: unterminated export default")
        elif re.match(r"^(export|import)\b", line):
            raise ValueError(f"{name}:{i + 1}: unsupported module syntax: {line.strip()}")
        else:
            out.append(line)
        i += 1
    if not names:
        raise ValueError(f"{name}: no exports")
    # Not indented: that would change multi-line template literals.
    body = "\n".join(out).rstrip()
    exported = ",\n".join(f"    {n}" for n in names)
    return (
        f"// Generated from {name} by scripts/js-classic.py: do not edit.\n"
        "(function (global) {\n"
        f"{body}\n\n"
        "  global.rtcbot = Object.assign(global.rtcbot || {}, {\n"
        f"{exported},\n"
        "  });\n"
        '})(typeof globalThis !== "undefined" ? globalThis : this);\n'
    )


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: js-classic.py INPUT.mjs OUTPUT.js")
    with open(sys.argv[1], encoding="utf-8") as f:
        source = f.read()
    try:
        text = convert(source, sys.argv[1].rsplit("/", 1)[-1])
    except ValueError as e:
        sys.exit(f"js-classic: {e}")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
