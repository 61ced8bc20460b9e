"""Tiny synthetic sentiment data for tests, and the shared-data location."""
import csv
import os
import random
from pathlib import Path

SHARED_DATA = Path(os.environ.get("ATTNPRED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))

POS = ["profit", "rose", "growth", "record", "strong", "gain"]
NEG = ["loss", "fell", "cut", "weak", "decline", "warning"]
FILL = ["the", "company", "said", "quarter", "sales", "in", "its", "year", "shares", "market"]


def synthetic_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Sentences whose label is decided by one sentiment word hidden among filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ["positive", "negative", "neutral"][i % 3]
        words = rng.sample(FILL, 5)
        if label != "neutral":
            words.insert(rng.randrange(6), rng.choice(POS if label == "positive" else NEG))
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
