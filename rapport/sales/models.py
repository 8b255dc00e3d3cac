"""Sales: leads, deals, pipelines and stages, the people around a deal, forecasts."""
