import pytest
import torch
from torch import nn

from zenlearn.config import TrainConfig
from zenlearn.data import DataSpec
from zenlearn.errors import UsageError
from zenlearn.nn.build import MODELS, param_table
from zenlearn.nn.models import CNN, MLP, RNN
from zenlearn.training.build import build_model, check_config

IMAGE = DataSpec("img", "classification", (1, 28, 28), 10, kind="image")
SEQ = DataSpec("seq", "classification", (40, 1), 10, kind="sequence")
STEP = DataSpec("steps", "regression", (5, 2), 1, kind="sequence", per_step=True)


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("spec", [IMAGE, SEQ, STEP], ids=["image", "sequence", "per-step"])
def test_every_model_builds_or_says_why(name, spec):
    cfg = TrainConfig(model=name, hidden=(16,), channels=(4, 8), hidden_size=8)
    try:
        model = build_model(cfg, spec)
    except UsageError as e:  # only the image classifiers and the per-sequence time-series classifiers may refuse
        assert (name in ("seed-cnn", "fast-cnn") or (name in ("fcn", "resnet") and spec is not SEQ)) and name in str(e)
        return
    x = torch.randn(3, *spec.input_shape)
    want = (3, 5, 1) if spec.per_step else (3, 10)
    assert model(x).shape == want
    out = model(x).sum()
    out.backward()  # every model is differentiable end to end
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_registry_says_which_data_shapes_each_model_takes():
    takes = {e.name: e.info.takes for e in MODELS}
    assert takes["fcn"] == takes["resnet"] == ("sequence",) and takes["seed-cnn"] == ("image",)
    assert all("sequence" in takes[m] for m in ("mlp", "cnn", "rnn", "lstm", "gru", "fcn", "resnet"))
    with pytest.raises(UsageError, match=r"^model 'fcn' takes sequence data, but dataset 'img' gives image samples"):
        build_model(TrainConfig(model="fcn"), IMAGE)


def test_mlp_options_dropout_batch_norm_activation():
    m = MLP(40, (32, 16), 10, "leaky_relu", dropout=0.25, batch_norm=True, negative_slope=0.3)
    kinds = [type(l).__name__ for l in m.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "LeakyReLU", "Dropout", "Linear", "BatchNorm1d",
                     "LeakyReLU", "Dropout", "Linear"]
    assert m.net[3].negative_slope == 0.3 and m.net[4].p == 0.25
    cfg = TrainConfig(model="mlp", hidden=(8,), dropout=0.5, batch_norm=True, activation="elu", elu_alpha=0.5)
    built = build_model(cfg, SEQ)
    elu = [l for l in built.modules() if isinstance(l, nn.ELU)]
    assert len(elu) == 1 and elu[0].alpha == 0.5
    assert any(isinstance(l, nn.Dropout) and l.p == 0.5 for l in built.modules())


def test_logreg_is_one_linear_layer():
    m = build_model(TrainConfig(model="logreg"), SEQ)
    assert [r[1:] for r in param_table(m)] == [("Linear", 40 * 10 + 10)]


def test_cnn_is_1d_for_sequences_and_2d_for_images():
    c1 = build_model(TrainConfig(model="cnn", channels=(8, 16), hidden=()), SEQ)
    assert isinstance(c1.features[0], nn.Conv1d) and c1.features[0].in_channels == 1
    c2 = build_model(TrainConfig(model="cnn", channels=(8,), hidden=(), batch_norm=True, pool="avg"), IMAGE)
    assert [type(l).__name__ for l in c2.features] == ["Conv2d", "BatchNorm2d", "ReLU", "AvgPool2d"]
    # (T, F) sequences are transposed to channels-first: the conv sees F channels over T steps
    m = CNN((40, 3), (4,), 10, channels_last=True, pool="none")
    assert m.features[0].in_channels == 3 and m(torch.zeros(2, 40, 3)).shape == (2, 10)


def test_cnn_that_shrinks_to_nothing_is_a_usage_error():
    tiny = DataSpec("tiny", "classification", (2, 1), 10, kind="sequence")
    with pytest.raises(UsageError, match="--channels 8,8 --kernel-size 4 --stride 1 --pool max do not fit"):
        build_model(TrainConfig(model="cnn", channels=(8, 8), kernel_size=4), tiny)


@pytest.mark.parametrize("head", ["last", "mean", "max", "flatten"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_heads(head, bidirectional):
    m = RNN(1, 6, 10, cell="gru", bidirectional=bidirectional, head=head, seq_len=40, num_layers=2)
    assert m(torch.randn(4, 40, 1)).shape == (4, 10)
    width = 6 * (2 if bidirectional else 1) * (40 if head == "flatten" else 1)
    assert m.out.in_features == width


def test_last_head_uses_both_directions_final_states():
    torch.manual_seed(0)
    m = RNN(1, 5, 3, cell="lstm", bidirectional=True, head="last")
    x = torch.randn(2, 7, 1)
    out, _ = m.rnn(x)  # (B, T, 2H)
    z = torch.cat([out[:, -1, :5], out[:, 0, 5:]], 1)  # forward's last step, backward's first step
    assert torch.allclose(m(x), m.out(z), atol=1e-6)


def test_step_head_is_a_dense_layer_at_every_step():
    m = RNN(2, 100, 1, cell="lstm", head="step")
    x = torch.randn(3, 5, 2)
    out, _ = m.rnn(x)
    assert torch.allclose(m(x), out @ m.out.weight.T + m.out.bias, atol=1e-6)


def test_head_must_match_the_dataset():
    with pytest.raises(UsageError, match="use --head step"):
        build_model(TrainConfig(model="lstm", head="last"), STEP)
    with pytest.raises(UsageError, match="use --head one of last, mean, max, flatten"):
        build_model(TrainConfig(model="gru", head="step"), SEQ)
    assert build_model(TrainConfig(model="rnn"), STEP)(torch.zeros(1, 5, 2)).shape == (1, 5, 1)  # auto → step


def test_rnn_reads_images_row_by_row():
    m = build_model(TrainConfig(model="gru", hidden_size=8), IMAGE)
    assert m.rnn.input_size == 28 and m(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("opts,message", [
    ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
    ({"pool": "sum"}, "pool must be one of max, avg, none, got 'sum'"),
    ({"head": "first"}, "head must be one of auto, last, mean, max, flatten, step, got 'first'"),
    ({"channels": ()}, "channels must be one or more sizes >= 1 (e.g. 32,64), got none"),
    ({"channels": (32, 0)}, "channels must be one or more sizes >= 1 (e.g. 32,64), got 32,0"),
    ({"hidden_size": 0}, "hidden_size must be >= 1, got 0"),
    ({"elu_alpha": 0.0}, "elu_alpha must be > 0, got 0.0"),
])
def test_model_options_are_validated(opts, message):
    with pytest.raises(UsageError) as e:
        check_config(TrainConfig(**opts))
    assert message in str(e.value)
