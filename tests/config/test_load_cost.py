"""What loading a config costs, counted rather than timed (bench/config_load.py and
bench/nested_teams.py time it): no cyclic collection while it loads, a big config's objects
out of the collector's way afterwards, every distinct number parsed once, memory in
proportion to the file, and the shortcuts past the schema taken only where the schema would
take the value as it is."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config import load
from reconciler.config.load import _ADAPTERS, FREEZE_AFTER_OBJECTS, _taken_as_it_is
from reconciler.core.groups import DesiredState
from reconciler.core.jid import parse_phone
from reconciler.errors import ConfigError


@contextmanager
def counting_collections() -> Iterator[list[int]]:
    """The generation of each cyclic collection that starts meanwhile."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)


@pytest.fixture
def thawed() -> Iterator[None]:
    """What a test froze goes back to the collector after it."""
    yield
    gc.unfreeze()


def teams(count: int, *, last: str = "") -> str:
    """`count` teams of nine people each, the last one with `last` too."""
    people = "".join(f"  p{n}: '+1415555{n:04d}'\n" for n in range(100))
    lists = [[f"p{(k + j) % 100}" for j in range(1, 10)] for k in range(count)]
    lists[-1] += [last] if last else []
    lines = "".join(f"  t{k}: [{', '.join(items)}]\n" for k, items in enumerate(lists))
    return f"version: 1\npeople:\n{people}teams:\n{lines}"


def test_no_cyclic_collection_runs_while_a_config_loads(tmp_path: Path) -> None:
    """Each would go over every object the load has built so far, again and again: some
    twenty here. One runs as the collector resumes, over what the load leaves."""
    path = tmp_path / "groups.yaml"
    path.write_text(teams(5_000))
    with counting_collections() as collections:
        state = load(path)
    assert len(collections) <= 1
    assert state.teams == 5_000
    assert gc.isenabled()


@pytest.mark.usefixtures("thawed")
def test_what_a_big_refused_config_leaves_is_frozen_for_the_collector(tmp_path: Path) -> None:
    """A config refused at its very end leaves all it built alive while the error is reported:
    in the permanent generation, no later collection goes over it (the one at exit neither).
    Nothing of it is in a cycle: it is freed once the error is."""
    path = tmp_path / "groups.yaml"
    path.write_text(teams(30_000, last="nobody"))
    frozen = gc.get_freeze_count()
    tracked = frozen + len(gc.get_objects())
    with counting_collections() as collections:
        try:
            load(path)
        except ConfigError as error:  # alive, and all the load built with it
            during, left_frozen, refused = len(collections), gc.get_freeze_count(), error
    assert "unknown person 'nobody'" in str(refused)
    del refused
    assert during <= 1
    assert left_frozen - frozen > FREEZE_AFTER_OBJECTS
    assert gc.get_freeze_count() + len(gc.get_objects()) - tracked < FREEZE_AFTER_OBJECTS / 10
    assert gc.isenabled()


def test_a_small_config_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(teams(10, last="nobody"))
    frozen = gc.get_freeze_count()
    with pytest.raises(ConfigError):
        load(path)
    assert gc.get_freeze_count() == frozen


def test_each_distinct_number_is_parsed_once_however_often_it_is_listed(tmp_path: Path) -> None:
    numbers = [f"+1 415 555 {n:04d}" for n in range(9_000, 9_050)]
    everyone = ", ".join(repr(number) for number in numbers)
    groups = "".join(
        f"  g{g}: {{subject: G{g}, members: ['{numbers[g]}', {everyone}]}}\n" for g in range(40)
    )
    path = tmp_path / "groups.yaml"
    path.write_text(f"version: 1\ngroups:\n{groups}")
    parse_phone.cache_clear()
    with pytest.raises(ConfigError, match="is listed twice in members"):
        load(path)
    assert parse_phone.cache_info().misses == len(numbers)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


person_like = st.dictionaries(st.sampled_from(["phone", "lid", "name", "x"]), yaml_values)


@given(st.sampled_from(["people", "teams"]), yaml_values | person_like)
def test_what_skips_the_schema_is_what_the_schema_takes_as_it_is(
    section: str, value: object
) -> None:
    """Most people and teams of a big config are taken as written without pydantic: only
    values that pydantic would take, unchanged."""
    if _taken_as_it_is(section, value):
        if isinstance(value, dict):  # a person's phone and lid: the model takes them as they are
            assert (
                _ADAPTERS["person"].validate_python(value).model_dump(exclude_unset=True) == value
            )
        else:
            assert _ADAPTERS[section].validate_python(value) == value


def test_a_config_of_teams_takes_memory_in_proportion_to_its_size(tmp_path: Path) -> None:
    """No tree of YAML nodes, no Location for every value (only each value's place, made into
    a Location for a problem), teams kept as tuples: some 30 bytes of memory at the peak per
    byte of YAML here, where nodes and locations took 66."""
    lines = "".join(
        f"  t{k}: [{', '.join(f'team:t{j}' for j in range(max(0, k - 3), k))}]\n"
        for k in range(20_000)
    )
    path = tmp_path / "groups.yaml"
    path.write_text(f"version: 1\nteams:\n{lines}")
    state, peak = load_traced(path)
    assert state.teams == 20_000
    assert peak < 40 * path.stat().st_size


@pytest.mark.timeout(60)  # each problem against every refused value: some two minutes
def test_many_refused_values_and_many_mistakes_cost_work_in_proportion(tmp_path: Path) -> None:
    """A schema mistake is not reported again where a value was refused while parsing: that
    is looked up by the mistake's path, not by going over every refused value."""
    aliases = "".join(f"  a{k}: *b\n" for k in range(20_000))
    numbers = "".join(f"  t{k}: {k}\n" for k in range(20_000))
    path = tmp_path / "groups.yaml"
    path.write_text(f"version: 1\nteams:\n  base: &b [x]\n{aliases}{numbers}")
    with pytest.raises(ConfigError) as error:
        load(path)
    assert len(error.value.problems) == 40_001


@pytest.mark.timeout(30)  # each name compared with all: over a minute
def test_thousands_of_unknown_names_cost_work_in_proportion(tmp_path: Path) -> None:
    """A suggestion (did you mean...) is offered while the config's comparisons last, then the
    general hint."""
    count = 5_000
    people = "".join(f"  person{k}: '+1415555{k:04d}'\n" for k in range(count))
    teams = "".join(f"  t{k}: [person{k}]\n" for k in range(count))
    groups = "".join(
        f"  g{k}: {{subject: G{k}, members: [persn{k}, team:u{k}]}}\n" for k in range(count)
    )
    path = tmp_path / "groups.yaml"
    path.write_text(f"version: 1\npeople:\n{people}teams:\n{teams}groups:\n{groups}")
    with pytest.raises(ConfigError) as error:
        load(path)
    messages = [problem.message for problem in error.value.problems]
    assert len(messages) == 2 * count
    assert "unknown person 'persn0' (did you mean 'person0'?)" in messages
    last = f"persn{count - 1}"
    assert f"unknown person {last!r}: add them under people:, or write their phone number" in (
        messages
    )


def test_a_config_of_people_and_groups_takes_memory_in_proportion_to_its_size(
    tmp_path: Path,
) -> None:
    """People written as `import` writes them (a phone and a lid each) and groups that list
    them by name: each key's and value's place kept as one int, each person as the mapping
    the YAML made, each name one string however often it is listed, and no parser cache
    entry for a number read once. Some 21 bytes of memory at the peak per byte of YAML here,
    where marks, models and caches took 42."""
    people = "".join(
        f"  p{k}:\n    phone: '+1212{2_000_000 + k:07d}'\n    lid: '{288 * 10**12 + k}@lid'\n"
        for k in range(20_000)
    )
    groups = "".join(
        f"  g{g}:\n    subject: G{g}\n    members:\n"
        + "".join(f"      - p{(g * 37 + m * 101) % 20_000}\n" for m in range(100))
        for g in range(400)
    )
    (tmp_path / "people.yaml").write_text(f"version: 1\npeople:\n{people}")
    (tmp_path / "groups.yaml").write_text(f"version: 1\ngroups:\n{groups}")
    size = sum(file.stat().st_size for file in tmp_path.iterdir())
    state, peak = load_traced(tmp_path)
    assert len(state.groups) == 400
    assert len(state.directory) == 40_000  # every phone and every lid
    assert peak < 28 * size


def load_traced(path: Path) -> tuple[DesiredState, int]:
    """The config at `path`, and the most memory its load held at once (bytes)."""
    tracemalloc.start()
    try:
        state = load(path)
        return state, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
