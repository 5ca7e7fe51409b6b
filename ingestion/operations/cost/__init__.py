"""The pipeline's monthly AWS cost from dated list prices: `accfb cost`."""

from ingestion.operations.cost.command import cost
from ingestion.operations.cost.model import Estimate, Mode, Workload, estimate

__all__ = ["Estimate", "Mode", "Workload", "cost", "estimate"]
