"""The registry's outbox on SQLite and PostgreSQL: one event per registration that changed
something, leased to one sender at a time, backed off after a failure."""

from registry.outbox import REGISTERED_EVENT


def test_each_registration_that_changes_something_leaves_one_event_in_the_outbox(store):
    store.register("vlm-a", "open_clip:a@/m/a.pt", "vlm", "h1")
    store.register("vlm-a", "open_clip:a@/m/a.pt", "vlm", "h1")  # nothing changed: no event
    store.register("vlm-a", "open_clip:a@/m/a.pt", "vlm", "h2")  # new weights: an event
    events = store.outbox.events()
    assert [e["payload"] for e in events] == [
        {"name": "vlm-a", "source": "open_clip:a@/m/a.pt", "hash": "h1"},
        {"name": "vlm-a", "source": "open_clip:a@/m/a.pt", "hash": "h2"},
    ]
    assert {e["event"] for e in events} == {REGISTERED_EVENT} and not any(e["sent"] for e in events)
    first, second = (e["event_id"] for e in events)
    assert [e["event_id"] for e in store.outbox.claim()] == [first, second]
    assert store.outbox.claim() == []  # claimed: another sender gets nothing until the lease ends
    store.outbox.failed(first, "ConnectError: refused")
    assert store.outbox.claim(lease_s=0) == []  # the first backs off, the second is leased
    store.outbox.sent(second)
    store.outbox.sent(second)  # a second delivery changes nothing but shows in the count
    delivered = [(e["attempts"], e["sent"], e["deliveries"]) for e in store.outbox.events()]
    assert delivered == [(1, False, 0), (1, True, 2)]
    assert store.outbox.events()[0]["last_error"] == "ConnectError: refused"


def test_two_senders_never_claim_the_same_event(store):
    from concurrent.futures import ThreadPoolExecutor

    for i in range(20):
        store.register(f"m{i:02d}", f"open_clip:a@/m/{i}.pt", "vlm", f"h{i}")

    def claim(_):
        return [event["event_id"] for event in store.outbox.claim()]

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(claim, range(2))
    assert not set(first) & set(second) and len(first) + len(second) == 20
