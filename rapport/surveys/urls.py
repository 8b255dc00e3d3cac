from django.urls import URLPattern

app_name = "surveys"

urlpatterns: list[URLPattern] = []
