from django.db import migrations

# What an editor may do: edit, preview, test-send, approve and dispatch reports, and look at what
# was collected and delivered. Subscribers' data and exports stay with superusers.
EDITOR_PERMISSIONS = {
    "report": ["view", "change", "approve_report", "dispatch_report", "send_test_report"],
    "reportsection": ["view", "change"],
    "reportitem": ["view", "change"],
    "repository": ["view"],
    "commit": ["view"],
    "issue": ["view"],
    "collectrun": ["view"],
    "dailyrun": ["view"],
    "delivery": ["view", "change"],
}


def create_editors(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; this one needs them now.
    app_config = apps.get_app_config("newsletter")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name="Editors")
    for model, actions in EDITOR_PERMISSIONS.items():
        for action in actions:
            codename = action if "_" in action else f"{action}_{model}"
            editors.permissions.add(Permission.objects.get(content_type__app_label="newsletter", codename=codename))


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0006_item_report_required"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
