"""Whatever YAML arrives, loading it ends in a DesiredState or a ConfigError, nothing else.

Profiles: HYPOTHESIS_PROFILE=ci (the default, 500 examples a test) or long (20,000), set in
tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import load
from reconciler.config.yamlfile import read_yaml
from reconciler.errors import ConfigError

EXAMPLE = (Path(__file__).parent.parent.parent / "examples" / "groups.yaml").read_text()
TOP = ["version", "session", "defaults", "people", "teams", "groups", "extra"]
KEYS = [
    "country",
    "phone",
    "lid",
    "subject",
    "description",
    "picture",
    "members",
    "admins",
    "members_policy",
    "protect",
    "ensure",
    "absent_action",
    "limits",
    "max_removals",
    "max_removal_percent",
    "id",
    "alice",
    "eng",
    "g",
    "templates",
    "extends",
    "previously",
    "invite_link",
    "revoke_on_removal",
    "rotate_every",
    "disabled",
    "min_admins",
]
WORDS = [
    "+1 415 555 0101",
    "(415) 555-0102",
    "14155550101@c.us",
    "998877@lid",
    "alice",
    "team:eng",
    "team:",
    "120363000000000001@g.us",
    "exact",
    "additive",
    "30d",
    "disabled",
    "absent",
    "delete",
    "https://example.com/x.png",
    "../x.png",
    "/etc/passwd",
    "US",
    "",
    " ",
    "1",
    "@",
    ":",
    "x" * 30,
]
SPECIAL = [*":-[]{}&*!|>'\"%@`#\t ,?\n", "<<", "!!python/object:os.system", "&a", "*a"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(TOP), values, max_size=6).map(
    lambda doc: yaml.safe_dump(doc, allow_unicode=True)
)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    lines = EXAMPLE.splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        change = draw(st.sampled_from(["delete", "copy", "indent", "dedent", "poke", "cut"]))
        if change == "delete":
            del lines[at]
        elif change == "copy":
            lines.insert(at, lines[at])
        elif change == "indent":
            lines[at] = "  " + lines[at]
        elif change == "dedent":
            lines[at] = lines[at][2:]
        elif change == "poke":
            column = draw(st.integers(0, len(lines[at])))
            token = draw(st.sampled_from(SPECIAL + WORDS) | st.text(max_size=5))
            lines[at] = lines[at][:column] + token + lines[at][column:]
        else:
            lines = lines[:at]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        (path / "pictures").mkdir()
        for name in ("announcements.png", "engineering.jpg"):
            source = Path(__file__).parent.parent.parent / "examples" / "pictures" / name
            (path / "pictures" / name).write_bytes(source.read_bytes())
        yield path


def loads_or_config_error(directory: Path, text: str) -> None:
    path = directory / "groups.yaml"
    path.write_text(text)
    try:
        load(path)
    except ConfigError as error:
        problems = error.problems
    else:
        return
    assert problems, "a ConfigError always names at least one problem"
    assert all(p.location.line >= 1 and p.location.column >= 1 for p in problems)


fuzz = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(text=documents)
def test_random_documents_load_or_raise_config_error(workdir: Path, text: str) -> None:
    loads_or_config_error(workdir, text)


@fuzz
@given(text=mutated_examples())
def test_mutated_examples_load_or_raise_config_error(workdir: Path, text: str) -> None:
    loads_or_config_error(workdir, text)


@fuzz
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_text_loads_or_raises_config_error(workdir: Path, text: str) -> None:
    loads_or_config_error(workdir, text)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=mutated_examples() | documents)
def test_the_cli_never_shows_a_traceback(groupctl: str, workdir: Path, text: str) -> None:
    path = workdir / "cli.yaml"
    path.write_text(text)
    done = subprocess.run(
        [groupctl, "validate", "-f", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stderr
    if done.returncode == 1:
        assert done.stderr.splitlines()[-1].startswith("error: ")


# The words YAML 1.1 reads as true/false or null, and what may follow their first letter.
_WORDS = [
    *(
        w
        for word in ("yes", "no", "true", "false", "on", "off", "null")
        for w in (word, word.title(), word.upper())
    ),
]


@given(
    st.sampled_from(_WORDS)
    | st.builds(
        str.__add__,
        st.sampled_from(sorted("yYnNtTfFoO")),
        st.text(alphabet=st.characters(codec="ascii", categories=("L", "N", "P")), max_size=12),
    )
)
def test_plain_scalars_read_as_yaml_reads_them_whatever_their_first_letter(text: str) -> None:
    """The reader resolves a plain scalar of more than 5 characters that starts with one of
    these letters as text without asking PyYAML's resolvers (only true/false/yes/no/on/off and
    null start so): the values it reads are PyYAML's all the same."""
    document = f"key: {text}\n"
    try:
        expected = yaml.safe_load(document)
    except yaml.YAMLError:
        return  # not a plain scalar: nothing to compare
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "value.yaml")
        path.write_text(document)
        read = read_yaml(path)
    if not read.problems:
        assert read.data == expected
