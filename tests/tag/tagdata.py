"""Tiny tagged data shared by the tagging tests: a CoNLL NER set and a CoNLL-U POS set."""
from __future__ import annotations

import io
import random
import tarfile
from pathlib import Path

import pytest

from attnpred.models.tagger import ScratchTaggerConfig
from attnpred.tasks.tag import TagDataConfig, TagRunConfig
from attnpred.training.trainer import TrainerConfig

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Erin"]
PLACES = ["Paris", "Rome", "Oslo", "New York", "Lima"]
VERBS = ["visits", "likes", "leaves"]


def ner_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """'PERSON VERB PLACE .' sentences with BIO tags (multi-word places give I- tags)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        place = rng.choice(PLACES).split()
        sent = [(rng.choice(PEOPLE), "B-person"), (rng.choice(VERBS), "O")]
        sent += [(w, ("B-" if i == 0 else "I-") + "location") for i, w in enumerate(place)]
        if rng.random() < 0.5:
            sent += [("today", "O")]
        out.append(sent + [(".", "O")])
    return out


def write_conll(path: Path, sentences, separator: str = "") -> Path:
    """CoNLL text; ``separator`` is the sentence-separating line ('' or '\\t')."""
    path.write_text("".join("".join(f"{w}\t{t}\n" for w, t in s) + separator + "\n"
                            for s in sentences), encoding="utf-8")
    return path


POS_TEXT = """# sent_id = 1
# text = The cat's asleep.
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2-3\tcat's\t_\t_\t_\t_\t_\t_\t_\t_
2\tcat\tcat\tNOUN\tNN\t_\t4\tnsubj\t_\t_
3\t's\tbe\tAUX\tVBZ\t_\t4\tcop\t_\t_
4\tasleep\tasleep\tADJ\tJJ\t_\t0\troot\t_\t_
4.1\tis\tbe\tAUX\tVBZ\t_\t_\t_\t4:cop\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_
2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_

"""


@pytest.fixture
def ner_files(tmp_path) -> dict[str, Path]:
    """train (TAB-only separators, as in WNUT-17) / dev / test CoNLL files."""
    return {"train": write_conll(tmp_path / "train.conll", ner_sentences(40, 0), "\t"),
            "dev": write_conll(tmp_path / "dev.conll", ner_sentences(12, 1)),
            "test": write_conll(tmp_path / "test.conll", ner_sentences(12, 2))}


@pytest.fixture
def pos_file(tmp_path) -> Path:
    path = tmp_path / "tiny.conllu"
    path.write_text(POS_TEXT, encoding="utf-8")
    return path


@pytest.fixture
def pos_archive(tmp_path) -> Path:
    """A UD-style .tar.gz: sources/ files in the order of file-lists/files.train."""
    docs = {"b.conllu": POS_TEXT.split("\n\n")[1] + "\n\n",
            "a.conllu": POS_TEXT.split("\n\n")[0] + "\n\n"}
    listing = "b.conllu\na.conllu\n"
    path = tmp_path / "train.sources.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in [("r/file-lists/files.train", listing)] + \
                [(f"r/sources/{k}", v) for k, v in docs.items()]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tiny_config(files: dict[str, Path], **trainer) -> TagRunConfig:
    """A tiny scratch tagger that fits the synthetic NER data in a few seconds."""
    tr = dict(epochs=12, lr=3e-3, warmup_ratio=0.1, progress=False, tensorboard=False,
              seed=3, metric="score")
    return TagRunConfig(
        model="scratch",
        data=TagDataConfig(train=str(files["train"]), dev=str(files.get("dev", "")),
                           test=str(files.get("test", ""))),
        scratch=ScratchTaggerConfig(dim=32, heads=2, layers=1, ff_dim=64, dropout=0.0,
                                    max_len=32),
        vocab_size=200, batch_size=8, trainer=TrainerConfig(**(tr | trainer)))
