"""scikit-learn's own estimator checks, on both estimators; the expected failures and their reasons are listed in
zenlearn.sklearn.EXPECTED_FAILED_CHECKS."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from zenlearn.sklearn import EXPECTED_FAILED_CHECKS, NeuralClassifier, NeuralRegressor


@parametrize_with_checks([NeuralClassifier(), NeuralRegressor()],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check, one_thread):
    check(estimator)
