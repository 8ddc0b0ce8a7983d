"""Contract: group pictures. Titan documents the upload and no way to read a group's picture;
the simulator serves exactly that unless a world setting or `sim serve --picture-getter` turns
an engine's getter on. Uploads work either way, and the world keeps what was uploaded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.errors import NoPictureGetterError, NotFoundError, PermissionDeniedError
from reconciler.sim.gateway import DOCS_URL
from tests.conftest import MakeSim
from tests.support.harness import ENGINEERING, MARKETING, Harness, gid, standard_world

PICTURE = f"/api/sessions/default/groups/{ENGINEERING}/picture"


def with_getter(make_sim: MakeSim, how: str) -> Harness:
    """A simulator serving the picture getter, turned on the way `how` says."""
    if how == "world setting":
        world = standard_world()
        world.settings.picture_getter = True
        return make_sim(world)
    return make_sim(picture_getter=True)  # what `sim serve --picture-getter` sets


GETTER_ON = pytest.mark.parametrize("how", ["world setting", "sim serve flag"])


def picture_reads(sim: Harness) -> int:
    calls = sim.simulator.stats.by_call.items()
    return sum(n for call, n in calls if call.startswith("GET ") and call.endswith("/picture"))


async def test_without_the_getter_a_picture_read_answers_like_a_route_titan_lacks(
    sim: Harness,
) -> None:
    http = sim.raw()
    picture = await http.get(PICTURE)
    unknown = await http.get(f"/api/sessions/default/groups/{ENGINEERING}/no-such-route")
    assert picture.status_code == unknown.status_code == 404
    assert picture.json() == unknown.json() == {"error": "Not Found", "docs": DOCS_URL}


async def test_without_the_getter_an_upload_works_and_the_world_keeps_the_picture(
    sim: Harness, jpeg: bytes
) -> None:
    await sim.client().set_picture(gid(ENGINEERING), jpeg=jpeg)
    assert sim.world.picture_jpeg(sim.world.state.groups[0]) == jpeg


@GETTER_ON
async def test_with_the_getter_an_uploaded_picture_is_downloadable(
    make_sim: MakeSim, how: str, jpeg: bytes
) -> None:
    sim = with_getter(make_sim, how)
    client = sim.client()
    assert await client.get_picture_url(gid(ENGINEERING)) is None
    await client.set_picture(gid(ENGINEERING), jpeg=jpeg)
    url = await client.get_picture_url(gid(ENGINEERING))
    assert url is not None
    async with sim.raw(api_key=None) as http:
        answer = await http.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.content == jpeg
    assert client.picture_getter is True


async def test_with_the_getter_an_outsider_cannot_read_a_picture(make_sim: MakeSim) -> None:
    outsider = with_getter(make_sim, "sim serve flag").client("outsider")
    with pytest.raises(PermissionDeniedError, match="not a participant"):
        await outsider.get_picture_url(gid(ENGINEERING))
    assert outsider.picture_getter is None  # a refusal says nothing of the route


# -- the client's probe --------------------------------------------------------------------


async def test_the_client_asks_once_however_many_groups_want_their_picture(sim: Harness) -> None:
    client = sim.client()
    groups = [gid(ENGINEERING), gid(MARKETING)] * 3
    answers: list[Any] = await asyncio.gather(
        *(client.get_picture_url(g) for g in groups), return_exceptions=True
    )
    assert all(isinstance(answer, NoPictureGetterError) for answer in answers)
    with pytest.raises(NoPictureGetterError, match="no route that shows a group's picture"):
        await client.get_picture_url(gid(ENGINEERING))
    assert picture_reads(sim) == 1
    assert client.picture_getter is False


@GETTER_ON
async def test_with_the_getter_every_group_is_asked(make_sim: MakeSim, how: str) -> None:
    sim = with_getter(make_sim, how)
    client = sim.client()
    found = await asyncio.gather(
        client.get_picture_url(gid(ENGINEERING)), client.get_picture_url(gid(MARKETING))
    )
    assert list(found) == [None, None]
    assert picture_reads(sim) == 2
    assert client.picture_getter is True


@GETTER_ON
async def test_once_the_getter_answered_a_404_is_about_the_group(
    make_sim: MakeSim, how: str
) -> None:
    client = with_getter(make_sim, how).client()
    await client.get_picture_url(gid(ENGINEERING))
    with pytest.raises(NotFoundError) as raised:
        await client.get_picture_url(gid("120363999999999999@g.us"))
    assert not isinstance(raised.value, NoPictureGetterError)
