"""The simulator's own request models take Titan's documented bodies and nothing else."""

from __future__ import annotations

import pydantic
import pytest

from reconciler.sim.requests import (
    CreateGroupRequest,
    ParticipantsRequest,
    PictureRequest,
    SendTextRequest,
)


def test_a_picture_request_takes_exactly_one_source() -> None:
    PictureRequest.model_validate({"url": "https://x/y.jpg"})
    for wrong in ({}, {"url": "https://x", "base64": "AAAA"}):
        with pytest.raises(pydantic.ValidationError, match="exactly one"):
            PictureRequest.model_validate(wrong)


@pytest.mark.parametrize(
    ("model", "body", "problem"),
    [
        (CreateGroupRequest, {"subject": "Team", "participants": []}, "Extra inputs"),
        (ParticipantsRequest, {"participants": "14155550101@s.whatsapp.net"}, "valid list"),
        (ParticipantsRequest, {"participants": [14155550101]}, "valid string"),
        (SendTextRequest, {"chatId": "1@g.us", "type": "text", "text": "hi"}, "session"),
    ],
    ids=["unknown-field", "not-a-list", "number-for-jid", "send-without-session"],
)
def test_a_body_titan_would_refuse_is_refused_not_coerced(
    model: type[pydantic.BaseModel], body: dict[str, object], problem: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=problem):
        model.model_validate(body)
