"""Typed configuration: `TrainConfig` / `DistillConfig`, their field → flag metadata, and YAML files.

This layer knows types, defaults and ranges; it imports no registry (names are checked by
`zenlearn.training.build.check_config`).
"""

from zenlearn.config.distill import DistillConfig
from zenlearn.config.fields import coerce, describe_type, field_help, field_names, field_types
from zenlearn.config.train import TrainConfig
from zenlearn.config.yaml import dump_yaml, load_yaml

__all__ = ["TrainConfig", "DistillConfig", "coerce", "describe_type", "dump_yaml", "field_help", "field_names",
           "field_types", "load_yaml"]
