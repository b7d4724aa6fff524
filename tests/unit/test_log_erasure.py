"""The log erasure's rule (services/consent/log_erasure.py), held to a reference model: random
partitions of the clear topics, each a log of records some readers cannot see (transaction
markers, aborted records), random readers' commits and frontiers. Whatever the inputs, a pass
never deletes a record a reader has still to take, never goes past the frontier, and reaches
it once every reader has taken everything before it."""

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.topics import dead_letters_topic, deliveries_topic, events_topic
from services.consent.log_erasure import Readers, cut_points, least_taken, readers_of

ALINGSAS = "kommun-1489"
TOPICS = [events_topic("region-14"), deliveries_topic(ALINGSAS), dead_letters_topic(ALINGSAS), "gate.decisions"]
OWN = [f"{ALINGSAS}.case-system", f"{ALINGSAS}.journal"]


def test_the_readers_of_each_clear_topic():
    assert readers_of(events_topic("region-14")) == Readers(("samordna-gate",))
    assert readers_of(deliveries_topic(ALINGSAS)) == Readers(("samordna-inbox-kommun-1489",), "kommun-1489.")
    assert readers_of(dead_letters_topic(ALINGSAS)) == Readers(("samordna-dead-letters-kommun-1489",), "kommun-1489.")
    assert readers_of("gate.decisions") == Readers(("samordna-audit",))
    for sealed_or_shared in ("shared.events", "consent.changes", "dead.letters", "audit.checkpoints", "events.nobody"):
        assert readers_of(sealed_or_shared) is None


@st.composite
def partitions(draw):
    """topic -> (log start, visible flags of offsets 0..end-1, frontier, {group: committed})."""
    out = {}
    for topic in draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=4, unique=True)):
        end = draw(st.integers(1, 30))
        visible = draw(st.lists(st.booleans(), min_size=end, max_size=end))
        start = draw(st.integers(0, end - 1))
        frontier = draw(st.integers(start + 1, end))
        groups = [*readers_of(topic).required, *(OWN if readers_of(topic).own_systems else [])]
        committed = {
            g: draw(st.integers(start, end)) for g in groups if draw(st.integers(0, 4)) > 0
        }  # a group may have no offset there yet
        out[(topic, 0)] = (start, visible, frontier, committed)
    return out


def run_pass(parts):
    frontier = {p: f for p, (_, _, f, _) in parts.items()}
    starts = {p: s for p, (s, _, _, _) in parts.items()}
    committed: dict[str, dict] = {}
    for p, (_, _, _, by_group) in parts.items():
        for group, offset in by_group.items():
            committed.setdefault(group, {})[p] = offset
    least = least_taken(frontier, committed)
    # what the shell asks Kafka: the first record a read_committed reader still gets at or after `least`
    unread = {p: next((o for o in range(least[p], frontier[p]) if parts[p][1][o]), frontier[p]) for p in frontier}
    return cut_points(frontier, starts, unread)


def untaken_by_someone(topic, offset, by_group) -> bool:
    """The reference: a visible record some reader of it has still to take."""
    readers = readers_of(topic)
    must = [*readers.required, *(g for g in by_group if readers.own_systems and g.startswith(readers.own_systems))]
    return any(by_group.get(g, 0) <= offset for g in must)


@settings(max_examples=400)
@given(partitions())
def test_a_pass_deletes_only_what_every_reader_took_and_stops_at_the_frontier(parts):
    cuts = run_pass(parts)
    for p, (start, visible, frontier, by_group) in parts.items():
        at = cuts.get(p, start)
        assert start <= at <= frontier
        deleted = range(start, at)
        assert not [o for o in deleted if visible[o] and untaken_by_someone(p[0], o, by_group)], (p, at)
        # and as far as it may: the next record kept is one a reader still needs, or the frontier
        if at < frontier:
            assert visible[at] and untaken_by_someone(p[0], at, by_group) or at == start


@settings(max_examples=200)
@given(partitions())
def test_readers_that_took_everything_let_the_frontier_be_reached(parts):
    caught_up = {
        p: (start, visible, frontier, {g: frontier for g in (*readers_of(p[0]).required, *by_group)})
        for p, (start, visible, frontier, by_group) in parts.items()
    }
    assert run_pass(caught_up) == {p: frontier for p, (_, _, frontier, _) in caught_up.items()}


def test_a_reader_behind_only_markers_and_aborted_records_holds_nothing_back():
    p = (deliveries_topic(ALINGSAS), 0)
    parts = {p: (0, [True, True, False, False], 4, {"samordna-inbox-kommun-1489": 2})}
    assert run_pass(parts) == {p: 4}


def test_a_stopped_system_of_the_principal_holds_its_records_back_and_one_without_offsets_does_not():
    p = (deliveries_topic(ALINGSAS), 0)
    inbox = {"samordna-inbox-kommun-1489": 5}
    assert run_pass({p: (0, [True] * 5, 5, inbox | {f"{ALINGSAS}.case-system": 2})}) == {p: 2}
    assert run_pass({p: (0, [True] * 5, 5, inbox)}) == {p: 5}
    assert run_pass({p: (0, [True] * 5, 5, {})}) == {}, "the gateway has taken nothing: nothing goes"
