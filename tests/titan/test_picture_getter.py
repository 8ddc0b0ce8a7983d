"""TitanClient.get_picture_url: Titan documents no such route, so the first call probes it, and
only a 404 or 405 there means "no getter"; anything else is the error it always was."""

from __future__ import annotations

import httpx
import pytest

from reconciler.errors import NoPictureGetterError, PermissionDeniedError, ServerError
from reconciler.titan.retries import RetryPolicy
from tests.titan.scripted import ENG, Script, client_for, error, ok


@pytest.mark.parametrize("status", [404, 405])
async def test_a_404_or_405_to_the_first_read_means_no_getter_and_it_is_not_asked_again(
    status: int,
) -> None:
    script = Script(error(status, "Not Found" if status == 404 else "Method Not Allowed"))
    client = client_for(script)
    for _ in range(3):
        with pytest.raises(NoPictureGetterError) as raised:
            await client.get_picture_url(ENG)
        assert raised.value.status == status
        assert raised.value.path == "/api/sessions/default/groups/120363000000000001%40g.us/picture"
    assert len(script.calls) == 1
    assert client.picture_getter is False


@pytest.mark.parametrize(
    ("answer", "raised"),
    [(error(403, "not a participant"), PermissionDeniedError), (error(500, "oops"), ServerError)],
    ids=["403", "500"],
)
async def test_another_failure_of_the_first_read_is_an_error_and_the_next_read_asks_again(
    answer: httpx.Response, raised: type[Exception]
) -> None:
    script = Script(answer, ok({"url": "https://titan.test/p.jpg"}))
    client = client_for(script, retry=RetryPolicy(attempts=1))
    with pytest.raises(raised):
        await client.get_picture_url(ENG)
    assert client.picture_getter is None
    assert await client.get_picture_url(ENG) == "https://titan.test/p.jpg"
    assert client.picture_getter is True
    assert len(script.calls) == 2


async def test_a_url_in_any_known_shape_is_read_and_an_empty_one_is_no_picture() -> None:
    script = Script(ok({"url": "https://titan.test/a.jpg"}), ok("https://titan.test/b.jpg"), ok({}))
    client = client_for(script)
    assert await client.get_picture_url(ENG) == "https://titan.test/a.jpg"
    assert await client.get_picture_url(ENG) == "https://titan.test/b.jpg"
    assert await client.get_picture_url(ENG) is None
