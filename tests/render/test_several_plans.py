"""The plans of a CI matrix's shards as pull request comments (`render_several`), and the
brakes of a session's shards counted together (`assess_together`)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.jid import parse_group_jid
from reconciler.engine.plan import Action, GroupPlan, Kind, Plan
from reconciler.engine.safety import Brakes, assess, assess_together
from reconciler.render.markdown import COMMENT_LIMIT, render_several
from tests.support.builders import A, B, jid

REMOVE_TWO = (Action(Kind.REMOVE, members=(jid(A), jid(B))),)


def shard(number: int, of: int, *groups: GroupPlan, session: str = "sales") -> Plan:
    return Plan(groups=groups, session=session, shard=f"{number}/{of}")


def removing(key: str, n: int) -> GroupPlan:
    return GroupPlan(key, key.title(), parse_group_jid(f"1203630000000001{n:02d}@g.us"), REMOVE_TWO)


def test_the_shards_of_a_session_are_stopped_together_when_each_is_within_its_brakes() -> None:
    brakes = Brakes(max_removals=3)
    plans = [assess(shard(k, 2, removing(f"g{k}", k)), brakes) for k in (1, 2)]
    assert all(not plan.brakes for plan in plans)  # two removals each: within 3
    [(session, reasons)] = assess_together(plans)
    assert session == "sales"
    assert reasons == ("it removes 4 members in all, more than --max-removals 3",)
    # The lowest brake any plan was made with counts; forced plans are not stopped.
    looser = [plans[0], assess(plans[1], Brakes(max_removals=10))]
    assert assess_together(looser)[0][1] == reasons
    assert assess_together([assess(p, brakes, force=True) for p in plans]) == []
    # Other sessions' plans are not counted with them.
    other = assess(shard(1, 1, removing("h", 3), session="support"), brakes)
    assert assess_together([plans[0], other]) == []


def test_a_refused_group_is_not_nothing_to_do() -> None:
    refused = GroupPlan("g", "G", None, errors=("its subject is too long",))
    comment = "".join(render_several([shard(1, 2), shard(2, 2, refused)]))
    assert "nothing to do" not in comment
    assert "⛔" in comment
    calm = "".join(render_several([shard(1, 2), shard(2, 2)]))
    assert "The groups are as the config says: nothing to do." in calm


def test_a_matrix_of_many_shards_is_split_into_comments_github_takes() -> None:
    plans = [
        replace(shard(k, 256, removing(f"group-{k}", k % 90), session=f"s{s}"), unmanaged=k)
        for s in range(10)
        for k in range(1, 257)
    ]
    comments = render_several(plans, missing=[("s0", "1/256")])
    assert len(comments) > 1
    assert all(len(comment) < COMMENT_LIMIT for comment in comments)
    whole = "\n".join(comments)
    # Every plan's row, and every plan, is somewhere; the table's header opens each part.
    assert all(f"| <code>s{s}</code> | 7/256 |" in whole for s in range(10))
    # Each session's shard 256: its group in its plan's table, and in its section.
    assert whole.count("(<code>group-256</code>)") == 2 * 10
    assert all("| session | shard | plan |" in c for c in comments if "| <code>s" in c)
