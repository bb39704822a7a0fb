"""Settings that work but leave the deployment weaker than it should be: logged at start, shown
by ``refractor check-config`` and in ``/monitoring/health`` so they are not missed. Pure."""

from __future__ import annotations

from app.settings import Settings

UNSIGNED_CALLBACKS = ("callbacks.secret is not set: callbacks are sent unsigned, so receivers cannot "
                      "verify that they come from this server. Set it (\"whsec_\" + base64, or "
                      "REFRACTOR_CALLBACK_SECRET / REFRACTOR_CALLBACK_SECRET_FILE).")


def config_risks(settings: Settings) -> list[str]:
    risks = []
    # Any client may ask for a callback (callbackUrl), so every server sends them.
    if settings.callbacks.secret is None:
        risks.append(UNSIGNED_CALLBACKS)
    return risks
