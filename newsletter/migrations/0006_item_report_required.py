import django.db.models.deletion
from django.db import migrations, models


def fill_report(apps, schema_editor):
    ReportItem = apps.get_model("newsletter", "ReportItem")
    for item in ReportItem.objects.filter(report__isnull=True).select_related("section"):
        item.report_id = item.section.report_id
        item.save(update_fields=["report"])


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0005_editorial")]

    operations = [
        migrations.RunPython(fill_report, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reportitem",
            name="report",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="items", to="newsletter.report"
            ),
        ),
    ]
