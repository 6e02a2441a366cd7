"""The SAM path as a new user meets it (issue 11 §5): how to build, the committed samconfig.toml, the aws CLI
example against the local stack, and a .gitignore that ignores no tracked file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


class _Loader(yaml.SafeLoader):
    """Reads template.yaml with its CloudFormation tags (!Ref, !Sub, ...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_samconfig_has_sensible_defaults_for_sam_deploy() -> None:
    # Given the committed samconfig.toml
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))["default"]
    deploy = config["deploy"]["parameters"]
    # Then a plain `sam deploy` names the stack and a region, asks before changing anything, and needs no bucket
    assert config["global"]["parameters"]["stack_name"] == "dunning"
    assert config["global"]["parameters"]["region"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["confirm_changeset"] is True and deploy["resolve_s3"] is True
    # And every parameter it overrides exists in the template
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    overridden = re.findall(r"(\w+)=", deploy.get("parameter_overrides", ""))
    assert set(overridden) <= set(template["Parameters"])


def test_the_readme_says_how_to_sam_build() -> None:
    assert "sam build --use-container" in README
    assert "python3.13` on `PATH`" in README
    assert "samconfig.toml" in README


def test_the_aws_cli_example_sets_a_region_and_dummy_credentials() -> None:
    # Given the README's aws CLI example against the local stack
    block = README[README.index("With the AWS CLI, against AWS or the local stack"):]
    block = block[: block.index("--message-body")]
    # Then it sets dummy credentials and a region before calling aws
    for variable in ("AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_DEFAULT_REGION="):
        assert variable in block


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_gitignore_ignores_no_tracked_file() -> None:
    tracked_but_ignored = subprocess.run(["git", "ls-files", "-i", "-c", "--exclude-standard"], cwd=ROOT,
                                         capture_output=True, text=True, check=True).stdout.split()
    assert tracked_but_ignored == []
