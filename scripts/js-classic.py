#!/usr/bin/env python3
"""Joins the ES modules of web/rtcbot.mjs into the classic script rtcbot.js.

The entry module (web/rtcbot.mjs) imports the library's parts and re-exports
the public API in one `export { A, B, ... };` list. Each part it reaches
through `import` becomes a function scope of its own, in dependency order,
returning its exports; imports become destructuring of those results. The
whole is wrapped in an IIFE that assigns the entry's list to the global
`rtcbot` (window.rtcbot in a page), as RTCBot's UMD build did. Only the
forms the modules use are accepted, so a new form fails the build instead
of silently going missing from the global:

    import { A, B as C } from "./path.mjs";   (relative paths only)
    export class NAME ...            export function NAME ...
    export async function NAME ...   export const NAME = ...
    export { A, B, ... };            (the entry: the global's members)
    export default { ... };          (dropped: the global is that object)

Anything else starting with `export` or `import` at the start of a line is
an error, and so is a module that is reached but not given on the command
line (each must also be listed in meson, or a change to it would not
rebuild rtcbot.js). Usage: js-classic.py OUTPUT.js ENTRY.mjs [PART.mjs ...]
"""

import os
import re
import sys

NAMED = re.compile(r"^export\s+((?:async\s+)?function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)")
DEFAULT = re.compile(r"^export\s+default\s+\{")
IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"(\.{1,2}/[^"]+\.mjs)";\s*$')
LIST_START = re.compile(r"^export\s*\{")
IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")


def names_in(text, where):
    """The names of `{ A, B as C }` as (imported, local) pairs."""
    pairs = []
    for item in (s.strip() for s in text.replace("\n", " ").split(",")):
        if not item:
            continue
        parts = item.split()
        if len(parts) == 1 and IDENT.match(parts[0]):
            pairs.append((parts[0], parts[0]))
        elif len(parts) == 3 and parts[1] == "as" and IDENT.match(parts[0]) and IDENT.match(parts[2]):
            pairs.append((parts[0], parts[2]))
        else:
            raise ValueError(f"{where}: unsupported name in braces: {item}")
    return pairs


class Joiner:
    def __init__(self, given):
        self.given = {os.path.realpath(p) for p in given}
        self.root = os.path.dirname(os.path.realpath(given[0]))
        self.done = {}  # realpath -> variable name of its exports
        self.order = []  # (variable, code) in dependency order
        self.visiting = set()

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def variable(self, path):
        stem = re.sub(r"[^\w$]", "_", self.rel(path)[: -len(".mjs")])
        return f"__rtcbot_{stem}"

    def load(self, path):
        """Converts the module at @path (and what it imports); returns (lines, exports)."""
        where = self.rel(path)
        if path not in self.given:
            raise ValueError(f"{where}: imported but not listed (add it to rtcbot_modules in src/meson.build)")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        out, exports, listed = [], [], None
        i = 0
        while i < len(lines):
            line = lines[i]
            m = IMPORT.match(line)
            if m:
                dep = os.path.realpath(os.path.join(os.path.dirname(path), m.group(2)))
                var = self.include(dep, f"{where}:{i + 1}")
                binds = ", ".join(a if a == b else f"{a}: {b}" for a, b in names_in(m.group(1), where))
                out.append(f"const {{ {binds} }} = {var};")
            elif NAMED.match(line):
                exports.append(NAMED.match(line).group(2))
                out.append(line[len("export "):].lstrip())
            elif DEFAULT.match(line):
                while not lines[i].startswith("}"):
                    i += 1
                    if i == len(lines):
                        raise ValueError(f"{where}: unterminated export default")
            elif LIST_START.match(line):
                text = line
                while "}" not in text:
                    i += 1
                    if i == len(lines):
                        raise ValueError(f"{where}: unterminated export list")
                    text += "\n" + lines[i]
                m = re.match(r"^export\s*\{([^}]*)\}\s*;?\s*$", text, re.S)
                if not m:
                    raise ValueError(f"{where}:{i + 1}: unsupported export list")
                listed = (listed or []) + [local for local, _ in names_in(m.group(1), where)]
            elif re.match(r"^(export|import)\b", line):
                raise ValueError(f"{where}:{i + 1}: unsupported module syntax: {line.strip()}")
            else:
                out.append(line)
            i += 1
        return out, listed if listed is not None else exports

    def include(self, path, where):
        if path in self.done:
            return self.done[path]
        if path in self.visiting:
            raise ValueError(f"{where}: circular import of {self.rel(path)}")
        self.visiting.add(path)
        lines, exports = self.load(path)
        self.visiting.discard(path)
        var = self.variable(path)
        # Not indented: that would change multi-line template literals.
        code = (
            f"// ---- {self.rel(path)}\n"
            f"const {var} = (function () {{\n"
            + "\n".join(lines).strip("\n")
            + f"\n\nreturn {{ {', '.join(exports)} }};\n}})();\n"
        )
        self.done[path] = var
        self.order.append(code)
        return var


def convert(paths):
    joiner = Joiner(paths)
    entry = os.path.realpath(paths[0])
    lines, names = joiner.load(entry)
    if not names:
        raise ValueError(f"{joiner.rel(entry)}: no exports")
    unused = joiner.given - set(joiner.done) - {entry}
    if unused:
        raise ValueError("listed but not imported: " + ", ".join(sorted(joiner.rel(p) for p in unused)))
    body = "\n".join(joiner.order) + "\n" + "\n".join(lines).strip("\n")
    exported = ",\n".join(f"    {n}" for n in names)
    return (
        f"// Generated from {os.path.basename(entry)} and its parts by scripts/js-classic.py: do not edit.\n"
        "(function (global) {\n"
        '"use strict";\n\n'
        f"{body}\n\n"
        "  global.rtcbot = Object.assign(global.rtcbot || {}, {\n"
        f"{exported},\n"
        "  });\n"
        '})(typeof globalThis !== "undefined" ? globalThis : this);\n'
    )


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: js-classic.py OUTPUT.js ENTRY.mjs [PART.mjs ...]")
    try:
        text = convert(sys.argv[2:])
    except (ValueError, OSError) as e:
        sys.exit(f"js-classic: {e}")
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
