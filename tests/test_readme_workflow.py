"""The GitHub Actions workflow of docs/formats.md: its percediag commands, run as written, produce what the later steps need."""

import json
import re
import shlex
import shutil

from tests.helpers import EXAMPLES, ROOT, run_cli


def workflow_commands() -> list[list[str]]:
    readme = (ROOT / "docs" / "formats.md").read_text()
    block = re.search(r"```yaml\nname: training-log\n(.*?)```", readme, re.S).group(1)
    commands = []
    for match in re.finditer(r"run: (percediag .*)", block):
        commands.append(shlex.split(match.group(1).split("#")[0])[1:])
    return commands


def test_readme_workflow_commands(tmp_path, monkeypatch):
    commands = workflow_commands()
    assert commands, "the docs/formats.md workflow names no percediag command"
    shutil.copy(EXAMPLES / "round5-plateau.log", tmp_path / "train.log")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    for args in commands:
        code, out, err = run_cli(args)
        assert code == 1 and err == ""  # a failing run fails the job
        assert out.startswith("::group::percediag FAIL")
    sarif = json.loads((tmp_path / "percediag.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert json.loads((tmp_path / "percediag.json").read_text())["status"] == "fail"


def test_precommit_hook_definition():
    import yaml

    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "percediag" and hook["entry"].startswith("percediag check")
    assert re.search(hook["files"], "runs/train.log") and re.search(hook["files"], "nb/train.ipynb")
    code, _, _ = run_cli(hook["entry"].split()[1:] + [str(EXAMPLES / "healthy-sota.log"), str(EXAMPLES / "round5-plateau.log")])
    assert code == 1
