"""Firmware updates, log uploads and publications in the admin: read mostly (they are made by commands)."""

from __future__ import annotations

from django.contrib import admin

from .models import FirmwarePublication, FirmwareStatusChange, FirmwareUpdate, LogStatusChange, LogUpload


class FirmwareStatusChangeInline(admin.TabularInline):
    model = FirmwareStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("status", "source", "at")


class LogStatusChangeInline(admin.TabularInline):
    model = LogStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("status", "source", "at")


@admin.register(FirmwareUpdate)
class FirmwareUpdateAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "request_id", "action", "signed", "status", "created_at", "finished_at")
    list_filter = ("status", "action", "signed")
    search_fields = ("charge_point__charge_point_id", "location")
    raw_id_fields = ("charge_point", "command")
    readonly_fields = ("created_at", "updated_at", "finished_at")
    inlines = (FirmwareStatusChangeInline,)


@admin.register(LogUpload)
class LogUploadAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "request_id", "action", "log_type", "status", "file_name", "created_at")
    list_filter = ("status", "log_type", "action")
    search_fields = ("charge_point__charge_point_id", "file_name")
    raw_id_fields = ("charge_point", "command")
    readonly_fields = ("created_at", "updated_at", "finished_at")
    inlines = (LogStatusChangeInline,)


@admin.register(FirmwarePublication)
class FirmwarePublicationAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "request_id", "checksum", "status", "created_at", "unpublished_at")
    list_filter = ("status",)
    search_fields = ("charge_point__charge_point_id", "checksum")
    raw_id_fields = ("charge_point", "command")
    readonly_fields = ("created_at", "updated_at", "unpublished_at")
