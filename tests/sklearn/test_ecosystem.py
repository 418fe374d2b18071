"""The estimators inside scikit-learn's machinery: Pipeline with ColumnTransformer, GridSearchCV,
cross_val_score in two processes, clone, and a joblib pickle round trip."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from zenlearn.sklearn import NeuralClassifier, NeuralRegressor


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    return (x - x.mean(0)) / x.std(0), y


def fast(cls=NeuralClassifier, **kw):
    return cls(**{"hidden": (16,), "epochs": 40, "lr": 0.02, "batch_size": 32, "early_stopping": None, **kw})


def test_pipeline_with_column_transformer(one_thread):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"size": rng.normal(50, 10, 200), "color": rng.choice(["red", "blue", "green"], 200)})
    y = ((df["size"] > 50) ^ (df["color"] == "red")).astype(int).to_numpy()
    pre = ColumnTransformer([("num", StandardScaler(), ["size"]), ("cat", OneHotEncoder(), ["color"])])
    pipe = make_pipeline(pre, fast(epochs=80)).fit(df, y)
    assert pipe.score(df, y) > 0.9


def test_grid_search_picks_by_cross_validation(iris, one_thread):
    x, y = iris
    search = GridSearchCV(fast(), {"hidden": [(4,), (16,)], "optimizer": ["adam", "sgd"]}, cv=3).fit(x, y)
    assert set(search.cv_results_["param_optimizer"]) == {"adam", "sgd"} and search.best_score_ > 0.8


def test_cross_val_score_in_two_processes_equals_one(iris):
    x, y = iris
    est = fast(threads=1)
    assert np.array_equal(cross_val_score(est, x, y, cv=3, n_jobs=2), cross_val_score(est, x, y, cv=3, n_jobs=1))


def test_clone_and_joblib_round_trip(iris, tmp_path, one_thread):
    x, y = iris
    est = fast(activation="tanh", schedule="cosine")
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "model_")
    est.fit(x, y)
    joblib.dump(est, tmp_path / "est.joblib")
    again = joblib.load(tmp_path / "est.joblib")
    assert np.array_equal(again.predict_proba(x), est.predict_proba(x))


def test_regressor_scores_r2_and_refits_identically(one_thread):
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    a = fast(NeuralRegressor).fit(x, y)
    b = fast(NeuralRegressor).fit(x, y)
    assert a.score(x, y) > 0.4 and np.array_equal(a.predict(x), b.predict(x))


def test_bad_parameters_are_one_value_error_at_fit(iris):
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamm'; did you mean 'adam'\? choose one of"):
        NeuralClassifier(optimizer="adamm").fit(*iris)
