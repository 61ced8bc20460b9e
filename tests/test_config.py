import json
from dataclasses import dataclass, field

import pytest

from attnpred.config import check, config_from_dict, load_config, save_config
from attnpred.errors import AttnpredError, ConfigError
from attnpred.training.trainer import TrainerConfig


@dataclass
class Inner:
    size: int = 2
    rate: float = 0.5


@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    dims: tuple = (1, 2)

    def __post_init__(self):
        check(self.name != "", "name", "must not be empty")


def test_round_trip_nested(tmp_path):
    cfg = Outer(name="a", inner=Inner(size=3, rate=1.0), dims=(4, 5))
    save_config(cfg, tmp_path / "c.json")
    assert load_config(Outer, tmp_path / "c.json") == cfg


def test_unknown_key_names_file_and_field(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"nmae": "a"}))
    with pytest.raises(ConfigError) as err:
        load_config(Outer, path)
    assert "c.json" in str(err.value) and "nmae" in str(err.value)


def test_wrong_type_and_bad_value():
    with pytest.raises(ConfigError, match="inner"):
        config_from_dict(Outer, {"inner": {"size": "big"}})
    with pytest.raises(ConfigError, match="lr"):
        TrainerConfig(lr=-1)
    with pytest.raises(ConfigError, match="name"):
        Outer(name="")


def test_invalid_json_names_line(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n "name": \n}')
    with pytest.raises(AttnpredError) as err:
        load_config(Outer, path)
    assert ":3" in str(err.value) or ":2" in str(err.value)
