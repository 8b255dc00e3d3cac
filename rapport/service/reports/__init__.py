"""The service reports page (``service:reports``): CSAT, first-contact resolution,
service-goal attainment, and the backlog by age, each broken down by channel, team,
agent, kind or topic, over a period, with a chart, its table and a CSV.

``figures`` computes them (aggregate queries over the cases the reader may see);
``views`` is the page."""
