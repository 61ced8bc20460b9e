"""The trainer: exact resume after a kill mid-epoch, accumulation, early stopping, schedules."""
import json

import torch
import pytest

from killing import Killed, KillAt
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.training.schedules import warmup_decay
from attnpred.training.trainer import Trainer, TrainerConfig

VOCAB, N, T = 50, 24, 7


def make_source(batch_size=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (N, T), generator=g)
    labels = (ids[:, 0] % 2).long()  # learnable from the first token

    def source(epoch):
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(100 + epoch))
        return [{"input_ids": ids[perm[i:i + batch_size]],
                 "attention_mask": torch.ones(len(perm[i:i + batch_size]), T, dtype=torch.bool),
                 "labels": labels[perm[i:i + batch_size]]} for i in range(0, N, batch_size)]
    return source, ids, labels


def tiny_model():
    torch.manual_seed(0)
    return TransformerClassifier(ClassifierConfig(vocab_size=VOCAB, num_labels=2, dim=16,
                                                  heads=2, layers=1, ff_dim=32, dropout=0.1,
                                                  max_len=T, pooling="attention"))


def accuracy_fn(ids, labels):
    def evaluate(model):
        logits = model(ids, torch.ones_like(ids, dtype=torch.bool)).logits
        return {"accuracy": float((logits.argmax(-1) == labels).float().mean())}
    return evaluate


def cfg(**kw):
    base = dict(epochs=3, lr=3e-3, warmup_ratio=0.2, schedule="cosine", accumulate=2,
                checkpoint_every=1, eval_every=2, progress=False, tensorboard=False, seed=7)
    return TrainerConfig(**(base | kw))


def test_killed_mid_epoch_and_resumed_ends_with_identical_weights(tmp_path):
    source, ids, labels = make_source()
    full = tiny_model()
    Trainer(full, cfg(), tmp_path / "a", accuracy_fn(ids, labels)).fit(source)

    def dying(epoch):  # killed at batch 3 of epoch 1 (mid-epoch, mid-accumulation)
        return KillAt(source(epoch), 3) if epoch == 1 else source(epoch)
    with pytest.raises(Killed):
        Trainer(tiny_model(), cfg(), tmp_path / "b", accuracy_fn(ids, labels)).fit(dying)
    resumed = tiny_model()
    with torch.no_grad():  # scramble: everything must come from the checkpoint
        for p in resumed.parameters():
            p.add_(1.0)
    Trainer(resumed, cfg(), tmp_path / "b", accuracy_fn(ids, labels)).fit(source, resume=True)
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    assert (tmp_path / "b" / "model.safetensors").exists()


def test_without_resume_flag_a_rerun_differs_from_the_checkpointed_state(tmp_path):
    """Guards the test above: resuming must actually matter (a kill then a fresh start differs)."""
    source, ids, labels = make_source()
    full = tiny_model()
    Trainer(full, cfg(), tmp_path / "a").fit(source)
    other = tiny_model()
    Trainer(other, cfg(seed=8), tmp_path / "c").fit(source)
    assert any(not torch.equal(a, b) for a, b in zip(full.state_dict().values(),
                                                     other.state_dict().values()))


def test_learns_and_keeps_best_weights(tmp_path):
    source, ids, labels = make_source()
    model = tiny_model()
    state = Trainer(model, cfg(epochs=30, lr=1e-2, eval_every=0), tmp_path,
                    accuracy_fn(ids, labels)).fit(source)
    model.eval()
    assert accuracy_fn(ids, labels)(model)["accuracy"] == pytest.approx(state.best)
    assert state.best >= 0.9


def test_early_stopping_stops(tmp_path):
    source, ids, labels = make_source()
    calls = []

    def flat(model):
        calls.append(1)
        return {"accuracy": 0.5}
    state = Trainer(tiny_model(), cfg(epochs=20, eval_every=0, patience=2), tmp_path,
                    flat).fit(source)
    assert len(calls) == 3 and state.epoch == 3


def test_max_steps_and_schedule_shapes():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_decay(opt, warmup_steps=2, total_steps=10, kind="linear")
    lrs = []
    for _ in range(10):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.125) and all(a >= b for a, b in zip(lrs[1:], lrs[2:]))


def test_max_steps(tmp_path):
    source, _, _ = make_source()
    state = Trainer(tiny_model(), cfg(max_steps=4, eval_every=0), tmp_path).fit(source)
    assert state.step == 4


def test_eval_at_start_keeps_the_starting_weights_when_training_only_hurts(tmp_path):
    """A dev metric that gets worse with every evaluation: with eval_at_start the model ends
    with its starting weights; without it, with the first epoch's."""
    source, _, _ = make_source()

    def worsening():
        calls = []

        def evaluate(model):
            calls.append(1)
            return {"accuracy": 1.0 - 0.1 * len(calls)}
        return evaluate, calls
    for at_start in (True, False):
        model = tiny_model()
        start = {k: v.clone() for k, v in model.state_dict().items()}
        evaluate, calls = worsening()
        state = Trainer(model, cfg(epochs=2, eval_every=0, eval_at_start=at_start),
                        tmp_path / str(at_start), evaluate).fit(source)
        same = all(torch.equal(start[k], v) for k, v in model.state_dict().items())
        assert same is at_start
        assert len(calls) == 2 + at_start and state.best == pytest.approx(0.9)


def test_checkpoint_averaging_averages_the_last_evaluations(tmp_path):
    """average_last=3: the weights of the last 3 evaluations are kept and averaged; the mean
    is evaluated, logged, and kept only when dev prefers it."""
    source, ids, labels = make_source()
    model = tiny_model()
    seen = []

    def evaluate(m):
        seen.append({k: v.detach().clone() for k, v in m.state_dict().items()})
        return accuracy_fn(ids, labels)(m)

    Trainer(model, cfg(epochs=4, eval_every=0, checkpoint_every=0, average_last=3), tmp_path,
            evaluate=evaluate).fit(source)
    # 4 epoch evaluations, then one of the average of the last 3
    assert len(seen) == 5
    for k, v in seen[-1].items():
        if v.is_floating_point():
            expected = sum(s[k] for s in seen[1:4]) / 3
            assert torch.allclose(v, expected, atol=1e-6), k
    log = [json.loads(x) for x in (tmp_path / "train_log.jsonl").read_text()
           .splitlines()]
    assert log[-1]["averaged/checkpoints"] == 3
    assert not list((tmp_path / "checkpoints").glob("eval-*"))
    with pytest.raises(Exception, match="average_last"):
        TrainerConfig(average_last=1)
