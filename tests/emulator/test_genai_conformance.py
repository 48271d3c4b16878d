"""The official google-genai live client talks to the emulator (3.5 Live Translate dialect).

python-genai always opens its socket with TLS, so the emulator serves ``wss://`` here with a
throw-away self-signed certificate made with ``cryptography``.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path
from typing import Any

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google import genai
from google.genai import types

from s2st.emulator import Emulator, EmulatorConfig, load_scenario


def _self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def _genai_client(emu: Emulator, client_ctx: ssl.SSLContext) -> genai.Client:
    """A google-genai client of the emulator's Gemini API endpoint, over TLS."""
    return genai.Client(
        api_key="emulator-key",
        http_options=types.HttpOptions(
            base_url=emu.http_base_url + "/",
            api_version="v1beta",
            async_client_args={"ssl": client_ctx},
        ),
    )


def _translate_config(**extra: Any) -> types.LiveConnectConfig:
    """A translation to Spanish with both transcriptions (and ``extra`` fields)."""
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        translation_config=types.TranslationConfig(target_language_code="es"),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        **extra,
    )


async def _send_audio(session: Any, pcm: np.ndarray, *, step: int = 1600) -> None:
    """Send ``pcm`` (16 kHz int16) in messages of ``step`` samples."""
    for i in range(0, pcm.size, step):
        blob = types.Blob(
            data=pcm[i : i + step].astype("<i2").tobytes(), mime_type="audio/pcm;rate=16000"
        )
        await session.send_realtime_input(audio=blob)


async def test_google_genai_live_client(tmp_path: Path) -> None:
    sc = load_scenario("hello")
    pcm = np.concatenate([sc.source_audio, np.zeros(12000, np.int16)])
    server_ctx, client_ctx = _self_signed(tmp_path)
    # python-genai's receive() ends at turnComplete, which the real service never sends
    # (EVIDENCE.md row 6): this test needs the optimistic preset's turn markers.
    optimistic = EmulatorConfig.optimistic(speed=float("inf"))
    async with Emulator(ssl=server_ctx, config=optimistic) as emu:
        client = _genai_client(emu, client_ctx)
        config = _translate_config()
        inputs, outputs, audio = [], [], b""
        async with client.aio.live.connect(
            model="gemini-3.5-live-translate-preview", config=config
        ) as session:
            await _send_audio(session, pcm)
            async for msg in session.receive():
                content = msg.server_content
                if content is None:
                    continue
                if content.input_transcription and content.input_transcription.text:
                    inputs.append(content.input_transcription.text)
                if content.output_transcription and content.output_transcription.text:
                    outputs.append(content.output_transcription.text)
                if msg.data:
                    audio += msg.data
        rec = emu.connections[0]
    assert rec.path.startswith(
        "//ws/google.ai.generativelanguage.v1beta."
    )  # the SDK's double slash
    assert rec.headers.get("x-goog-api-key") == "<redacted>"
    assert (
        rec.setup is not None and rec.setup["model"] == "models/gemini-3.5-live-translate-preview"
    )
    assert "".join(inputs) == sc.utterances[0].text
    assert "".join(outputs) == sc.utterances[0].translations["es"].text
    assert audio == sc.utterances[0].translations["es"].audio.astype("<i2").tobytes()
    assert len(rec.audio) == len(range(0, pcm.size, 1600))


async def test_google_genai_live_client_default_behaviour(tmp_path: Path) -> None:
    """The SDK parses the frames of the default, evidence-shaped emulator: the silence stream,
    usage beside an empty ``serverContent``, ``languageCode`` on transcripts, handles. Its
    ``receive()`` would wait for a ``turnComplete`` forever, so the test stops once the whole
    translation (text and voiced audio) has arrived."""
    sc = load_scenario("hello")
    translation = sc.utterances[0].translations["es"]
    pcm = np.concatenate([sc.source_audio, np.zeros(12000, np.int16)])
    audio = translation.audio
    parts = [audio[i : i + 2400] for i in range(0, audio.size, 2400)]  # 100 ms parts
    voiced_bytes = sum(2 * p.size for p in parts if np.max(np.abs(p.astype(np.int32))) > 128)
    server_ctx, client_ctx = _self_signed(tmp_path)
    async with Emulator(ssl=server_ctx, speed=4.0, usage_every_s=0.5) as emu:
        client = _genai_client(emu, client_ctx)
        config = _translate_config(session_resumption=types.SessionResumptionConfig())
        outputs: list[str] = []
        voiced, silent, usage, handles = b"", 0, 0, 0
        async with client.aio.live.connect(
            model="gemini-3.5-live-translate-preview", config=config
        ) as session:
            await _send_audio(session, pcm)
            async for msg in session.receive():
                usage += msg.usage_metadata is not None
                handles += msg.session_resumption_update is not None
                content = msg.server_content
                if content and content.output_transcription and content.output_transcription.text:
                    outputs.append(content.output_transcription.text)
                if msg.data:
                    part = np.frombuffer(msg.data, "<i2")
                    if np.max(np.abs(part.astype(np.int32))) > 128:
                        voiced += msg.data
                    else:
                        silent += 1
                if "".join(outputs) == translation.text and len(voiced) >= voiced_bytes:
                    break
        assert content is None or content.turn_complete is None
    assert "".join(outputs) == translation.text and len(voiced) == voiced_bytes
    assert silent > 0 and usage > 0 and handles > 0
