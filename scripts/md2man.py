#!/usr/bin/env python3
"""md2man.py — turns the project's Markdown into man pages (troff, man macros).

    md2man.py [--version V] [--date YYYY-MM-DD] [--depfile F] -o OUT PAGE.md

PAGE.md starts with a title line `# NAME(SECTION) — one-line summary`; the rest
is Markdown, in which a comment line

    <!-- include FILE -->                   every `##` section of FILE (its
                                            `#` title and the text before its
                                            first `##` are left out)
    <!-- include FILE#Heading -->           the body of that one section
    <!-- include FILE omit=Head1|Head2 -->  FILE without those `##` sections
    <!-- include FILE preamble -->          only the text between FILE's `#`
                                            title and its first `##`

pulls in the docs (FILE is relative to PAGE.md), so a man page and the
Markdown it repeats cannot drift apart. Python 3 standard library only
(pandoc is not on the target machines). It knows the Markdown the docs use:
ATX headings, paragraphs, fenced code, pipe tables (rendered as tagged
paragraphs, which read well at any terminal width), bullet and numbered lists
with nested blocks, block quotes, `code`, **bold**, *emphasis* and links.
The output is plain ASCII (other characters become groff's \\[uXXXX]), so
it renders the same with or without preconv; `groff -man -ww` finds nothing
to warn about.
"""

import argparse
import datetime
import os
import re
import sys

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)")
LIST_ITEM = re.compile(r"^( {0,3})([-*+]|\d+[.)])\s+(.*)$")
INCLUDE = re.compile(r"^\s*<!--\s*include\s+([^#\s]+)(?:#([^>]*?))?"
                     r"(?:\s+(preamble)|\s+omit=(\S+))?\s*-->\s*$")
TITLE = re.compile(r"^#\s+([\w.+-]+)\((\d\w*)\)\s+\S+\s+(.*)$")
MANUALS = {"1": "User Commands", "5": "File Formats", "7": "Miscellanea",
           "8": "System Administration"}


# --------------------------------------------------------------------------
# Includes
# --------------------------------------------------------------------------

def heading_of(line, in_fence):
    m = None if in_fence else HEADING.match(line)
    return (len(m.group(1)), m.group(2)) if m else (0, None)


def sections(lines):
    """Yields (level, heading, line, is_heading) for every line, fence-aware,
    where level and heading describe the `#` or `##` section the line is in."""
    in_fence, current = False, (0, None)
    for line in lines:
        level, text = heading_of(line, in_fence)
        if FENCE.match(line):
            in_fence = not in_fence
        if level and level <= 2:
            current = (level, text)
        yield current[0], current[1], line, bool(level)


def section_body(lines, wanted, path):
    in_fence, depth, out = False, 0, None
    for line in lines:
        level, text = heading_of(line, in_fence)
        if FENCE.match(line):
            in_fence = not in_fence
        if out is None:
            if text == wanted:
                depth, out = level, []
            continue
        if level and level <= depth:
            break
        out.append(line)
    if out is None:
        sys.exit(f"md2man: {path}: no section \"{wanted}\"")
    return out


def expand(path, deps, seen=()):
    """The lines of PATH with its include comments replaced, recursively."""
    if path in seen:
        sys.exit(f"md2man: {path}: includes itself")
    deps.add(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        m = INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
        body = expand(target, deps, seen + (path,))
        if m.group(2):
            out += section_body(body, m.group(2).strip(), target)
        elif m.group(3):
            out += [l for level, _, l, head in sections(body) if level == 1 and not head]
        else:
            omit = set((m.group(4) or "").split("|")) - {""}
            out += [l for level, name, l, _ in sections(body) if level == 2 and name not in omit]
    return out


# --------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------

def is_block_start(line):
    return bool(HEADING.match(line) or FENCE.match(line) or line.lstrip().startswith("|")
                or LIST_ITEM.match(line) or line.lstrip().startswith(">"))


def parse_fence(lines, i):
    indent, marker = FENCE.match(lines[i]).groups()
    code, i = [], i + 1
    while i < len(lines) and not lines[i].strip().startswith(marker):
        line = lines[i]
        code.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
        i += 1
    return ("code", code), i + 1


def parse_table(lines, i):
    rows = []
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        cells = re.split(r"(?<!\\)\|", lines[i].strip().strip("|"))
        rows.append([c.strip().replace("\\|", "|") for c in cells])
        i += 1
    if len(rows) > 1 and all(re.fullmatch(r":?-+:?", c) for c in rows[1] if c):
        return ("table", rows[0], rows[2:]), i
    return ("table", None, rows), i


def parse_list(lines, i):
    first = LIST_ITEM.match(lines[i])
    ordered, indent = first.group(2)[0].isdigit(), len(first.group(1))
    items = []
    while i < len(lines):
        m = LIST_ITEM.match(lines[i])
        if not m or len(m.group(1)) != indent:
            break
        width = len(m.group(0)) - len(m.group(3))
        body, i = [m.group(3)], i + 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                nxt = next((l for l in lines[i + 1:] if l.strip()), "")
                if len(nxt) - len(nxt.lstrip()) >= width:
                    body.append("")
                    i += 1
                    continue
                break
            if len(line) - len(line.lstrip()) >= width:
                body.append(line[width:])
            elif body[-1].strip() and not is_block_start(line):
                body.append(line.strip())  # lazy continuation of the paragraph
            else:
                break
            i += 1
        items.append(parse_blocks(body))
    return ("list", ordered, items), i


def parse_blocks(lines):
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped):
            i += 1
        elif stripped.startswith("<!--"):
            while i < len(lines) and "-->" not in lines[i]:
                i += 1
            i += 1
        elif FENCE.match(line):
            block, i = parse_fence(lines, i)
            blocks.append(block)
        elif HEADING.match(line):
            m = HEADING.match(line)
            blocks.append(("heading", len(m.group(1)), m.group(2)))
            i += 1
        elif stripped.startswith("|"):
            block, i = parse_table(lines, i)
            blocks.append(block)
        elif LIST_ITEM.match(line):
            block, i = parse_list(lines, i)
            blocks.append(block)
        elif stripped.startswith(">"):
            quoted = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quoted.append(re.sub(r"^\s*>\s?", "", lines[i]))
                i += 1
            blocks.append(("quote", parse_blocks(quoted)))
        else:
            para = []
            while i < len(lines) and lines[i].strip() and (not para or not is_block_start(lines[i])):
                para.append(lines[i].strip())
                i += 1
            blocks.append(("para", " ".join(para)))
    return blocks


# --------------------------------------------------------------------------
# Inline text
# --------------------------------------------------------------------------

# Font switches are collected as markers and resolved at the end, so that
# `code` inside **bold** (both bold) needs no nesting that troff lacks.
OPEN_B, CLOSE_B, OPEN_I, CLOSE_I = "\x01", "\x02", "\x03", "\x04"


def escape(text, breakable=False):
    out = []
    for ch in text.expandtabs(8):
        if ch == "\\":
            out.append("\\(rs")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 126:
            out.append(f"\\[u{ord(ch):04X}]")
        else:
            out.append(ch)
        # Long tokens (maps, paths, URLs) may break after these characters
        # instead of running past the right margin.
        if breakable and ch in ",;=+/|&":
            out.append("\\:")
    return "".join(out)


def inline(text):
    spans = []

    def code(m):
        content = m.group(2).strip()
        spans.append(OPEN_B + escape(content, breakable=len(content) > 24) + CLOSE_B)
        return f"\x00{len(spans) - 1}\x00"

    def link(m):
        label, url = m.group(1), m.group(2)
        if re.match(r"https?://", url) and label != url:
            spans.append(" <" + escape(url, breakable=True) + ">")
            return label + f"\x00{len(spans) - 1}\x00"
        return label

    text = re.sub(r"(`+)(.+?)\1", code, text)
    text = re.sub(r"!?\[([^\]]*)\]\(([^)\s]*)\)", link, text)
    text = re.sub(r"<(https?://[^>\s]+)>", r"\1", text)
    text = escape(text)
    text = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", OPEN_B + r"\1" + CLOSE_B, text)
    text = re.sub(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])", OPEN_I + r"\1" + CLOSE_I, text)
    text = re.sub(r"(?<![\w])_(\S(?:.*?\S)?)_(?![\w])", OPEN_I + r"\1" + CLOSE_I, text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)
    return fonts(text)


def fonts(text):
    out, bold, italic, current = [], 0, 0, "R"
    for ch in text:
        if ch in (OPEN_B, CLOSE_B, OPEN_I, CLOSE_I):
            bold += {OPEN_B: 1, CLOSE_B: -1}.get(ch, 0)
            italic += {OPEN_I: 1, CLOSE_I: -1}.get(ch, 0)
            font = ("B" if bold else "") + ("I" if italic else "") or "R"
            if font != current:
                out.append(f"\\f[{font}]")
                current = font
        else:
            out.append(ch)
    if current != "R":
        out.append("\\f[R]")
    return "".join(out)


def text_lines(troff_text, width=76):
    """Wraps filled text at spaces into input lines that troff cannot take
    for requests (a line that starts with . or ' would be one)."""
    lines, line = [], ""
    for word in troff_text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join("\\&" + l if l[:1] in (".", "'") else l for l in lines if l)


def macro_arg(text):
    return '"' + inline(text).replace('"', "\\(dq") + '"'


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

def render(blocks, out, indent=None):
    """Appends troff for BLOCKS to OUT. Inside a list item INDENT is the item's
    indentation, and paragraphs continue the item instead of ending it."""
    para = ".PP" if indent is None else f'.IP "" {indent}'
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            _, level, text = block
            if level == 1:
                continue
            if level == 2:
                plain = not re.search(r"[`\[\]]", text)
                out.append(".SH " + macro_arg(text.upper() if plain else text))
            elif level == 3:
                out.append(".SS " + macro_arg(text))
            else:
                out += [para, f"\\f[B]{inline(text)}\\f[R]"]
        elif kind == "para":
            out += [para, text_lines(inline(block[1]))]
        elif kind == "code":
            out += [para, ".RS 4" if indent is None else ".RS 2", ".nf"]
            out += ["\\&" + escape(l) for l in block[1]]
            out += [".fi", ".RE"]
        elif kind == "table":
            render_table(block[1], block[2], out)
        elif kind == "list":
            render_list(block[1], block[2], out, indent)
        elif kind == "quote":
            out.append(".RS 4")
            render(block[1], out)
            out.append(".RE")


def render_table(header, rows, out):
    for row in rows:
        # The tag must be one input line: .TP takes only the first as the tag.
        tag = inline(row[0])
        out += [".TP", ("\\&" + tag if tag[:1] in (".", "'") else tag) or "\\&"]
        rest = [(header[j] if header and j < len(header) else "", cell)
                for j, cell in enumerate(row) if j > 0 and cell]
        if header and len(header) == 2:
            out.append(text_lines(inline(rest[0][1])) if rest else "\\&")
            continue
        # Several fields: each on its own line below the tag, so that a short
        # tag does not run into the first one.
        for name, cell in rest:
            out.append(".br")
            out.append(text_lines(inline(f"{name}: {cell}" if name else cell)))


def render_list(ordered, items, out, indent):
    if indent is not None:
        out.append(f".RS {indent}")
    width = 4 if ordered else 2
    for n, blocks in enumerate(items, 1):
        tag = f"{n}." if ordered else "\\(bu"
        out.append(f".IP {tag} {width}")
        if blocks and blocks[0][0] == "para":
            out.append(text_lines(inline(blocks[0][1])))
            blocks = blocks[1:]
        render(blocks, out, indent=width)
    if indent is not None:
        out.append(".RE")


def page(lines, version, date):
    m = TITLE.match(lines[0]) if lines else None
    if not m:
        sys.exit("md2man: the first line must be \"# NAME(SECTION) — summary\"")
    name, section, summary = m.groups()
    out = [
        ".\\\" Generated by scripts/md2man.py from the Markdown in docs/; edit those.",
        f'.TH "{name.upper()}" "{section}" "{date}" "rtcbotd {version}" '
        f'"{MANUALS.get(section[0], "")}"',
        # No hyphenation, ragged right: key names and paths stay whole.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{escape(name)} \\- {inline(summary)}",
    ]
    render(parse_blocks(lines[1:]), out)
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Markdown to man page")
    parser.add_argument("input")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--version", default="")
    parser.add_argument("--date", help="YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else "
                                       "the newest input's modification time)")
    parser.add_argument("--depfile", help="write the inputs, Makefile style, for ninja")
    args = parser.parse_args()

    deps = set()
    lines = expand(os.path.normpath(args.input), deps)
    if args.date:
        date = args.date
    else:
        stamp = os.environ.get("SOURCE_DATE_EPOCH") or max(os.path.getmtime(d) for d in deps)
        date = datetime.datetime.fromtimestamp(int(float(stamp)), datetime.timezone.utc)
        date = date.strftime("%Y-%m-%d")
    with open(args.output, "w", encoding="ascii") as f:
        f.write(page(lines, args.version, date))
    if args.depfile:
        with open(args.depfile, "w", encoding="utf-8") as f:
            names = " ".join(d.replace(" ", "\\ ") for d in sorted(deps))
            f.write(f"{args.output}: {names}\n")


if __name__ == "__main__":
    main()
