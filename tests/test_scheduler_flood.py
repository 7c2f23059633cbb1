"""50,000 chat messages from 5,000 users through the scheduling logic: bounded memory, fairness, !skip at once."""

import random
import tracemalloc

from dreamgraph.nodes.chat.schedule import Schedule, ScheduleConfig
from dreamgraph.nodes.chat.vocab import Vocabulary
from dreamgraph.nodes.common.messages import ChatMessage

MESSAGES, USERS, MAX_PENDING = 50_000, 5_000, 300
CHATTER = ["lol", "nice stream", "what is this", "pog", "vulcano", "pizzza please", "so trippy", "!uptime"]


def flood(rng: random.Random, labels: list[str]):
    for n in range(MESSAGES):
        user = f"user{rng.randrange(USERS)}"
        roll = rng.random()
        if n % 2477 == 2476:  # a moderator skips every ~2 minutes
            text, badges, user = "!skip", ["moderator/1"], "the_mod"
        elif roll < 0.6:
            text, badges = rng.choice(labels) + (f" + {rng.choice(labels)}" if roll < 0.1 else ""), []
        else:
            text, badges = rng.choice(CHATTER), []
        yield ChatMessage(
            source="twitch",
            channel="#flood",
            user=user,
            display_name=user,
            text=text,
            message_id=f"m{n}",
            badges=badges,
        )


def test_flood_is_bounded_fair_and_skippable():
    rng = random.Random(5)
    vocab = Vocabulary(rng=random.Random(6))
    labels = [vocab.labels[i] for i in rng.sample(range(1000), 400)]
    clock = [0.0]
    schedule = Schedule(
        vocab,
        ScheduleConfig(
            hold_seconds=60, idle_seconds=60, cooldown_seconds=300, max_pending=MAX_PENDING, playlist=("volcano",)
        ),
        clock=lambda: clock[0],
        rng=random.Random(7),
    )
    shown = []  # users whose request took the screen, in order
    unfair = 0
    skips_that_failed = 0
    replies = 0
    tracemalloc.start()
    baseline = None
    for n, msg in enumerate(flood(rng, labels)):
        clock[0] += 0.05  # 20 messages a second: 2,500 s of chat, about 40 hold periods
        before = schedule.current
        others_waiting = any(user != (before.user if before else "") for user in schedule.pending)
        outcome = schedule.handle(msg)
        outcome.merge(schedule.tick())
        replies += len(outcome.replies)
        if msg.text == "!skip":
            skips_that_failed += schedule.current is before and (bool(schedule.pending) or before is None)
        if outcome.changed and schedule.current.user:
            if shown and shown[-1] == schedule.current.user and others_waiting:
                unfair += 1
            shown.append(schedule.current.user)
        assert len(schedule.pending) <= MAX_PENDING
        if n == 10_000:
            baseline = tracemalloc.take_snapshot()
    growth = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(baseline, "filename"))
    tracemalloc.stop()

    assert unfair == 0
    assert skips_that_failed == 0
    assert len(shown) > 2500 / 60 + 15  # every hold period ended, plus the skips
    assert len(set(shown)) > 0.9 * len(shown)
    assert growth < 2_000_000, f"memory grew by {growth} bytes over 40,000 messages"
    assert schedule.counts["refused_full"] > 0  # the line filled up and stayed bounded
    assert replies <= 30 * (clock[0] / 60 + 1)  # the reply budget held
