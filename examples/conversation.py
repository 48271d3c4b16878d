"""A two-way conversation: Alice speaks English, Bob speaks Spanish; each hears the other in
their own language.

:class:`s2st.conversation.Conversation` opens one session per direction (Alice's speech is
translated into Bob's language and the other way round) and merges the events, tagged with
speaker and listener. Here both "microphones" are recordings: Alice says the English sample,
and Bob answers with a Spanish recording. The emulator has a scripted translation for Alice's
sample only; Bob's speech gets its clearly labelled loopback placeholder::

    python examples/conversation.py
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from pathlib import Path

import s2st
from s2st.conversation import Conversation, Participant
from s2st.emulator import Emulator, sample_path

BOB_RECORDING = Path(sample_path("hello")).with_name("hello.0.es.wav")  # Spanish speech


async def converse(client: s2st.S2STClient, *, speed: float) -> dict[str, str]:
    """Run the conversation; return what each listener heard (translated text)."""
    alice = Participant("alice", language="en")
    bob = Participant("bob", language="es")
    heard: dict[str, list[str]] = defaultdict(list)
    speech_s: dict[str, float] = defaultdict(float)
    async with Conversation(client, alice, bob) as conv:
        conv.start_stream("alice", sample_path("hello"), speed=speed)
        conv.start_stream("bob", BOB_RECORDING, speed=speed)  # both may talk at once
        async for speaker, listener, event in conv:
            if isinstance(event, s2st.InputTranscription):
                print(f"{speaker:>5} said:  {event.text!r}", flush=True)
            elif isinstance(event, s2st.OutputTranscription):
                heard[listener].append(event.text)
                print(f"{listener:>5} hears: {event.text!r}", flush=True)
            elif isinstance(event, s2st.AudioChunk):
                speech_s[listener] += event.duration_s  # play it on the listener's speaker
    for name, seconds in speech_s.items():
        print(f"{name} heard {seconds:.2f} s of translated speech")
    return {name: "".join(parts).strip() for name, parts in heard.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=4.0, help="x real time")
    args = parser.parse_args(argv)

    async def run() -> dict[str, str]:
        async with Emulator() as emu:  # s2st.S2STClient() for the real service
            return await converse(s2st.S2STClient.for_emulator(emu), speed=args.speed)

    try:
        heard = asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in ("bob", "alice"):
        print(f"{name} heard: {heard.get(name, '')}")
    return 0 if heard.get("bob") and heard.get("alice") else 1


if __name__ == "__main__":
    sys.exit(main())
