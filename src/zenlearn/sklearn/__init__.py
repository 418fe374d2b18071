"""scikit-learn estimators over zenlearn's models and `Trainer`: `NeuralClassifier`, `NeuralRegressor`
(`pip install 'zenlearn[tables]'`). A layer beside `workflows`: it drives `training` and imports no workflow."""

from zenlearn.sklearn.estimators import EXPECTED_FAILED_CHECKS, NeuralClassifier, NeuralRegressor

__all__ = ["EXPECTED_FAILED_CHECKS", "NeuralClassifier", "NeuralRegressor"]
