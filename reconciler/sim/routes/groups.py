"""`/groups` and `/groups/{id}`: list, read, create, leave and delete groups, and change their
subject, description and picture."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim.access import GROUP_PATH, SESSION_PATH, WorldAccess
from reconciler.sim.answers import group_json, ok, results_json
from reconciler.sim.pictures import decode_jpeg, download_image
from reconciler.sim.requests import CreateGroupRequest, PictureRequest, ValueRequest, read_body
from reconciler.sim.rules import groups
from reconciler.sim.state import Account
from reconciler.sim.world import SimError, World

# Where GET .../picture says a picture is: the simulator serves the files itself.
PICTURE_FILE_PATH = "/_sim/pictures/{key}.jpg"


@dataclass
class GroupRoutes:
    access: WorldAccess
    # Serve GET .../picture whatever the world's settings say (`sim serve --picture-getter`).
    picture_getter: bool

    def routes(self) -> list[Route]:
        return [
            Route(f"{SESSION_PATH}/groups", self.list_groups, methods=["GET"]),
            Route(f"{SESSION_PATH}/groups", self.create_group, methods=["POST"]),
            Route(GROUP_PATH, self.get_group, methods=["GET"]),
            Route(GROUP_PATH, self.delete_group, methods=["DELETE"]),
            Route(f"{GROUP_PATH}/leave", self.leave, methods=["POST"]),
            Route(f"{GROUP_PATH}/subject", self.set_subject, methods=["PUT"]),
            Route(f"{GROUP_PATH}/description", self.set_description, methods=["PUT"]),
            Route(f"{GROUP_PATH}/picture", self.set_picture, methods=["PUT"]),
            Route(f"{GROUP_PATH}/picture", self.get_picture, methods=["GET"]),
            Route(PICTURE_FILE_PATH, self.picture_file, methods=["GET"]),
        ]

    async def list_groups(self, request: Request) -> Response:
        return ok(
            self.access.read(
                request,
                lambda world, account: [
                    group_json(world, account, group, with_participants=False)
                    for group in world.groups_of(account)
                ],
            )
        )

    async def get_group(self, request: Request) -> Response:
        return ok(self.access.read_group(request, group_json))

    async def create_group(self, request: Request) -> Response:
        body = await read_body(request, CreateGroupRequest)

        def create(world: World, account: Account) -> dict[str, Any]:
            group, outcomes = groups.create_group(
                world, account, body.name, body.participants, self.access.now()
            )
            return {**group_json(world, account, group), "results": results_json(outcomes)}

        return ok(self.access.write(request, create), status=201)

    async def leave(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        self.access.write(
            request, lambda world, account: groups.leave(world, account, gid, self.access.now())
        )
        return ok({"success": True})

    async def delete_group(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        self.access.write(request, lambda world, account: groups.delete(world, account, gid))
        return ok({"success": True})

    async def set_subject(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, ValueRequest)
        self.access.write(
            request, lambda world, account: groups.set_subject(world, account, gid, body.value)
        )
        return ok({"success": True})

    async def set_description(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, ValueRequest)
        self.access.write(
            request,
            lambda world, account: groups.set_description(world, account, gid, body.value),
        )
        return ok({"success": True})

    async def set_picture(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, PictureRequest)
        # Refuse non-admins before fetching anything on their behalf.
        self.access.read(
            request,
            lambda world, account: world.group_as_admin(account, gid, "change the picture"),
        )
        jpeg = await download_image(body.url) if body.url else decode_jpeg(body.base64 or "")
        self.access.write(
            request, lambda world, account: groups.set_picture(world, account, gid, jpeg)
        )
        return ok({"success": True})

    async def get_picture(self, request: Request) -> Response:
        if not (self.picture_getter or self.access.store.world().state.settings.picture_getter):
            raise HTTPException(404)  # as the router answers a route it does not have
        key = self.access.read_group(request, lambda world, account, group: group.picture)
        root = str(request.base_url).rstrip("/")
        url = root + PICTURE_FILE_PATH.format(key=key) if key else None
        return ok({"url": url})

    async def picture_file(self, request: Request) -> Response:
        encoded = self.access.store.world().state.pictures.get(request.path_params["key"])
        if encoded is None:
            raise SimError(404, "no such picture")
        return Response(base64.b64decode(encoded), media_type="image/jpeg")
