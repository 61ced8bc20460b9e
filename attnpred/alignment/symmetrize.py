"""Symmetrisation of two directional alignments (Och & Ney 2003; Koehn et al. 2005).

Both inputs are sets of (source word, target word) links: the reverse-direction alignment must
already be transposed into source-target order.
"""
from __future__ import annotations

from typing import Callable

from attnpred.data.alignment import Link

NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def grow_diag_final_and(fwd: set[Link], rev: set[Link], src_len: int,
                        tgt_len: int) -> set[Link]:
    """Moses' grow-diag-final-and.

    Start from the intersection; grow-diag adds union links next to (also diagonally) an
    existing link when one of their words is still unaligned, until nothing changes; final-and
    adds remaining directional links whose source and target words are both unaligned.
    """
    union = fwd | rev
    links = set(fwd & rev)
    src_done = {i for i, _ in links}
    tgt_done = {j for _, j in links}

    def add(i: int, j: int) -> None:
        links.add((i, j))
        src_done.add(i)
        tgt_done.add(j)

    grown = True
    while grown:
        grown = False
        for i in range(src_len):
            for j in range(tgt_len):
                if (i, j) not in links:
                    continue
                for di, dj in NEIGHBOURS:
                    ni, nj = i + di, j + dj
                    if ((ni not in src_done or nj not in tgt_done) and (ni, nj) in union
                            and (ni, nj) not in links):
                        add(ni, nj)
                        grown = True
    for directional in (fwd, rev):
        for i, j in sorted(directional):
            if i not in src_done and j not in tgt_done:
                add(i, j)
    return links


def _intersection(fwd: set[Link], rev: set[Link], src_len: int, tgt_len: int) -> set[Link]:
    return fwd & rev


def _union(fwd: set[Link], rev: set[Link], src_len: int, tgt_len: int) -> set[Link]:
    return fwd | rev


SYMMETRIZE: dict[str, Callable[[set[Link], set[Link], int, int], set[Link]]] = {
    "intersection": _intersection,
    "union": _union,
    "grow-diag-final-and": grow_diag_final_and,
}


def symmetrize(fwd: set[Link], rev: set[Link], src_len: int, tgt_len: int,
               method: str = "grow-diag-final-and") -> set[Link]:
    """Combine source->target and (transposed) target->source links with ``method``."""
    if method not in SYMMETRIZE:
        raise ValueError(f"unknown symmetrisation {method!r}; choose from {sorted(SYMMETRIZE)}")
    return SYMMETRIZE[method](fwd, rev, src_len, tgt_len)
