"""`zenlearn reproduce`: the suite as data, each experiment end to end on the tiny budget, the claim checks,
the gradient-norm callback against a hand computation, and bad input."""

import html as htmllib
import json
import math

import pytest
import torch
from torch import nn

from zenlearn.cli.main import main
from zenlearn.errors import UsageError
from zenlearn.report.reproduction import verdict
from zenlearn.training.callbacks import GradientNorms
from zenlearn.training.trainer import Trainer
from zenlearn.workflows.claims import check_claim
from zenlearn.workflows.reproduce import plan, reproduce, row_labels
from zenlearn.workflows.suite import BUDGETS, SUITE, Experiment

NAMES = ["models", "activations", "optimizers", "augmentation", "distillation", "tables", "tables-regression",
         "sequences"]


# ---------------------------------------------------------------- the suite is data

def test_suite_holds_one_entry_per_experiment_in_order():
    assert SUITE.names() == NAMES
    for e in SUITE:
        assert isinstance(e.obj, Experiment) and e.obj.name == e.name
        assert set(e.obj.budgets) == set(BUDGETS)


@pytest.mark.parametrize("name", SUITE.names())
def test_anchors_and_claims_name_rows_the_experiment_produces(name):
    exp = SUITE.get(name)
    labels = row_labels(exp)
    assert len(labels) == len(set(labels)) and labels
    assert set(exp.anchors) <= set(labels), set(exp.anchors) - set(labels)
    for claim in exp.claims:
        for better, worse in claim.pairs:
            assert better in labels and worse in labels, (claim.text, better, worse)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("name", SUITE.names())
def test_every_budget_of_every_experiment_is_a_valid_config(name, budget):
    steps = plan(SUITE.get(name), budget, {"report": False})  # validates every varied value and LR
    assert steps and all(cfg.report is False for _, cfg in steps)


def test_sequences_section_is_fawaz_et_al_at_a_quarter_of_their_epochs():
    exp = SUITE.get("sequences")
    assert exp.anchors["GunPoint · fcn"].value == 1.0 and exp.anchors["OSULeaf · mlp"].value == 0.557
    assert exp.anchors["JapaneseVowels · lstm"].value is None  # no published row
    steps = {comp.name: cfg for comp, cfg in plan(exp, "full", {"report": False})}
    assert len(steps) == 25 and {cfg.data for cfg in steps.values()} == {f"ucr:{d}" for d in (
        "GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "JapaneseVowels")}
    epochs = {name.split(" · ")[1]: cfg.epochs for name, cfg in steps.items()}
    assert epochs == {"mlp": 1250, "fcn": 500, "resnet": 375, "lstm": 375, "gru": 375}  # paper's / 4
    assert exp.budgets["full"].seeds == 5 and all(cfg.val_split == 0 and cfg.normalize == "none" for cfg in steps.values())
    # dl-4-tsc's batch int(min(16, N/10)), resnet's int(min(64, N/10)): 36, 200 and 270 training series
    assert steps["ArrowHead · fcn"].batch_size == 3 and steps["OSULeaf · fcn"].batch_size == 16
    assert steps["OSULeaf · resnet"].batch_size == 20 and steps["JapaneseVowels · resnet"].batch_size == 27
    # its recipe: a plateau on the training loss, the weights of the lowest training loss; the MLP on Adadelta
    assert all(cfg.schedule == "plateau" and cfg.lr_monitor == "loss" and cfg.keep_best == "loss"
               for cfg in steps.values())
    fcn, mlp = steps["GunPoint · fcn"], steps["GunPoint · mlp"]
    assert (fcn.optimizer, fcn.lr, fcn.lr_gamma, fcn.lr_patience, fcn.lr_min) == ("adam", 1e-3, 0.5, 50, 1e-4)
    assert (mlp.optimizer, mlp.lr, mlp.rho, mlp.lr_patience, mlp.lr_min) == ("adadelta", 1.0, 0.95, 200, 0.1)


def test_commands_repeat_a_section_by_hand():
    from zenlearn.workflows.commands import commands_for
    from zenlearn.workflows.compare import parse_vary

    exp = SUITE.get("augmentation")
    steps = plan(exp, "full", {"report": False})
    budget = exp.budgets["full"]
    cmds = commands_for(exp, steps, 3, budget)
    assert len(cmds) == 6 and all(c.startswith("zenlearn compare ") for c in cmds)
    assert all("--seeds 3" in c for c in cmds[:4]) and all("--seeds 5" in c for c in cmds[4:])  # the photo arms' own
    assert all("--seeds 3" in c for c in commands_for(exp, steps, 3, budget, fixed_seeds=True))  # --seeds N wins
    spec = cmds[0].split("--vary '")[1].split("'")[0]
    assert parse_vary([spec])["augment"][0] is None and len(parse_vary([spec])["augment"]) == 4
    assert "--data photos" in cmds[4] and "--image-size 64,64" in cmds[4] and "--train-subset 20" in cmds[4]
    assert len(parse_vary([cmds[4].split("--vary '")[1].split("'")[0]])["augment"]) == 3
    exp = SUITE.get("optimizers")
    assert "--vary lr=0.01,0.03,0.1" in commands_for(exp, plan(exp, "full", {}), 3)[0]


def test_published_anchors_are_the_papers_numbers():
    acc = {k: a.value for k, a in SUITE.get("models").anchors.items()}
    assert acc == {"logistic": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91}
    errors = {k: a.value for k, a in SUITE.get("distillation").anchors.items()}
    assert errors == {"teacher": 67, "student (labels only)": 146, "student (distilled)": 74}
    opt = SUITE.get("optimizers")
    assert opt.base["channels"] == (32, 64) and opt.base["kernel_size"] == 5 and opt.base["hidden"] == (1024,)
    assert SUITE.get("activations").base["hidden"] == (128,) * 8


# ---------------------------------------------------------------- each entry end to end, tiny budget

@pytest.mark.parametrize("name", SUITE.names())
def test_each_experiment_runs_on_the_tiny_budget(name, tmp_path, data_dir, one_thread):
    out = tmp_path / "repro"
    seeds = 2 if name == "optimizers" else 1  # the LR-grid run is seed 0; seed 1 runs in final/
    res = reproduce(out, [name], budget="tiny", seeds=seeds, verbose=False)
    exp = SUITE.get(name)
    (rec,) = res["experiments"]
    assert [r["label"] for r in rec["rows"]] == row_labels(exp)
    for row in rec["rows"]:
        assert row["failed"] == [] and row["seeds"] == list(range(seeds))
        assert len(row["values"][exp.metric]) == seeds and row["stats"][exp.metric]["mean"] is not None
        assert ("peer" in row) != bool(row["curves"] and row["curves"][0]["loss"])  # a peer has no zenlearn curves
    assert json.loads((out / "reproduce.json").read_text())["experiments"][0]["name"] == name
    md = (out / "results.md").read_text()
    assert exp.title in md and "Where zenlearn's measurement disagrees, and why." in md
    table_rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "mean ± std" not in ln]
    assert table_rows and any("±" in ln for ln in table_rows) == (seeds > 1)  # one seed: no spread is claimed
    assert (out / f"results/{name}-final.png").read_bytes()[:4] == b"\x89PNG"
    html = (out / "report.html").read_text()
    assert htmllib.escape(exp.title) in html and "data:image/png;base64," in html
    if name == "activations":
        sig = next(r for r in rec["rows"] if r["label"] == "sigmoid")
        assert len(sig["grad_norms"][0]["names"]) == 9  # 8 hidden layers + the output layer
        assert sig["values"]["grad_ratio"][0] < 1e-3  # the vanishing gradient is visible even at initialization
        assert (out / "results/activations-grad-norms.png").is_file()
    if name == "optimizers":
        assert all(r["lr"] in SUITE.get(name).comparisons[i].lr_grid for i, r in enumerate(rec["rows"]))
        assert (out / "optimizers/sgd/lr-grid/results.csv").is_file() and (out / "optimizers/sgd/final/results.csv").is_file()
    if name == "distillation":
        assert all(isinstance(r["values"]["errors"][0], float) for r in rec["rows"])
    if name.startswith("tables"):
        peers = [r for r in rec["rows"] if "peer" in r]
        assert len(peers) == 2 * len(exp.comparisons) and all(r["train_samples"] for r in peers)
        zl = next(r for r in rec["rows"] if "peer" not in r)
        assert zl["train_samples"] == peers[0]["train_samples"]  # the peers fit the zenlearn run's training rows
    if name == "augmentation":
        photos = [r for r in rec["rows"] if r["label"].startswith("photos, ")]
        assert [r["label"].split(" · ")[1] for r in photos[:3]] == ["none", "flips+crops", "survey ImageDataGenerator"]
        assert (out / "augmentation/photos-20/results.csv").is_file() and "photos, 60 · flips+crops" in md


def test_photo_arms_get_their_own_seeds_unless_seeds_is_given():
    from zenlearn.workflows.suite import seeds_of

    exp = SUITE.get("augmentation")
    full = exp.budgets["full"]
    by_tag = {c.tag: seeds_of(full, c, full.seeds) for c in exp.comparisons}
    assert by_tag == {"1k": 2, "60k": 2, "photos20": 5, "photos60": 5}
    assert {seeds_of(full, c, 3, override=True) for c in exp.comparisons} == {3}
    assert all(seeds_of(exp.budgets["quick"], c, 2) == 2 for c in exp.comparisons)


def test_cli_runs_seeds_then_resumes_and_report_rebuilds(tmp_path, data_dir, one_thread, capsys):
    out = tmp_path / "r"
    assert main(["reproduce", "--only", "models", "--budget", "tiny", "--seeds", "2", "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "reproduce.json").read_text())
    row = res["experiments"][0]["rows"][0]
    assert row["seeds"] == [0, 1] and not math.isnan(row["stats"]["test_accuracy"]["std"])
    assert res["command"] == "zenlearn reproduce --only models --seeds 2 --budget tiny --out DIR"
    assert "± " in (out / "results.md").read_text()
    assert main(["reproduce", "--only", "models", "--budget", "tiny", "--seeds", "2", "--out", str(out), "--resume"]) == 0
    assert "resumed" in capsys.readouterr().out
    (out / "results.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "results.md").is_file()


# ---------------------------------------------------------------- the checks and the callback

def _rows(**means):
    return {k: {"stats": {"m": {"mean": v, "std": 0.01}}} for k, v in means.items()}


def test_claims_hold_fail_or_partly_hold():
    rows = _rows(a=0.9, b=0.8, c=0.95)
    assert check_claim("t", "m", [("a", "b")], rows)["verdict"] == "holds"
    assert check_claim("t", "m", [("b", "a")], rows)["verdict"] == "fails"
    assert check_claim("t", "m", [("a", "b"), ("a", "c")], rows)["verdict"] == "partly holds"
    assert check_claim("t", "m", [("a", "zz")], rows)["verdict"] == "not measured"
    lower = check_claim("t", "errors", [("x", "y")], {"x": {"stats": {"errors": {"mean": 70.0, "std": 3.0}}},
                                                      "y": {"stats": {"errors": {"mean": 72.0, "std": 3.0}}}})
    assert lower["verdict"] == "holds" and lower["checks"][0]["within_noise"]


def test_verdict_against_the_anchor_uses_the_tolerance():
    exp = {"metric": "test_accuracy", "tolerance": 0.02}
    row = lambda m: {"anchor": {"value": 0.94, "text": "94 %"}, "stats": {"test_accuracy": {"mean": m}}}  # noqa: E731
    assert verdict(exp, row(0.93)) == ("agrees", pytest.approx(-1.0))
    assert verdict(exp, row(0.90))[0] == "disagrees"
    assert verdict(exp, {"anchor": {"value": None, "text": "x"}, "stats": {}})[0] == "no number"
    errs = {"metric": "errors", "tolerance": 0.25}
    assert verdict(errs, {"anchor": {"value": 146}, "stats": {"errors": {"mean": 170.0}}})[0] == "agrees"
    assert verdict(errs, {"anchor": {"value": 74}, "stats": {"errors": {"mean": 150.0}}})[0] == "disagrees"


def test_gradient_norms_match_a_hand_computed_backward_pass(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    ref = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    ref.load_state_dict(model.state_dict())
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    nn.functional.cross_entropy(ref(x), y).backward()
    expected = [float(ref[i].weight.grad.norm()) for i in (0, 2, 4)]
    cb = GradientNorms(tmp_path / "g.csv")
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu", callbacks=[cb])
    trainer.fit((x, y), epochs=2, batch_size=16, verbose=False)
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines[0] == "epoch,0,2,4" and [ln.split(",")[0] for ln in lines[1:]] == ["0", "1", "2"]
    first = [float(v) for v in lines[1].split(",")[1:]]
    assert first == pytest.approx(expected, rel=1e-5)
    assert [float(v) for v in lines[2].split(",")[1:]] == pytest.approx(expected, rel=1e-5)  # one batch per epoch
    assert first[0] < first[2]  # sigmoid layers shrink the gradient on its way back


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, message", [
    (["--only", "modelz"], "--only: unknown experiment 'modelz'; choose from: models, activations"),
    (["--seeds", "0"], "--seeds must be >= 1, got 0"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main(["reproduce", *args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()


def test_existing_output_is_never_overwritten_silently(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["reproduce", "--only", "models", "--budget", "tiny", "--out", str(tmp_path)]) == 2
    assert "already holds files; pass --resume" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_python_api_rejects_an_unknown_budget(tmp_path):
    with pytest.raises(UsageError, match="--budget must be one of full, quick, tiny"):
        reproduce(tmp_path / "x", ["models"], budget="huge")


def test_distillation_student_takes_the_budgets_own_options():
    from zenlearn.workflows.commands import commands_for
    from zenlearn.workflows.suite import SUITE, budget_of, student_options

    exp = SUITE.get("distillation")
    full = budget_of(exp, "full")
    assert student_options(exp, full)["epochs"] == 10 and full.overrides["epochs"] == 20  # teacher 20, student 10
    assert student_options(exp, budget_of(exp, "tiny")).get("epochs") is None  # the teacher's epochs
    cmds = commands_for(exp, plan(exp, "full", {"report": False}), 2, full)
    assert "--epochs 20" in cmds[0] and "--epochs 10" in cmds[1] and "--augment" not in cmds[1]


def test_threads_reach_every_run(tmp_path, data_dir):
    import yaml

    reproduce(tmp_path / "r", only=["models"], budget="tiny", threads=1, verbose=False)
    configs = list((tmp_path / "r").rglob("config.yaml"))
    assert configs and all(yaml.safe_load(c.read_text())["threads"] == 1 for c in configs)
