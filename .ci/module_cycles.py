#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

For every crate root of the repository (src/lib.rs, src/main.rs,
src/bin/*.rs) it follows the `mod x;` declarations, reads each module's
`crate::`, `super::` and `self::` paths (in `use` lines and inline, `use`
groups included), and resolves each to the module it names; a name the
crate root re-exports (`pub use server::ServerConnection` in lib.rs, then
`crate::ServerConnection`) resolves to the module it comes from. A path
from module `a::b` to `a::c::d` is an edge `b -> c` between the siblings
under `a`; a path to an enclosing module (`super::Type`) is not a
sibling edge. Comments, string literals and `#[cfg(test)]` modules are
left out: unit tests may use any module. Any strongly connected set of
two or more siblings is reported, with one cycle through it.

Run: python3 .ci/module_cycles.py [--edges] [repo root]   (exit 1 on a cycle;
--edges prints every sibling edge it found)
"""

import re
import sys
from pathlib import Path

SKIP_DIRS = {"target", "node_modules", ".git", ".venv"}


def strip_code(text):
    """Removes comments, string and char literals (keeping line structure)."""
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
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            out.append('""')
            i = n if end < 0 else end + 1 + len(m.group(1))
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or text.startswith("'\\u{", i):
            end = text.find("'", i + 1)
            out.append("' '")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_test_modules(code):
    """Drops `#[cfg(test)] mod name { ... }` blocks."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        code = code[: m.start()] + code[i:]


def split_top(body):
    items, depth, cur = [], 0, ""
    for c in body:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        items.append(cur.strip())
    return items


def group_body(code, start):
    """The text inside the braces opening at code[start] ('{')."""
    depth, i = 0, start
    while i < len(code):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return code[start + 1 : i]
        i += 1
    return code[start + 1 :]


PATH = re.compile(r"(?<![\w:])\$?(crate|super|self)((?:\s*::\s*(?:\w+|\{))+)")


def paths_in(code):
    """Yields (base, [segments]) for every crate/super/self path, use groups expanded."""
    for m in PATH.finditer(code):
        base = m.group(1)
        rest = re.sub(r"\s+", "", m.group(2))
        segs = [s for s in rest.split("::") if s]
        if segs and segs[-1] == "{":
            segs = segs[:-1]
            body = group_body(code, m.end() - 1)
            for item in split_top(body):
                sub = [s for s in re.split(r"::|\s+as\s+", item.split("{")[0]) if s and s != "*"]
                sub = [s for s in sub if re.fullmatch(r"\w+", s)]
                if item.startswith("{") or not sub:
                    yield base, segs
                else:
                    yield base, segs + sub[:1] + ([sub[1]] if len(sub) > 1 else [])
        else:
            yield base, segs


class Crate:
    def __init__(self, root_file):
        self.root_file = root_file
        self.modules = {}  # tuple path -> code
        self.reexports = {}  # name -> module path (from the root's `use m::{...}`)
        self.inline = set()  # modules written inline (`mod name { ... }`)
        self.load((), root_file)
        self.read_reexports()

    def load(self, path, file):
        code = strip_test_modules(strip_code(file.read_text(encoding="utf-8")))
        self.modules[path] = code
        is_dir_owner = file.name in ("lib.rs", "main.rs", "mod.rs") or path == ()
        base_dir = file.parent if is_dir_owner else file.parent / file.stem
        for m in re.finditer(r"(?m)^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code):
            name = m.group(1)
            attr = re.search(r'#\[path\s*=\s*"([^"]+)"\]', m.group(0))
            if attr:
                child = file.parent / attr.group(1)
            else:
                child = base_dir / f"{name}.rs"
                if not child.exists():
                    child = base_dir / name / "mod.rs"
            if child.exists():
                self.load(path + (name,), child)
        # Inline modules (not test ones): `mod name { ... }` count as modules of this file.
        for m in re.finditer(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{", code):
            body = group_body(code, m.end() - 1)
            self.modules[path + (m.group(1),)] = body
            self.inline.add(path + (m.group(1),))

    def read_reexports(self):
        code = self.modules[()]
        for m in re.finditer(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+(?:crate::|self::)?(\w+)::", code):
            mod = (m.group(1),)
            if mod not in self.modules:
                continue
            stmt = code[m.start() : code.find(";", m.start())]
            for name in re.findall(r"\b(\w+)\b", stmt.split("::", 1)[1] if "::" in stmt else ""):
                self.reexports.setdefault(name, mod)
        # Inline facade modules of the root (`pub mod conn { pub use crate::server::X; }`).
        for path, code2 in self.modules.items():
            if len(path) == 1 and path in self.inline:
                for base, segs in paths_in(code2):
                    if base == "crate" and segs:
                        target = self.longest_module(list(segs))
                        if target:
                            self.reexports.setdefault(path[0] + "::" + segs[-1], target)

    def longest_module(self, segs):
        best = None
        for k in range(1, len(segs) + 1):
            if tuple(segs[:k]) in self.modules:
                best = tuple(segs[:k])
        return best

    def resolve(self, here, base, segs):
        if base == "crate":
            abs_segs = list(segs)
        elif base == "super":
            up = list(here[:-1])
            while segs and segs[0] == "super":
                up, segs = up[:-1], segs[1:]
            abs_segs = up + list(segs)
        else:
            abs_segs = list(here) + list(segs)
        target = self.longest_module(abs_segs)
        if target is None and abs_segs:
            # A name the root re-exports (crate::Name, or crate::facade::Name).
            target = self.reexports.get(abs_segs[0])
            if target is None and len(abs_segs) > 1:
                target = self.reexports.get(abs_segs[0] + "::" + abs_segs[1])
        elif target is not None and len(target) == 1 and len(abs_segs) > 1:
            facade = self.reexports.get(target[0] + "::" + abs_segs[1])
            if facade:
                target = facade
        return target or ()

    def edges(self):
        """(parent, a, b) sibling edges: module parent::a uses parent::b."""
        out = {}
        for here, code in self.modules.items():
            if not here:
                continue
            for base, segs in paths_in(code):
                target = self.resolve(here, base, segs)
                k = 0
                while k < min(len(here), len(target)) and here[k] == target[k]:
                    k += 1
                if k == len(here) or k == len(target):
                    continue  # itself, a child, or an enclosing module
                parent = here[:k]
                out.setdefault(parent, set()).add((here[k], target[k]))
        return out


def cycles(nodes_edges):
    graph = {}
    for a, b in nodes_edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    result = []
    for scc in sccs:
        # One cycle through the set, found by a walk inside it.
        start, seen, path = scc[0], {scc[0]: None}, [scc[0]]
        frontier = [start]
        while frontier:
            v = frontier.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    walk, u = [start], v
                    while u is not None:
                        walk.append(u)
                        u = seen[u]
                    result.append((scc, list(reversed(walk))))
                    frontier = []
                    break
                if w in scc and w not in seen:
                    seen[w] = v
                    frontier.append(w)
    return result


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    repo = Path(args[0] if args else Path(__file__).resolve().parent.parent)
    roots = []
    for manifest in sorted(repo.rglob("Cargo.toml")):
        if SKIP_DIRS & set(manifest.relative_to(repo).parts):
            continue
        src = manifest.parent / "src"
        roots += [f for f in (src / "lib.rs", src / "main.rs") if f.exists()]
        roots += sorted((src / "bin").glob("*.rs")) if (src / "bin").is_dir() else []
    show = "--edges" in sys.argv
    failed, checked = False, 0
    for root in roots:
        crate = Crate(root)
        checked += 1
        if show:
            for parent, es in sorted(crate.edges().items()):
                for a, b in sorted(es):
                    print(f"{root.relative_to(repo)}: {'::'.join(parent + (a,))} -> {b}")
        for parent, es in sorted(crate.edges().items()):
            for scc, cyc in cycles(es):
                failed = True
                where = "::".join(parent) or "crate root"
                print(
                    f"cycle in {root.relative_to(repo)} (under {where}) among {{{', '.join(scc)}}}: "
                    f"{' -> '.join(cyc)}"
                )
    if failed:
        return 1
    print(f"ok: no module cycles in {checked} crate roots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
