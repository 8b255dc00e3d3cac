from django import template

from rapport.core.charts import Chart

register = template.Library()


@register.inclusion_tag("_chart.html")
def chart(chart: Chart) -> dict:
    return {"chart": chart, "spec": chart.spec(), "data_id": f"chart-data-{chart.key}"}
