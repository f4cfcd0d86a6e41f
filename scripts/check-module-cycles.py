#!/usr/bin/env python3
"""Fails when source files of one crate import each other, directly or round a longer loop
(`make lint` runs it). Files are modules. Every path that starts with `crate::`, `super::` or
`self::` is an edge: in `use` lines (their `{…}` groups expanded, nested or not) and written
inline anywhere in the code (`crate::x::f()`, `super::y::Z`). Comments and string literals
are not code. A parent module and its own children do not count (a parent declares its
children and re-exports them). Test code is left out: inline `#[cfg(test)] mod tests { … }`
blocks, and the files of `tests` and `test_support` modules.

Usage: scripts/check-module-cycles.py CRATE_DIR...
"""
import os
import re
import sys

TEST_MODULES = ("tests", "test_support")


def modules(crate_src):
    """Module path (`a::b`) -> file, for every .rs file under `crate_src`."""
    files = {}
    for root, _, names in os.walk(crate_src):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            parts = os.path.relpath(path, crate_src)[:-3].split(os.sep)
            if parts[-1] in ("lib", "main", "mod"):
                parts = parts[:-1]
            if any(part in TEST_MODULES for part in parts):
                continue
            files["::".join(parts)] = path
    return files


def code_only(text):
    """`text` without comments, string and char literals, and inline test modules."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif re.match(r'(?<![\w])b?r(#*)"', text[i:i + 40]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:])
            i += m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    return re.sub(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{.*", "", code, flags=re.S)


def split_top(group):
    """The items of a `{…}` use group, split at its top-level commas."""
    items, depth, start = [], 0, 0
    for i, c in enumerate(group):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(group[start:i])
            start = i + 1
    items.append(group[start:])
    return [item.strip() for item in items if item.strip()]


def expand(tree, prefix=""):
    """Every path a use tree names: `a::{b, c::{d}}` -> `a::b`, `a::c::d`."""
    tree = re.sub(r"\s+as\s+\w+$", "", tree.strip())
    brace = tree.find("{")
    if brace < 0:
        path = prefix + tree
        return [re.sub(r"::(self|\*)$", "", path)]
    head = tree[:brace]
    inner = tree[brace + 1:tree.rfind("}")]
    paths = []
    for item in split_top(inner):
        if item == "self":
            paths.append((prefix + head).rstrip(":"))
        else:
            paths.extend(expand(item, prefix + head))
    return paths


def paths_in(code):
    """Every `crate::`/`super::`/`self::` path in `code`, from use trees and inline."""
    paths = []
    for tree in re.findall(r"\buse\s+([^;]+);", code):
        paths.extend(p for p in expand(tree) if re.match(r"(crate|super|self)\b", p))
    paths.extend(m.group(0) for m in re.finditer(r"(?<![\w$])(?:crate|super|self)(?:::\w+)+", code))
    return paths


def resolve(module, path, mods):
    """The module of this crate that `path`, written in `module`, names (its longest prefix
    that is a module), or None."""
    segs = path.split("::")
    if segs[0] == "crate":
        cur, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        cur = module.split("::") if module else []
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                cur = cur[:-1]
            segs = segs[1:]
    else:
        return None
    best = None
    for i in range(len(segs) + 1):
        candidate = "::".join(cur + segs[:i])
        if candidate in mods:
            best = candidate
    return best


def edges_of(mods):
    edges = {m: set() for m in mods}
    for module, path in mods.items():
        with open(path, encoding="utf-8") as f:
            code = code_only(f.read())
        for written in paths_in(code):
            target = resolve(module, written, mods)
            if (
                target
                and target != module
                and not module.startswith(target + "::")
                and not target.startswith(module + "::")
            ):
                edges[module].add(target)
    return edges


def loops(edges):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            strong(v)
    return out


def main(crates):
    found = False
    for crate in crates:
        mods = modules(os.path.join(crate, "src"))
        edges = edges_of(mods)
        for component in loops(edges):
            found = True
            inside = set(component)
            arrows = ", ".join(
                f"{a} -> {b}" for a in component for b in sorted(edges[a]) if b in inside
            )
            print(f"{crate}: import loop through {component}: {arrows}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
