import pytest

from zenlearn.errors import UsageError
from zenlearn.registry import Registry


def test_miss_lists_valid_names():
    reg = Registry("widget")
    reg.add("alpha", 1, "first")
    reg.add("beta", 2, "second", aliases=("b",))
    with pytest.raises(UsageError) as e:
        reg.get("gamma")
    assert str(e.value) == "unknown widget 'gamma'; choose one of: alpha, beta"
    assert isinstance(e.value, ValueError)
    with pytest.raises(UsageError) as e:
        reg.get("alpah")
    assert str(e.value) == "unknown widget 'alpah'; did you mean 'alpha'? choose one of: alpha, beta"
    with pytest.raises(UsageError, match="did you mean 'beta'"):  # an alias's close match names its entry
        reg.get("bb")


def test_aliases_case_and_passthrough():
    reg = Registry("widget")
    reg.add("beta", 2, aliases=("b",))
    assert reg.get("B") == 2 and reg.get(" beta ") == 2
    obj = object()
    assert reg.get(obj) is obj  # a non-string is returned as is
    assert "b" in reg and "zzz" not in reg and len(reg) == 1 and reg.names() == ["beta"]


def test_double_registration_is_a_bug():
    reg = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(AssertionError):
        reg.add("a", 2)


@pytest.mark.parametrize("module,attr", [("zenlearn.nn.build", "MODELS"), ("zenlearn.data", "DATASETS"),
                                         ("zenlearn.nn.activations", "ACTIVATIONS"), ("zenlearn.optim.optimizers", "OPTIMIZERS")])
def test_every_registry_entry_has_a_description(module, attr):
    import importlib

    reg = getattr(importlib.import_module(module), attr)
    assert len(reg) > 0
    for entry in reg:
        assert entry.description, f"{attr}[{entry.name}] has no description"
