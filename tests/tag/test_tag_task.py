"""The tagging family end to end: overfit, reload, batched == single, JSON, run-directory
protection, exact resume after a kill, CRF constraints, POS from a UD archive."""
from __future__ import annotations

import json

import pytest
import torch
from tagdata import tiny_config
from safetensors.torch import load_file

from killing import Killed, KillAt
import attnpred.tasks.tag as tag_task
from attnpred.data.tagging import TagTrainBatches
from attnpred.errors import AttnpredError
from attnpred.tasks.tag import TagPredictor, train_tagger

SENTENCES = ["Alice visits New York today .", "Bob likes Rome .", "Erin leaves Lima .",
             "Carol visits Oslo today ."]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny NER run shared by the tests that only read it."""
    from tagdata import ner_sentences, write_conll
    root = tmp_path_factory.mktemp("ner")
    files = {"train": write_conll(root / "train.conll", ner_sentences(40, 0), "\t"),
             "dev": write_conll(root / "dev.conll", ner_sentences(12, 1)),
             "test": write_conll(root / "test.conll", ner_sentences(12, 2))}
    metrics = train_tagger(tiny_config(files), root / "run")
    return root / "run", files, metrics


def test_overfits_and_a_reloaded_run_scores_the_same(trained):
    run, files, metrics = trained
    assert metrics["test"]["entity_f1"] == 1.0
    assert metrics["test"]["baselines"]["all_o"]["entity_f1"] == 0.0
    reloaded = TagPredictor.load(run).evaluate(files["test"])
    assert reloaded == json.loads((run / "metrics.json").read_text())["test"]
    assert (run / "complete.json").exists() and not (run / "checkpoints").exists()
    res = TagPredictor.load(run).predict(["Dave visits New York ."])[0]
    assert res.tags == ["B-person", "O", "B-location", "I-location", "O"]
    assert res.entities == [{"type": "person", "start": 0, "end": 1, "text": "Dave"},
                            {"type": "location", "start": 2, "end": 4, "text": "New York"}]


def test_batched_equals_one_at_a_time(trained):
    pred = TagPredictor.load(trained[0])
    batched = pred.predict(SENTENCES, return_attention=True, batch_size=4)
    for text, b in zip(SENTENCES, batched):
        single = pred.predict([text], return_attention=True, batch_size=1)[0]
        assert single.tags == b.tags
        assert torch.allclose(torch.tensor(single.word_attention),
                              torch.tensor(b.word_attention), atol=1e-5)


def test_results_are_json_ready_and_attention_rows_sum_to_one(trained):
    pred = TagPredictor.load(trained[0])
    words = [["Alice", "likes", "\u200b", "Rome"]]  # a word the tokenizer turns into nothing
    res = pred.predict(words, return_attention=True)[0]
    assert len(res.tags) == 4 and res.truncated == 0
    d = json.loads(json.dumps(res.to_dict()))
    assert d["words"] == words[0] and len(d["word_attention"]) == 4
    assert all(abs(sum(row) - 1) < 1e-5 for row in d["word_attention"])
    assert "\n" not in res.summary() and "Alice" in res.summary()
    assert "word_attention" not in pred.predict(words)[0].to_dict()
    conll = TagPredictor.to_conll([res])
    assert conll.splitlines()[0] == f"Alice\t{res.tags[0]}" and conll.endswith("\n\n")


def test_model_output_carries_per_layer_attention(trained):
    from attnpred.data.tagging import collate, encode_sentences
    pred = TagPredictor.load(trained[0])
    enc = encode_sentences(pred.tokenizer, [s.split() for s in SENTENCES[:2]], 32)
    batch = collate(enc, pred.tokenizer.pad_token_id)
    out = pred.model(**batch, need_weights=True)
    t = batch["input_ids"].shape[1]
    assert out.logits.shape == (2, batch["word_index"].shape[1], len(pred.labels))
    assert len(out.attentions) == 1 and out.attentions[0].shape == (2, 2, t, t)
    assert out.word_attention.shape == (2, 6, 6)
    fused = pred.model(**batch)  # the fused path: no weights, the same logits
    assert fused.attentions == () and fused.word_attention is None
    assert torch.allclose(fused.logits, out.logits, atol=1e-5)


def test_words_past_max_len_get_the_baseline_tag(trained):
    pred = TagPredictor.load(trained[0])
    long = " ".join(["Alice", "visits", "Rome"] * 20)
    res = pred.predict([long])[0]
    assert len(res.tags) == 60 and res.truncated > 0


def test_refuses_to_overwrite_a_completed_run(trained, tmp_path):
    run, files, _ = trained
    cfg = tiny_config(files, epochs=1)
    with pytest.raises(AttnpredError, match="completed run"):
        train_tagger(cfg, run)
    assert (run / "complete.json").exists()


def test_missing_training_file_touches_nothing(tmp_path):
    cfg = tiny_config({"train": tmp_path / "nope.conll"})
    with pytest.raises(AttnpredError, match="nope.conll: file not found"):
        train_tagger(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_killed_run_resumes_to_identical_weights(ner_files, tmp_path, monkeypatch):
    kw = {"epochs": 3, "checkpoint_every": 1, "eval_every": 2}

    def config():  # word dropout on: its draws must replay exactly after the resume too
        cfg = tiny_config(ner_files, **kw)
        cfg.word_dropout = 0.2
        return cfg
    train_tagger(config(), tmp_path / "full")

    class Dying(TagTrainBatches):  # "killed" at batch 2 of epoch 1 (mid-epoch)
        def __call__(self, epoch):
            batches = super().__call__(epoch)
            return KillAt(batches, 2) if epoch == 1 else batches
    monkeypatch.setattr(tag_task, "TagTrainBatches", Dying)
    with pytest.raises(Killed):
        train_tagger(config(), tmp_path / "cut")
    assert not (tmp_path / "cut" / "complete.json").exists()
    with pytest.raises(AttnpredError, match="interrupted run"):
        train_tagger(config(), tmp_path / "cut")
    monkeypatch.setattr(tag_task, "TagTrainBatches", TagTrainBatches)
    train_tagger(config(), tmp_path / "cut", resume=True)
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_crf_run_learns_and_keeps_the_scheme_constraints(ner_files, tmp_path):
    cfg = tiny_config(ner_files)
    cfg.crf = True
    metrics = train_tagger(cfg, tmp_path / "crf")
    assert metrics["test"]["entity_f1"] == 1.0
    pred = TagPredictor.load(tmp_path / "crf")
    labels = pred.labels.labels
    trans = pred.model.crf.transitions
    assert trans[labels.index("O"), labels.index("I-location")] < -1000
    assert pred.model.crf.start_transitions[labels.index("I-location")] < -1000
    batched = pred.predict(SENTENCES, batch_size=4)
    assert [r.tags for r in batched] == [pred.predict([s])[0].tags for s in SENTENCES]


def test_pos_from_a_ud_archive(pos_archive, pos_file, tmp_path):
    cfg = tiny_config({"train": pos_archive, "dev": pos_file}, epochs=30)
    metrics = train_tagger(cfg, tmp_path / "pos")
    assert metrics["dev"]["token_accuracy"] == 1.0 and "entities" not in metrics["dev"]
    assert json.loads((tmp_path / "pos" / "config.json").read_text())["scheme"] == "none"
    res = TagPredictor.load(tmp_path / "pos").predict(["Dogs bark"])[0]
    assert res.tags == ["NOUN", "VERB"] and res.entities == []
    assert "Dogs/NOUN" in res.summary()


def test_word_dropout_replaces_whole_words_only():
    from attnpred.data.tagging import EncodedSentence
    # [CLS] w0 w1a w1b w2 [SEP]
    sent = EncodedSentence([2, 10, 11, 12, 13, 3], [1, 2, 4], [-1, 0, 1, 1, 2, -1], 3, [0, 1, 0])
    source = TagTrainBatches([sent] * 64, 64, 0, 0, word_dropout=0.5, unk_id=1)
    ids = source(0)[0]["input_ids"]
    assert torch.equal(ids, source(0)[0]["input_ids"])  # the same draws for the same epoch
    assert not torch.equal(ids, source(1)[0]["input_ids"])
    assert torch.all(ids[:, 0] == 2) and torch.all(ids[:, 5] == 3)  # specials kept
    assert torch.equal(ids[:, 2] == 1, ids[:, 3] == 1)  # a word's sub-words go together
    assert 0 < int((ids == 1).sum()) < ids.numel()
    plain = TagTrainBatches([sent] * 64, 64, 0, 0)(0)[0]["input_ids"]
    assert not torch.any(plain == 1)


def test_streamed_csv_numbers_sentences_across_chunks(trained, tmp_path):
    import attnpred
    run, _, _ = trained
    src = tmp_path / "in.txt"
    src.write_text("".join(s + "\n" for s in SENTENCES))
    attnpred.predict_file(run, src, tmp_path / "o.csv", chunk_size=3, progress=False)
    rows = (tmp_path / "o.csv").read_text().splitlines()
    assert rows[0] == "sentence,index,word,tag"
    assert sorted({int(r.split(",")[0]) for r in rows[1:]}) == [0, 1, 2, 3]
    whole = TagPredictor.load(run).predict([s.split() for s in SENTENCES])
    assert [r.split(",")[3] for r in rows[1:]] == [t for w in whole for t in w.tags]
