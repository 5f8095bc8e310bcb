"""The pre-deploy gate: KPIs from a run's metrics.json, a verdict, a report, a history."""
