"""Parallel readers, Pharaoh and gold parsing (errors name the line), token-count batching."""
import gzip
import json

import pytest

from attnpred.data.alignment import parse_gold, read_gold, read_pharaoh, write_pharaoh
from attnpred.data.parallel import Seq2SeqTokenizer, read_parallel, token_batches, word_ids
from attnpred.errors import AttnpredError


def test_two_files_gzip(tmp_path):
    with gzip.open(tmp_path / "a.en.gz", "wt", encoding="utf-8") as fh:
        fh.write("a dog\nthe cat\n")
    (tmp_path / "a.de").write_text("ein Hund\ndie Katze\n", encoding="utf-8")
    pairs = read_parallel(tmp_path / "a.en.gz", tmp_path / "a.de")
    assert [(p.src, p.tgt, p.line) for p in pairs] == [("a dog", "ein Hund", 1),
                                                       ("the cat", "die Katze", 2)]


def test_line_count_mismatch_names_line(tmp_path):
    (tmp_path / "s").write_text("a\nb\nc\n")
    (tmp_path / "t").write_text("x\ny\n")
    with pytest.raises(AttnpredError, match=r"s:3: 3 source lines but 2 target"):
        read_parallel(tmp_path / "s", tmp_path / "t")


def test_tsv_and_jsonl(tmp_path):
    (tmp_path / "d.tsv").write_text("body\tsubject\nhello there\thi\n")
    assert read_parallel(tmp_path / "d.tsv", src_field="body", tgt_field="subject")[0].tgt == "hi"
    (tmp_path / "d.tsv").write_text("body\tsubject\nonly one column\n")
    with pytest.raises(AttnpredError, match=r"d.tsv:2: 1 columns"):
        read_parallel(tmp_path / "d.tsv", src_field="body", tgt_field="subject")
    lines = [json.dumps({"src": "a", "tgt": "b"}), json.dumps({"src": "a"})]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(AttnpredError, match=r"d.jsonl:2, field 'tgt': missing"):
        read_parallel(tmp_path / "d.jsonl")


def test_bitext_format(tmp_path):
    (tmp_path / "b.txt").write_text("a b ||| x y z \nno separator\n")
    with pytest.raises(AttnpredError, match=r"b.txt:2: expected 'source \|\|\| target'"):
        read_parallel(tmp_path / "b.txt")


def test_pharaoh_round_trip_and_error(tmp_path):
    write_pharaoh(tmp_path / "a.txt", [{(0, 0), (2, 1)}, set()])
    assert (tmp_path / "a.txt").read_text() == "0-0 2-1\n\n"
    assert read_pharaoh(tmp_path / "a.txt") == [{(0, 0), (2, 1)}, set()]
    (tmp_path / "bad.txt").write_text("0-0\n1-1 2p3\n")
    with pytest.raises(AttnpredError, match=r"bad.txt:2: bad link '2p3'"):
        read_pharaoh(tmp_path / "bad.txt")


def test_gold_one_indexed_sure_and_possible(tmp_path):
    g = parse_gold("1-1 2p3 3-2")
    assert g.sure == {(0, 0), (2, 1)}
    assert g.possible == {(0, 0), (1, 2), (2, 1)}
    (tmp_path / "g").write_text("1-1\n0-1\n")
    with pytest.raises(AttnpredError, match=r"g:2: link '0-1' has index 0"):
        read_gold(tmp_path / "g")
    (tmp_path / "g").write_text("1-1\n1x2\n")
    with pytest.raises(AttnpredError, match=r"g:2: bad gold link '1x2'"):
        read_gold(tmp_path / "g")


def test_token_batches_cover_and_respect_budget():
    lengths = [3, 9, 4, 12, 5, 5, 7, 2, 11, 6] * 5
    batches = token_batches(lengths, 24)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 24
    import torch
    one = token_batches(lengths, 24, shuffle=True, generator=torch.Generator().manual_seed(1))
    two = token_batches(lengths, 24, shuffle=True, generator=torch.Generator().manual_seed(1))
    assert one == two  # deterministic per seed


def test_bpe_word_ids_and_round_trip():
    from attnpred.data.parallel import ParallelExample
    pairs = [ParallelExample("a small dog runs", "ein kleiner Hund rennt", 1)] * 3
    tok = Seq2SeqTokenizer.train(pairs, vocab_size=40)
    text = "a  small   dogs run"
    ids = tok.src.encode("a small dogs run").ids
    words = word_ids(tok.src, text)
    assert len(words) == len(ids) and words[0] == 0 and words[-1] == 3
    assert sorted(set(words)) == [0, 1, 2, 3]
    assert tok.decode_tgt(tok.encode_tgt("ein kleiner Hund", 32)) == "ein kleiner Hund"


def test_bounds_check_and_clip():
    from attnpred.data.alignment import check_bounds, clip
    check_bounds({(0, 0), (1, 2)}, 2, 3)
    with pytest.raises(AttnpredError, match=r"f:4: link 2-0 outside a pair of 2 source"):
        check_bounds({(2, 0)}, 2, 3, file="f", line=4)
    assert clip({(0, 0), (2, 0), (1, 3)}, 2, 3) == {(0, 0)}
