"""Loading of the YAML files an operator edits (policies, routing, classification rules).

Errors name the file, the path inside it and what is wrong, so a typo in a policy stops
start-up with a sentence an operator can act on, not a traceback.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration file is missing, is not YAML, or does not validate."""


def bundled_file(name: str) -> Path:
    """Path of a default file shipped inside the package (streams/config/NAME)."""
    return Path(str(resources.files("streams.config").joinpath(name)))


def load_yaml_model(path: str | Path, model: type[Model]) -> Model:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(f"{path}{where}: not valid YAML: {problem}") from None
    if document is None:
        raise ConfigFileError(f"{path}: file is empty")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        lines = []
        for item in exc.errors(include_url=False, include_input=False):
            location = ".".join(str(part) for part in item["loc"]) or "(top level)"
            lines.append(f"  {location}: {item['msg']}")
        raise ConfigFileError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(lines)) from None
