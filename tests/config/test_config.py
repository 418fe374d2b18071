import pytest

from zenlearn.config import TrainConfig, dump_yaml, field_help, field_names, load_yaml
from zenlearn.errors import UsageError
from zenlearn.training.build import check_config


def test_defaults_are_valid_and_every_field_documented():
    check_config(TrainConfig())
    helps = field_help(TrainConfig)
    assert set(helps) == set(field_names(TrainConfig)), "every config field needs a docstring (it is its --help)"


def test_validation_collects_every_problem():
    cfg = TrainConfig(epochs=0, lr=-1.0, val_split=1.5, device="tpu")
    with pytest.raises(UsageError) as e:
        check_config(cfg)
    msg = str(e.value)
    for part in ("epochs must be >= 1", "lr must be > 0", "val_split must be in [0, 1)", "device must be one of"):
        assert part in msg


def test_unknown_names_list_the_choices():
    with pytest.raises(UsageError, match=r"unknown model 'transformer'; choose one of: .*seed-cnn.*mlp"):
        check_config(TrainConfig(model="transformer"))


def test_from_dict_types_and_unknown_keys():
    cfg = TrainConfig.from_dict({"epochs": "3", "lr": 0.1, "hidden": "128,64", "overwrite": "true"})
    assert (cfg.epochs, cfg.lr, cfg.hidden, cfg.overwrite) == (3, 0.1, (128, 64), True)
    with pytest.raises(UsageError, match="unknown option.*'epoch'.*valid options"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(UsageError, match=r"option 'epochs' .*expects integer, got 'three'"):
        TrainConfig.from_dict({"epochs": "three"})
    with pytest.raises(UsageError, match="expects integer"):
        TrainConfig.from_dict({"epochs": True})


def test_yaml_round_trip(tmp_path):
    cfg = TrainConfig(data="fashion-mnist", hidden=(32,), epochs=2, train_subset=100)
    p = tmp_path / "c.yaml"
    p.write_text(dump_yaml(cfg))
    assert TrainConfig.from_dict(load_yaml(p)) == cfg


def test_bad_yaml_files(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(UsageError, match="must hold a mapping"):
        load_yaml(lst)


def test_workers_is_the_old_name_of_decode_workers(tmp_path):
    """Old YAML files and run folders say `workers`; they still load, as `decode_workers`; both at once is refused."""
    from zenlearn.cli.main import main

    assert TrainConfig.from_dict({"workers": 2}).decode_workers == 2
    with pytest.raises(UsageError, match="give 'workers' or 'decode_workers', not both"):
        TrainConfig.from_dict({"workers": 2, "decode_workers": 1})
    old = tmp_path / "old.yaml"
    old.write_text("data: mnist1d\nmodel: logreg\nworkers: 0\n")
    import argparse

    from zenlearn.cli.options import given_options

    args = argparse.Namespace(config=str(old), decode_workers="3")  # the flag overrides the old YAML key
    assert given_options(args)["decode_workers"] == "3"
    assert TrainConfig.from_dict(given_options(args)).decode_workers == 3
    assert main(["train", "--workers", "x"]) == 2  # the old flag still parses (and is checked) on train
