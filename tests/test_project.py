"""Project-level checks: layering, doc drift, CI and Dockerfile kept in step with the Makefile."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from click import Group

from service.cli import cli
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("index", {"fastapi", "starlette", "slack_sdk", "slack_bolt", "service", "uvicorn"}),
        ("corpus", {"index", "service", "fastapi", "faiss", "numpy"}),
    ],
)
def test_imports_only_go_one_way(package: str, forbidden: set[str]) -> None:
    assert not (_imports(package) & forbidden)


def _readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block, "README must start with a sh block of the two newcomer commands"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_the_two_newcomer_commands() -> None:
    assert _readme_commands()[:2] == ["make serve", "make test"]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[-1] == _readme_commands()[1]


def test_every_setting_is_documented_in_readme() -> None:
    for name, field in Settings.model_fields.items():
        env = f"DOCQA_{name.upper()}" if field.validation_alias is None else None
        documented = env if env else name.upper()
        assert documented in README, f"{documented} is not in README.md"


def test_every_cli_command_is_documented_in_readme() -> None:
    assert isinstance(cli, Group)
    for command in cli.commands:
        assert f"docqa {command}" in README, f"`docqa {command}` is not in README.md"


def test_dockerfile_installs_like_the_makefile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "make setup" in dockerfile and "COPY --from=build /opt/venv" in dockerfile
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert "RUN docqa build" in dockerfile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '"torch==2.13.0"' in makefile and "-c constraints.txt -e ." in makefile


def test_dependencies_are_pinned_with_cpu_torch() -> None:
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert re.search(r"^torch==2\.13\.0(\+cpu)?$", pins, re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = {re.split(r"[=<>]", ln)[0].lower().replace("_", "-") for ln in pins.splitlines() if "==" in ln}
    for dep in project["project"]["dependencies"]:
        name = re.split(r"[\[<>=!~ ]", dep)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not pinned in constraints.txt"
    assert project["project"]["scripts"]["docqa"] == "service.cli:cli"
