"""Survey pages; the answer page (``/s/<signed link>/``) takes no login."""

from django.urls import path

from rapport.surveys import views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.home, name="home"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey-detail"),
    path("surveys/<int:pk>/answers.csv", views.survey_export, name="survey-export"),
    path("contacts/<int:pk>/surveys/", views.contact_panel, name="contact-panel"),
    path("cases/<int:pk>/surveys/", views.case_panel, name="case-panel"),
    # The person's own page, from the signed link in the invitation: no login.
    path("s/<str:link>/", views.answer, name="answer"),
]
