from streams.domain.tickets import TicketState
from streams.state.codec import decode_ticket, encode_ticket


def test_encoded_state_round_trips_and_is_smaller_than_json():
    state = TicketState(ticket_id="TKT-1", status="open", department="operations", policy="routine", submitted_at=1.5)
    encoded = encode_ticket(state)
    assert decode_ticket(encoded) == state
    assert encoded[:1] != b"{"


def test_plain_json_values_are_read_too():
    state = TicketState(ticket_id="TKT-2", status="resolved")
    assert decode_ticket(state.model_dump_json().encode()) == state
