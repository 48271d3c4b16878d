"""Survive lost connections: the session reconnects, resumes and replays unconfirmed audio.

The emulator is set up to misbehave the way the Live API does: every connection lives only
``--lifetime`` seconds (a ``goAway`` notice comes first, like the ~10-minute cap of the real
service), and the second connection is closed with 1011 "Internal error" mid-stream.
The session moves to a new connection each time; your ``async for`` loop just sees
:class:`s2st.Reconnected` events between the translation events, and nothing you sent is lost::

    python examples/reconnection.py
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import s2st
from s2st.emulator import Emulator, Fault, sample_path


async def run(*, lifetime_s: float, speed: float) -> int:
    async with Emulator(connection_lifetime_s=lifetime_s, go_away_before_s=lifetime_s / 4) as emu:
        # Connection numbers count from 0; 1 is the first replacement connection.
        emu.inject(Fault.close(1011, "Internal error occurred.", at_s=0.3), connection=1)
        client = s2st.S2STClient.for_emulator(emu)
        policy = s2st.ReconnectPolicy(max_attempts=5, initial_backoff_s=0.1)
        translated: list[str] = []
        reconnects = 0
        async with client.connect("es", reconnect=policy) as session:
            session.start_stream(sample_path("station"), speed=speed)
            async for event in session:
                if isinstance(event, s2st.GoAway):
                    print(
                        f"goAway: {event.time_left.total_seconds():.2f} s left on this connection"
                    )
                elif isinstance(event, s2st.Reconnected):
                    reconnects += 1
                    print(
                        f"reconnected ({event.reason}): resumed={event.resumed} "
                        f"attempt={event.attempt} downtime={event.downtime_s * 1000:.0f} ms "
                        f"replayed={event.replayed_messages} messages "
                        f"({event.replayed_audio_ms:.0f} ms of audio)"
                    )
                elif isinstance(event, s2st.OutputTranscription):
                    translated.append(event.text)
        print(f"connections opened by the emulator: {len(emu.connections)}")
        print(f"translated: {''.join(translated).strip()}")
        print(f"{reconnects} reconnections, translation complete")
    return 0 if reconnects else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Longer than the 2 s between resumable handles (EVIDENCE.md row 9): each connection gets a
    # handle that confirms what it heard before its goAway. With a shorter lifetime no handle
    # ever comes, every connection replays everything from the start, and progress crawls.
    parser.add_argument("--lifetime", type=float, default=3.0, help="connection lifetime, s")
    parser.add_argument("--speed", type=float, default=2.0, help="x real time")
    args = parser.parse_args(argv)
    return asyncio.run(run(lifetime_s=args.lifetime, speed=args.speed))


if __name__ == "__main__":
    sys.exit(main())
