"""CoNLL and CoNLL-U readers, the UD tar.gz layout, malformed rows, tag-scheme validation."""
from __future__ import annotations

import warnings

import pytest
from tagdata import SHARED, ner_sentences, write_conll

from attnpred.data.conll import (TagSchemeWarning, detect_scheme, illegal_transitions,
                                 read_conll, read_conllu, read_tagged, read_words, to_conll,
                                 transition_allowed, validate_scheme)
from attnpred.errors import AttnpredError


def test_conll_tab_only_and_blank_separators(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("Alice\tB-person\nsleeps\tO\n\t\nBob\tB-person\n\n\nRome\tB-location\n")
    sents = read_conll(path)
    assert [s.words for s in sents] == [["Alice", "sleeps"], ["Bob"], ["Rome"]]
    assert [s.tags for s in sents] == [["B-person", "O"], ["B-person"], ["B-location"]]
    assert sents[1].lines == [4] and sents[2].line == 7


def test_conll_malformed_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("Alice\tB-person\n\nBob\n")
    with pytest.raises(AttnpredError, match=r"bad\.conll:3: expected 'word<TAB>tag'"):
        read_conll(path)


def test_conllu_skips_ranges_and_empty_nodes(pos_file):
    sents = read_conllu(pos_file)
    assert sents[0].words == ["The", "cat", "'s", "asleep", "."]
    assert sents[0].tags == ["DET", "NOUN", "AUX", "ADJ", "PUNCT"]
    assert sents[0].lines == [3, 5, 6, 7, 9]
    assert sents[1].tags == ["NOUN", "VERB"]
    assert read_conllu(pos_file, column="xpos")[1].tags == ["NNS", "VBP"]


def test_conllu_malformed_rows(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text("# text = x\n1\tx\tx\tNOUN\tNN\t_\t0\troot\t_\n")
    with pytest.raises(AttnpredError, match=r"bad\.conllu:2: expected 10 tab-separated"):
        read_conllu(path)
    path.write_text("1\tx\tx\tNOUN\tNN\t_\t0\troot\t_\t_\nx\ty\ty\tNOUN\tNN\t_\t0\troot\t_\t_\n")
    with pytest.raises(AttnpredError, match=r"bad\.conllu:2, field 'ID': bad word ID"):
        read_conllu(path)


def test_tar_gz_read_in_the_listed_order(pos_archive):
    sents = read_tagged(pos_archive)  # format detected from the .tar.gz suffix
    assert [s.words for s in sents] == [["Dogs", "bark"], ["The", "cat", "'s", "asleep", "."]]
    assert sents[0].source.endswith("train.sources.tar.gz:r/sources/b.conllu")


def test_tar_gz_error_names_the_member(tmp_path):
    import io
    import tarfile
    path = tmp_path / "x.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = b"1\tx\n"
        info = tarfile.TarInfo("d/one.conllu")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(AttnpredError, match=r"x\.tar\.gz:d/one\.conllu:1"):
        read_conllu(path)


def test_bio_validation_warns_with_file_and_line(tmp_path):
    path = tmp_path / "gold.conll"
    path.write_text("a\tO\nb\tI-loc\n\nc\tB-per\nd\tI-loc\ne\tI-loc\n")
    sents = read_conll(path)
    with pytest.warns(TagSchemeWarning) as caught:
        assert validate_scheme(sents, "bio") == 2
    messages = [str(w.message) for w in caught]
    assert any("gold.conll:2:" in m and "'I-loc' cannot follow 'O'" in m for m in messages)
    assert any("gold.conll:5:" in m and "'I-loc' cannot follow 'B-per'" in m for m in messages)


def test_valid_files_raise_no_warning(tmp_path):
    path = write_conll(tmp_path / "ok.conll", ner_sentences(20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_scheme(read_conll(path), "auto") == 0


def test_bioes_rules():
    assert illegal_transitions(["B-x", "E-x", "S-y", "O"], "bioes") == []
    assert illegal_transitions(["B-x", "O"], "bioes") == [(1, "'O' cannot follow 'B-x'")]
    assert [p for p, _ in illegal_transitions(["B-x", "X-y"], "bioes")] == [1, 1]
    assert [p for p, _ in illegal_transitions(["O", "E-x"], "bioes")] == [1]
    assert [p for p, _ in illegal_transitions(["B-x"], "bioes")] == [0]
    assert detect_scheme(["O", "S-x"]) == "bioes" and detect_scheme(["NOUN"]) == "none"
    assert not transition_allowed("B-x", None, "bioes") and transition_allowed("B-x", None, "bio")
    assert not transition_allowed(None, "I-x", "bio") and transition_allowed("I-x", "I-x", "bio")


def test_conll_output_reads_back(tmp_path):
    text = to_conll([["a", "b"], ["c"]], [["O", "B-x"], ["O"]])
    path = tmp_path / "out.conll"
    path.write_text(text)
    assert [s.tags for s in read_conll(path)] == [["O", "B-x"], ["O"]]
    assert [s.words for s in read_words(path)] == [["a", "b"], ["c"]]


def test_read_words_from_text_and_word_only_conll(tmp_path):
    (tmp_path / "in.txt").write_text("Alice visits Rome\n\nBob  sleeps\n")
    assert [s.words for s in read_words(tmp_path / "in.txt")] == [
        ["Alice", "visits", "Rome"], ["Bob", "sleeps"]]
    (tmp_path / "w.conll").write_text("Alice\nsleeps\n\nBob\n")
    assert [s.words for s in read_words(tmp_path / "w.conll")] == [["Alice", "sleeps"], ["Bob"]]


@pytest.mark.skipif(not (SHARED / "ud_english_ewt").is_dir(),
                    reason="../shared/data/ud_english_ewt is absent (shared datasets not here)")
def test_ud_ewt_train_archive_matches_the_published_counts():
    sents = read_tagged(SHARED / "ud_english_ewt" / "en_ewt-ud-train.sources.tar.gz")
    assert len(sents) == 12544 and sum(len(s.words) for s in sents) == 204577
    assert len({t for s in sents for t in s.tags}) == 17


@pytest.mark.skipif(not (SHARED / "wnut17").is_dir(),
                    reason="../shared/data/wnut17 is absent (shared datasets not here)")
def test_wnut17_reads_with_valid_bio():
    sents = read_tagged(SHARED / "wnut17" / "wnut17train.conll")
    assert len(sents) == 3394
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_scheme(sents, "bio")
