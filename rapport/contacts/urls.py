"""People and companies through the entity kit, plus their workflow endpoints."""

from django.urls import include, path

from rapport.contacts import views
from rapport.contacts.entities import CompanyEntity, PersonEntity
from rapport.contacts.forms import CompanyForm, PersonForm
from rapport.core.views.routes import entity_urls

person_extra = [
    path("<int:pk>/photo/", views.person_photo, name="photo"),
    path("<int:pk>/employments/", views.employment_add, name="employment_add"),
    path(
        "<int:pk>/employments/<int:employment_id>/end/", views.employment_end, name="employment_end"
    ),
    path(
        "<int:pk>/employments/<int:employment_id>/remove/",
        views.employment_remove,
        name="employment_remove",
    ),
    path("<int:pk>/consents/", views.consent_record, name="consent_record"),
    path(
        "<int:pk>/consents/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
]

urlpatterns = [
    path(
        "people/",
        include(
            entity_urls(
                PersonEntity,
                form_class=PersonForm,
                detail_extra=views.person_detail_extra,
                extra=person_extra,
            )
        ),
    ),
    path(
        "companies/",
        include(
            entity_urls(
                CompanyEntity, form_class=CompanyForm, detail_extra=views.company_detail_extra
            )
        ),
    ),
]
