"""The agent's job frame (harness/run/agent.py): length, CRC-32, and bad fields refused."""

from __future__ import annotations

import zlib

import pytest

from harness.model.errors import ConfigError
from harness.run.agent import job_frame, job_payload

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_frame_is_a_header_with_length_and_crc32_then_the_payload():
    payload = job_payload(host="127.0.0.1", port=4433, name="bench.local", ca_pem=PEM)
    assert payload == (
        b"host=127.0.0.1\nport=4433\nname=bench.local\nca_pem=\n" + PEM.strip().encode() + b"\n"
    )
    frame = job_frame(payload)
    header, _, rest = frame.partition(b"\n")
    assert rest == payload
    assert header == f"HIL:JOB {len(payload)} {zlib.crc32(payload):08x}".encode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("host", "127.0.0.1\nport=1", "host '127.0.0.1\\\\nport=1' cannot go on one line"),
        ("name", "", "name '' cannot go on one line"),
        ("port", 0, "port 0 is out of range"),
        ("ca_pem", "not a certificate", "the trust anchor is not a PEM certificate"),
    ],
)
def test_a_field_that_cannot_be_sent_is_refused(field, value, message):
    given = {"host": "127.0.0.1", "port": 4433, "name": "127.0.0.1", "ca_pem": PEM, field: value}
    with pytest.raises(ConfigError, match=message):
        job_payload(**given)
