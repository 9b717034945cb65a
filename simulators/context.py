"""What every source of one simulated device shares: ids, seed and truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.ids import derive_rng
from simulators.payloads import PayloadFactory
from simulators.truth import GroundTruth

__all__ = ["DeviceContext"]


@dataclass(frozen=True, slots=True, eq=False)
class DeviceContext:
    """The identity of a device and the seeded streams its sources draw from.

    ``client`` is the name the device puts in ``services_encountered`` (None
    for clients that sent none).
    """

    device_id: str
    seed: int
    truth: GroundTruth
    legacy_share: float = 0.0
    client: str | None = "mobile-client"

    def payloads(self, source: str, *, legacy: bool = False) -> PayloadFactory:
        """Return the payload factory of ``source``.

        With ``legacy`` True the factory sends the configured share of
        payloads in an older shape; otherwise it never does.
        """
        return PayloadFactory(
            self.device_id,
            self.seed,
            source,
            client=self.client,
            legacy_share=self.legacy_share if legacy else 0.0,
        )

    def random(self, source: str, *labels: str | int) -> np.random.Generator:
        """Return the random stream of ``source`` (and ``labels`` below it)."""
        return derive_rng(self.seed, self.device_id, source, "values", *labels)
