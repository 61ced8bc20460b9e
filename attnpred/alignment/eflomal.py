"""The eflomal baseline aligner (Östling & Tiedemann 2016), through its Python package.

``pip install eflomal`` builds it from source; it runs offline. Both directions are aligned in
one run and symmetrised here, so attention alignments and eflomal share the same code path
from links to AER.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from attnpred.alignment.symmetrize import symmetrize
from attnpred.data.alignment import Link, read_pharaoh
from attnpred.errors import AttnpredError


def eflomal_directional(src: Sequence[str], tgt: Sequence[str], *, n_iterations: int | None = None,
                        model: int = 3) -> tuple[list[set[Link]], list[set[Link]]]:
    """Forward and reverse eflomal links, both in (source word, target word) order.

    Args:
        src, tgt: whitespace-tokenised sentences, line-aligned.
        n_iterations: eflomal's ``n_iterations`` (None: its default by corpus size).
        model: 1 (IBM1), 2 (+HMM) or 3 (+fertility).
    Raises:
        AttnpredError: when eflomal is not installed.
    """
    try:
        import eflomal
    except ImportError:
        raise AttnpredError("eflomal is not installed; run 'pip install eflomal' "
                            "(it builds from source)") from None
    if len(src) != len(tgt):
        raise AttnpredError(f"{len(src)} source but {len(tgt)} target sentences")
    aligner = eflomal.Aligner(model=model, n_iterations=n_iterations)
    with tempfile.TemporaryDirectory() as tmp:
        fwd, rev = Path(tmp) / "fwd", Path(tmp) / "rev"
        aligner.align([s + "\n" for s in src], [t + "\n" for t in tgt],
                      links_filename_fwd=str(fwd), links_filename_rev=str(rev), quiet=True)
        return read_pharaoh(fwd), read_pharaoh(rev)


def eflomal_align(src: Sequence[str], tgt: Sequence[str], method: str = "grow-diag-final-and",
                  **kwargs) -> list[set[Link]]:
    """Symmetrised eflomal word alignments (0-indexed source-target links) per pair."""
    fwd, rev = eflomal_directional(src, tgt, **kwargs)
    return [symmetrize(f, r, len(s.split()), len(t.split()), method)
            for f, r, s, t in zip(fwd, rev, src, tgt)]
