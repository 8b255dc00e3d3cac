from django.contrib import admin

from rapport.customers import models as m


class EmailInline(admin.TabularInline):
    model = m.ContactEmail
    extra = 0


class PhoneInline(admin.TabularInline):
    model = m.ContactPhone
    extra = 0


class MembershipInline(admin.TabularInline):
    model = m.AccountMembership
    extra = 0
    raw_id_fields = ["account"]


@admin.register(m.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["full_name", "job_title", "lifecycle", "owner", "updated_at"]
    search_fields = ["sort_name", "emails__email"]
    list_filter = ["lifecycle"]
    inlines = [EmailInline, PhoneInline, MembershipInline]
    raw_id_fields = ["owner"]


class DomainInline(admin.TabularInline):
    model = m.AccountDomain
    extra = 0


@admin.register(m.Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "country", "lifecycle", "owner"]
    search_fields = ["normalized_name", "domains__domain"]
    list_filter = ["lifecycle", "country"]
    inlines = [DomainInline]
    raw_id_fields = ["owner", "parent"]


@admin.register(m.DataField)
class DataFieldAdmin(admin.ModelAdmin):
    list_display = ["entity", "key", "label", "type", "required", "is_active"]


admin.site.register(m.Tag)
