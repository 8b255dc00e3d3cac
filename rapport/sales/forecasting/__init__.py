"""Sales forecasting (issue 14): quotas and the manager's adjustments, the forecast of a
past date rebuilt from the stage history and weekly snapshots, stage probabilities learned
from closed deals, a bookings forecast, and the charts of the sales reports page.

Writes are in ``services``, reads in ``selectors``, ``history``, ``probabilities``,
``bookings`` and ``reports``; the weekly snapshot task in ``tasks``."""
