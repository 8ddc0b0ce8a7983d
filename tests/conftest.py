"""Shared fixtures: simulator worlds, and clients that reach them in-process or over a socket."""

from __future__ import annotations

import compileall
import http.server
import io
import os
import shutil
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from PIL import Image

import reconciler
from reconciler.sim.state import WorldState
from tests.support.harness import Harness, standard_world


def pytest_sessionstart(session: pytest.Session) -> None:
    """Most tests run the installed groupctl, hundreds of processes that each import the
    package: its bytecode is written once here, where Python would not write it itself
    (PYTHONDONTWRITEBYTECODE set, as some CI images do), rather than compiled in each."""
    if not hasattr(session.config, "workerinput"):  # once, not in each xdist worker
        compileall.compile_dir(Path(reconciler.__file__).parent, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of the long end-to-end tests (marked slow) first, each file's tests together
    (a module's fixtures are made once): started last, one of those tests would keep a worker
    busy long after the others are done."""
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without it (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`pytest -n N` steals work: a worker that runs out of tests takes some of another's,
    instead of idling while the other finishes its share (`--dist load`, xdist's default for
    -n, hands them out once). Any other --dist is xdist's."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


# Property tests: "ci" is the default (and what CI runs); HYPOTHESIS_PROFILE=long by hand.
settings.register_profile("ci", max_examples=500, deadline=None)
settings.register_profile("long", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of examples/ (the config, its pictures, its drifted world) to change freely."""
    shutil.copytree(Path(__file__).parent.parent / "examples", tmp_path / "examples")
    return tmp_path / "examples"


@pytest.fixture(scope="session")
def groupctl() -> str:
    """The installed console script, next to the interpreter running the tests."""
    path = Path(sys.executable).with_name("groupctl")
    assert os.access(path, os.X_OK), "groupctl is not installed: pip install -e '.[dev]'"
    return str(path)


@pytest.fixture(params=["in-process", "socket"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


MakeSim = Callable[..., Harness]


@pytest.fixture
async def make_sim(tmp_path: Path, transport_kind: str) -> AsyncIterator[MakeSim]:
    """`make_sim(world=None, **SimConfig options)`: a simulator on the transport under test."""
    made: list[Harness] = []

    def make(world: WorldState | None = None, **config: Any) -> Harness:
        harness = Harness(
            world if world is not None else standard_world(),
            tmp_path / f"world-{len(made)}.json",
            over_socket=transport_kind == "socket",
            **config,
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.aclose()


@pytest.fixture
def sim(make_sim: MakeSim) -> Harness:
    """The standard world (tests/support/harness.py) on the transport under test."""
    return make_sim()


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    return _image("JPEG")


@pytest.fixture(scope="session")
def png() -> bytes:
    return _image("PNG")


@pytest.fixture
def png_url(png: bytes) -> Iterator[str]:
    """A PNG served over real HTTP on 127.0.0.1, as a picture URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/team.png"
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook endpoint on 127.0.0.1 recording (headers, body) of each delivery."""
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with arrived:
                received.append((dict(self.headers), body))
                arrived.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()
    server.server_close()
