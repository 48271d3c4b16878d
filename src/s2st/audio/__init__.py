"""Audio toolkit: conversion to the Live API's input format, files, pacing, output, devices.

Input side: anything goes in (any dtype, G.711, any channel count, any rate, WAV/FLAC/...
files, microphones), 16 kHz mono little-endian int16 comes out ([`to_pcm16()`][s2st.audio.to_pcm16],
[`AudioConverter`][s2st.audio.AudioConverter], [`open_source()`][s2st.audio.open_source]). Output side: [`AudioChunk`][s2st.events.AudioChunk]
streams are collected ([`collect_audio()`][s2st.audio.collect_audio]), written ([`WavWriter`][s2st.audio.WavWriter]) or played smoothly
([`JitterBuffer`][s2st.audio.JitterBuffer], [`Speaker`][s2st.audio.Speaker]). Collected and written audio leaves out the silence
the server streams after the last voiced chunk, except a `DEFAULT_TAIL_MS` tail
([`SilenceTrimmer`][s2st.audio.SilenceTrimmer]); playback plays everything.

Only numpy is imported here; soxr, soundfile, sounddevice and PyAV load on first use.
"""

from __future__ import annotations

from .convert import (
    OUTPUT_SAMPLE_RATE,
    TARGET_SAMPLE_RATE,
    AudioConverter,
    Encoding,
    alaw_decode,
    alaw_encode,
    check_sample_rate,
    mulaw_decode,
    mulaw_encode,
    to_pcm16,
)
from .devices import Microphone, Speaker, load_sounddevice
from .files import AudioFileInfo, audio_file_info, iter_file_frames, read_audio
from .output import (
    DEFAULT_TAIL_MS,
    MAX_HELD_SILENCE_MS,
    JitterBuffer,
    SilenceTrimmer,
    WavWriter,
    collect_audio,
)
from .pacing import Pacer
from .resample import Backend, Resampler, soxr_available
from .sources import AudioSource, open_source

__all__ = [
    "DEFAULT_TAIL_MS",
    "MAX_HELD_SILENCE_MS",
    "OUTPUT_SAMPLE_RATE",
    "TARGET_SAMPLE_RATE",
    "AudioConverter",
    "AudioFileInfo",
    "AudioSource",
    "Backend",
    "Encoding",
    "JitterBuffer",
    "Microphone",
    "Pacer",
    "Resampler",
    "SilenceTrimmer",
    "Speaker",
    "WavWriter",
    "alaw_decode",
    "alaw_encode",
    "audio_file_info",
    "check_sample_rate",
    "collect_audio",
    "iter_file_frames",
    "load_sounddevice",
    "mulaw_decode",
    "mulaw_encode",
    "open_source",
    "read_audio",
    "soxr_available",
    "to_pcm16",
]
