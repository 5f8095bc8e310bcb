"""Leak triage from V8 heap snapshots (CDP HeapProfiler), in the manner of memlab: three
snapshots, a baseline, a target after some navigations, a final one after as many more.
Objects created between the baseline and the target that are still alive in the final one
outlived the screens they were made for (the current table's rows, made anew on each
render, are gone by then). They are grouped by kind and constructor, sized by what they
retain (dominator tree), and each group gets one retainer path from the GC roots: what
holds them. Browser-internal (native) objects are left out unless they are detached DOM.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from playwright.sync_api import CDPSession

# Node kinds that are the engine's own bookkeeping, not objects of the page.
ENGINE_KINDS = frozenset({"hidden", "code", "synthetic", "number", "sliced string"})
MAX_PATH = 12
MAX_NAME = 80


def take(cdp: CDPSession) -> dict[str, Any]:
    """A full heap snapshot after a forced GC, as its JSON."""
    chunks: list[str] = []

    def on_chunk(params: dict[str, Any]) -> None:
        chunks.append(params["chunk"])

    cdp.on("HeapProfiler.addHeapSnapshotChunk", on_chunk)
    try:
        cdp.send("HeapProfiler.enable")
        cdp.send("HeapProfiler.collectGarbage")
        cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    finally:
        cdp.remove_listener("HeapProfiler.addHeapSnapshotChunk", on_chunk)
    snapshot: dict[str, Any] = json.loads("".join(chunks))
    return snapshot


class Heap:
    """A parsed snapshot: nodes, their outgoing edges, dominators and retained sizes."""

    def __init__(self, raw: dict[str, Any]) -> None:
        meta = raw["snapshot"]["meta"]
        node_fields: list[str] = meta["node_fields"]
        edge_fields: list[str] = meta["edge_fields"]
        node_types: list[str] = meta["node_types"][0]
        self.edge_types: list[str] = meta["edge_types"][0]
        self.strings: list[str] = raw["strings"]
        width, ewidth = len(node_fields), len(edge_fields)
        nodes: list[int] = raw["nodes"]
        edges: list[int] = raw["edges"]
        count = len(nodes) // width
        at = {f: node_fields.index(f) for f in ("type", "name", "id", "self_size", "edge_count")}
        self.kind = [node_types[nodes[i * width + at["type"]]] for i in range(count)]
        self.name = [self.strings[nodes[i * width + at["name"]]][:MAX_NAME] for i in range(count)]
        detached = node_fields.index("detachedness") if "detachedness" in node_fields else None
        self.detached = [
            detached is not None and nodes[i * width + detached] == 2 for i in range(count)
        ]
        self.id = [nodes[i * width + at["id"]] for i in range(count)]
        self.size = [nodes[i * width + at["self_size"]] for i in range(count)]
        etype, ename, eto = (edge_fields.index(f) for f in ("type", "name_or_index", "to_node"))
        self.out: list[list[tuple[int, str]]] = [[] for _ in range(count)]
        cursor = 0
        for i in range(count):
            for _ in range(nodes[i * width + at["edge_count"]]):
                kind = self.edge_types[edges[cursor + etype]]
                if kind != "weak":
                    raw_name = edges[cursor + ename]
                    label = (
                        f"[{raw_name}]" if kind in ("element", "hidden") else self.strings[raw_name]
                    )
                    self.out[i].append((edges[cursor + eto] // width, label))
                cursor += ewidth
        self.count = count
        self.idom = self._dominators()
        self.retained = self._retained()
        self.parent = self._shortest_paths()

    def _dominators(self) -> list[int]:
        """Immediate dominators from the root (node 0), Cooper-Harvey-Kennedy."""
        order: list[int] = []
        seen = [False] * self.count
        stack: list[tuple[int, int]] = [(0, 0)]
        seen[0] = True
        while stack:
            node, child = stack.pop()
            if child < len(self.out[node]):
                stack.append((node, child + 1))
                nxt = self.out[node][child][0]
                if not seen[nxt]:
                    seen[nxt] = True
                    stack.append((nxt, 0))
            else:
                order.append(node)  # postorder
        post = [-1] * self.count
        for n, node in enumerate(order):
            post[node] = n
        preds: list[list[int]] = [[] for _ in range(self.count)]
        for node in order:
            for nxt, _ in self.out[node]:
                preds[nxt].append(node)
        idom = [-1] * self.count
        idom[0] = 0
        rpo = list(reversed(order))
        changed = True
        while changed:
            changed = False
            for node in rpo[1:]:
                new = -1
                for pred in preds[node]:
                    if idom[pred] == -1:
                        continue
                    if new == -1:
                        new = pred
                        continue
                    a, b = pred, new
                    while a != b:
                        while post[a] < post[b]:
                            a = idom[a]
                        while post[b] < post[a]:
                            b = idom[b]
                    new = a
                if new != -1 and idom[node] != new:
                    idom[node] = new
                    changed = True
        self._post_order = order
        return idom

    def _retained(self) -> list[int]:
        retained = list(self.size)
        for node in self._post_order:  # children before their dominators
            dom = self.idom[node]
            if node != 0 and dom >= 0:
                retained[dom] += retained[node]
        return retained

    def _shortest_paths(self) -> list[tuple[int, str] | None]:
        parent: list[tuple[int, str] | None] = [None] * self.count
        reached = [False] * self.count
        reached[0] = True
        queue = deque([0])
        while queue:
            node = queue.popleft()
            for nxt, label in self.out[node]:
                if not reached[nxt]:
                    reached[nxt] = True
                    parent[nxt] = (node, label)
                    queue.append(nxt)
        return parent

    def label(self, node: int) -> str:
        name = self.name[node]
        if self.kind[node] in ("string", "concatenated string"):
            return "string"
        return f"{name or self.kind[node]}"

    def path(self, node: int) -> list[str]:
        """The shortest retainer path from the GC roots: `Window.app -> App.retained -> ...`."""
        steps: list[str] = []
        while self.parent[node] is not None and len(steps) < MAX_PATH:
            holder, edge = self.parent[node]  # type: ignore[misc]
            steps.append(f"{self.label(holder)}.{edge}")
            node = holder
        return list(reversed(steps))


@dataclass(frozen=True)
class Group:
    kind: str
    name: str
    count: int
    self_bytes: int
    retained_bytes: int
    path: list[str]


def leaked(before: Heap, target: Heap, after: Heap, top: int = 10) -> dict[str, Any]:
    """Objects made between `before` and `target` and still alive in `after`: groups by
    (kind, constructor), largest retained first, with one retainer path each (in `after`)."""
    made = set(target.id) - set(before.id)
    new = [
        i
        for i in range(after.count)
        if after.id[i] in made
        and after.idom[i] != -1
        and after.kind[i] not in ENGINE_KINDS
        and (after.kind[i] != "native" or after.detached[i])
    ]
    fresh = set(new)
    groups: dict[tuple[str, str], list[int]] = {}
    for node in new:
        groups.setdefault((after.kind[node], after.label(node)), []).append(node)
    result = []
    for (kind, name), members in groups.items():
        # retained by the group's own top-level objects (not counted again through a parent)
        tops = [m for m in members if after.idom[m] not in fresh]
        biggest = max(members, key=lambda m: after.retained[m])
        result.append(
            Group(
                kind,
                name,
                len(members),
                sum(after.size[m] for m in members),
                sum(after.retained[m] for m in tops),
                after.path(biggest),
            )
        )
    result.sort(key=lambda g: (g.retained_bytes, g.count), reverse=True)
    return {
        "newObjects": len(new),
        "newSelfBytes": sum(after.size[i] for i in new),
        "heapBeforeBytes": sum(before.size),
        "heapAfterBytes": sum(after.size),
        "detachedDomNodes": sum(1 for i in new if after.detached[i]),
        "groups": [asdict(g) for g in result[:top]],
    }


def summary_lines(triage: dict[str, Any]) -> list[str]:
    """A few lines for a failure message or a terminal: what grew and what holds it."""
    lines = [
        f"{triage['newObjects']} objects ({triage['newSelfBytes'] / 1024:.0f} KiB) made during"
        f" {triage.get('navigations', '?')} navigations outlived as many more"
    ]
    for g in triage["groups"][:5]:
        holder = " -> ".join(g["path"][-4:]) or "(root)"
        lines.append(
            f"  {g['count']} x {g['kind']} {g['name']}: retains {g['retained_bytes'] / 1024:.0f}"
            f" KiB, held by {holder}"
        )
    return lines
