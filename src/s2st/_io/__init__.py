"""The asyncio layer under the session (private): the transport and its error map, the
connection supervisor, the event queue, input conversion and task helpers. Nothing here is
public API; `s2st.session.S2STSession` is the surface."""
