"""Word-alignment files: Pharaoh links (system output) and gold sets with sure/possible links.

Pharaoh: one line per sentence pair, space-separated ``i-j`` links, 0-indexed, i = source word,
j = target word. Gold (../shared/data/word_alignment_gold): ``i-j`` sure and ``ipj`` possible
links, **1-indexed**. In memory every link is a 0-indexed ``(i, j)`` tuple.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from attnpred.data.parallel import read_lines
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

Link = tuple[int, int]
_PHARAOH = re.compile(r"^(\d+)-(\d+)$")
_GOLD = re.compile(r"^(\d+)([-p])(\d+)$")


@dataclass
class GoldAlignment:
    """Gold links of one sentence pair, 0-indexed.

    Attributes:
        sure: the sure links S.
        possible: the possible links P, which include the sure ones (P ⊇ S).
    """

    sure: set[Link]
    possible: set[Link]


def parse_pharaoh(text: str, *, file: str | Path | None = None,
                  line: int | None = None) -> set[Link]:
    """Links of one Pharaoh line (``"0-0 1-2"``), 0-indexed."""
    links = set()
    for item in text.split():
        m = _PHARAOH.match(item)
        if m is None:
            raise AttnpredError(f"bad link {item!r}; expected 'i-j' with 0-indexed integers",
                                file=file, line=line)
        links.add((int(m.group(1)), int(m.group(2))))
    return links


def read_pharaoh(path: str | Path) -> list[set[Link]]:
    """One link set per line of a Pharaoh file."""
    return [parse_pharaoh(t, file=path, line=i)
            for i, t in enumerate(read_lines(path), start=1)]


def format_pharaoh(links: Iterable[Link]) -> str:
    return " ".join(f"{i}-{j}" for i, j in sorted(links))


def write_pharaoh(path: str | Path, alignments: Sequence[Iterable[Link]]) -> None:
    """Write one Pharaoh line per sentence pair, atomically."""
    atomic_write_text(path, "".join(format_pharaoh(a) + "\n" for a in alignments))


def parse_gold(text: str, *, one_indexed: bool = True, file: str | Path | None = None,
               line: int | None = None) -> GoldAlignment:
    """Sure (``i-j``) and possible (``ipj``) links of one gold line, returned 0-indexed."""
    offset = 1 if one_indexed else 0
    sure, possible = set(), set()
    for item in text.split():
        m = _GOLD.match(item)
        if m is None:
            raise AttnpredError(f"bad gold link {item!r}; expected 'i-j' (sure) or 'ipj' "
                                "(possible)", file=file, line=line)
        i, j = int(m.group(1)) - offset, int(m.group(3)) - offset
        if i < 0 or j < 0:
            raise AttnpredError(f"link {item!r} has index 0 in a 1-indexed gold file",
                                file=file, line=line)
        possible.add((i, j))
        if m.group(2) == "-":
            sure.add((i, j))
    return GoldAlignment(sure, possible)


def read_gold(path: str | Path, one_indexed: bool = True) -> list[GoldAlignment]:
    """One GoldAlignment per line of a gold file."""
    return [parse_gold(t, one_indexed=one_indexed, file=path, line=i)
            for i, t in enumerate(read_lines(path), start=1)]


def check_bounds(links: Iterable[Link], src_len: int, tgt_len: int, *,
                 file: str | Path | None = None, line: int | None = None) -> None:
    """Raise when a link points past the sentence (e.g. a 1-indexed file read as 0-indexed)."""
    for i, j in links:
        if i >= src_len or j >= tgt_len:
            raise AttnpredError(f"link {i}-{j} outside a pair of {src_len} source and {tgt_len}"
                                " target words", file=file, line=line)


def check_alignments(alignments: Sequence[Iterable[Link]], src_texts: Sequence[str],
                     tgt_texts: Sequence[str], file: str | Path,
                     one_indexed: bool = False, pairs: str = "sentence pairs") -> None:
    """One alignment line per sentence pair, and every link inside its pair's whitespace
    words; errors name the file and line (links are 0-indexed here, as in memory)."""
    if len(alignments) != len(src_texts):
        raise AttnpredError(f"{len(alignments)} alignment lines for {len(src_texts)} {pairs}; "
                            "expected one line per pair", file=file)
    base = 1 if one_indexed else 0
    for number, (links, s, t) in enumerate(zip(alignments, src_texts, tgt_texts), start=1):
        n_src, n_tgt = len(s.split()), len(t.split())
        for i, j in links:
            if i >= n_src or j >= n_tgt:
                raise AttnpredError(f"link {i + base}-{j + base} is beyond the sentence pair "
                                    f"({n_src} source and {n_tgt} target words)",
                                    file=file, line=number)


def clip(links: Iterable[Link], src_len: int, tgt_len: int) -> set[Link]:
    """Drop links outside the sentence (the jaen gold has a few off-by-one links)."""
    return {(i, j) for i, j in links if i < src_len and j < tgt_len}
